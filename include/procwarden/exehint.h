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
	_Atomic uint32_t taken;    /* the seq of the note a reader took (each is taken once) */
	_Atomic uint32_t count;    /* notes of pid in a row, the loader's not counted */
	_Atomic uint64_t first_ns; /* when the first of them was put */
	_Atomic uint64_t path[EXE_HINT_WORDS];
};
struct exe_hints {
	struct exe_hint_slot slot[EXE_HINT_SLOTS];
	_Atomic uint64_t too_long; /* notes not kept: a path of EXE_HINT_WORDS * 8 bytes or more */
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
struct proc_info;
/* The exe of pid's delivered exec (the proc connector's event at exec_ns)
 * that /proc could not show, from its note, reading watch (an exec watch
 * whose notes go into h; NULL: none) one batch at a time until the note is
 * there or nothing queued before exec_ns is left (the kernel queues a note
 * before it sends the exec's event: a note not there then was never made).
 * prev_exec_ns: the time of the pid's exec before this one, if known (0:
 * none or not known): within a note's age of it, the slot's note may be
 * of either exec, and none is given.  nth: which exec of the process this
 * is, counted from its fork at fork_ns (0: not known); read_ns: when /proc
 * failed to show it.  Every note queued before read_ns is read first, and
 * the note is given only when it is the nth of the pid since fork_ns: a
 * later exec's note (its event still on its way) is not this exec's.  Sets
 * pi's exe; true when named. */
bool exe_hint_name(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
                   uint64_t prev_exec_ns, uint32_t nth, uint64_t fork_ns, uint64_t read_ns,
                   struct proc_info *pi);
/* Once a delivered exec is handled: the exe /proc showed takes its note
 * (read from watch as exe_hint_name() reads).  Then, when pins_off (the
 * listener pins no exe, trusting watch to name every exec), why it must pin
 * again, or NULL: an exe on a filesystem watch does not mark (statx of
 * /proc/PID/exe through the process's own mounts; procfd: /proc), or an exe
 * unknown while watch's queue has overflowed. */
const char *exe_hint_check(struct exe_hints *h, struct gate *watch, int procfd, int32_t pid,
                           uint64_t exec_ns, const struct proc_info *pi, bool pins_off);

#endif
