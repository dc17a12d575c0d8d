/*
 * exehint.c - what the gate or an exec watch saw a process execute, for
 * whoever reads its exec event (the evaluator, the monitor).
 *
 * Overview: a fixed table of slots indexed by pid, written by one writer at
 * a time (the gate thread; with an exec watch whoever holds the watch's
 * lock) and read by the event's reader, each slot under a sequence lock:
 * the writer makes the sequence odd, writes, makes it even; a reader that
 * sees it odd or changed takes nothing.  Every field is an atomic so that
 * the racing copy is defined.  fanotify reports an exec before it
 * completes, so when the proc connector's event for it arrives the slot is
 * written already (a watch is drained first by its reader).
 *
 * Which path: the kernel also asks the gate about the dynamic loader and a
 * script's interpreter during the same execve.  The kernel's own exe of a
 * process is the last file it opened for exec that is not the loader (the
 * interpreter, for a script), so a loader path is kept only when nothing
 * else was seen for that pid in the last 10 ms (the loader run directly).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdatomic.h>
#include <string.h>

#include "procwarden/exehint.h"
#include "procwarden/gate.h"
#include "procwarden/proc.h"

#define HINT_MAX_AGE_NS 1000000000ull /* 1 s */

/* True for the dynamic loader: ld-*.so*, ld.so*, ld64.so* (ld-linux-x86-64.so.2,
 * ld-musl-x86_64.so.1). */
static bool is_loader(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return (!strncmp(b, "ld-", 3) && strstr(b, ".so")) || !strncmp(b, "ld.so", 5) ||
	       !strncmp(b, "ld64.so", 7);
}

