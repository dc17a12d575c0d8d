/*
 * pattern.c - string patterns (exact, glob, PCRE2 regex) and id intervals.
 *
 * Overview: compiling allocates and may fail with a message; matching never
 * allocates from the heap and never blocks.  A regex match needs a PCRE2
 * match data block: each thread builds its own once, inside a fixed
 * thread-local arena (justified global state: per-thread scratch that must
 * not come from malloc on the evaluation path).  Every regex runs under the
 * policy's match context (match, depth and heap limits) and every glob under
 * a step budget, so no pattern can stall an evaluation: a limit hit is
 * reported as -1 and counted by the caller as a match error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/* ---- thread-local scratch for PCRE2 ---- */

#define ARENA_SIZE (64 * 1024)
#define HEAP_LIMIT_KIB 40

struct re_scratch {
	pcre2_match_data *md;
	size_t used, last; /* bump pointer; start of the latest block */
	_Alignas(16) unsigned char mem[ARENA_SIZE];
};

static __thread struct re_scratch scratch;

/* Bump allocator over the thread's arena; NULL when it is full. */
static void *arena_malloc(size_t size, void *data)
{
	struct re_scratch *s = data;
	size_t start = (s->used + 15) & ~(size_t)15;

	if (size > ARENA_SIZE || start > ARENA_SIZE - size)
		return NULL;
	s->last = start;
	s->used = start + size;
	return s->mem + start;
}

/* Give back the latest block only; others stay used until the thread ends. */
static void arena_free(void *ptr, void *data)
{
	struct re_scratch *s = data;

	if (ptr && (unsigned char *)ptr == s->mem + s->last)
		s->used = s->last;
}

/* This thread's match data, built on first use; NULL if it cannot be. */
static pcre2_match_data *thread_match_data(void)
{
	pcre2_general_context *gc;

	if (scratch.md)
		return scratch.md;
	gc = pcre2_general_context_create(arena_malloc, arena_free, &scratch);
	if (!gc)
		return NULL;
	scratch.md = pcre2_match_data_create(1, gc);
	return scratch.md;
}

