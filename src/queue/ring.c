/*
 * ring.c - lock-free single-producer/single-consumer ring of fixed-size items.
 *
 * Overview: the producer (the listener thread) owns head and its cached copy
 * of tail; the consumer owns tail and its cached copy of head; each pair sits
 * on its own cache line, so the two threads only share a line when a cached
 * index runs out.  Indices run freely and are masked (capacity is a power of
 * two).  An item is published by the release store of head and taken by the
 * acquire load of it (and back for tail), so the item bytes need no atomics.
 *
 * Sleeping: the consumer sets sleeping = 1, issues a seq_cst fence and looks
 * at head again (ring_prepare_wait); the producer stores head, issues a
 * seq_cst fence and looks at sleeping (after every push, and in ring_kick).
 * The two fences order these store-load pairs, so at least one side sees the
 * other: either the consumer sees the new item and does not sleep, or the
 * producer sees the flag and writes the eventfd.  The producer clears the flag
 * when it writes, so one sleep costs at most one write.  Full rings are
 * refused and counted (drops), never waited on.  Nothing here prints.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "procwarden/ring.h"

#define RING_CACHE_LINE 64
#define RING_MAX_CAPACITY ((size_t)1 << 30)

struct ring {
	/* Producer's line. */
	alignas(RING_CACHE_LINE) _Atomic size_t head;
	size_t tail_cache;
	_Atomic uint64_t drops;

	/* Consumer's line. */
	alignas(RING_CACHE_LINE) _Atomic size_t tail;
	size_t head_cache;

	/* Shared flag: written by both, rarely. */
	alignas(RING_CACHE_LINE) _Atomic int sleeping;

	/* Read-only after ring_new(). */
	alignas(RING_CACHE_LINE) size_t mask;
	size_t item_size;
	int efd;
	unsigned char *slots;
};

/*
 * ThreadSanitizer does not model atomic_thread_fence() (and gcc warns about
 * it with -fsanitize=thread); a seq_cst read-modify-write of a private word
 * is a full barrier on every architecture and TSan understands it.
 */
#if defined(__SANITIZE_THREAD__)
#define RING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RING_TSAN 1
#endif
#endif

/* A full (seq_cst) memory barrier. */
static inline void ring_fence(struct ring *r)
{
#ifdef RING_TSAN
	atomic_fetch_add_explicit(&r->sleeping, 0, memory_order_seq_cst);
#else
	(void)r;
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Smallest power of two >= n (n <= RING_MAX_CAPACITY). */
static size_t round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int ring_new(size_t item_size, size_t capacity, struct ring **ret)
{
	struct ring *r = NULL;
	size_t cap, bytes;
	int err;

	if (item_size == 0 || capacity == 0 || capacity > RING_MAX_CAPACITY)
		return -EINVAL;
	cap = round_pow2(capacity);
	if (item_size > SIZE_MAX / cap)
		return -EOVERFLOW;
	bytes = item_size * cap;
	if (bytes > SIZE_MAX - RING_CACHE_LINE)
		return -EOVERFLOW;
	bytes = (bytes + RING_CACHE_LINE - 1) & ~(size_t)(RING_CACHE_LINE - 1);

	r = aligned_alloc(RING_CACHE_LINE, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->efd = -1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->drops, 0);
	atomic_init(&r->sleeping, 0);
	r->mask = cap - 1;
	r->item_size = item_size;
	r->slots = aligned_alloc(RING_CACHE_LINE, bytes);
	if (!r->slots) {
		err = -ENOMEM;
		goto fail;
	}
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		err = -errno;
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	ring_free(r);
	return err;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->efd >= 0)
		close(r->efd);
	free(r->slots);
	free(r);
}

/* Producer: write the eventfd if the consumer announced sleep. */
static void ring_wake(struct ring *r)
{
	ring_fence(r);
	if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed)) {
		uint64_t one = 1;
		ssize_t n;

		/* EAGAIN means the counter is already non-zero: awake anyway. */
		do
			n = write(r->efd, &one, sizeof(one));
		while (n < 0 && errno == EINTR);
	}
}

int ring_push(struct ring *r, const void *item)
{
	int rc = ring_push_quiet(r, item);

	if (rc == 0)
		ring_wake(r);
	return rc;
}

int ring_push_quiet(struct ring *r, const void *item)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (head - r->tail_cache > r->mask) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head - r->tail_cache > r->mask) {
			atomic_fetch_add_explicit(&r->drops, 1, memory_order_relaxed);
			return -ENOBUFS;
		}
	}
	memcpy(r->slots + (head & r->mask) * r->item_size, item, r->item_size);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return 0;
}

void ring_kick(struct ring *r)
{
	/* ring_push() already wakes a sleeper; this is the same cheap check. */
	ring_wake(r);
}

int ring_pop(struct ring *r, void *item)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (tail == r->head_cache) {
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail == r->head_cache)
			return -EAGAIN;
	}
	memcpy(item, r->slots + (tail & r->mask) * r->item_size, r->item_size);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return 0;
}

int ring_prepare_wait(struct ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	/* An exchange, not a store: with the TSan fence stand-in the producer's
	 * read-modify-write must be ordered against this one. */
	atomic_exchange_explicit(&r->sleeping, 1, memory_order_seq_cst);
	ring_fence(r);
	r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	if (r->head_cache != tail) {
		atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
		return 0;
	}
	return 1;
}

void ring_finish_wait(struct ring *r)
{
	uint64_t v;
	ssize_t n;

	atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
	do
		n = read(r->efd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
}

int ring_fd(const struct ring *r)
{
	return r->efd;
}

size_t ring_count(const struct ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = head - tail;

	return n > r->mask + 1 ? r->mask + 1 : n;
}

size_t ring_capacity(const struct ring *r)
{
	return r->mask + 1;
}

uint64_t ring_drops(const struct ring *r)
{
	return atomic_load_explicit(&r->drops, memory_order_relaxed);
}
