/*
 * test_source_exehint.c - the exe hints the gate or the watch leave for the
 * evaluator: the path kept per pid (the dynamic loader only when nothing
 * else was seen for that exec, never over a note not taken yet), how near
 * in time a hint must be, that a hint is taken once (or dropped by the exe
 * /proc showed), and the sequence lock under a writer thread racing a
 * reader.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "procwarden/exehint.h"
#include "procwarden/procinfo.h"

#define MS 1000000ull

static struct exe_hints *new_hints(void)
{
	struct exe_hints *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static const char *get(struct exe_hints *h, int32_t pid, uint64_t t)
{
	static char buf[EXE_HINT_WORDS * 8];
	int n = exe_hint_get(h, pid, t, buf, sizeof(buf));

	return n > 0 ? buf : NULL;
}

static void test_last_non_loader(void **state)
{
	struct exe_hints *h = new_hints();
	uint64_t t = 5000 * MS;

	(void)state;
	assert_null(get(h, 42, t));
	/* a dynamic binary: the binary, then the loader */
	exe_hint_put(h, 42, "/usr/bin/true", t);
	exe_hint_put(h, 42, "/usr/lib64/ld-linux-x86-64.so.2", t + 1000);
	assert_string_equal(get(h, 42, t + 2000), "/usr/bin/true");
	/* a script: the script, its interpreter, the loader: the kernel's exe
	 * is the interpreter */
	exe_hint_put(h, 43, "/tmp/x.sh", t);
	exe_hint_put(h, 43, "/usr/bin/dash", t + 1000);
	exe_hint_put(h, 43, "/lib/ld-linux.so.2", t + 2000);
	assert_string_equal(get(h, 43, t + 3000), "/usr/bin/dash");
	/* the loader run directly, long after anything else of that pid */
	exe_hint_put(h, 42, "/usr/lib64/ld-linux-x86-64.so.2", t + 50 * MS);
	assert_string_equal(get(h, 42, t + 51 * MS), "/usr/lib64/ld-linux-x86-64.so.2");
	/* an exec chain: the later exec replaces it */
	exe_hint_put(h, 42, "/usr/bin/env", t + 52 * MS);
	assert_string_equal(get(h, 42, t + 53 * MS), "/usr/bin/env");
	free(h);
}

static void test_pid_and_time(void **state)
{
	struct exe_hints *h = new_hints();
	uint64_t t = 5000 * MS;
	char longpath[400];

	(void)state;
	exe_hint_put(h, 7, "/bin/a", t);
	assert_null(get(h, 7 + EXE_HINT_SLOTS, t)); /* same slot, other pid */
	assert_null(get(h, 8, t));
	assert_null(get(h, 7, t + 1001 * MS)); /* too old (and not taken) */
	assert_string_equal(get(h, 7, t + 999 * MS), "/bin/a");
	/* taken once: the pid's next exec that left no note (a memfd, a
	 * filesystem not watched) does not get the old path */
	assert_null(get(h, 7, t + 999 * MS));
	exe_hint_put(h, 7, "/bin/a", t);
	assert_string_equal(get(h, 7, t - 500 * MS), "/bin/a"); /* a watch reads late */
	exe_hint_put(h, 7, "/bin/a", t);
	/* the slot's next pid replaces it */
	exe_hint_put(h, 7 + EXE_HINT_SLOTS, "/bin/b", t);
	assert_null(get(h, 7, t));
	assert_string_equal(get(h, 7 + EXE_HINT_SLOTS, t), "/bin/b");
	/* too long to keep: nothing (the old one stays for its own pid) */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	exe_hint_put(h, 9, longpath, t);
	assert_null(get(h, 9, t));
	free(h);
}

static void test_loader_and_drop(void **state)
{
	struct exe_hints *h = new_hints();
	uint64_t t = 5000 * MS;

	(void)state;
	/* the loader never replaces a program's note not taken yet, however
	 * late it is read */
	exe_hint_put(h, 50, "/opt/app", t);
	exe_hint_put(h, 50, "/lib64/ld-linux-x86-64.so.2", t + 900 * MS);
	assert_string_equal(get(h, 50, t + 950 * MS), "/opt/app");
	/* a program named like the loader but no shared object is a program */
	exe_hint_put(h, 51, "/tmp/ld-evil", t);
	exe_hint_put(h, 51, "/lib64/ld-linux-x86-64.so.2", t);
	assert_string_equal(get(h, 51, t), "/tmp/ld-evil");
	/* the exe learnt from /proc takes its own note ... */
	exe_hint_put(h, 52, "/usr/bin/a", t);
	assert_int_equal(exe_hint_drop(h, 52, "/usr/bin/a"), 1);
	assert_null(get(h, 52, t)); /* a memfd exec after it gets nothing */
	/* ... but not a later exec's (an exec chain read ahead) */
	exe_hint_put(h, 53, "/usr/bin/b", t);
	assert_int_equal(exe_hint_drop(h, 53, "/usr/bin/env"), 0);
	assert_string_equal(get(h, 53, t), "/usr/bin/b");
	assert_int_equal(exe_hint_drop(h, 54, "/usr/bin/b"), 0); /* no note of that pid */
	/* a note read long after the exec is good (a lagging reader); one read
	 * long before it is another exec's */
	exe_hint_put(h, 55, "/usr/bin/c", t + 30000 * MS);
	assert_string_equal(get(h, 55, t), "/usr/bin/c");
	exe_hint_put(h, 55, "/usr/bin/c", t);
	assert_null(get(h, 55, t + 1001 * MS));
	free(h);
}

