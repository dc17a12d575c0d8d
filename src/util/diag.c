/*
 * diag.c - the diagnostics list.
 *
 * Overview: owns the strings of each entry; never prints except in
 * diags_print(), which the command layer calls once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/diag.h"

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	size_t max = d->max;
	memset(d, 0, sizeof(*d));
	d->max = max;
}

void diags_add(struct diags *d, enum diag_level lvl, const char *file, unsigned line,
	       unsigned col, const char *fmt, ...)
{
	size_t max = d->max ? d->max : 100;
	char *msg = NULL;
	va_list ap;

	if (lvl == DIAG_ERROR)
		d->errors++;
	if (d->n >= max)
		goto drop;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct diag *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			goto drop;
		d->v = nv;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		goto drop;
	d->v[d->n] = (struct diag){
		.level = lvl,
		.file = strdup(file ? file : ""),
		.line = line,
		.col = col,
		.msg = msg,
	};
	if (!d->v[d->n].file) {
		free(msg);
		goto drop;
	}
	d->n++;
	return;
drop:
	d->dropped++;
}

static const char *level_name(enum diag_level l)
{
	switch (l) {
	case DIAG_ERROR:
		return "error";
	case DIAG_WARNING:
		return "warning";
	default:
		return "note";
	}
}

/* Format entry i into f. */
static void print_one(const struct diag *g, FILE *f)
{
	if (g->line)
		fprintf(f, "%s:%u:%u: %s: %s\n", g->file, g->line, g->col, level_name(g->level),
			g->msg);
	else
		fprintf(f, "%s: %s: %s\n", g->file, level_name(g->level), g->msg);
}

void diags_print(const struct diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++)
		print_one(&d->v[i], f);
	if (d->dropped)
		fprintf(f, "%zu more diagnostics not shown\n", d->dropped);
}

char *diags_join(const struct diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	diags_print(d, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}
