/*
 * test_action_output.c - the output ring and writer thread: order, reopen
 * after a rename (logrotate), a full ring refusing lines, flush and free when
 * the reader is stuck, standard output, concurrent producers, and the
 * batched wake-ups (a quiet line within the flush interval, lines that share
 * writes, urgent lines and a filling ring written at once, flush).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "procwarden/output.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/pw-output-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/log.json", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Read a whole file into a malloc'd NUL-terminated string. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	assert_non_null(fp);
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n);
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

/* Milliseconds on the monotonic clock. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Write "PREFIX N\n" lines [from, to). */
static void write_lines(struct output *o, const char *prefix, int from, int to)
{
	char line[64];

	for (int i = from; i < to; i++) {
		int n = snprintf(line, sizeof(line), "%s %d\n", prefix, i);

		assert_int_equal(output_write(o, line, (size_t)n, -1), 0);
	}
}

/* Check that text holds exactly "PREFIX N\n" for N in [from, to). */
static void check_lines(const char *text, const char *prefix, int from, int to)
{
	char line[64];

	for (int i = from; i < to; i++) {
		int n = snprintf(line, sizeof(line), "%s %d\n", prefix, i);

		assert_memory_equal(text, line, (size_t)n);
		text += n;
	}
	assert_int_equal(*text, '\0');
}

static void test_order(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path, .ring_bytes = 4096};
	struct output_stats st;
	struct output *o;
	struct stat sb;
	char *text;

	assert_int_equal(output_new(&opts, &o), 0);
	for (int i = 0; i < 5000; i += 10) {
		write_lines(o, "line", i, i + 10);
		assert_int_equal(output_flush(o, 2000), 0); /* the 4 KiB ring never fills */
	}
	assert_int_equal(output_write(o, "x", 0, -1), -EINVAL);
	assert_int_equal(output_write(o, "no newline", 10, -1), 0);
	assert_int_equal(output_flush(o, 0), 0);
	output_get_stats(o, &st);
	assert_int_equal(st.lines, 5001);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.errors, 0);
	output_free(o);

	text = slurp(f->path);
	assert_string_equal(text + strlen(text) - 11, "no newline\n");
	text[strlen(text) - 11] = '\0';
	check_lines(text, "line", 0, 5000);
	free(text);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
}

static void test_reopen_after_rename(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path};
	struct output_stats st;
	struct output *o;
	char old[160], *text;

	snprintf(old, sizeof(old), "%s.1", f->path);
	assert_int_equal(output_new(&opts, &o), 0);
	write_lines(o, "before", 0, 100);
	assert_int_equal(rename(f->path, old), 0); /* logrotate: rename, then signal */
	output_reopen(o);
	write_lines(o, "after", 0, 100);
	assert_int_equal(output_flush(o, 0), 0);
	output_get_stats(o, &st);
	assert_int_equal(st.reopens, 1);
	assert_int_equal(st.lines, 200);
	output_free(o);

	text = slurp(old);
	check_lines(text, "before", 0, 100);
	free(text);
	text = slurp(f->path);
	check_lines(text, "after", 0, 100);
	free(text);
}

