/*
 * pw_victim.c - a tiny static program for the integration tests to launch.
 *
 * Overview: its very first act is to append one byte ('x') to the file named
 * by $PW_VICTIM_OUT (when set), so a test can tell whether it ran at all
 * (a policy that kills at exec must leave the file empty).  Then, in order:
 *   --sleep-ms N          sleep N milliseconds
 *   --exit N              exit code (default 0)
 *   --exec PATH ARGS...   execve PATH with ARGS (argv[0] = PATH): a chain
 *   --fork-exec PATH ...  fork a child that execs PATH, wait, exit with its
 *                         status (128 + signal when killed)
 *   --bg-exec PATH ...    fork a child that execs PATH and exit 0 at once
 *                         (the child lives on: storms of long-lived processes)
 *   --rename-self PATH    rename its own file (argv[0]) to PATH
 *   --unlink-self         unlink its own file
 *   --replace-self        put another file in its own file's place (rename
 *                         over it): its running file is then " (deleted)"
 *   --touch PATH          create PATH (a test's proof that it still ran)
 * Other arguments that do not start with "--" are payload, ignored (tests
 * put spaces, quotes and patterns in them).
 * --exec and --fork-exec take the rest of the command line.  Static, no
 * PATH search, nothing printed except on a usage or exec error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Append 'x' to $PW_VICTIM_OUT; errors are ignored (best effort). */
static void mark_run(void)
{
	const char *out = getenv("PW_VICTIM_OUT");
	int fd;

	if (!out || !*out)
		return;
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, "x", 1) < 0) {
		/* nothing to do: the test sees the missing byte */
	}
	close(fd);
}

/* Parse a non-negative int argument; -1 when malformed. */
static long parse_num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1000000000L)
		return -1;
	return v;
}

/* Sleep ms milliseconds, resuming after signals. */
static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fork a child that execs argv[0]; wait and return its exit status. */
static int fork_exec(char **argv)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		perror("pw_victim: fork");
		return 126;
	}
	if (pid == 0) {
		execve(argv[0], argv, environ);
		perror("pw_victim: execve");
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 126;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	long code = 0;

	mark_run();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sleep-ms") == 0 && i + 1 < argc) {
			long ms = parse_num(argv[++i]);

			if (ms < 0)
				goto usage;
			sleep_ms(ms);
		} else if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc) {
			code = parse_num(argv[++i]);
			if (code < 0 || code > 255)
				goto usage;
		} else if (strcmp(argv[i], "--exec") == 0 && i + 1 < argc) {
			execve(argv[i + 1], argv + i + 1, environ);
			perror("pw_victim: execve");
			return 127;
		} else if (strcmp(argv[i], "--fork-exec") == 0 && i + 1 < argc) {
			return fork_exec(argv + i + 1);
		} else if (strcmp(argv[i], "--bg-exec") == 0 && i + 1 < argc) {
			pid_t pid = fork();
			if (pid < 0)
				return 126;
			if (pid == 0) {
				execve(argv[i + 1], argv + i + 1, environ);
				_exit(127);
			}
			return 0;
		} else if (strcmp(argv[i], "--rename-self") == 0 && i + 1 < argc) {
			if (rename(argv[0], argv[++i]) < 0)
				perror("pw_victim: rename");
		} else if (strcmp(argv[i], "--unlink-self") == 0) {
			if (unlink(argv[0]) < 0)
				perror("pw_victim: unlink");
		} else if (strcmp(argv[i], "--replace-self") == 0) {
			char tmp[4096];
			int fd;
			snprintf(tmp, sizeof(tmp), "%s.new", argv[0]);
			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
			if (fd < 0 || write(fd, "#!/bin/true\n", 11) != 11 ||
			    rename(tmp, argv[0]) < 0)
				perror("pw_victim: replace");
			if (fd >= 0)
				close(fd);
		} else if (strcmp(argv[i], "--touch") == 0 && i + 1 < argc) {
			int fd = open(argv[++i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		} else if (strncmp(argv[i], "--", 2) != 0) {
			continue; /* payload */
		} else {
			goto usage;
		}
	}
	return (int)code;
usage:
	fprintf(stderr, "usage: pw_victim [--sleep-ms N] [--exit N] "
	                "[--exec|--fork-exec|--bg-exec PATH ARGS...] [PAYLOAD...]\n");
	return 2;
}
