/*
 * pw_forker - a victim that forks before anything else, for the tests of
 * kills that take the children and of pid reuse.
 *
 *   pw_forker fork DIR MS      fork at once; both sleep MS; a survivor
 *                              writes DIR/PID
 *   pw_forker double DIR MS    fork; the child setsid()s, forks and exits;
 *                              the grandchild sleeps MS and, if alive,
 *                              writes DIR/PID; the first process sleeps MS
 *   pw_forker reuse PROG MS    fork a child that execs PROG, reap it, then
 *                              clone3(set_tid) a child at the same pid that
 *                              sleeps MS; print "survived" or "killed"
 *                              (needs CAP_SYS_ADMIN)
 * Static, no PATH search.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep, then say that this process survived. */
static int survive(const char *dir, long ms)
{
	char path[4096];
	int fd;

	sleep_ms(ms);
	snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int reuse(const char *prog, long ms)
{
	struct clone_args ca;
	pid_t victim, again;
	pid_t tid[1];
	int st;

	victim = fork();
	if (victim == 0) {
		execl(prog, prog, "reused-victim", (char *)NULL);
		_exit(127);
	}
	if (victim < 0 || waitpid(victim, &st, 0) != victim)
		return 2;
	memset(&ca, 0, sizeof(ca));
	tid[0] = victim;
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)tid;
	ca.set_tid_size = 1;
	again = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (again == 0) {
		sleep_ms(ms);
		_exit(0);
	}
	if (again < 0) {
		perror("pw_forker: clone3");
		return 2;
	}
	if (waitpid(again, &st, 0) != again)
		return 2;
	printf("%s %d\n", WIFSIGNALED(st) ? "killed" : "survived", (int)again);
	return 0;
}

int main(int argc, char **argv)
{
	long ms;
	pid_t c;

	if (argc >= 2 && !strcmp(argv[1], "reused-victim")) {
		sleep_ms(30);
		return 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: pw_forker fork|double DIR MS | reuse PROG MS\n");
		return 2;
	}
	ms = atol(argv[3]);
	if (!strcmp(argv[1], "reuse"))
		return reuse(argv[2], ms);
	c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		if (!strcmp(argv[1], "double")) {
			setsid();
			if (fork() != 0)
				_exit(0);
		}
		return survive(argv[2], ms);
	}
	sleep_ms(ms);
	return 0;
}
