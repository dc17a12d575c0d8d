/*
 * test_table.c - the process table from event sequences: fork/exec/exit
 * ordering, pid reuse, reparenting, lineage, ids, capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "procwarden/ptable.h"

#define MS 1000000ull

/* A root process: pid 1 (init) with uid 0, and a shell under it. */
static struct ptable *world(void)
{
	struct ptable *t;
	struct pt_proc *p;

	assert_int_equal(pt_new(64, &t), 0);
	pt_resync_begin(t);
	p = pt_scanned(t, 1, 0, 1 * MS, PT_K_IDS, 0, 0, 0, 0, "/sbin/init", "systemd");
	assert_non_null(p);
	p = pt_scanned(t, 100, 1, 2 * MS, PT_K_IDS, 1000, 1000, 1000, 1000, "/bin/bash", "bash");
	assert_non_null(p);
	pt_resync_end(t, 3 * MS);
	return t;
}

/* Collect the ancestor walk into a string "a,b,?" (? unknown). */
struct walk {
	char buf[512];
};
static int collect(const char *exe, const struct pw_file_id *file, unsigned depth, void *arg)
{
	struct walk *w = arg;
	size_t n = strlen(w->buf);

	(void)depth;
	(void)file;
	snprintf(w->buf + n, sizeof(w->buf) - n, "%s%s", n ? "," : "", exe ? exe : "?");
	return 0;
}

static void fork_inherits_and_exec_forgets(void **state)
{
	struct ptable *t = world();
	struct pt_proc *c;

	(void)state;
	c = pt_fork(t, 100, 200, 10 * MS);
	assert_non_null(c);
	assert_int_equal(c->ppid, 100);
	assert_true((c->known & PT_K_IDS) == PT_K_IDS);
	assert_int_equal(c->uid, 1000);
	assert_string_equal(c->exe, "/bin/bash");
	assert_string_equal(c->parent_exe, "/bin/bash");
	assert_string_equal(c->parent_comm, "bash");
	c = pt_exec(t, 200, 11 * MS);
	assert_ptr_equal(c, pt_get(t, 200));
	/* the program is not known until the consumer says; a set-id program
	 * could have changed the effective ids without an event */
	assert_false(c->known & PT_K_EXE);
	assert_false(c->known & PT_K_COMM);
	assert_false(c->known & PT_K_EUID);
	assert_true(c->known & PT_K_UID);
	assert_true(c->known & PT_K_PARENT_EXE); /* the parent's exe at the fork stays */
	struct pw_file_id id = {.dev = 8, .ino = 42, .mtime_ns = 7};
	assert_int_equal(pt_set_exe(t, c, "/usr/bin/id", &id), 0);
	assert_string_equal(c->exe, "/usr/bin/id");
	assert_true(c->known & PT_K_FILE);
	assert_int_equal(c->file.ino, 42);
	/* its child knows the file its parent ran when it forked */
	struct pt_proc *g = pt_fork(t, 200, 201, 12 * MS);
	assert_true(g->known & PT_K_PARENT_FILE);
	assert_true(pw_file_id_equal(&g->parent_file, &id));
	/* and an exec makes the file unknown until learnt again */
	pt_exec(t, 200, 13 * MS);
	assert_false(c->known & PT_K_FILE);
	pt_free(t);
}

static void uid_event_changes_ids(void **state)
{
	struct ptable *t = world();
	struct pt_proc *c;

	(void)state;
	pt_fork(t, 100, 200, 10 * MS);
	pt_uid(t, 200, 1000, 0); /* setuid helper: euid 0 */
	c = pt_fork(t, 200, 201, 12 * MS);
	assert_int_equal(c->uid, 1000);
	assert_int_equal(c->euid, 0);
	pt_gid(t, 201, 5, 6);
	assert_int_equal(pt_get(t, 201)->gid, 5);
	assert_int_equal(pt_get(t, 201)->egid, 6);
	/* events for a pid never seen change nothing */
	assert_null(pt_uid(t, 999, 1, 1));
	pt_free(t);
}

