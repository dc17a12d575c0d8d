/*
 * test_proc_parent.c - the parent cache: a hit serves the exe and a fresh
 * comm; forget() (an exec) and the parent's exit refuse a hit; the cache is
 * bounded (least recently used evicted) and closes its fds.
 *
 * Overview: forks private children (by pid only, always killed and reaped)
 * and reads them as the parent of a process through proc_read() with
 * PROC_READ_PARENT and pi.ppid set by hand, so that a lookup can name a
 * parent that has exited (a real child would be reparented at once).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "procwarden/proc.h"

#define N_CHILDREN (PROC_PARENT_CACHE_SLOTS + 6)

static struct proc_info pi;        /* 48 KiB: too big for a test's stack */
static pid_t children[N_CHILDREN]; /* still to kill and reap, or 0 */

/* Teardown: a test that failed half-way leaves no child behind. */
static int kill_children(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CHILDREN; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	return 0;
}

/* Open fds of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* readlink path into buf (NUL-terminated). */
static void xreadlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	assert_true(n > 0);
	buf[n] = '\0';
}

/* Read ppid as the parent of a process, through st (and its cache). */
static void read_parent_of(int procfd, pid_t ppid, struct proc_read_stats *st)
{
	proc_info_reset(&pi, getpid());
	pi.ppid = ppid;
	pi.have |= PI_HAVE_PPID;
	proc_read(procfd, -1, getpid(), PROC_READ_PARENT, &pi, st);
}

/* The child: ack 'r', then on 'n' rename itself (ack 'n'), on 'e' exec
 * /bin/sleep 30, on EOF exit. */
static void child_main(int cmd, int ack)
{
	char c;

	if (write(ack, "r", 1) != 1)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'n') {
			prctl(PR_SET_NAME, "pw-renamed");
			if (write(ack, "n", 1) != 1)
				_exit(1);
		} else if (c == 'e') {
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
	}
	_exit(0);
}

/* Wait until /proc/PID/exe is want (the child's exec is done), up to 5 s. */
static void wait_exe(pid_t pid, const char *want)
{
	char path[64], link[PATH_MAX], comm[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 5000; i++) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		struct proc_stat ps;

		if (n > 0) {
			link[n] = '\0';
			if (!strcmp(link, want) && proc_read_stat(-1, pid, &ps) == 0 &&
			    !strcmp(ps.comm, "sleep"))
				return;
		}
		usleep(1000);
	}
	snprintf(comm, sizeof(comm), "%d", (int)pid);
	fail_msg("child %s never exec'd %s", comm, want);
}

static void test_hit_forget_exit(void **state)
{
	struct proc_read_stats st = {0};
	char self_exe[PATH_MAX], sleep_exe[PATH_MAX], c;
	int cmd[2], ack[2], procfd, fds0;
	uint64_t miss_parent;
	pid_t p;

	(void)state;
	xreadlink("/proc/self/exe", self_exe, sizeof(self_exe));
	assert_non_null(realpath("/bin/sleep", sleep_exe));
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	fds0 = count_fds();
	assert_int_equal(proc_parent_cache_new(&st.parents), 0);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		close(cmd[1]);
		close(ack[0]);
		child_main(cmd[0], ack[1]);
	}
	children[0] = p;
	close(cmd[0]);
	close(ack[1]);
	assert_int_equal(read(ack[0], &c, 1), 1);

	/* a miss fills the entry, the next read is a hit */
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 0);
	assert_true(pi.have & PI_HAVE_PARENT_EXE);
	assert_string_equal(pi.parent_exe, self_exe);
	assert_string_equal(pi.parent_comm, "test_proc_paren"); /* cut to 15 bytes */
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 1);
	assert_string_equal(pi.parent_exe, self_exe);
	assert_string_equal(pi.parent_comm, "test_proc_paren");

	/* a hit re-reads the comm: a rename shows at once */
	assert_int_equal(write(cmd[1], "n", 1), 1);
	assert_int_equal(read(ack[0], &c, 1), 1);
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 2);
	assert_string_equal(pi.parent_comm, "pw-renamed");
	assert_string_equal(pi.parent_exe, self_exe);

	/* an exec nobody reported: the entry stands (the exe is the cached one,
	 * the comm is read); reported with forget(), it is refused */
	assert_int_equal(write(cmd[1], "e", 1), 1);
	wait_exe(p, sleep_exe);
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 3);
	assert_string_equal(pi.parent_exe, self_exe);
	assert_string_equal(pi.parent_comm, "sleep");
	proc_parent_cache_forget(st.parents, p);
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 3);
	assert_string_equal(pi.parent_exe, sleep_exe);
	assert_string_equal(pi.parent_comm, "sleep");
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 4);
	assert_string_equal(pi.parent_exe, sleep_exe);

	/* the parent exits (a zombie, not reaped yet): no hit, and what /proc
	 * shows of a zombie (a comm, no exe) is what the record gets */
	miss_parent = st.miss_parent;
	kill(p, SIGKILL);
	assert_int_equal(waitid(P_PID, (id_t)p, &(siginfo_t){0}, WEXITED | WNOWAIT), 0);
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 4);
	assert_false(pi.have & PI_HAVE_PARENT_EXE);
	assert_true(pi.have & PI_HAVE_PARENT_COMM);
	assert_int_equal(st.miss_parent, miss_parent + 1);

	/* reaped: nothing at all */
	assert_int_equal(waitpid(p, NULL, 0), p);
	children[0] = 0;
	read_parent_of(procfd, p, &st);
	assert_int_equal(st.parent_cached, 4);
	assert_false(pi.have & (PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM));
	assert_int_equal(st.miss_parent, miss_parent + 2);

	close(cmd[1]);
	close(ack[0]);
	proc_parent_cache_free(st.parents);
	assert_int_equal(count_fds(), fds0);
	close(procfd);
}

