/*
 * diag.h - a list of diagnostics (errors and warnings with a place).
 *
 * Library code (the policy loader above all) never prints: it appends here
 * and the command layer prints each once, in the compilers' format:
 *   FILE:LINE:COL: error: MESSAGE
 * LINE and COL count from 1; 0 means "no line" (only FILE: is printed).
 */
#ifndef PROCWARDEN_DIAG_H
#define PROCWARDEN_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_level { DIAG_ERROR = 0, DIAG_WARNING = 1, DIAG_NOTE = 2 };

struct diag {
	enum diag_level level;
	char *file; /* owned */
	unsigned line, col;
	char *msg; /* owned */
};

struct diags {
	struct diag *v;
	size_t n, cap;
	size_t errors;  /* entries with DIAG_ERROR */
	size_t max;     /* stop storing after this many (0: 100); the rest counted */
	size_t dropped; /* entries not stored because of max */
};

void diags_init(struct diags *d);
/* Free every entry; accepts an empty or zeroed list. */
void diags_free(struct diags *d);
/* Append one diagnostic (printf format).  Never fails silently: when memory
 * or the cap runs out it is counted in dropped. */
void diags_add(struct diags *d, enum diag_level lvl, const char *file, unsigned line, unsigned col,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Print every entry, one per line, to f; then "N more errors not shown" if any
 * were dropped. */
void diags_print(const struct diags *d, FILE *f);
/* Format every entry into one malloc'd string (lines joined by '\n'), or NULL. */
char *diags_join(const struct diags *d);

#endif
