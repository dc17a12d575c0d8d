/*
 * bench_policy.c - nanoseconds per evaluated launch.
 *
 * Overview: generates policies in memory (exact paths, globs, regexes),
 * evaluates a fixed mix of matching and non-matching launches many times
 * and prints the median of several runs per policy.  Build it without
 * sanitizers for meaningful figures.  Exit 0, or 1 when a policy fails to
 * load or a verdict is not what the generator intended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procwarden/policy.h"

#define RUNS 7
#define N_LAUNCHES 8

enum kind { K_EXACT, K_GLOB, K_REGEX };

/* Generate a policy of n rules of one kind; returns a malloc'd string. */
static char *gen_policy(enum kind k, int n)
{
	size_t cap = (size_t)n * 160 + 64, len = 0;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	len += (size_t)snprintf(t + len, cap - len, "version: 1\nrules:\n");
	for (int i = 0; i < n; i++) {
		const char *pat = NULL;
		char buf[96];

		switch (k) {
		case K_EXACT:
			snprintf(buf, sizeof(buf), "/opt/app%d/bin/tool%d", i, i);
			break;
		case K_GLOB:
			snprintf(buf, sizeof(buf), "/opt/app%d/**/tool*", i);
			break;
		default:
			snprintf(buf, sizeof(buf), "re:^/opt/app%d/(s?bin|libexec)/[a-z]+\\d*$", i);
			break;
		}
		pat = buf;
		len += (size_t)snprintf(t + len, cap - len,
		                        "  - name: r%d\n    match:\n      exe: '%s'\n"
		                        "    actions: [log]\n",
		                        i, pat);
	}
	return t;
}

/* Nanoseconds from a to b. */
static double ns_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* qsort order of doubles. */
static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per launch of n rules of kind k; -1 on a failure. */
static double bench(enum kind k, int n, long iters)
{
	static struct proc_info pis[N_LAUNCHES];
	char *text = gen_policy(k, n);
	struct policy *p = NULL;
	struct policy_verdict v;
	struct diags d;
	double runs[RUNS];
	long sink = 0;

	diags_init(&d);
	if (!text || policy_load_buffer("bench.yaml", text, strlen(text), NULL, &p, &d) < 0) {
		diags_print(&d, stderr);
		free(text);
		return -1;
	}
	free(text);
	diags_free(&d);
	/* Half match some rule, half match none. */
	for (int i = 0; i < N_LAUNCHES; i++) {
		struct proc_info *pi = &pis[i];
		int r = (int)((unsigned)(i * 7919) % (unsigned)n);

		memset(pi, 0, sizeof(*pi));
		if (i % 2 == 0)
			snprintf(pi->exe, sizeof(pi->exe), "/opt/app%d/bin/tool%d", r, r);
		else
			snprintf(pi->exe, sizeof(pi->exe), "/usr/lib/x86_64-linux-gnu/prog%d", i);
		snprintf(pi->comm, sizeof(pi->comm), "tool");
		memcpy(pi->argv, pi->exe, strlen(pi->exe) + 1);
		pi->argv_len = (uint32_t)strlen(pi->exe) + 1;
		pi->argc = 1;
		pi->uid = pi->euid = 1000;
		if (policy_eval(p, pi, &v) != (i % 2 == 0 ? 1 : 0)) {
			fprintf(stderr, "unexpected verdict for %s (%u rules)\n", pi->exe,
			        v.n_rules);
			policy_unref(p);
			return -1;
		}
	}
	for (int run = 0; run < RUNS; run++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (long it = 0; it < iters; it++)
			sink += policy_eval(p, &pis[it % N_LAUNCHES], &v);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		runs[run] = ns_between(&t0, &t1) / (double)iters;
	}
	policy_unref(p);
	if (sink < 0)
		return -1;
	qsort(runs, RUNS, sizeof(runs[0]), dcmp);
	return runs[RUNS / 2];
}

int main(void)
{
	static const struct {
		const char *label;
		enum kind k;
		int n;
		long iters;
	} cases[] = {
	    {"exact-path rules", K_EXACT, 10, 400000},
	    {"exact-path rules", K_EXACT, 1000, 400000},
	    {"exact-path rules", K_EXACT, 10000, 400000},
	    {"glob rules", K_GLOB, 1000, 4000},
	    {"regex rules", K_REGEX, 100, 20000},
	};
	double res[sizeof(cases) / sizeof(cases[0])];
	int rc = 0;

	printf("%-8s %-18s %14s\n", "rules", "kind", "ns/launch");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res[i] = bench(cases[i].k, cases[i].n, cases[i].iters);
		if (res[i] < 0) {
			rc = 1;
			continue;
		}
		printf("%-8d %-18s %14.1f\n", cases[i].n, cases[i].label, res[i]);
	}
	if (rc == 0)
		printf("10,000 / 10 exact-path rules: %.2fx\n", res[2] / res[0]);
	return rc;
}
