/*
 * policy_helpers.h - shared helpers of the test_policy* unit tests.
 *
 * Overview: builds imagined launches (struct proc_info on the heap) and
 * loads policies from strings, failing the test with the loader's messages
 * when a load that should work does not.  Header-only, static functions.
 */
#ifndef PW_TEST_POLICY_HELPERS_H
#define PW_TEST_POLICY_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "procwarden/policy.h"

/* A launch of exe by uid (gid = uid); comm is exe's basename; argv = [exe]. */
static inline struct proc_info *pi_new(const char *exe, uint32_t uid)
{
	struct proc_info *pi = calloc(1, sizeof(*pi));
	const char *b;

	assert_non_null(pi);
	snprintf(pi->exe, sizeof(pi->exe), "%s", exe);
	b = strrchr(exe, '/');
	b = b ? b + 1 : exe;
	memcpy(pi->comm, b, strnlen(b, sizeof(pi->comm) - 1)); /* cut like the kernel */
	pi->uid = pi->euid = uid;
	pi->gid = pi->egid = uid;
	pi->argc = 1;
	pi->argv_len = (uint32_t)strlen(exe) + 1;
	memcpy(pi->argv, exe, pi->argv_len);
	pi->have = PI_HAVE_EXE | PI_HAVE_ARGV | PI_HAVE_COMM | PI_HAVE_IDS;
	return pi;
}

/* Replace argv with the NULL-terminated list of strings. */
static inline void pi_argv(struct proc_info *pi, ...)
{
	va_list ap;
	const char *s;

	pi->argc = 0;
	pi->argv_len = 0;
	va_start(ap, pi);
	while ((s = va_arg(ap, const char *))) {
		size_t l = strlen(s) + 1;

		assert_true(pi->argv_len + l <= sizeof(pi->argv));
		memcpy(pi->argv + pi->argv_len, s, l);
		pi->argv_len += (uint32_t)l;
		pi->argc++;
	}
	va_end(ap);
}

/* Set the parent's exe (comm: its basename). */
static inline void pi_parent(struct proc_info *pi, const char *exe)
{
	const char *b = strrchr(exe, '/');

	snprintf(pi->parent_exe, sizeof(pi->parent_exe), "%s", exe);
	snprintf(pi->parent_comm, sizeof(pi->parent_comm), "%s", b ? b + 1 : exe);
	pi->have |= PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM;
}

/* Append an ancestor (grandparent upwards). */
static inline void pi_ancestor(struct proc_info *pi, const char *exe)
{
	size_t l = strlen(exe) + 1;

	assert_true(pi->ancestors_len + l <= sizeof(pi->ancestors));
	memcpy(pi->ancestors + pi->ancestors_len, exe, l);
	pi->ancestors_len += (uint32_t)l;
	pi->n_ancestors++;
	pi->have |= PI_HAVE_ANCESTORS;
}

/* Load text or fail the test, printing what the loader said. */
static inline struct policy *load_ok(const char *text)
{
	struct policy *p = NULL;
	struct diags d;
	int r;

	diags_init(&d);
	r = policy_load_buffer("test.yaml", text, strlen(text), NULL, &p, &d);
	if (r < 0) {
		diags_print(&d, stderr);
		fprintf(stderr, "in:\n%s\n", text);
	}
	assert_int_equal(r, 0);
	assert_non_null(p);
	diags_free(&d);
	return p;
}

/* Load text that must fail; returns the messages (caller frees). */
static inline char *load_fail(const char *text)
{
	struct policy *p = (struct policy *)0x1;
	struct diags d;
	char *msg;
	int r;

	diags_init(&d);
	r = policy_load_buffer("test.yaml", text, strlen(text), NULL, &p, &d);
	assert_int_equal(r, -22);                  /* -EINVAL */
	assert_ptr_equal(p, (struct policy *)0x1); /* untouched */
	assert_true(d.errors > 0);
	msg = diags_join(&d);
	assert_non_null(msg);
	diags_free(&d);
	return msg;
}

/* Names of the matching rules of v, joined by ','. */
static inline const char *verdict_names(const struct policy *p, const struct policy_verdict *v)
{
	static char buf[4096];
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < v->n_rules; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
		                      policy_rule_name(p, v->rules[i]));
	return buf;
}

#endif
