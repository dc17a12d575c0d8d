/*
 * test_proc.c - the /proc parsers on fixtures, and snapshots of live processes.
 *
 * Overview: the first half feeds tests/fixtures/proc/ files to the pure
 * parsers; the second half forks private children (by pid only, always
 * reaped) and checks proc_snapshot() and proc_scan() against them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "procwarden/proc.h"

static struct proc_info pi; /* 48 KiB: too big for a test's stack */
static pid_t live_child;    /* a child still to kill and reap, or 0 */

/* Read fixture NAME into a new buffer (caller frees); *len gets its size. */
static char *fixture(const char *name, size_t *len)
{
	const char *dir = getenv("PW_FIXTURES") ? getenv("PW_FIXTURES") : PW_FIXTURES;
	char path[PATH_MAX];
	struct stat sb;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/proc/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

/* Parse stat fixture NAME; return proc_parse_stat's result. */
static int parse_stat_fixture(const char *name, struct proc_stat *st)
{
	size_t len;
	char *buf = fixture(name, &len);
	int r = proc_parse_stat(buf, len, st);

	free(buf);
	return r;
}

/* ---- stat ---- */

static void test_stat_comm_with_parens(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(parse_stat_fixture("stat_paren", &st), 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "a) b)");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.start_time, 987654);
}

static void test_stat_comm_with_space_and_newline(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(parse_stat_fixture("stat_space", &st), 0);
	assert_string_equal(st.comm, "Web Content");
	assert_int_equal(st.pid, 4321);
	assert_int_equal(st.ppid, 4000);
	assert_int_equal(st.start_time, 123456789);

	assert_int_equal(parse_stat_fixture("stat_newline", &st), 0);
	assert_string_equal(st.comm, "two\nlines");
	assert_int_equal(st.ppid, 76);
	assert_int_equal(st.start_time, 4242);
}

static void test_stat_kthread_and_long_comm(void **state)
{
	struct proc_stat st;

	(void)state;
	assert_int_equal(parse_stat_fixture("stat_kthread", &st), 0);
	assert_int_equal(st.pid, 2);
	assert_int_equal(st.ppid, 0);
	assert_string_equal(st.comm, "kthreadd");
	assert_true(st.flags & PW_PF_KTHREAD);
	assert_int_equal(st.start_time, 11);

	assert_int_equal(parse_stat_fixture("stat_longcomm", &st), 0);
	assert_int_equal(strlen(st.comm), PW_COMM_MAX - 1);
	assert_string_equal(st.comm, "a-very-long-ker");
	assert_int_equal(st.state, 'I');

	assert_int_equal(parse_stat_fixture("stat_zombie", &st), 0);
	assert_int_equal(st.state, 'Z');
}

static void test_stat_malformed(void **state)
{
	static const char *const bad[] = {"stat_short",    "stat_noparen", "stat_badppid",
	                                  "stat_badstate", "stat_badpid",  "stat_empty"};
	struct proc_stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&st, 0x5a, sizeof(st));
		assert_int_equal(parse_stat_fixture(bad[i], &st), -EINVAL);
		assert_int_equal(st.pid, 0x5a5a5a5a); /* untouched */
	}
	/* Cut anywhere before field 22: always -EINVAL, never a read past len. */
	size_t len;
	char *buf = fixture("stat_paren", &len);
	const char *f22 = strstr(buf, " 987654");

	assert_non_null(f22);
	for (size_t n = 0; n < (size_t)(f22 - buf) + 1; n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		assert_int_equal(proc_parse_stat(cut, n, &st), -EINVAL);
		free(cut);
	}
	free(buf);
	assert_int_equal(proc_parse_stat("1 (x)", 5, &st), -EINVAL);
	assert_int_equal(proc_parse_stat(")1 (x S", 7, &st), -EINVAL);
	const char *big = "1 (x) S 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 99999999999999999999";

	assert_int_equal(proc_parse_stat(big, strlen(big), &st), -EINVAL);
	assert_int_equal(proc_parse_stat(big, strlen(big) - 2, &st), 0);
	assert_int_equal(st.start_time, 999999999999999999u);
}

/* ---- status ---- */

