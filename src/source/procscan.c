/*
 * procscan.c - /proc as an event source (startup scan, overrun rescan).
 *
 * Overview: walks /proc through proc_scan() and turns each process started
 * since a given time into a PW_EV_EXEC event pinned with a pidfd.  Start
 * times have clock-tick resolution, and a process forked before the last
 * delivered event may have exec'd after it, so the bound is widened by
 * PROCSCAN_MARGIN_NS; seen_set lets the consumer skip what it already saw.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/proc.h"
#include "procwarden/procscan.h"

struct scan_ctx {
	procscan_fn fn;
	void *arg;
	pid_t self;
	int count;
};

/* proc_scan callback: pin and hand over. */
static int scan_one(pid_t pid, uint64_t start_time, void *arg)
{
	struct scan_ctx *c = arg;
	struct pw_event ev;

	if (pid == c->self)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = PW_EV_EXEC;
	ev.pid = ev.tid = pid;
	ev.ktime_ns = pw_ticks_to_mono(start_time);
	ev.rtime_ns = pw_now_mono();
	ev.exefd = -1; /* alive: its exe is read from /proc */
	ev.pidfd = (int32_t)syscall(SYS_pidfd_open, pid, 0);
	ev.pin_ns = pw_now_mono();
	if (ev.pidfd < 0)
		return 0; /* gone since the directory was read */
	c->fn(&ev, c->arg);
	c->count++;
	return 0;
}

int procscan_run(int procfd, uint64_t since_mono_ns, procscan_fn fn, void *arg)
{
	struct scan_ctx c = {.fn = fn, .arg = arg, .self = getpid()};
	uint64_t min_ticks = 0;
	int r;

	if (since_mono_ns) {
		since_mono_ns = since_mono_ns > PROCSCAN_MARGIN_NS ? since_mono_ns - PROCSCAN_MARGIN_NS
								 : 1;
		min_ticks = pw_mono_to_ticks(since_mono_ns);
		min_ticks = min_ticks > 1 ? min_ticks - 1 : 0;
	}
	r = proc_scan(procfd, min_ticks, scan_one, &c);
	if (r < 0)
		return r;
	return c.count;
}

uint32_t seen_hash(const char *exe)
{
	uint32_t h = 2166136261u;

	for (; *exe; exe++)
		h = (h ^ (unsigned char)*exe) * 16777619u;
	return h;
}

void seen_add(struct seen_set *s, int32_t pid, uint64_t start_ticks, uint32_t exe_hash,
	      bool by_rescan)
{
	uint32_t i = (uint32_t)pid & (SEEN_SLOTS - 1);

	s->pid[i] = pid;
	s->start[i] = start_ticks | (by_rescan ? SEEN_RESCAN : 0);
	s->exe_hash[i] = exe_hash;
}

bool seen_has(const struct seen_set *s, int32_t pid, uint64_t start_ticks, uint32_t exe_hash)
{
	uint32_t i = (uint32_t)pid & (SEEN_SLOTS - 1);

	return s->pid[i] == pid && (s->start[i] & ~SEEN_RESCAN) == start_ticks &&
	       s->exe_hash[i] == exe_hash;
}

bool seen_rescanned(const struct seen_set *s, int32_t pid, uint64_t start_ticks,
		    uint32_t exe_hash)
{
	uint32_t i = (uint32_t)pid & (SEEN_SLOTS - 1);

	return s->pid[i] == pid && s->start[i] == (start_ticks | SEEN_RESCAN) &&
	       s->exe_hash[i] == exe_hash;
}

bool seen_skip(struct seen_set *s, int32_t pid, uint64_t start_ticks, const char *exe,
	       bool by_rescan)
{
	uint32_t h = seen_hash(exe);

	if (by_rescan ? seen_has(s, pid, start_ticks, h) : seen_rescanned(s, pid, start_ticks, h))
		return true;
	seen_add(s, pid, start_ticks, h, by_rescan);
	return false;
}
