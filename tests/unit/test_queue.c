/*
 * test_queue.c - the SPSC ring: single-thread semantics and a two-thread run.
 *
 * Overview: the single-thread tests pin down full/empty/wrap/rounding and the
 * drop counter; the two-thread test pushes 2,000,000 sequenced items through
 * a small ring while the consumer sleeps on the eventfd, and checks order,
 * loss and that every refused push was counted.  Also run under TSan.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "procwarden/event.h"
#include "procwarden/ring.h"

#define N_ITEMS 2000000ull
#define RUN_LIMIT_S 90 /* the two-thread run gives up after this */

struct item {
	uint64_t seq;
	uint64_t check; /* ~seq: catches torn copies */
	char pad[16];
};

static void test_new_rounds_and_rejects(void **state)
{
	struct ring *r = NULL;

	(void)state;
	assert_int_equal(ring_new(sizeof(struct item), 5, &r), 0);
	assert_int_equal(ring_capacity(r), 8);
	assert_int_equal(ring_count(r), 0);
	assert_int_equal(ring_drops(r), 0);
	assert_true(ring_fd(r) >= 0);
	ring_free(r);

	assert_int_equal(ring_new(sizeof(struct item), 1, &r), 0);
	assert_int_equal(ring_capacity(r), 1);
	ring_free(r);
	assert_int_equal(ring_new(sizeof(struct item), 1024, &r), 0);
	assert_int_equal(ring_capacity(r), 1024);
	ring_free(r);

	r = NULL;
	assert_int_equal(ring_new(0, 8, &r), -EINVAL);
	assert_int_equal(ring_new(8, 0, &r), -EINVAL);
	assert_int_equal(ring_new(SIZE_MAX / 2, 1024, &r), -EOVERFLOW);
	assert_null(r); /* untouched on failure */
	ring_free(NULL);
}

static void test_full_empty_drops(void **state)
{
	struct ring *r;
	struct item it = {0};

	(void)state;
	assert_int_equal(ring_new(sizeof(it), 4, &r), 0);
	assert_int_equal(ring_pop(r, &it), -EAGAIN);
	for (uint64_t i = 0; i < 4; i++) {
		it.seq = i;
		assert_int_equal(ring_push(r, &it), 0);
	}
	assert_int_equal(ring_count(r), 4);
	it.seq = 99;
	assert_int_equal(ring_push(r, &it), -ENOBUFS);
	assert_int_equal(ring_push(r, &it), -ENOBUFS);
	assert_int_equal(ring_drops(r), 2);
	assert_int_equal(ring_count(r), 4);
	for (uint64_t i = 0; i < 4; i++) {
		assert_int_equal(ring_pop(r, &it), 0);
		assert_int_equal(it.seq, i);
	}
	assert_int_equal(ring_pop(r, &it), -EAGAIN);
	assert_int_equal(ring_count(r), 0);
	assert_int_equal(ring_drops(r), 2);
	ring_free(r);
}

static void test_wrap_around(void **state)
{
	struct ring *r;
	struct item it;
	uint64_t next_in = 0, next_out = 0;

	(void)state;
	assert_int_equal(ring_new(sizeof(it), 8, &r), 0);
	/* Uneven batches so head and tail cross the end at every offset. */
	for (int round = 0; round < 1000; round++) {
		int in = 1 + round % 7, out = 1 + (round * 3) % 8;

		for (int i = 0; i < in; i++) {
			it.seq = next_in;
			it.check = ~next_in;
			if (ring_push(r, &it) == 0)
				next_in++;
		}
		for (int i = 0; i < out; i++) {
			if (ring_pop(r, &it) < 0)
				break;
			assert_int_equal(it.seq, next_out);
			assert_int_equal(it.check, ~next_out);
			next_out++;
		}
		assert_int_equal(ring_count(r), next_in - next_out);
	}
	while (ring_pop(r, &it) == 0)
		assert_int_equal(it.seq, next_out++);
	assert_int_equal(next_in, next_out);
	assert_true(next_in > 1000);
	ring_free(r);
}

static void test_wait_protocol(void **state)
{
	struct ring *r;
	struct pw_event ev = {0}, out;
	struct pollfd pfd;

	(void)state;
	assert_int_equal(ring_new(sizeof(ev), 16, &r), 0);
	pfd.fd = ring_fd(r);
	pfd.events = POLLIN;

	/* Empty: prepare says sleep; nothing written to the fd yet. */
	assert_int_equal(ring_prepare_wait(r), 1);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* A push while the consumer sleeps wakes it, once. */
	ev.pid = 42;
	assert_int_equal(ring_push(r, &ev), 0);
	assert_int_equal(ring_push(r, &ev), 0);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	ring_finish_wait(r);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* Not empty: prepare says do not sleep. */
	assert_int_equal(ring_prepare_wait(r), 0);
	assert_int_equal(ring_pop(r, &out), 0);
	assert_int_equal(out.pid, 42);
	assert_int_equal(ring_pop(r, &out), 0);
	/* No sleeper: pushes and kicks write nothing. */
	assert_int_equal(ring_push(r, &ev), 0);
	ring_kick(r);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(ring_pop(r, &out), 0);
	ring_free(r);
}