pcre2_match_context *policy_match_context_new(void)
{
	pcre2_match_context *m = pcre2_match_context_create(NULL);

	if (!m)
		return NULL;
	pcre2_set_match_limit(m, POLICY_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(m, POLICY_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(m, HEAP_LIMIT_KIB);
	return m;
}

/* ---- globs ---- */

/* Check a glob's syntax.  Returns 0, or -EINVAL with err and *ret_off. */
static int glob_check(const char *g, size_t len, char *err, size_t errlen, size_t *ret_off)
{
	for (size_t i = 0; i < len; i++) {
		if (g[i] == '\\') {
			if (i + 1 == len) {
				snprintf(err, errlen, "trailing '\\'");
				*ret_off = i;
				return -EINVAL;
			}
			i++;
		} else if (g[i] == '*') {
			if (i + 2 < len && g[i + 1] == '*' && g[i + 2] == '*') {
				snprintf(err, errlen, "'***' is not a wildcard (use '*' or '**')");
				*ret_off = i;
				return -EINVAL;
			}
		} else if (g[i] == '[') {
			size_t j = i + 1;
			int prev = -1;

			if (j < len && (g[j] == '!' || g[j] == '^'))
				j++;
			if (j < len && g[j] == ']') /* a leading ']' is literal */
				j++;
			for (; j < len && g[j] != ']'; j++) {
				int c = (unsigned char)g[j], esc = 0;

				if (c == '\\' && j + 1 < len) {
					c = (unsigned char)g[++j];
					esc = 1;
				}
				if (c == '-' && !esc && prev >= 0 && j + 1 < len &&
				    g[j + 1] != ']') {
					int hi = (unsigned char)g[j + 1];

					if (hi == '\\' && j + 2 < len)
						hi = (unsigned char)g[j + 2];
					if (hi < prev) {
						snprintf(err, errlen,
						         "invalid range '%c-%c' in '[...]'", prev,
						         hi);
						*ret_off = j - 1;
						return -EINVAL;
					}
					j += g[j + 1] == '\\' ? 2 : 1;
					prev = -1;
					continue;
				}
				prev = c;
			}
			if (j >= len) {
				snprintf(err, errlen, "unterminated '['");
				*ret_off = i;
				return -EINVAL;
			}
			i = j;
		}
	}
	return 0;
}

/* Match character c against the set starting after '[' at *pp; advances
 * *pp past the closing ']'.  Returns 1 or 0.  The set was checked at load. */
static int glob_set(const char **pp, unsigned char c)
{
	const char *p = *pp;
	int neg = 0, hit = 0;
	int first = 1;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	while (*p != ']' || first) {
		unsigned char lo = (unsigned char)*p, hi;

		first = 0;
		if (lo == '\\')
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (*p == '-' && p[1] != ']') {
			p++;
			hi = (unsigned char)*p;
			if (hi == '\\')
				hi = (unsigned char)*++p;
			p++;
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	*pp = p + 1;
	return c != '/' && hit != neg;
}

/* Match s[0..se) against the glob p[0..pe); start is the glob's first byte
 * (to tell where a segment begins).  1, 0, or -1 when the budget ran out. */
static int glob_rec(const char *start, const char *p, const char *pe, const char *s, const char *se,
                    unsigned *budget)
{
	while (p < pe) {
		if (*budget == 0)
			return -1;
		(*budget)--;
		if (*p == '*') {
			int r;

			if (p + 1 < pe && p[1] == '*') {
				/* '**' crosses segments; '**' + '/' at a segment start
				 * may also match no directory at all. */
				int seg = p == start || p[-1] == '/';

				p += 2;
				if (p == pe)
					return 1;
				if (seg && *p == '/') {
					r = glob_rec(start, p + 1, pe, s, se, budget);
					if (r)
						return r;
				}
				for (const char *t = s; t <= se; t++) {
					r = glob_rec(start, p, pe, t, se, budget);
					if (r)
						return r;
				}
				return 0;
			}
			p++;
			if (p == pe)
				return memchr(s, '/', (size_t)(se - s)) == NULL;
			for (const char *t = s;; t++) {
				/* Skip positions a literal next byte cannot match. */
				if (*p != '[' && *p != '?' && *p != '*' && *p != '\\' && t < se &&
				    *t != *p) {
					if (*t == '/')
						break;
					continue;
				}
				r = glob_rec(start, p, pe, t, se, budget);
				if (r)
					return r;
				if (t == se || *t == '/')
					break;
			}
			return 0;
		}
		if (s == se)
			return 0;
		if (*p == '?') {
			if (*s == '/')
				return 0;
		} else if (*p == '[') {
			p++;
			if (!glob_set(&p, (unsigned char)*s))
				return 0;
			s++;
			continue;
		} else {
			if (*p == '\\')
				p++;
			if (*p != *s)
				return 0;
		}
		p++;
		s++;
	}
	return s == se;
}

/* ---- compile and match ---- */

/* True when text has an unescaped glob character. */
static int is_glob(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (t[i] == '*' || t[i] == '?' || t[i] == '[')
			return 1;
	return 0;
}

int policy_pattern_compile(struct pattern *pat, const char *text, size_t len, char *err,
                           size_t errlen, size_t *ret_off)
{
	memset(pat, 0, sizeof(*pat));
	if (len >= 3 && memcmp(text, "re:", 3) == 0) {
		int ec;
		PCRE2_SIZE eoff;

		if (len == 3) {
			snprintf(err, errlen, "nothing after 're:'");
			*ret_off = 0;
			return -EINVAL;
		}
		pat->kind = PAT_REGEX;
		pat->re = pcre2_compile((PCRE2_SPTR)text + 3, len - 3, 0, &ec, &eoff, NULL);
		if (!pat->re) {
			char msg[256];

			pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
			snprintf(err, errlen, "%s (at offset %zu)", msg, (size_t)eoff);
			*ret_off = 3 + eoff;
			return ec == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EINVAL;
		}
		/* Without JIT (unsupported or refused) the interpreter runs,
		 * under the same limits. */
#ifndef PW_POLICY_NO_JIT /* defined only to test the interpreter path */
		(void)pcre2_jit_compile(pat->re, PCRE2_JIT_COMPLETE);
#endif
		return 0;
	}
	if (len > UINT32_MAX / 2) {
		snprintf(err, errlen, "pattern too long");
		*ret_off = 0;
		return -EINVAL;
	}
	if (is_glob(text, len)) {
		int r = glob_check(text, len, err, errlen, ret_off);

		if (r < 0)
			return r;
		pat->kind = PAT_GLOB;
		while (pat->prefix_len < len && !strchr("*?[\\", text[pat->prefix_len]))
			pat->prefix_len++;
	} else {
		pat->kind = PAT_EXACT;
	}
	pat->s = strndup(text, len);
	if (!pat->s)
		return -ENOMEM;
	pat->len = (uint32_t)len;
	return 0;
}

void policy_pattern_free(struct pattern *pat)
{
	free(pat->s);
	pcre2_code_free(pat->re);
	memset(pat, 0, sizeof(*pat));
}

int policy_pattern_match(const struct policy *p, const struct pattern *pat, const char *s,
                         size_t len)
{
	switch (pat->kind) {
	case PAT_EXACT:
		return len == pat->len && memcmp(s, pat->s, len) == 0;
	case PAT_GLOB: {
		unsigned budget = POLICY_GLOB_BUDGET;

		if (len < pat->prefix_len || memcmp(s, pat->s, pat->prefix_len) != 0)
			return 0;
		return glob_rec(pat->s, pat->s + pat->prefix_len, pat->s + pat->len,
		                s + pat->prefix_len, s + len, &budget);
	}
	default: {
		pcre2_match_data *md = thread_match_data();
		int rc;

		if (!md)
			return -1;
		rc = pcre2_match(pat->re, (PCRE2_SPTR)s, len, 0, 0, md, p->mctx);
		if (rc >= 0)
			return 1;
		return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
	}
	}
}

/* ---- id intervals ---- */

int policy_idlist_has(const struct idlist *l, uint32_t id)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (id < l->v[mid].lo)
			hi = mid;
		else if (id > l->v[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* qsort order of intervals. */
static int range_cmp(const void *a, const void *b)
{
	const struct idrange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void policy_idlist_normalize(struct idlist *l)
{
	uint32_t out = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(l->v[0]), range_cmp);
	for (uint32_t i = 1; i < l->n; i++) {
		struct idrange *last = &l->v[out];

		if (l->v[i].lo <= last->hi || l->v[i].lo == last->hi + 1) {
			if (l->v[i].hi > last->hi)
				last->hi = l->v[i].hi;
		} else {
			l->v[++out] = l->v[i];
		}
	}
	l->n = out + 1;
}