struct race {
	struct exe_hints *h;
	atomic_int stop;
};

static const char *const paths[] = {"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/b",
                                    "/cccccccccccccccccccccccccccccccccccccccccccccccc"};

static void *writer(void *arg)
{
	struct race *r = arg;

	for (uint64_t i = 0; !r->stop; i++)
		exe_hint_put(r->h, 1, paths[i % 3], 5000 * MS);
	return NULL;
}

static void test_seqlock(void **state)
{
	struct race r = {.h = new_hints()};
	pthread_t th;
	unsigned ok = 0;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, writer, &r), 0);
	for (int i = 0; i < 200000; i++) {
		const char *p = get(r.h, 1, 5000 * MS);
		if (!p)
			continue;
		/* one of the paths written, never a torn mix of two */
		assert_true(!strcmp(p, paths[0]) || !strcmp(p, paths[1]) || !strcmp(p, paths[2]));
		ok++;
	}
	r.stop = 1;
	pthread_join(th, NULL);
	printf("seqlock: %u consistent reads\n", ok);
	free(r.h);
}

/* An exec chain (setpriv, then the program, microseconds apart): the one
 * note of the pid may be either exec's, so the later exec is not named by
 * it; an exec long after the previous one is. */
static void test_chain_not_named(void **state)
{
	struct exe_hints *h = new_hints();
	struct proc_info *pi = calloc(1, sizeof(*pi));
	uint64_t t = 10000 * MS;

	(void)state;
	assert_non_null(pi);
	exe_hint_put(h, 60, "/usr/bin/setpriv", t); /* read late: the first exec's */
	assert_false(exe_hint_name(h, NULL, 60, t + 1, t, 0, 0, 0, pi));
	assert_false(pi->have & PI_HAVE_EXE);
	exe_hint_put(h, 61, "/usr/bin/server", t);
	assert_true(exe_hint_name(h, NULL, 61, t + 1, t - 2000 * MS, 0, 0, 0, pi));
	assert_string_equal(pi->exe, "/usr/bin/server");
	free(pi);
	free(h);
}

/* The first exec of a process, gone before /proc showed it, whose second
 * exec (bash -c CMD execs CMD) left its note already: the note is the
 * second's, so the first gets none; the second does; and a note of an
 * earlier process of the same pid is nobody's. */
static void test_counted_notes(void **state)
{
	struct exe_hints *h = new_hints();
	struct proc_info *pi = calloc(1, sizeof(*pi));
	uint64_t fork = 20000 * MS, t = fork + 1 * MS;

	(void)state;
	assert_non_null(pi);
	exe_hint_put(h, 70, "/usr/bin/bash", t);
	exe_hint_put(h, 70, "/lib64/ld-linux-x86-64.so.2", t); /* the loader: not counted */
	exe_hint_put(h, 70, "/usr/bin/mkdir", t + 1 * MS);
	assert_false(exe_hint_name(h, NULL, 70, t + 1, 0, 1, fork, t + 2 * MS, pi));
	assert_false(pi->have & PI_HAVE_EXE);
	assert_true(exe_hint_name(h, NULL, 70, t + 1 * MS + 1, 0, 2, fork, t + 2 * MS, pi));
	assert_string_equal(pi->exe, "/usr/bin/mkdir");
	/* pid 71's old process noted before the new one forked */
	memset(pi, 0, sizeof(*pi));
	exe_hint_put(h, 71, "/usr/bin/old", fork - 5 * MS);
	exe_hint_put(h, 71, "/usr/bin/new", t);
	assert_false(exe_hint_name(h, NULL, 71, t + 1, 0, 1, fork, t + 2 * MS, pi));
	free(pi);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_non_loader), cmocka_unit_test(test_pid_and_time),
	    cmocka_unit_test(test_counted_notes),   cmocka_unit_test(test_loader_and_drop),
	    cmocka_unit_test(test_seqlock),         cmocka_unit_test(test_chain_not_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