static void test_status_ids(void **state)
{
	uint32_t u = 7, eu = 7, g = 7, eg = 7;
	size_t len;
	char *buf;

	(void)state;
	buf = fixture("status_normal", &len);
	assert_int_equal(proc_parse_status_ids(buf, len, &u, &eu, &g, &eg), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(eu, 1001);
	assert_int_equal(g, 100);
	assert_int_equal(eg, 101);
	free(buf);

	static const char *const bad[] = {"status_nogid", "status_badgid", "status_shortuid"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = eu = g = eg = 7;
		buf = fixture(bad[i], &len);
		assert_int_equal(proc_parse_status_ids(buf, len, &u, &eu, &g, &eg), -EINVAL);
		assert_int_equal(u + eu + g + eg, 28); /* untouched */
		free(buf);
	}
	assert_int_equal(proc_parse_status_ids("", 0, &u, &eu, &g, &eg), -EINVAL);
	/* "XUid:" is not "Uid:" */
	const char *xuid = "XUid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n";

	assert_int_equal(proc_parse_status_ids(xuid, strlen(xuid), &u, &eu, &g, &eg), -EINVAL);
	assert_int_equal(proc_parse_status_ids(xuid + 1, strlen(xuid) - 1, &u, &eu, &g, &eg), 0);
	assert_int_equal(u + eu + g + eg, 4);
}

/* ---- cmdline ---- */

static void test_argv_normal_and_kthread(void **state)
{
	char line[64];
	size_t len;
	char *buf;

	(void)state;
	memset(&pi, 0, sizeof(pi));
	buf = fixture("cmdline_sleep", &len);
	proc_set_argv(&pi, buf, len, 0);
	free(buf);
	assert_int_equal(pi.argc, 2);
	assert_int_equal(pi.argv_len, 14);
	assert_string_equal(pi.argv, "/bin/sleep");
	assert_string_equal(pi.argv + 11, "30");
	assert_true(pi.have & PI_HAVE_ARGV);
	assert_false(pi.flags & PI_ARGV_TRUNCATED);
	assert_int_equal(proc_cmdline(&pi, line, sizeof(line)), 13);
	assert_string_equal(line, "/bin/sleep 30");
	assert_int_equal(proc_cmdline(&pi, line, 5), 4);
	assert_string_equal(line, "/bin");
	assert_int_equal(proc_cmdline(&pi, line, 0), 0);

	memset(&pi, 0x7f, sizeof(pi));
	buf = fixture("cmdline_kthread", &len);
	assert_int_equal(len, 0);
	proc_set_argv(&pi, buf, len, 0);
	free(buf);
	assert_int_equal(pi.argc, 0);
	assert_int_equal(pi.argv_len, 0);
	assert_int_equal(pi.argv[0], '\0');
	assert_int_equal(proc_cmdline(&pi, line, sizeof(line)), 0);
	assert_string_equal(line, "");
}

static void test_argv_no_trailing_nul(void **state)
{
	char line[64];
	size_t len;
	char *buf;

	(void)state;
	memset(&pi, 0, sizeof(pi));
	buf = fixture("cmdline_nonul", &len);
	proc_set_argv(&pi, buf, len, 0);
	free(buf);
	assert_int_equal(pi.argc, 1);
	assert_int_equal(pi.argv_len, len + 1);
	assert_string_equal(pi.argv, "sshd: alice [priv]");
	assert_false(pi.flags & PI_ARGV_TRUNCATED);
	proc_cmdline(&pi, line, sizeof(line));
	assert_string_equal(line, "sshd: alice [priv]");
}

static void test_argv_128k_truncated(void **state)
{
	size_t len, nuls = 0;
	char *buf;

	(void)state;
	memset(&pi, 0, sizeof(pi));
	buf = fixture("cmdline_128k", &len);
	assert_int_equal(len, 128 * 1024);
	proc_set_argv(&pi, buf, len, 0);
	assert_true(pi.flags & PI_ARGV_TRUNCATED);
	assert_int_equal(pi.argv_len, PW_ARGV_MAX);
	assert_int_equal(pi.argv[PW_ARGV_MAX - 1], '\0');
	assert_string_equal(pi.argv, "/usr/bin/big");
	for (size_t i = 0; i < pi.argv_len; i++)
		nuls += pi.argv[i] == '\0';
	assert_int_equal(pi.argc, nuls);
	assert_memory_equal(pi.argv, buf, PW_ARGV_MAX - 1);

	/* The same bytes, read in place and cut by the reader. */
	memset(&pi, 0, sizeof(pi));
	memcpy(pi.argv, buf, PW_ARGV_MAX);
	proc_set_argv(&pi, pi.argv, PW_ARGV_MAX, 1);
	assert_true(pi.flags & PI_ARGV_TRUNCATED);
	assert_int_equal(pi.argv_len, PW_ARGV_MAX);
	assert_int_equal(pi.argc, nuls);

	/* An exact fit with its final NUL is not truncated. */
	buf[PW_ARGV_MAX - 1] = '\0';
	memset(&pi, 0, sizeof(pi));
	proc_set_argv(&pi, buf, PW_ARGV_MAX, 0);
	assert_false(pi.flags & PI_ARGV_TRUNCATED);
	free(buf);
}

/* ---- exe ---- */

static void test_exe_kinds(void **state)
{
	size_t len;
	char *buf;

	(void)state;
	memset(&pi, 0, sizeof(pi));
	buf = fixture("exe_normal", &len);
	proc_set_exe(&pi, buf, len);
	free(buf);
	assert_string_equal(pi.exe, "/usr/bin/sleep");
	assert_true(pi.have & PI_HAVE_EXE);
	assert_false(proc_info_fileless(&pi));

	buf = fixture("exe_deleted", &len);
	proc_set_exe(&pi, buf, len);
	free(buf);
	assert_string_equal(pi.exe, "/usr/local/bin/agent (deleted)");
	assert_true(pi.flags & PI_EXE_DELETED);
	assert_false(pi.flags & PI_EXE_MEMFD);
	assert_true(proc_info_fileless(&pi));

	buf = fixture("exe_memfd", &len);
	proc_set_exe(&pi, buf, len);
	free(buf);
	assert_string_equal(pi.exe, "/memfd:payload (deleted)");
	assert_true(pi.flags & PI_EXE_MEMFD);
	assert_true(pi.flags & PI_EXE_DELETED);

	/* Not fooled by look-alikes. */
	proc_set_exe(&pi, "/usr/bin/memfd:x", 16);
	assert_int_equal(pi.flags & (PI_EXE_MEMFD | PI_EXE_DELETED), 0);
	proc_set_exe(&pi, "/x (deleted) y", 14);
	assert_false(pi.flags & PI_EXE_DELETED);
}

static void test_exe_truncated(void **state)
{
	static char link[PW_PATH_MAX + 100];
	size_t n;

	(void)state;
	memset(&pi, 0, sizeof(pi));
	memset(link, 'a', sizeof(link));
	link[0] = '/';
	proc_set_exe(&pi, link, sizeof(link));
	assert_int_equal(strlen(pi.exe), PW_PATH_MAX - 1);
	assert_true(pi.flags & PI_EXE_TRUNCATED);
	assert_false(pi.flags & PI_EXE_DELETED);

	n = sizeof(link) - 10;
	memcpy(link + n, " (deleted)", 10);
	proc_set_exe(&pi, link, sizeof(link));
	assert_int_equal(strlen(pi.exe), PW_PATH_MAX - 1);
	assert_true(pi.flags & PI_EXE_TRUNCATED);
	assert_true(pi.flags & PI_EXE_DELETED);
	assert_string_equal(pi.exe + PW_PATH_MAX - 11, " (deleted)");

	proc_set_exe(&pi, "", 0);
	assert_false(pi.have & PI_HAVE_EXE);
	assert_int_equal(pi.flags & (PI_EXE_TRUNCATED | PI_EXE_DELETED), 0);
}

/* ---- live processes ---- */

/* readlink path into buf (NUL-terminated). */
static void xreadlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	assert_true(n > 0);
	buf[n] = '\0';
}