/* Through proc_snapshot(): a real child's parent (this process) is cached,
 * and the cache gives the same fields as /proc. */
static void test_snapshot_through_cache(void **state)
{
	struct proc_read_stats st = {0}, plain = {0};
	static struct proc_info want;
	pid_t p;

	(void)state;
	assert_int_equal(proc_parent_cache_new(&st.parents), 0);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		pause();
		_exit(0);
	}
	children[0] = p;
	assert_int_equal(proc_snapshot(-1, p, PROC_SNAP_PARENT, &want, &plain), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(proc_snapshot(-1, p, PROC_SNAP_PARENT, &pi, &st), 0);
		assert_int_equal(pi.ppid, getpid());
		assert_string_equal(pi.parent_exe, want.parent_exe);
		assert_string_equal(pi.parent_comm, want.parent_comm);
		assert_int_equal(pi.have, want.have);
	}
	assert_int_equal(st.parent_cached, 2);
	assert_int_equal(st.miss_parent + plain.miss_parent, 0);
	/* with the ancestors the parent is read from /proc */
	assert_int_equal(proc_snapshot(-1, p, PROC_SNAP_PARENT | PROC_SNAP_ANCESTORS, &pi, &st), 0);
	assert_int_equal(st.parent_cached, 2);
	assert_string_equal(pi.parent_exe, want.parent_exe);
	kill(p, SIGKILL);
	assert_int_equal(waitpid(p, NULL, 0), p);
	children[0] = 0;
	proc_parent_cache_free(st.parents);
}

static void test_bounded_lru(void **state)
{
	struct proc_read_stats st = {0};
	int procfd, fds0;

	(void)state;
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	fds0 = count_fds();
	assert_int_equal(proc_parent_cache_new(&st.parents), 0);
	for (size_t i = 0; i < N_CHILDREN; i++) {
		pid_t p = fork();

		assert_true(p >= 0);
		if (p == 0) {
			pause();
			_exit(0);
		}
		children[i] = p;
	}
	for (size_t i = 0; i < N_CHILDREN; i++) {
		read_parent_of(procfd, children[i], &st);
		assert_true(pi.have & PI_HAVE_PARENT_EXE);
		assert_true(count_fds() <= fds0 + 2 * PROC_PARENT_CACHE_SLOTS);
	}
	assert_int_equal(count_fds(), fds0 + 2 * PROC_PARENT_CACHE_SLOTS);
	assert_int_equal(st.parent_cached, 0);
	/* the most recent are there, the oldest were evicted */
	read_parent_of(procfd, children[N_CHILDREN - 1], &st);
	assert_int_equal(st.parent_cached, 1);
	read_parent_of(procfd, children[0], &st);
	assert_int_equal(st.parent_cached, 1);
	/* clear closes everything; free accepts NULL, forget and clear too */
	proc_parent_cache_clear(st.parents);
	assert_int_equal(count_fds(), fds0);
	read_parent_of(procfd, children[N_CHILDREN - 1], &st);
	assert_int_equal(st.parent_cached, 1);
	proc_parent_cache_free(st.parents);
	assert_int_equal(count_fds(), fds0);
	proc_parent_cache_forget(NULL, 1);
	proc_parent_cache_clear(NULL);
	proc_parent_cache_free(NULL);
	kill_children(NULL);
	close(procfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hit_forget_exit, kill_children),
	    cmocka_unit_test_teardown(test_snapshot_through_cache, kill_children),
	    cmocka_unit_test_teardown(test_bounded_lru, kill_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
