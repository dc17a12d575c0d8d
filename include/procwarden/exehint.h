/*
 * exehint.h - what a process executed, as the gate or an exec watch saw it
 * (fanotify), for whoever reads the process's exec event later.
 *
 * A fixed table indexed by pid; one writer at a time (the gate thread, or
 * whoever holds an exec watch's lock), readers on any thread (a sequence
 * lock per slot: a read that races a write takes nothing).  See exehint.c.
 */
#ifndef PROCWARDEN_EXEHINT_H
#define PROCWARDEN_EXEHINT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXE_HINT_SLOTS 1024
#define EXE_HINT_WORDS 32 /* paths up to 255 bytes */
struct exe_hint_slot {
	_Atomic uint32_t seq;
	_Atomic int32_t pid;
	_Atomic uint64_t t_ns;
	_Atomic bool weak;
	_Atomic uint32_t taken; /* the seq of the note a reader took (each is taken once) */
	_Atomic uint64_t path[EXE_HINT_WORDS];
};
struct exe_hints {
	struct exe_hint_slot slot[EXE_HINT_SLOTS];
};
/* The writer: remember that pid is executing path (CLOCK_MONOTONIC t_ns). */
void exe_hint_put(struct exe_hints *h, int32_t pid, const char *path, uint64_t t_ns);
/* A reader: the path pid executed just before its exec event at exec_ns,
 * into buf; its length, or -ENOENT / -EAGAIN (being written: none).  A note
 * is taken once: the next exec of the same pid without a note of its own
 * (a memfd, a filesystem not watched) gets -ENOENT, not the old path. */
int exe_hint_get(struct exe_hints *h, int32_t pid, uint64_t exec_ns, char *buf, size_t size);

/* A reader that learnt pid's exe elsewhere (/proc): the note of that exec,
 * if the slot holds it (same path), is taken, so that a later exec of the
 * pid without a note of its own does not get it.  1 when it was there, 0
 * when not, -ENAMETOOLONG for a path too long to be noted. */
int exe_hint_drop(struct exe_hints *h, int32_t pid, const char *path);

struct gate;
/* exe_hint_get() for the exec event of pid at exec_ns, reading watch (an
 * exec watch whose notes go into h; NULL: none) one batch at a time until
 * its note is there or nothing queued before exec_ns is left.  The watch's
 * notes are queued before the proc connector sends the exec's event, so a
 * note that is not there after that was never made. */
int exe_hint_get_watched(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
			 char *buf, size_t size);
/* exe_hint_drop() after reading watch (as exe_hint_get_watched() does)
 * until the note is there or nothing queued before exec_ns is left: 1 when
 * the exec of exe left its note (or it was too long to note), 0 when not --
 * a sign that it ran from a filesystem the watch does not mark, or the
 * second exec of an exec chain whose note the first one took. */
int exe_hint_settle(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
		    const char *exe);
/* True when pid's exe (its /proc/PID/exe, through the process's own mounts)
 * is on a filesystem watch does not mark; false when it is, or cannot be
 * told (the process gone).  procfd: /proc. */
bool exe_hint_unwatched(const struct gate *watch, int procfd, int32_t pid);

#endif