/* Fork a child that execs /bin/sleep 30; wait until the exec is complete
 * (the exe link changes early in execve, the args only later). */
static pid_t spawn_sleep(void)
{
	static const char want[] = "/bin/sleep\0"
	                           "30";
	char path[64], buf[64];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sleep", "/bin/sleep", "30", (char *)NULL);
		_exit(127);
	}
	live_child = pid;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 5000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

		if (fd >= 0)
			close(fd);
		if (n == sizeof(want) && memcmp(buf, want, sizeof(want)) == 0)
			return pid;
		usleep(1000);
	}
	fail_msg("child %d never exec'd /bin/sleep", (int)pid);
	return -1;
}

/* Kill (by pid) and reap our own child. */
static void reap(pid_t pid, int sig)
{
	int status;

	if (sig)
		kill(pid, sig);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (pid == live_child)
		live_child = 0;
}

/* Teardown: a test that failed half-way leaves no child behind. */
static int kill_child(void **state)
{
	(void)state;
	if (live_child > 0) {
		kill(live_child, SIGKILL);
		waitpid(live_child, NULL, 0);
		live_child = 0;
	}
	return 0;
}

static void test_snapshot_self(void **state)
{
	struct proc_read_stats st = {0};
	char exe[PATH_MAX], pexe[PATH_MAX], path[64];
	int procfd;

	(void)state;
	xreadlink("/proc/self/exe", exe, sizeof(exe));
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);

	for (int round = 0; round < 2; round++) {
		int fd = round ? procfd : -1;

		assert_int_equal(proc_snapshot(fd, getpid(), PROC_SNAP_PARENT, &pi, &st), 0);
		assert_int_equal(pi.pid, getpid());
		assert_int_equal(pi.ppid, getppid());
		assert_string_equal(pi.exe, exe);
		assert_string_equal(pi.comm, "test_proc");
		assert_int_equal(pi.uid, getuid());
		assert_int_equal(pi.euid, geteuid());
		assert_int_equal(pi.gid, getgid());
		assert_int_equal(pi.egid, getegid());
		assert_true(pi.start_time > 0);
		assert_int_equal(pi.start_time, proc_start_time(fd, getpid()));
		assert_true(pi.argc >= 1);
		assert_non_null(strstr(pi.argv, "test_proc"));
		assert_int_equal(pi.flags & (PI_GONE | PI_KTHREAD | PI_EXE_DELETED), 0);
		assert_true((pi.have & (PI_HAVE_EXE | PI_HAVE_ARGV | PI_HAVE_COMM | PI_HAVE_IDS |
		                        PI_HAVE_STAT | PI_HAVE_PARENT_COMM)) ==
		            (PI_HAVE_EXE | PI_HAVE_ARGV | PI_HAVE_COMM | PI_HAVE_IDS |
		             PI_HAVE_STAT | PI_HAVE_PARENT_COMM));
		if (readlink(path, pexe, sizeof(pexe)) > 0)
			assert_true(pi.have & PI_HAVE_PARENT_EXE);
	}
	assert_int_equal(st.snapshots, 2);
	assert_int_equal(st.gone + st.miss_exe + st.miss_argv + st.miss_stat + st.miss_ids, 0);
	close(procfd);
}