static void lineage_survives_reparenting_and_exit(void **state)
{
	struct ptable *t = world();
	struct walk w = {""};
	struct pt_proc *g;

	(void)state;
	/* bash -> server (exec) -> double fork: child exits, grandchild stays */
	pt_fork(t, 100, 300, 10 * MS);
	pt_set_exe(t, pt_exec(t, 300, 11 * MS), "/usr/sbin/nginx", NULL);
	pt_fork(t, 300, 301, 12 * MS);
	pt_fork(t, 301, 302, 13 * MS);
	pt_exit(t, 301, 14 * MS);
	pt_exit(t, 300, 15 * MS);
	pt_expire(t, 15 * MS + PT_LINGER_NS + 1); /* past linger: still named by 302 */
	g = pt_exec(t, 302, 16 * MS);
	pt_set_exe(t, g, "/bin/sh", NULL);
	assert_int_equal(g->ppid, 301); /* the forking parent, not init */
	assert_string_equal(g->parent_exe, "/usr/sbin/nginx");
	assert_int_equal(pt_walk_ancestors(t, g, collect, &w), 0);
	assert_string_equal(w.buf, "/usr/sbin/nginx,/usr/sbin/nginx,/bin/bash,/sbin/init");
	/* the grandchild exits: the whole exited chain goes with it */
	pt_exit(t, 302, 17 * MS);
	pt_expire(t, 17 * MS + PT_LINGER_NS + 1);
	assert_null(pt_get(t, 300));
	assert_null(pt_get(t, 301));
	assert_null(pt_get(t, 302));
	struct pt_stats st;
	pt_get_stats(t, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.live, 2);
	assert_int_equal(st.strings, 2); /* init and bash */
	pt_free(t);
}

static void pid_reuse_is_a_new_entry(void **state)
{
	struct ptable *t = world();
	struct pt_proc *a, *b;
	struct pt_ref ra;

	(void)state;
	a = pt_fork(t, 100, 400, 10 * MS);
	pt_set_exe(t, pt_exec(t, 400, 11 * MS), "/tmp/victim", NULL);
	ra = pt_ref_of(t, a);
	pt_exit(t, 400, 12 * MS);
	assert_non_null(pt_get(t, 400)); /* kept a while: late events are named */
	b = pt_fork(t, 100, 400, 13 * MS);
	assert_non_null(b);
	assert_int_equal(b->fork_ns, 13 * MS);
	assert_string_equal(b->exe, "/bin/bash"); /* not the victim's */
	assert_ptr_equal(pt_get(t, 400), b);
	/* the old one is still there for whoever holds a reference */
	a = pt_deref(t, ra);
	assert_non_null(a);
	assert_string_equal(a->exe, "/tmp/victim");
	/* a fork of a pid whose exit was lost: the old entry is taken as gone */
	pt_fork(t, 100, 400, 14 * MS);
	struct pt_stats st;
	pt_get_stats(t, &st);
	assert_int_equal(st.reused, 1);
	pt_free(t);
}

static void exec_without_fork_is_unknown_origin(void **state)
{
	struct ptable *t = world();
	struct pt_proc *p;
	struct walk w = {""};

	(void)state;
	p = pt_exec(t, 555, 10 * MS);
	assert_non_null(p);
	assert_int_equal(p->origin, PT_EXEC_ONLY);
	assert_false(p->known & (PT_K_PPID | PT_K_UID | PT_K_PARENT_EXE));
	assert_int_equal(pt_walk_ancestors(t, p, collect, &w), PT_WALK_CUT);
	assert_string_equal(w.buf, "?");
	pt_free(t);
}

static void capacity_evicts_exited_first_and_counts(void **state)
{
	struct ptable *t = world(); /* capacity 64, 2 used */
	struct pt_stats st;
	int i;

	(void)state;
	for (i = 0; i < 62; i++)
		assert_non_null(pt_fork(t, 100, 1000 + i, (10 + (uint64_t)i) * MS));
	/* full of live processes: no room, counted */
	assert_null(pt_fork(t, 100, 2000, 100 * MS));
	pt_get_stats(t, &st);
	assert_int_equal(st.full, 1);
	assert_int_equal(st.peak, 64);
	/* an exited one makes room, even inside its linger */
	pt_exit(t, 1005, 101 * MS);
	assert_non_null(pt_fork(t, 100, 2001, 102 * MS));
	assert_null(pt_get(t, 1005));
	/* a process whose parent was evicted while it lived: lineage cut */
	pt_exit(t, 1006, 103 * MS);
	pt_fork(t, 1007, 3000, 104 * MS); /* needs a slot: evicts 1006 */
	pt_exit(t, 1007, 105 * MS);
	assert_non_null(pt_fork(t, 100, 3001, 106 * MS)); /* evicts 1007, 3000's parent */
	struct walk w = {""};
	assert_int_equal(pt_walk_ancestors(t, pt_get(t, 3000), collect, &w), PT_WALK_CUT);
	pt_get_stats(t, &st);
	assert_int_equal(st.evicted_linked, 1);
	pt_free(t);
}