/* A FIFO with a reader that never reads: the pipe fills, then the ring. */
static void test_full_ring(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path, .ring_bytes = 512};
	struct output_stats st;
	struct output *o;
	char line[100];
	int rd, nobufs = 0, in_a_row = 0, ok = 0;
	uint64_t t0, slowest = 0;

	memset(line, 'a', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(mkfifo(f->path, 0600), 0);
	rd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	fcntl(rd, F_SETPIPE_SZ, 4096);
	assert_int_equal(output_new(&opts, &o), 0);

	/* until the ring has refused 50 lines in a row over 100 ms: the writer
	 * is stuck on the full pipe, nothing drains */
	for (int i = 0; i < 20000 && in_a_row < 50; i++) {
		int r;

		t0 = now_ms();
		r = output_write(o, line, sizeof(line), -1);
		if (now_ms() - t0 > slowest)
			slowest = now_ms() - t0;
		if (r == -ENOBUFS) {
			nobufs++;
			in_a_row++;
			usleep(2000);
		} else if (r == 0) {
			ok++;
			in_a_row = 0;
		} else {
			fail_msg("output_write: %d", r);
		}
	}
	assert_int_equal(in_a_row, 50);
	assert_true(slowest < 100); /* never waits for the writer */
	output_get_stats(o, &st);
	assert_int_equal(st.drops, (uint64_t)nobufs);
	assert_true(ok >= 4096 / (int)sizeof(line) / 2); /* the pipe and the ring took some */
	assert_int_equal(output_flush(o, 100), -ETIMEDOUT);

	/* the reader goes away: the writer counts EPIPE errors and drains */
	close(rd);
	assert_int_equal(output_flush(o, 2000), 0);
	output_get_stats(o, &st);
	assert_true(st.errors > 0);
	assert_int_equal(st.lines + st.errors, (uint64_t)ok);
	assert_int_equal(output_write(o, line, sizeof(line), -1), 0); /* accepts again */
	output_free(o);
}

/* output_free() returns even when the writer is stuck in write(). */
static void test_free_when_stuck(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path, .ring_bytes = 512};
	struct output *o;
	char line[100];
	uint64_t t0;
	int rd;

	memset(line, 'b', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(mkfifo(f->path, 0600), 0);
	rd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	fcntl(rd, F_SETPIPE_SZ, 4096);
	assert_int_equal(output_new(&opts, &o), 0);
	for (int i = 0; i < 200; i++) {
		output_write(o, line, sizeof(line), -1);
		usleep(100);
	}
	t0 = now_ms();
	output_free(o); /* 5 s flush timeout, then the writer is cancelled */
	assert_true(now_ms() - t0 < 7000);
	close(rd);
}

static void test_stdout_and_syslog(void **state)
{
	struct output_opts opts = {.log_path = "-", .syslog = true};
	struct output *o;
	char buf[256];
	int p[2], saved;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	dup2(p[1], STDOUT_FILENO);
	assert_int_equal(output_new(&opts, &o), 0); /* takes its own copy of fd 1 */
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	assert_int_equal(output_write(o, "{\"a\":1}\n", 8, LOG_NOTICE), 0);
	assert_int_equal(output_write(o, "{\"b\":2}\n", 8, -1), 0);
	output_free(o);
	n = read(p[0], buf, sizeof(buf) - 1);
	assert_int_equal(n, 16);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n");
	close(p[0]);
}

struct producer {
	struct output *o;
	char prefix[16];
};

/* Thread body: write 2000 lines, retrying on a full ring. */
static void *producer_main(void *arg)
{
	struct producer *p = arg;
	char line[64];

	for (int i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof(line), "%s %d\n", p->prefix, i);

		while (output_write(p->o, line, (size_t)n, -1) == -ENOBUFS)
			usleep(50);
	}
	return NULL;
}