static void test_snapshot_child_exec(void **state)
{
	struct proc_read_stats st = {0};
	char exe[PATH_MAX], sleep_exe[PATH_MAX];
	pid_t pid;

	(void)state;
	xreadlink("/proc/self/exe", exe, sizeof(exe));
	pid = spawn_sleep();
	assert_int_equal(proc_snapshot(-1, pid, PROC_SNAP_PARENT | PROC_SNAP_ANCESTORS, &pi, &st),
	                 0);
	assert_non_null(realpath("/bin/sleep", sleep_exe));
	assert_string_equal(pi.exe, sleep_exe);
	assert_int_equal(pi.argc, 2);
	assert_string_equal(pi.argv, "/bin/sleep");
	assert_string_equal(pi.argv + 11, "30");
	assert_string_equal(pi.comm, "sleep");
	assert_int_equal(pi.ppid, getpid());
	assert_string_equal(pi.parent_exe, exe);
	assert_string_equal(pi.parent_comm, "test_proc");
	assert_true(pi.have & PI_HAVE_PARENT_EXE);
	assert_true(pi.have & PI_HAVE_PARENT_COMM);
	if (getppid() > 1) {
		/* The first ancestor is our parent (the child's grandparent). */
		char pexe[PATH_MAX], path[64];

		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
		assert_true(pi.n_ancestors >= 1);
		n = readlink(path, pexe, sizeof(pexe) - 1);
		if (n > 0) {
			pexe[n] = '\0';
			assert_string_equal(pi.ancestors, pexe);
		}
	}
	assert_int_equal(st.gone + st.miss_exe + st.miss_parent, 0);
	reap(pid, SIGKILL);
}

