/*
 * procscan.h - /proc as an event source: the startup scan and the rescan
 * after an overrun.  Each process found is handed over as a synthesized
 * PW_EV_EXEC event, pinned with a pidfd like the listener's.
 */
#ifndef PROCWARDEN_PROCSCAN_H
#define PROCWARDEN_PROCSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "procwarden/event.h"

/* Called for each process; takes ownership of ev->pidfd (may be -1). */
typedef void (*procscan_fn)(const struct pw_event *ev, void *arg);

/* The rescan looks this far back before the last delivered event, because a
 * process forked before it may have exec'd after it (and been lost). */
#define PROCSCAN_MARGIN_NS 2000000000ull

/* A direct-mapped memory of processes already reported: (pid, start time,
 * exe) and whether a rescan reported it.  A rescan skips what the listener
 * delivered; the listener's late event for a process a rescan already
 * reported (it was still queued) is skipped too. */
#define SEEN_SLOTS 8192
struct seen_set {
	int32_t pid[SEEN_SLOTS];
	uint32_t exe_hash[SEEN_SLOTS];
	uint64_t start[SEEN_SLOTS]; /* ticks; bit 63: reported by a rescan */
};
#define SEEN_RESCAN (1ull << 63)
/* FNV-1a of an exe path. */
uint32_t seen_hash(const char *exe);
void seen_add(struct seen_set *s, int32_t pid, uint64_t start_ticks, uint32_t exe_hash,
              bool by_rescan);
/* The one decision both consumers make per exec: true when this exec was
 * reported already (by a rescan, for the listener's late event; by anyone,
 * for a rescan), so skip it; else remember it and return false. */
bool seen_skip(struct seen_set *s, int32_t pid, uint64_t start_ticks, const char *exe,
               bool by_rescan);
/* Rescan path: was this exec (pid, start, exe) reported already? */
bool seen_has(const struct seen_set *s, int32_t pid, uint64_t start_ticks, uint32_t exe_hash);
/* Listener path: did a rescan already report this very exec? */
bool seen_rescanned(const struct seen_set *s, int32_t pid, uint64_t start_ticks, uint32_t exe_hash);

/* Visit every process started at or after since_mono_ns (CLOCK_MONOTONIC;
 * 0 = every process), except the caller itself.  The event's ktime_ns is the
 * process's start time.  procfd: an fd of /proc or -1.  Returns the number
 * of processes handed over, or a negative errno. */
int procscan_run(int procfd, uint64_t since_mono_ns, procscan_fn fn, void *arg);

#endif
