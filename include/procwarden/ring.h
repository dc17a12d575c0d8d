/*
 * ring.h - bounded single-producer/single-consumer queue of fixed-size items.
 *
 * One thread pushes, one thread pops; neither ever blocks on the other.  A
 * full ring refuses the push (-ENOBUFS) and counts it.  The consumer may
 * sleep on ring_fd() (an eventfd); the producer writes it only when the
 * consumer announced that it is going to sleep, so a busy pipeline costs no
 * wake-up system calls.
 */
#ifndef PROCWARDEN_RING_H
#define PROCWARDEN_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* Create a ring of capacity items (rounded up to a power of two) of item_size
 * bytes each.  Returns 0 and *ret, or a negative errno. */
int ring_new(size_t item_size, size_t capacity, struct ring **ret);
/* Free the ring and its eventfd; accepts NULL. */
void ring_free(struct ring *r);

/* Producer: copy one item in.  0, or -ENOBUFS when full (counted). */
int ring_push(struct ring *r, const void *item);
/* Producer: wake the consumer if it is sleeping (after a batch of pushes). */
void ring_kick(struct ring *r);
/* Producer: push without waking the consumer (it finds the item at its next
 * wake-up; a ring_kick() later wakes it).  0 or -ENOBUFS. */
int ring_push_quiet(struct ring *r, const void *item);

/* Consumer: copy the oldest item out.  0, or -EAGAIN when empty. */
int ring_pop(struct ring *r, void *item);
/* Consumer: announce sleep.  Returns 1 if the ring is still empty (now poll
 * ring_fd() for POLLIN), 0 if items arrived meanwhile (do not sleep). */
int ring_prepare_wait(struct ring *r);
/* Consumer: after waking, drain the eventfd and clear the sleeping flag. */
void ring_finish_wait(struct ring *r);
/* The eventfd the consumer polls (O_CLOEXEC|O_NONBLOCK); owned by the ring. */
int ring_fd(const struct ring *r);

/* Items currently queued (approximate from the other thread). */
size_t ring_count(const struct ring *r);
size_t ring_capacity(const struct ring *r);
/* Pushes refused because the ring was full, since creation. */
uint64_t ring_drops(const struct ring *r);

#endif