static void test_concurrent_producers(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path, .ring_bytes = 2048};
	struct producer prod[4];
	pthread_t th[4];
	struct output *o;
	char *text, *save = NULL;
	int next[4] = {0};

	assert_int_equal(output_new(&opts, &o), 0);
	for (int i = 0; i < 4; i++) {
		prod[i].o = o;
		snprintf(prod[i].prefix, sizeof(prod[i].prefix), "t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, producer_main, &prod[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	output_free(o);

	/* every line present, each thread's lines in its order */
	text = slurp(f->path);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int t, n;

		/* lines the full ring refused are said in loss records */
		if (!strncmp(l, "{\"type\":\"loss\",", 15)) {
			assert_non_null(strstr(l, "\"class\":\"output_full\""));
			continue;
		}
		assert_int_equal(sscanf(l, "t%d %d", &t, &n), 2);
		assert_true(t >= 0 && t < 4);
		assert_int_equal(n, next[t]);
		next[t]++;
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(next[i], 2000);
	free(text);
}

/* Wait until path holds at least size bytes (up to 3 s); returns the
 * milliseconds waited since t0. */
static uint64_t wait_size(const char *path, off_t size, uint64_t t0)
{
	struct stat sb;

	for (int i = 0; i < 30000; i++) {
		if (stat(path, &sb) == 0 && sb.st_size >= size)
			return now_ms() - t0;
		usleep(100);
	}
	fail_msg("%s never reached %lld bytes", path, (long long)size);
	return 0;
}

/* Slack for scheduling on a loaded machine (sanitizers, parallel tests). */
#define SLACK_MS 75

static void test_batched_wakeups(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path};
	struct output_stats st;
	struct output *o;
	uint64_t t0, waited, fastest = UINT64_MAX;
	off_t size = 0;
	char *text;

	assert_int_equal(output_new(&opts, &o), 0);

	/* a quiet line that is not urgent reaches the file within the interval */
	t0 = now_ms();
	write_lines(o, "line", 0, 1);
	size += 7;
	waited = wait_size(f->path, size, t0);
	assert_true(waited <= OUTPUT_FLUSH_INTERVAL_MS + SLACK_MS);

	/* lines that come faster than the interval share writes: 200 lines over
	 * ~100 ms are about 5 writes, not 200 */
	output_get_stats(o, &st);
	uint64_t b0 = st.batches;
	t0 = now_ms();
	for (int i = 1; i < 201; i++) {
		write_lines(o, "line", i, i + 1);
		size += i < 10 ? 7 : i < 100 ? 8 : 9;
		usleep(500);
	}
	wait_size(f->path, size, t0);
	output_get_stats(o, &st);
	assert_true(st.batches - b0 < 40);

	/* urgent lines (LOG_WARNING and more severe) are written at once: the
	 * fastest of five well within the interval */
	for (int i = 201; i < 206; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		t0 = now_ms();
		assert_int_equal(output_write(o, line, (size_t)n, LOG_WARNING), 0);
		size += n;
		waited = wait_size(f->path, size, t0);
		if (waited < fastest)
			fastest = waited;
	}
	assert_true(fastest < OUTPUT_FLUSH_INTERVAL_MS / 2);

	/* output_flush() writes what is queued without waiting for the interval */
	write_lines(o, "line", 206, 216);
	assert_int_equal(output_flush(o, 0), 0);
	output_get_stats(o, &st);
	assert_int_equal(st.lines, 216);
	assert_int_equal(st.drops + st.errors, 0);
	output_free(o);

	text = slurp(f->path);
	check_lines(text, "line", 0, 216);
	free(text);
}

/* A ring a quarter full wakes the writer before the interval. */
static void test_fill_threshold_wakes(void **state)
{
	struct fixture *f = *state;
	struct output_opts opts = {.log_path = f->path, .ring_bytes = 1024};
	struct output_stats st;
	struct output *o;
	uint64_t t0, waited, fastest = UINT64_MAX;
	char line[100];
	off_t size = 0;

	memset(line, 'c', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(output_new(&opts, &o), 0);
	for (int round = 0; round < 5; round++) {
		/* three records of 112 bytes: past 256 bytes, a quarter */
		t0 = now_ms();
		for (int i = 0; i < 3; i++)
			assert_int_equal(output_write(o, line, sizeof(line), LOG_INFO), 0);
		size += 3 * (off_t)sizeof(line);
		waited = wait_size(f->path, size, t0);
		if (waited < fastest)
			fastest = waited;
	}
	assert_true(fastest < OUTPUT_FLUSH_INTERVAL_MS / 2);
	output_get_stats(o, &st);
	assert_int_equal(st.lines, 15);
	output_free(o);
}

static void test_open_failure(void **state)
{
	struct output_opts opts = {.log_path = "/nonexistent-dir-pw/log"};
	struct output *o = NULL;

	(void)state;
	assert_int_equal(output_new(&opts, &o), -ENOENT);
	assert_null(o);
	output_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_after_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_ring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_when_stuck, setup, teardown),
	    cmocka_unit_test(test_stdout_and_syslog),
	    cmocka_unit_test_setup_teardown(test_concurrent_producers, setup, teardown),
	    cmocka_unit_test(test_open_failure),
	    cmocka_unit_test_setup_teardown(test_batched_wakeups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fill_threshold_wakes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
