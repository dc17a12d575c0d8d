/*
 * test_table_launch.c - a launch as the pipeline's consumers see it: the
 * table kept by launch_table_event() from event fixtures, read back with
 * launch_from_table() (lineage as forked, ids as changed, unknown as
 * unknown) and taught by launch_learn().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "procwarden/launch.h"
#include "procwarden/proc.h"
#include "procwarden/ptable.h"

#define MS 1000000ull

static struct pw_event event(uint32_t type, int32_t pid, int32_t ppid, uint64_t ns)
{
	struct pw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.pid = ev.tid = pid;
	ev.ppid = ev.ptid = ppid;
	ev.ktime_ns = ns;
	ev.pidfd = ev.exefd = -1;
	return ev;
}

/* init, and a web server (uid 33) under it, as the start scan saw them */
static struct ptable *world(void)
{
	struct ptable *t;

	assert_int_equal(pt_new(64, &t), 0);
	pt_resync_begin(t);
	assert_non_null(pt_scanned(t, 1, 0, 1 * MS, PT_K_IDS, 0, 0, 0, 0, "/sbin/init", "init"));
	assert_non_null(
	    pt_scanned(t, 100, 1, 2 * MS, PT_K_IDS, 33, 33, 33, 33, "/usr/sbin/httpd", "httpd"));
	pt_resync_end(t, 3 * MS);
	return t;
}

/* The server double-forks and its middle child exits: the shell exec'd by
 * the grandchild is still the server's, by lineage as forked. */
static void lineage_as_forked_after_double_fork(void **state)
{
	struct ptable *t = world();
	struct proc_info *pi = malloc(sizeof(*pi));
	struct pw_event ev;

	(void)state;
	assert_non_null(pi);
	ev = event(PW_EV_FORK, 200, 100, 10 * MS);
	assert_non_null(launch_table_event(t, &ev));
	ev = event(PW_EV_FORK, 201, 200, 11 * MS);
	assert_non_null(launch_table_event(t, &ev));
	ev = event(PW_EV_EXIT, 200, 100, 12 * MS);
	launch_table_event(t, &ev);
	struct pt_proc *e = pt_exec(t, 201, 13 * MS);
	assert_non_null(e);
	proc_info_reset(pi, 201);
	launch_from_table(t, e, pi, true);
	assert_true(pi->have & PI_HAVE_PPID);
	assert_int_equal(pi->ppid, 200); /* the forking parent, gone and reparented since */
	assert_true(pi->have & PI_HAVE_PARENT_EXE);
	assert_string_equal(pi->parent_exe, "/usr/sbin/httpd"); /* the exe it had at the fork */
	assert_true((pi->have & (PI_HAVE_UID | PI_HAVE_GID)) == (PI_HAVE_UID | PI_HAVE_GID));
	assert_int_equal(pi->uid, 33);
	assert_false(pi->have & PI_HAVE_EUID); /* the exec may have changed it */
	/* ancestors above the parent: the server, init */
	assert_int_equal(pi->n_ancestors, 2);
	assert_string_equal(pi->ancestors, "/usr/sbin/httpd");
	assert_false(pi->flags & PI_ANCESTORS_CUT);
	free(pi);
	pt_free(t);
}

/* A uid event changes the ids a later exec is judged with; the effective
 * ids after an exec are unknown until learnt (a set-id program changes
 * them without an event), never guessed. */
static void ids_as_changed_and_unknown_until_learnt(void **state)
{
	struct ptable *t = world();
	struct proc_info *pi = malloc(sizeof(*pi));
	struct pw_event ev;

	(void)state;
	assert_non_null(pi);
	ev = event(PW_EV_FORK, 300, 100, 10 * MS);
	launch_table_event(t, &ev);
	ev = event(PW_EV_UID, 300, 0, 11 * MS);
	ev.a = 64100;
	ev.b = 64100;
	assert_non_null(launch_table_event(t, &ev));
	struct pt_proc *e = pt_exec(t, 300, 12 * MS);
	assert_non_null(e);
	proc_info_reset(pi, 300);
	launch_from_table(t, e, pi, false);
	assert_true(pi->have & PI_HAVE_UID);
	assert_int_equal(pi->uid, 64100);
	assert_false(pi->have & PI_HAVE_EUID);
	assert_false(pi->have & PI_HAVE_EGID);
	assert_false(pi->have & PI_HAVE_ANCESTORS); /* not asked */
	/* /proc (or the capture) said 0: the table learns it */
	pi->euid = 0;
	pi->have |= PI_HAVE_EUID;
	proc_set_exe(pi, "/usr/bin/sudo", strlen("/usr/bin/sudo"));
	launch_learn(t, e, pi);
	assert_true(e->known & PT_K_EUID);
	assert_int_equal(e->euid, 0);
	assert_true(e->known & PT_K_EXE);
	assert_string_equal(e->exe, "/usr/bin/sudo");
	/* its child inherits what was learnt */
	ev = event(PW_EV_FORK, 301, 300, 13 * MS);
	struct pt_proc *c = launch_table_event(t, &ev);
	assert_non_null(c);
	assert_string_equal(c->parent_exe, "/usr/bin/sudo");
	assert_int_equal(c->euid, 0);
	free(pi);
	pt_free(t);
}

/* A comm event of a thread does not rename its process; an unknown pid's
 * events name nothing. */
static void comm_of_a_thread_and_unknown_pids(void **state)
{
	struct ptable *t = world();
	struct pw_event ev;

	(void)state;
	ev = event(PW_EV_COMM, 100, 0, 10 * MS);
	ev.tid = 105;
	snprintf(ev.comm, sizeof(ev.comm), "worker");
	struct pt_proc *e = launch_table_event(t, &ev);
	assert_non_null(e);
	assert_string_equal(e->comm, "httpd");
	ev.tid = 100;
	e = launch_table_event(t, &ev);
	assert_non_null(e);
	assert_string_equal(e->comm, "worker");
	ev = event(PW_EV_EXIT, 4242, 1, 11 * MS);
	assert_null(launch_table_event(t, &ev));
	pt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lineage_as_forked_after_double_fork),
	    cmocka_unit_test(ids_as_changed_and_unknown_until_learnt),
	    cmocka_unit_test(comm_of_a_thread_and_unknown_pids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
