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

struct gate;
/* exe_hint_get() for the exec event of pid at exec_ns, reading watch (an
 * exec watch whose notes go into h; NULL: none) one batch at a time until
 * its note is there or nothing queued before exec_ns is left.  The watch's
 * notes are queued before the proc connector sends the exec's event, so a
 * note that is not there after that was never made. */
int exe_hint_get_watched(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
			 char *buf, size_t size);

#endif