/* A quiet push queues without waking a sleeper; the next kick (or push)
 * wakes it, and the consumer finds both in order. */
static void test_quiet_push(void **state)
{
	struct ring *r;
	struct pw_event ev = {0}, out;
	struct pollfd pfd;

	(void)state;
	assert_int_equal(ring_new(sizeof(ev), 4, &r), 0);
	pfd.fd = ring_fd(r);
	pfd.events = POLLIN;
	assert_int_equal(ring_prepare_wait(r), 1);
	ev.pid = 1;
	assert_int_equal(ring_push_quiet(r, &ev), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* still asleep */
	ev.pid = 2;
	assert_int_equal(ring_push(r, &ev), 0);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	ring_finish_wait(r);
	assert_int_equal(ring_pop(r, &out), 0);
	assert_int_equal(out.pid, 1);
	assert_int_equal(ring_pop(r, &out), 0);
	assert_int_equal(out.pid, 2);
	/* quiet, then a kick */
	assert_int_equal(ring_prepare_wait(r), 1);
	assert_int_equal(ring_push_quiet(r, &ev), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	ring_kick(r);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	ring_finish_wait(r);
	assert_int_equal(ring_pop(r, &out), 0);
	/* a full ring refuses quietly too, and counts it */
	for (int i = 0; i < 4; i++)
		assert_int_equal(ring_push_quiet(r, &ev), 0);
	assert_int_equal(ring_push_quiet(r, &ev), -ENOBUFS);
	ring_free(r);
}

struct run {
	struct ring *r;
	uint64_t retries;     /* producer: pushes refused (full) */
	uint64_t received;    /* consumer */
	uint64_t bad;         /* consumer: out of order or torn */
	uint64_t sleeps;      /* consumer: polls that slept */
	uint64_t timeouts;    /* consumer: polls that timed out */
	double deadline;      /* CLOCK_MONOTONIC seconds */
	atomic_int abort_run; /* set by either side on timeout */
};

/* Monotonic seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Producer thread: push 0..N_ITEMS-1, retrying (and counting) on full. */
static void *producer(void *arg)
{
	struct run *run = arg;
	struct item it = {0};

	for (uint64_t i = 0; i < N_ITEMS; i++) {
		it.seq = i;
		it.check = ~i;
		while (ring_push(run->r, &it) == -ENOBUFS) {
			run->retries++;
			if ((run->retries & 1023) == 0) {
				if (atomic_load(&run->abort_run) || now_s() > run->deadline) {
					atomic_store(&run->abort_run, 1);
					return NULL;
				}
				sched_yield();
			}
		}
		/* Now and then pause so the consumer really goes to sleep. */
		if ((i & 0xffff) == 0)
			usleep(200);
	}
	return NULL;
}

/* Consumer thread: pop in order; sleep on the eventfd when empty. */
static void *consumer(void *arg)
{
	struct run *run = arg;
	struct pollfd pfd = {.fd = ring_fd(run->r), .events = POLLIN};
	struct item it;

	while (run->received < N_ITEMS) {
		if (ring_pop(run->r, &it) == 0) {
			if (it.seq != run->received || it.check != ~it.seq)
				run->bad++;
			run->received++;
			continue;
		}
		if (atomic_load(&run->abort_run) || now_s() > run->deadline) {
			atomic_store(&run->abort_run, 1);
			break;
		}
		if (ring_prepare_wait(run->r)) {
			/* A lost wake-up shows as a 2 s timeout with items queued. */
			int n = poll(&pfd, 1, 2000);

			if (n == 0 && ring_count(run->r) > 0)
				run->timeouts++;
			run->sleeps++;
			ring_finish_wait(run->r);
		}
	}
	return NULL;
}

static void test_two_threads_2m(void **state)
{
	struct run run = {0};
	pthread_t p, c;
	double t0 = now_s();

	(void)state;
	assert_int_equal(ring_new(sizeof(struct item), 1024, &run.r), 0);
	run.deadline = t0 + RUN_LIMIT_S;
	atomic_init(&run.abort_run, 0);
	assert_int_equal(pthread_create(&c, NULL, consumer, &run), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, &run), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	print_message("ring: %llu items in %.2f s, %llu full retries, %llu sleeps\n",
	              (unsigned long long)run.received, now_s() - t0,
	              (unsigned long long)run.retries, (unsigned long long)run.sleeps);
	assert_int_equal(atomic_load(&run.abort_run), 0);
	assert_int_equal(run.received, N_ITEMS);
	assert_int_equal(run.bad, 0);
	assert_int_equal(run.timeouts, 0);
	assert_int_equal(ring_drops(run.r), run.retries);
	assert_int_equal(ring_count(run.r), 0);
	ring_free(run.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_rounds_and_rejects),
	    cmocka_unit_test(test_full_empty_drops),
	    cmocka_unit_test(test_wrap_around),
	    cmocka_unit_test(test_wait_protocol),
	    cmocka_unit_test(test_quiet_push),
	    cmocka_unit_test(test_two_threads_2m),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
