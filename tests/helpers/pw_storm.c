/*
 * pw_storm.c - a bounded exec storm for the overrun tests and benchmarks.
 *
 *   pw_storm -n N -w W [-r RATE_PER_S] [-t MAX_SECONDS] [--sleep-ms MS]
 *            BINARY [ARGS...]
 *
 * Overview: W worker processes together do N fork+execve of BINARY (no PATH
 * search; argv[0] = BINARY), each waiting for its child before the next.
 * -r spreads the launches at a global target rate; --sleep-ms makes each
 * worker pause MS between launches.  It always stops: after N launches or
 * MAX_SECONDS (default 60, at most 3600), whichever comes first; workers and
 * their children die with SIGKILL if their parent dies (PR_SET_PDEATHSIG), and
 * workers still running 5 s past the deadline are killed by pid.  Counts go
 * through a shared anonymous mapping, one slot per worker.  Prints one line:
 *   launched N in S.SSS s (R/s), failed F
 * where failed counts fork errors and children that exited 127 (execve
 * failed).  Exit status 0 when nothing failed, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORM_MAX_N 100000000L
#define STORM_MAX_WORKERS 1024
#define STORM_MAX_SECONDS 3600
#define STORM_GRACE_S 5

extern char **environ;

struct slot {
	volatile uint64_t launched, failed;
};

static struct {
	long n, workers, max_s, sleep_ms;
	double rate;
	char **argv; /* BINARY ARGS... */
} opt = {.n = 0, .workers = 1, .max_s = 60};

/* Monotonic time in seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until monotonic time t (seconds). */
static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* One launch: fork, execve in the child, wait.  Returns 0 or -1 (failed). */
static int launch(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(opt.argv[0], opt.argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -1 : 0;
}

/* Worker w: do count launches, paced, until the deadline. */
static void worker(long w, long count, double start, double deadline, struct slot *s)
{
	double interval = opt.rate > 0 ? (double)opt.workers / opt.rate : 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (long k = 0; k < count; k++) {
		if (interval > 0) {
			/* Workers interleave: worker w's k-th slot in the global schedule. */
			double t = start + ((double)k + (double)w / (double)opt.workers) * interval;

			if (t >= deadline)
				break;
			sleep_until(t);
		}
		if (now_s() >= deadline)
			break;
		if (launch() < 0)
			s->failed++;
		else
			s->launched++;
		if (opt.sleep_ms > 0)
			sleep_until(now_s() + (double)opt.sleep_ms / 1000.0);
	}
}

/* Parse a bounded non-negative integer; -1 when malformed. */
static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	return v;
}

/* Parse the command line into opt; 0 or -1. */
static int parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!v)
			return -1;
		i++;
		if (strcmp(a, "-n") == 0) {
			opt.n = parse_num(v, STORM_MAX_N);
		} else if (strcmp(a, "-w") == 0) {
			opt.workers = parse_num(v, STORM_MAX_WORKERS);
		} else if (strcmp(a, "-t") == 0) {
			opt.max_s = parse_num(v, STORM_MAX_SECONDS);
		} else if (strcmp(a, "--sleep-ms") == 0) {
			opt.sleep_ms = parse_num(v, 60000);
		} else if (strcmp(a, "-r") == 0) {
			errno = 0;
			opt.rate = strtod(v, &end);
			if (errno || end == v || *end || !(opt.rate > 0 && opt.rate <= 1e7))
				return -1;
		} else {
			return -1;
		}
		if (opt.n < 0 || opt.workers < 1 || opt.max_s < 1 || opt.sleep_ms < 0)
			return -1;
	}
	if (i >= argc || opt.n < 1)
		return -1;
	opt.argv = argv + i;
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[STORM_MAX_WORKERS];
	uint64_t launched = 0, failed = 0;
	double start, deadline, elapsed;
	struct slot *slots;
	long started = 0;

	if (parse_args(argc, argv) < 0) {
		fprintf(stderr, "usage: pw_storm -n N -w W [-r RATE_PER_S] [-t MAX_SECONDS] "
		                "[--sleep-ms MS] BINARY [ARGS...]\n");
		return 2;
	}
	if (opt.workers > opt.n)
		opt.workers = opt.n;
	slots = mmap(NULL, sizeof(*slots) * (size_t)opt.workers, PROT_READ | PROT_WRITE,
	             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("pw_storm: mmap");
		return 1;
	}
	start = now_s();
	deadline = start + (double)opt.max_s;
	for (long w = 0; w < opt.workers; w++) {
		long count = opt.n / opt.workers + (w < opt.n % opt.workers);
		pid_t pid = fork();

		if (pid < 0) {
			perror("pw_storm: fork");
			failed += (uint64_t)count;
			continue;
		}
		if (pid == 0) {
			worker(w, count, start, deadline, &slots[w]);
			_exit(0);
		}
		pids[started++] = pid;
	}
	/* Reap the workers; kill (by pid) any still running after the grace. */
	for (long w = 0; w < started; w++) {
		int status;

		for (;;) {
			pid_t r = waitpid(pids[w], &status, WNOHANG);

			if (r == pids[w] || (r < 0 && errno != EINTR))
				break;
			if (now_s() > deadline + STORM_GRACE_S)
				kill(pids[w], SIGKILL);
			sleep_until(now_s() + 0.001);
		}
	}
	elapsed = now_s() - start;
	for (long w = 0; w < opt.workers; w++) {
		launched += slots[w].launched;
		failed += slots[w].failed;
	}
	printf("launched %llu in %.3f s (%.0f/s), failed %llu\n", (unsigned long long)launched,
	       elapsed, elapsed > 0 ? (double)launched / elapsed : 0.0, (unsigned long long)failed);
	munmap(slots, sizeof(*slots) * (size_t)opt.workers);
	return failed ? 1 : 0;
}
