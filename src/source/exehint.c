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

	if (len >= EXE_HINT_WORDS * 8)
		return; /* too long to keep: the /proc path stays the only one */
	/* the loader after the program of the same exec: the program stays (a
	 * note not taken yet is of an exec still to come; one taken is done) */
	if (weak && atomic_load_explicit(&s->pid, memory_order_relaxed) == pid &&
	    !atomic_load_explicit(&s->weak, memory_order_relaxed) &&
	    atomic_load_explicit(&s->taken, memory_order_relaxed) !=
		    atomic_load_explicit(&s->seq, memory_order_relaxed))
		return;
	memcpy(words, path, len);
	seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->pid, pid, memory_order_relaxed);
	atomic_store_explicit(&s->t_ns, t_ns, memory_order_relaxed);
	atomic_store_explicit(&s->weak, weak, memory_order_relaxed);
	for (size_t i = 0; i < EXE_HINT_WORDS; i++)
		atomic_store_explicit(&s->path[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

int exe_hint_get(struct exe_hints *h, int32_t pid, uint64_t exec_ns, char *buf, size_t size)
{
	struct exe_hint_slot *s = &h->slot[(uint32_t)pid % EXE_HINT_SLOTS];
	uint64_t words[EXE_HINT_WORDS + 1];
	uint32_t s1, s2;
	uint64_t t;
	int32_t p;

	s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (s1 & 1)
		return -EAGAIN;
	p = atomic_load_explicit(&s->pid, memory_order_relaxed);
	t = atomic_load_explicit(&s->t_ns, memory_order_relaxed);
	for (size_t i = 0; i < EXE_HINT_WORDS; i++)
		words[i] = atomic_load_explicit(&s->path[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
	if (s1 != s2)
		return -EAGAIN;
	/* the gate notes an exec before the kernel finishes it, the watch
	 * when it reads the notification, which may be after: near in time,
	 * either way (a later exec of the same pid would have replaced it; so
	 * would it the exe a /proc read shows) */
	/* read (noted) after the exec, however late; or at most a second before
	 * it (the gate notes an exec before it completes) */
	if (p != pid || t + HINT_MAX_AGE_NS < exec_ns)
		return -ENOENT;
	words[EXE_HINT_WORDS] = 0;
	size_t len = strnlen((const char *)words, EXE_HINT_WORDS * 8);
	if (!len || len >= size)
		return -ENOENT;
	/* one exec, one note: a later exec of this pid that no note was left
	 * for must not get this one */
	uint32_t taken = atomic_load_explicit(&s->taken, memory_order_relaxed);
	if (taken == s1 ||
	    !atomic_compare_exchange_strong_explicit(&s->taken, &taken, s1, memory_order_relaxed,
						     memory_order_relaxed))
		return -ENOENT;
	memcpy(buf, words, len + 1);
	return (int)len;
}

int exe_hint_get_watched(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
			 char *buf, size_t size)
{
	int n = exe_hint_get(h, pid, exec_ns, buf, size);

	/* the notes read ahead wait in the table for their own events: reading
	 * one batch at a time keeps them fewer than its slots */
	while (n <= 0 && watch && gate_drained_ns(watch) < exec_ns && gate_catch_up_once(watch) >= 0)
		n = exe_hint_get(h, pid, exec_ns, buf, size);
	return n;
}

int exe_hint_drop(struct exe_hints *h, int32_t pid, const char *path)
{
	struct exe_hint_slot *s = &h->slot[(uint32_t)pid % EXE_HINT_SLOTS];
	uint64_t words[EXE_HINT_WORDS + 1];
	size_t len = strlen(path);
	uint32_t s1;

	if (len >= EXE_HINT_WORDS * 8)
		return -ENAMETOOLONG; /* never noted */
	s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
	if ((s1 & 1) || atomic_load_explicit(&s->pid, memory_order_relaxed) != pid)
		return 0;
	for (size_t i = 0; i < EXE_HINT_WORDS; i++)
		words[i] = atomic_load_explicit(&s->path[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
		return 0;
	words[EXE_HINT_WORDS] = 0;
	if (strncmp((const char *)words, path, EXE_HINT_WORDS * 8))
		return 0; /* another exec's note (a later one of an exec chain): kept */
	uint32_t taken = atomic_load_explicit(&s->taken, memory_order_relaxed);
	if (taken != s1)
		atomic_compare_exchange_strong_explicit(&s->taken, &taken, s1, memory_order_relaxed,
							 memory_order_relaxed);
	return 1;
}

int exe_hint_settle(struct exe_hints *h, struct gate *watch, int32_t pid, uint64_t exec_ns,
		    const char *exe)
{
	int r;

	/* read on until the notes queued before the exec are in */
	while (!(r = exe_hint_drop(h, pid, exe)) && watch && gate_drained_ns(watch) < exec_ns &&
	       gate_catch_up_once(watch) >= 0)
		;
	return r != 0;
}

bool exe_hint_unwatched(const struct gate *watch, int procfd, int32_t pid)
{
	char path[32];
	struct statx stx;

	/* the exe file itself, through the process's own view (a container's
	 * mounts too), without waiting on its filesystem (a FUSE one) */
	snprintf(path, sizeof(path), "%d/exe", pid);
	if (statx(procfd, path, AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return false;
	return !gate_covers_dev(watch, makedev(stx.stx_dev_major, stx.stx_dev_minor));
}