static void resync_marks_vanished_as_exited(void **state)
{
	struct ptable *t = world();
	struct pt_proc *p;

	(void)state;
	pt_fork(t, 100, 600, 10 * MS);
	pt_fork(t, 100, 601, 11 * MS);
	pt_resync_begin(t);
	pt_scanned(t, 1, 0, 1 * MS, 0, 0, 0, 0, 0, NULL, NULL);
	pt_scanned(t, 100, 1, 2 * MS, 0, 0, 0, 0, 0, NULL, NULL);
	p = pt_scanned(t, 600, 100, 10 * MS, 0, 0, 0, 0, 0, "/bin/x", NULL);
	assert_ptr_equal(p, pt_get(t, 600)); /* refreshed, not replaced */
	assert_int_equal(p->origin, PT_FORKED);
	/* a new process at 602 that the lost events hid */
	p = pt_scanned(t, 602, 100, 12 * MS, PT_K_IDS, 7, 7, 7, 7, "/bin/y", "y");
	assert_int_equal(p->origin, PT_SCANNED);
	pt_resync_end(t, 20 * MS);
	assert_int_equal(pt_get(t, 601)->exit_ns, 20 * MS);
	assert_int_equal(pt_get(t, 600)->exit_ns, 0);
	assert_string_equal(pt_get(t, 602)->parent_exe, "/bin/bash");
	pt_free(t);
}

static void scan_links_a_child_listed_before_its_parent(void **state)
{
	struct ptable *t;
	struct pt_proc *c;

	(void)state;
	assert_int_equal(pt_new(16, &t), 0);
	pt_resync_begin(t);
	pt_scanned(t, 1, 0, 1 * MS, 0, 0, 0, 0, 0, "/sbin/init", "init");
	c = pt_scanned(t, 50, 900, 5 * MS, 0, 0, 0, 0, 0, "/bin/child", NULL);
	pt_scanned(t, 900, 1, 2 * MS, 0, 0, 0, 0, 0, "/bin/parent", "parent");
	assert_false(c->known & PT_K_PARENT_EXE);
	pt_resync_end(t, 6 * MS);
	c = pt_get(t, 50);
	assert_string_equal(c->parent_exe, "/bin/parent");
	assert_string_equal(c->parent_comm, "parent");
	pt_free(t);
}

static void long_chain_frees_without_recursion(void **state)
{
	struct ptable *t;
	struct pt_stats st;
	int n = 20000;

	(void)state;
	assert_int_equal(pt_new((size_t)n + 8, &t), 0);
	pt_fork(t, 0, 1, 1);
	for (int i = 2; i < n; i++) {
		pt_fork(t, i - 1, i, (uint64_t)i);
		if (i > 2)
			pt_exit(t, i - 1, (uint64_t)i);
	}
	pt_expire(t, PT_LINGER_NS + (uint64_t)n + 1);
	pt_get_stats(t, &st);
	assert_true(st.entries >= (uint64_t)n - 2); /* held: the leaf names them all */
	pt_exit(t, n - 1, (uint64_t)n + 1);
	pt_expire(t, 2 * PT_LINGER_NS + (uint64_t)n + 2);
	pt_get_stats(t, &st);
	assert_int_equal(st.entries, 1); /* pid 1 */
	pt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fork_inherits_and_exec_forgets),
	    cmocka_unit_test(uid_event_changes_ids),
	    cmocka_unit_test(lineage_survives_reparenting_and_exit),
	    cmocka_unit_test(pid_reuse_is_a_new_entry),
	    cmocka_unit_test(exec_without_fork_is_unknown_origin),
	    cmocka_unit_test(capacity_evicts_exited_first_and_counts),
	    cmocka_unit_test(resync_marks_vanished_as_exited),
	    cmocka_unit_test(scan_links_a_child_listed_before_its_parent),
	    cmocka_unit_test(long_chain_frees_without_recursion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