static void test_snapshot_zombie(void **state)
{
	struct proc_read_stats st = {0};
	siginfo_t si;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(3);
	live_child = pid;
	/* Wait for the exit but leave the zombie in place. */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);

	assert_int_equal(proc_snapshot(-1, pid, PROC_SNAP_PARENT, &pi, &st), 0);
	assert_int_equal(pi.pid, pid);
	assert_true(pi.flags & PI_GONE);
	assert_false(pi.flags & PI_KTHREAD);
	assert_false(pi.have & PI_HAVE_EXE);
	assert_false(pi.have & PI_HAVE_ARGV);
	assert_true(pi.have & PI_HAVE_STAT);
	assert_true(pi.have & PI_HAVE_IDS);
	assert_string_equal(pi.comm, "test_proc");
	assert_int_equal(pi.ppid, getpid());
	assert_int_equal(pi.uid, getuid());
	assert_int_equal(st.gone, 1);
	assert_int_equal(st.miss_exe, 1);
	assert_int_equal(st.miss_argv, 1);
	assert_int_equal(st.miss_stat + st.miss_ids + st.miss_parent, 0);
	reap(pid, 0);
}

static void test_snapshot_reaped(void **state)
{
	struct proc_read_stats st = {0};
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	reap(pid, 0);
	assert_int_equal(proc_snapshot(-1, pid, PROC_SNAP_PARENT, &pi, &st), -ESRCH);
	assert_int_equal(pi.pid, pid);
	assert_true(pi.flags & PI_GONE);
	assert_int_equal(pi.have, 0);
	assert_int_equal(st.gone, 1);
	assert_int_equal(st.snapshots, 1);
	assert_int_equal(proc_start_time(-1, pid), 0);
}

static void test_snapshot_kthread(void **state)
{
	struct proc_read_stats st = {0};
	struct proc_stat ps;

	(void)state;
	if (proc_read_stat(-1, 2, &ps) < 0 || strcmp(ps.comm, "kthreadd") != 0)
		skip(); /* in a pid namespace pid 2 is not kthreadd */
	assert_int_equal(proc_snapshot(-1, 2, PROC_SNAP_PARENT, &pi, &st), 0);
	assert_true(pi.flags & PI_KTHREAD);
	assert_false(pi.flags & PI_GONE);
	assert_int_equal(pi.argc, 0);
	assert_false(pi.have & PI_HAVE_EXE);
	assert_int_equal(st.miss_exe + st.miss_argv + st.gone, 0);
}

static void test_snapshot_ancestors_of_self(void **state)
{
	struct proc_read_stats st = {0};
	struct proc_stat ps;
	char init_exe[PATH_MAX];
	const char *last = NULL;
	uint32_t depth = 0;
	ssize_t n;
	pid_t a;

	(void)state;
	/* Expected: grandparent .. pid 1.  /proc/1/exe may be unreadable in a
	 * sandbox (EACCES): then its entry is "". */
	assert_int_equal(proc_read_stat(-1, getppid(), &ps), 0);
	for (a = ps.ppid; a > 0 && depth < PW_ANCESTORS_MAX; depth++) {
		if (a == 1)
			break;
		assert_int_equal(proc_read_stat(-1, a, &ps), 0);
		a = ps.ppid;
	}
	if (a == 1)
		depth++;
	n = readlink("/proc/1/exe", init_exe, sizeof(init_exe) - 1);
	init_exe[n > 0 ? n : 0] = '\0';

	assert_int_equal(proc_snapshot(-1, getpid(), PROC_SNAP_ANCESTORS, &pi, &st), 0);
	assert_false(pi.have & PI_HAVE_PARENT_EXE); /* not asked for */
	assert_int_equal(pi.n_ancestors, depth);
	if (depth == 0)
		return;
	assert_true(pi.have & PI_HAVE_ANCESTORS);
	assert_true(pi.ancestors_len <= PW_ANCESTOR_BUF);
	assert_int_equal(pi.ancestors[pi.ancestors_len - 1], '\0');
	for (uint32_t i = 0, off = 0; i < pi.n_ancestors; i++) {
		last = pi.ancestors + off;
		off += (uint32_t)strlen(last) + 1;
		assert_true(off <= pi.ancestors_len);
	}
	if (a == 1)
		assert_string_equal(last, init_exe);
}