void exe_hint_put(struct exe_hints *h, int32_t pid, const char *path, uint64_t t_ns)
{
	struct exe_hint_slot *s = &h->slot[(uint32_t)pid % EXE_HINT_SLOTS];
	size_t len = strlen(path);
	bool weak = is_loader(path);
	uint64_t words[EXE_HINT_WORDS] = {0};
	uint32_t seq;

	if (len >= EXE_HINT_WORDS * 8) {
		/* too long to keep: the /proc path stays the only one (counted) */
		atomic_fetch_add_explicit(&h->too_long, 1, memory_order_relaxed);
		return;
	}
	/* the loader after the program of the same exec: the program stays (a
	 * note not taken yet is of an exec still to come; one taken is done) */
	if (weak && atomic_load_explicit(&s->pid, memory_order_relaxed) == pid &&
	    !atomic_load_explicit(&s->weak, memory_order_relaxed) &&
	    atomic_load_explicit(&s->taken, memory_order_relaxed) !=
	        atomic_load_explicit(&s->seq, memory_order_relaxed))
		return;
	memcpy(words, path, len);
	bool same = atomic_load_explicit(&s->pid, memory_order_relaxed) == pid;
	uint32_t count = same ? atomic_load_explicit(&s->count, memory_order_relaxed) : 0;
	uint64_t first =
	    same && count ? atomic_load_explicit(&s->first_ns, memory_order_relaxed) : t_ns;
	if (!weak)
		count++;
	seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->pid, pid, memory_order_relaxed);
	atomic_store_explicit(&s->t_ns, t_ns, memory_order_relaxed);
	atomic_store_explicit(&s->weak, weak, memory_order_relaxed);
	atomic_store_explicit(&s->count, count, memory_order_relaxed);
	atomic_store_explicit(&s->first_ns, first, memory_order_relaxed);
	for (size_t i = 0; i < EXE_HINT_WORDS; i++)
		atomic_store_explicit(&s->path[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* Copy slot s for pid under its sequence lock: its path into words
 * (EXE_HINT_WORDS + 1, NUL-terminated), its time into *t, its sequence
 * into *seq.  0, or -EAGAIN (being written) / -ENOENT (another pid's). */
static int slot_read(struct exe_hint_slot *s, int32_t pid, uint64_t *words, uint64_t *t,
                     uint32_t *seq, uint32_t *count, uint64_t *first)
{
	uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (s1 & 1)
		return -EAGAIN;
	int32_t p = atomic_load_explicit(&s->pid, memory_order_relaxed);
	*t = atomic_load_explicit(&s->t_ns, memory_order_relaxed);
	*count = atomic_load_explicit(&s->count, memory_order_relaxed);
	*first = atomic_load_explicit(&s->first_ns, memory_order_relaxed);
	for (size_t i = 0; i < EXE_HINT_WORDS; i++)
		words[i] = atomic_load_explicit(&s->path[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
		return -EAGAIN;
	words[EXE_HINT_WORDS] = 0;
	*seq = s1;
	return p == pid ? 0 : -ENOENT;
}

/* Take the note of sequence seq: true for the one taker (one exec, one
 * note: a later exec of the pid that left no note must not get it). */
static bool slot_take(struct exe_hint_slot *s, uint32_t seq)
{
	uint32_t taken = atomic_load_explicit(&s->taken, memory_order_relaxed);

	return taken != seq &&
	       atomic_compare_exchange_strong_explicit(&s->taken, &taken, seq, memory_order_relaxed,
	                                               memory_order_relaxed);
}

/* exe_hint_get(), and when nth is not 0 only the nth note of pid since
 * fork_ns. */
static int hint_get(struct exe_hints *h, int32_t pid, uint64_t exec_ns, uint32_t nth,
                    uint64_t fork_ns, char *buf, size_t size)
{
	struct exe_hint_slot *s = &h->slot[(uint32_t)pid % EXE_HINT_SLOTS];
	uint64_t words[EXE_HINT_WORDS + 1], t, first;
	uint32_t seq, count;
	int r = slot_read(s, pid, words, &t, &seq, &count, &first);

	if (r < 0)
		return r;
	/* a later exec's note, or notes of an earlier process of the pid */
	if (nth && (count != nth || first < fork_ns))
		return -ENOENT;
	/* noted after the exec, however late it was read; or at most a second
	 * before it (the gate notes an exec before it completes) */
	if (t + HINT_MAX_AGE_NS < exec_ns)
		return -ENOENT;
	size_t len = strlen((const char *)words);
	if (!len || len >= size || !slot_take(s, seq))
		return -ENOENT;
	memcpy(buf, words, len + 1);
	return (int)len;
}

int exe_hint_get(struct exe_hints *h, int32_t pid, uint64_t exec_ns, char *buf, size_t size)
{
	return hint_get(h, pid, exec_ns, 0, 0, buf, size);
}

int exe_hint_drop(struct exe_hints *h, int32_t pid, const char *path)
{
	struct exe_hint_slot *s = &h->slot[(uint32_t)pid % EXE_HINT_SLOTS];
	uint64_t words[EXE_HINT_WORDS + 1], t, first;
	uint32_t seq, count;

	if (strlen(path) >= EXE_HINT_WORDS * 8)
		return -ENAMETOOLONG; /* never noted */
	if (slot_read(s, pid, words, &t, &seq, &count, &first) < 0)
		return 0;
	if (strcmp((const char *)words, path))
		return 0; /* another exec's note (a later one of an exec chain): kept */
	slot_take(s, seq);
	return 1;
}

/* Read one more batch of watch's notes when some queued before exec_ns may
 * still be unread (the exec does not wait for the watch, but the kernel
 * queues its note before the proc connector sends its event).  Reading one
 * batch at a time keeps the notes read ahead, which wait in the table for
 * their own events, fewer than its slots.  True when it read. */
static bool catch_up(struct gate *watch, uint64_t exec_ns)
{
	return watch && gate_drained_ns(watch) < exec_ns && gate_catch_up_once(watch) >= 0;
}

bool exe_hint_name(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
                   uint64_t prev_exec_ns, uint32_t nth, uint64_t fork_ns, uint64_t read_ns,
                   struct proc_info *pi)
{
	char path[EXE_HINT_WORDS * 8];
	int n;

	/* one note per pid: after another exec of the pid within a note's age,
	 * the note may be that exec's (an exec chain) -- no name, not a wrong one */
	if (prev_exec_ns && prev_exec_ns + HINT_MAX_AGE_NS >= exec_ns)
		return false;

	/* every note queued before /proc failed to show it: a later exec of
	 * the process left its note by then (the watch's own thread-less reads) */
	if (nth)
		while (catch_up(watch, read_ns))
			;
	while ((n = hint_get(h, pid, exec_ns, nth, fork_ns, path, sizeof(path))) <= 0 &&
	       catch_up(watch, exec_ns))
		;
	if (n <= 0)
		return false;
	proc_set_exe(pi, path, (size_t)n);
	return true;
}

/* True when pid's exe (its /proc/PID/exe, through the process's own mounts)
 * is on a filesystem watch does not mark; false when it is, or cannot be
 * told (the process gone). */
static bool unwatched(const struct gate *watch, int procfd, int32_t pid)
{
	char path[32];
	struct statx stx;

	/* the exe file itself, without waiting on its filesystem (FUSE) */
	snprintf(path, sizeof(path), "%d/exe", pid);
	if (statx(procfd, path, AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return false;
	return !gate_covers_dev(watch, makedev(stx.stx_dev_major, stx.stx_dev_minor));
}

const char *exe_hint_check(struct exe_hints *h, struct gate *watch, int procfd, int32_t pid,
                           uint64_t exec_ns, const struct proc_info *pi, bool pins_off)
{
	int r;

	if (!(pi->have & PI_HAVE_EXE))
		return pins_off && watch && gate_overflows(watch)
		           ? "the exec watch's queue overflowed: pinning exes from /proc again"
		           : NULL;
	/* the exe /proc showed takes its exec's note, once the notes queued
	 * before the exec are in */
	while (!(r = exe_hint_drop(h, pid, pi->exe)) && catch_up(watch, exec_ns))
		;
	/* no note: the second exec of an exec chain (the first took it), a
	 * memfd, or a filesystem the watch does not mark (mounted since) */
	if (r || !pins_off || !watch || exec_ns < gate_since_ns(watch) ||
	    (pi->flags & (PI_EXE_MEMFD | PI_EXE_DELETED)) || !unwatched(watch, procfd, pid))
		return NULL;
	return "an exec ran from a filesystem the exec watch does not mark (mounted after the "
	       "start?): pinning exes from /proc again";
}