struct scan_ctx {
	uint64_t min_start;
	pid_t child, self, last;
	int saw_child, saw_self, saw_init, bad_order, too_old, n;
};

/* Record what proc_scan() visits. */
static int scan_cb(pid_t pid, uint64_t start_time, void *arg)
{
	struct scan_ctx *c = arg;

	c->n++;
	if (pid <= c->last)
		c->bad_order++;
	c->last = pid;
	if (start_time < c->min_start)
		c->too_old++;
	c->saw_child |= pid == c->child;
	c->saw_self |= pid == c->self;
	c->saw_init |= pid == 1;
	return 0;
}

/* Stop after the first one. */
static int scan_stop(pid_t pid, uint64_t start_time, void *arg)
{
	(void)pid;
	(void)start_time;
	(*(int *)arg)++;
	return 1;
}

static void test_scan_finds_new_child(void **state)
{
	struct scan_ctx c = {0};
	struct timespec ts;
	uint64_t now;
	pid_t child;
	long tck = proc_clk_tck();
	int procfd, calls = 0, r;

	(void)state;
	assert_true(tck > 0);
	/* A start time later than our own: now, in ticks since boot. */
	usleep(3 * 1000000 / (useconds_t)tck);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * (uint64_t)tck +
	      (uint64_t)ts.tv_nsec / (1000000000u / (uint64_t)tck);
	assert_true(proc_start_time(-1, getpid()) < now);

	c.min_start = now;
	c.self = getpid();
	c.child = child = spawn_sleep();
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	r = proc_scan(procfd, now, scan_cb, &c);
	assert_int_equal(r, c.n);
	assert_true(c.saw_child);
	assert_false(c.saw_self);
	assert_false(c.saw_init);
	assert_int_equal(c.bad_order + c.too_old, 0);

	/* All processes, from the path; the callback can stop it. */
	memset(&c, 0, sizeof(c));
	c.self = getpid();
	r = proc_scan(-1, 0, scan_cb, &c);
	assert_true(r >= 3);
	assert_true(c.saw_self && c.saw_init);
	assert_int_equal(c.bad_order, 0);
	assert_int_equal(proc_scan(-1, 0, scan_stop, &calls), 1);
	assert_int_equal(calls, 1);
	close(procfd);
	reap(child, SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stat_comm_with_parens),
	    cmocka_unit_test(test_stat_comm_with_space_and_newline),
	    cmocka_unit_test(test_stat_kthread_and_long_comm),
	    cmocka_unit_test(test_stat_malformed),
	    cmocka_unit_test(test_status_ids),
	    cmocka_unit_test(test_argv_normal_and_kthread),
	    cmocka_unit_test(test_argv_no_trailing_nul),
	    cmocka_unit_test(test_argv_128k_truncated),
	    cmocka_unit_test(test_exe_kinds),
	    cmocka_unit_test(test_exe_truncated),
	    cmocka_unit_test(test_snapshot_self),
	    cmocka_unit_test_teardown(test_snapshot_child_exec, kill_child),
	    cmocka_unit_test_teardown(test_snapshot_zombie, kill_child),
	    cmocka_unit_test(test_snapshot_reaped),
	    cmocka_unit_test(test_snapshot_kthread),
	    cmocka_unit_test(test_snapshot_ancestors_of_self),
	    cmocka_unit_test_teardown(test_scan_finds_new_child, kill_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
