/*
 * cmd_monitor.c - `procwarden monitor`: every proc connector event, live.
 *
 * Overview: the main thread is a consumer of the launch pipeline, as the
 * agent's evaluator is (launch.h): it pops events from the listener's ring,
 * keeps the process table with them (fork, exit, uid, gid, comm), names an
 * exec from the table, the listener's proven capture and then /proc for the
 * rest, and every other event from the table; prints one line per event
 * (text columns, or JSON lines with --json, a value not learnt written as
 * null and named in `unknown`), rescans /proc after an overrun (and resyncs
 * the table), and on SIGINT/SIGTERM (read from a signalfd) unsubscribes and
 * prints a summary to standard error.  Lines go
 * through a 64 KiB stdio buffer written when it fills or when its oldest
 * line has waited FLUSH_INTERVAL_MS (an overrun record at once): at
 * thousands of events a second that is one write() per interval, not one
 * per line, and a reader on a quiet machine still sees a line within the
 * interval.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "procwarden/cli.h"
#include "procwarden/clock.h"
#include "procwarden/event.h"
#include "procwarden/exehint.h"
#include "procwarden/gate.h"
#include "procwarden/json.h"
#include "procwarden/launch.h"
#include "procwarden/nl.h"
#include "procwarden/output.h"
#include "procwarden/policy.h"
#include "procwarden/proc.h"
#include "procwarden/mounts.h"
#include "procwarden/procscan.h"
#include "procwarden/ptable.h"
#include "procwarden/ring.h"

#define OUT_BUF (64u << 10) /* stdio buffer of standard output */
/* The longest a line waits in the buffer (as the agent's log: output.h) */
#define FLUSH_INTERVAL_MS OUTPUT_FLUSH_INTERVAL_MS

struct monitor {
	bool json;
	uint32_t mask;
	int procfd;
	FILE *out;
	struct nl_source *src;
	struct proc_info *pi;
	struct proc_read_stats rs;
	uint64_t by_type[32];
	uint64_t overrun_events;
	uint64_t rescanned;
	uint64_t dup_skipped;     /* listener events for execs a rescan reported first */
	uint64_t last_ktime;      /* kernel time of the last event delivered */
	uint64_t unflushed_since; /* CLOCK_MONOTONIC ns of the oldest unflushed line; 0: none */
	struct seen_set seen;     /* execs reported, so that rescans skip them */
	uint64_t last_rescan_ns;  /* CLOCK_MONOTONIC of the last rescan; 0: none */
	bool no_watch;            /* --no-watch-exec */
	struct gate *watch;       /* the exec watch (names what each exec ran), or NULL */
	struct mount_watch *mw;   /* marks later mounts for the watch (mounts.h), or NULL */
	struct exe_hints *hints;  /* what it saw, by pid */
	struct ptable *pt;        /* the process table, kept from the events */
	struct launch_ctx lc;     /* the launch step shared with the agent */
	char line[65536];
};

/* Index of a bit. */
static int bit_index(uint32_t t)
{
	return t ? __builtin_ctz(t) : 0;
}

/* Format the exit status of an exit event. */
static void exit_desc(uint32_t code, int *ret_code, int *ret_sig, bool *core)
{
	*ret_sig = (int)(code & 0x7f);
	*core = (code & 0x80) != 0;
	*ret_code = *ret_sig ? -1 : (int)((code >> 8) & 0xff);
}

/* Human-readable time of an event (local wall clock, microseconds). */
static void text_time(uint64_t ktime, char *buf, size_t size)
{
	uint64_t real = pw_mono_to_real(ktime);
	time_t sec = (time_t)(real / 1000000000ull);
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (unsigned)(real % 1000000000ull / 1000));
}

/* Append argv to a text line with spaces; control characters shown as '?'. */
static size_t text_argv(const struct proc_info *pi, char *buf, size_t size)
{
	size_t n = proc_cmdline(pi, buf, size);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return n;
}

/* s for a text line: control characters shown as '?' (a comm or a file
 * name set to an escape sequence must not reach the terminal). */
static const char *text_safe(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* The launch of a delivered exec, resolved as the agent resolves it
 * (launch_resolve()); then the watch's bookkeeping, and the table learns. */
static void resolve_exec(struct monitor *m, const struct pw_event *ev, int32_t *ret_ppid_now)
{
	struct proc_info *pi = m->pi;
	struct pt_proc *e = pt_exec(m->pt, ev->pid, ev->ktime_ns);
	unsigned what = PROC_READ_EXE | PROC_READ_EXE_FILE | PROC_READ_IDS | PROC_READ_ARGV |
	                PROC_READ_COMM | PROC_READ_PARENT;
	struct launch_view lv;

	/* start times only near a rescan, which may have printed it */
	if (m->last_rescan_ns && ev->ktime_ns - m->last_rescan_ns < PROCSCAN_MARGIN_NS * 5)
		what |= PROC_READ_STAT;
	if (!e) { /* the table had no room: /proc alone, checked by the start time */
		proc_info_reset(pi, ev->pid);
		if (proc_snapshot(m->procfd, ev->pid, PROC_SNAP_PARENT, pi, &m->rs) < 0 ||
		    !proc_info_is_event_process(pi, ev->ktime_ns)) {
			proc_info_reset(pi, ev->pid);
			pi->flags |= PI_GONE;
		}
		nl_source_capture_done(m->src, ev);
		return;
	}
	m->lc.watch = m->watch;
	m->lc.hints = m->hints;
	launch_resolve(&m->lc, ev, e, what, false, pi, &lv);
	*ret_ppid_now = lv.ppid_now;
	const char *why = m->watch ? exe_hint_check(m->hints, m->watch, m->procfd, ev->pid,
	                                            ev->ktime_ns, pi, !nl_source_pins_exe(m->src))
	                           : NULL;
	if (why) { /* as the agent does */
		nl_source_pin_exe(m->src, true);
		fprintf(stderr, "procwarden monitor: warning: %s%s%s\n", why,
		        pi->have & PI_HAVE_EXE ? ": " : "", pi->have & PI_HAVE_EXE ? pi->exe : "");
	}
	launch_learn(m->pt, e, pi);
	nl_source_capture_done(m->src, ev);
}

/* "unknown": the names of the values not learnt (none: no key). */
static void kv_unknown(struct jbuf *j, const char *const *unknown, unsigned n)
{
	if (!n)
		return;
	json_key(j, "unknown");
	json_arr_open(j);
	for (unsigned i = 0; i < n; i++)
		json_str(j, unknown[i]);
	json_arr_close(j);
}

/* "key": then the caller's value when it is known (true), or null, the
 * key added to unknown (false). */
static bool key_known(struct jbuf *j, const char *key, bool known, const char **unknown,
                      unsigned *n_unknown)
{
	json_key(j, key);
	if (!known) {
		json_null(j);
		unknown[(*n_unknown)++] = key;
	}
	return known;
}

/* Print an exec event (from the kernel or a rescan). */
static void print_exec(struct monitor *m, const struct pw_event *ev, const char *source)
{
	struct proc_info *pi = m->pi;
	bool delivered = !strcmp(source, "netlink");
	int32_t ppid_now = 0;
	char tbuf[40];

	if (delivered) {
		resolve_exec(m, ev, &ppid_now);
	} else {
		if (proc_snapshot(m->procfd, ev->pid, PROC_SNAP_PARENT, pi, &m->rs) < 0)
			pi->flags |= PI_GONE;
		if (!proc_info_is_event_process(pi, ev->ktime_ns)) {
			/* /proc/PID shows a newer process: nothing of it is ours */
			proc_info_reset(pi, ev->pid);
			pi->flags |= PI_GONE;
		} else {
			pt_scanned(
			    m->pt, ev->pid, pi->have & PI_HAVE_STAT ? pi->ppid : 0, ev->ktime_ns,
			    (pi->have & PI_HAVE_IDS) == PI_HAVE_IDS ? PT_K_IDS : 0, pi->uid,
			    pi->euid, pi->gid, pi->egid, pi->have & PI_HAVE_EXE ? pi->exe : NULL,
			    pi->have & PI_HAVE_COMM ? pi->comm : NULL);
		}
	}
	if (pi->have & PI_HAVE_STAT) {
		bool rescan = !delivered;
		if (seen_skip(&m->seen, ev->pid, pi->start_time, pi->exe, rescan)) {
			if (!rescan)
				m->dup_skipped++; /* a rescan reported it first */
			goto out;
		}
		if (rescan)
			m->rescanned++;
	}
	bool has_ppid = pi->have & (PI_HAVE_STAT | PI_HAVE_PPID);
	if (m->json) {
		const char *unknown[16];
		unsigned nu = 0;
		struct jbuf j;
		json_init(&j, m->line, sizeof(m->line));
		json_obj_open(&j);
		json_kv_str(&j, "type", "exec");
		pw_time_rfc3339(pw_mono_to_real(ev->ktime_ns), tbuf, sizeof(tbuf));
		json_kv_str(&j, "time", tbuf);
		json_kv_int(&j, "pid", ev->pid);
		if (key_known(&j, "ppid", has_ppid, unknown, &nu))
			json_uint(&j, (uint64_t)pi->ppid);
		if (ppid_now && has_ppid && ppid_now != pi->ppid)
			json_kv_int(&j, "ppid_now", ppid_now);
		if (key_known(&j, "uid", pi->have & PI_HAVE_UID, unknown, &nu))
			json_uint(&j, pi->uid);
		if (key_known(&j, "euid", pi->have & PI_HAVE_EUID, unknown, &nu))
			json_uint(&j, pi->euid);
		if (key_known(&j, "gid", pi->have & PI_HAVE_GID, unknown, &nu))
			json_uint(&j, pi->gid);
		if (key_known(&j, "egid", pi->have & PI_HAVE_EGID, unknown, &nu))
			json_uint(&j, pi->egid);
		if (key_known(&j, "exe", pi->have & PI_HAVE_EXE, unknown, &nu))
			json_str(&j, pi->exe);
		/* the argv leaves room for the fields after it (escaped, at worst
		 * 6 bytes a byte): a long command line costs only itself */
		bool cut = j.truncated;
		size_t cap = json_reserve(
		    &j,
		    1024 + 6 * (2 * sizeof(pi->comm) +
		                ((pi->have & PI_HAVE_PARENT_EXE) ? strlen(pi->parent_exe) : 0)));
		if (key_known(&j, "argv", pi->have & PI_HAVE_ARGV, unknown, &nu)) {
			json_arr_open(&j);
			for (uint32_t i = 0, off = 0; i < pi->argc && off < pi->argv_len; i++) {
				json_str(&j, pi->argv + off);
				off += (uint32_t)strlen(pi->argv + off) + 1;
			}
			json_arr_close(&j);
		}
		json_unreserve(&j, cap);
		bool argv_cut = j.truncated && !cut;
		if (key_known(&j, "comm", pi->have & PI_HAVE_COMM, unknown, &nu))
			json_str(&j, pi->comm);
		if (key_known(&j, "parent_exe", pi->have & PI_HAVE_PARENT_EXE, unknown, &nu))
			json_str(&j, pi->parent_exe);
		if (key_known(&j, "parent_comm", pi->have & PI_HAVE_PARENT_COMM, unknown, &nu))
			json_str(&j, pi->parent_comm);
		kv_unknown(&j, unknown, nu);
		if (proc_info_fileless(pi))
			json_kv_bool(&j, "fileless", true);
		if ((pi->flags & PI_ARGV_TRUNCATED) || argv_cut)
			json_kv_bool(&j, "argv_truncated", true);
		json_kv_str(&j, "source", source);
		if (pi->flags & PI_GONE)
			json_kv_bool(&j, "gone", true);
		json_kv_uint(&j, "cpu", ev->cpu);
		size_t n = json_finish(&j);
		fwrite(m->line, 1, n, m->out);
	} else {
		char args[2048], exe[PW_PATH_MAX], ppid[16] = "-", uid[16] = "-";
		if (has_ppid)
			snprintf(ppid, sizeof(ppid), "%d", pi->ppid);
		if (pi->have & PI_HAVE_UID)
			snprintf(uid, sizeof(uid), "%u", pi->uid);
		text_time(ev->ktime_ns, tbuf, sizeof(tbuf));
		if (pi->have & PI_HAVE_ARGV)
			text_argv(pi, args, sizeof(args));
		else
			snprintf(args, sizeof(args), "<argv unknown>");
		fprintf(m->out, "%s %-8s %7d %7s %6s %s %s%s%s\n", tbuf,
		        delivered ? "exec" : "exec*", ev->pid, ppid, uid,
		        pi->have & PI_HAVE_EXE ? text_safe(pi->exe, exe, sizeof(exe)) : "<unknown>",
		        args, (pi->flags & PI_GONE) ? " [gone]" : "",
		        proc_info_fileless(pi) ? " [fileless]" : "");
	}
out:
	if (ev->pidfd >= 0)
		close(ev->pidfd);
	if (ev->exefd >= 0)
		close(ev->exefd);
}

/* Print any other event, named from the table (after it took the event). */
static void print_other(struct monitor *m, const struct pw_event *ev)
{
	struct pt_proc *e;
	char tbuf[40];
	int code = 0, sig = 0;
	bool core = false;

	if (ev->type == PW_EV_FORK && ev->pid == ev->tid && !pt_get(m->pt, ev->ppid))
		launch_seed(m->pt, m->src, m->procfd, ev->ppid, ev->ktime_ns, m->pi);
	if (ev->type == PW_EV_FORK && ev->pid != ev->tid)
		e = pt_get(m->pt, ev->pid); /* a thread: named as its process */
	else
		e = launch_table_event(m->pt, ev);
	if (ev->type == PW_EV_EXIT)
		exit_desc(ev->a, &code, &sig, &core);

	bool has_ppid = ev->ppid || (e && (e->known & PT_K_PPID));
	int32_t ppid = ev->ppid ? ev->ppid : (e ? e->ppid : 0);
	if (ev->type == PW_EV_PTRACE || ev->type == PW_EV_UID || ev->type == PW_EV_GID ||
	    ev->type == PW_EV_SID || ev->type == PW_EV_COMM) {
		has_ppid = e && (e->known & PT_K_PPID);
		ppid = has_ppid ? e->ppid : 0;
	}
	bool has_uid = e && (e->known & PT_K_UID), has_exe = e && (e->known & PT_K_EXE),
	     has_comm = e && (e->known & PT_K_COMM);

	if (m->json) {
		const char *unknown[8];
		unsigned nu = 0;
		struct jbuf j;
		json_init(&j, m->line, sizeof(m->line));
		json_obj_open(&j);
		json_kv_str(&j, "type", pw_event_name(ev->type));
		pw_time_rfc3339(pw_mono_to_real(ev->ktime_ns), tbuf, sizeof(tbuf));
		json_kv_str(&j, "time", tbuf);
		json_kv_int(&j, "pid", ev->pid);
		if (ev->tid != ev->pid)
			json_kv_int(&j, "tid", ev->tid);
		if (key_known(&j, "ppid", has_ppid, unknown, &nu))
			json_uint(&j, (uint64_t)ppid);
		if (key_known(&j, "uid", has_uid, unknown, &nu))
			json_uint(&j, e->uid);
		if (key_known(&j, "exe", has_exe, unknown, &nu))
			json_str(&j, e->exe);
		if (key_known(&j, "comm", has_comm, unknown, &nu))
			json_str(&j, e->comm);
		kv_unknown(&j, unknown, nu);
		switch (ev->type) {
		case PW_EV_FORK:
			json_kv_int(&j, "parent_pid", ev->ppid);
			json_kv_int(&j, "child_pid", ev->pid);
			json_kv_bool(&j, "thread", ev->pid != ev->tid);
			break;
		case PW_EV_EXIT:
			if (sig) {
				json_kv_str(&j, "signal",
				            pw_signal_name(sig) ? pw_signal_name(sig) : "?");
				json_kv_bool(&j, "core_dumped", core);
			} else {
				json_kv_int(&j, "exit_code", code);
			}
			json_kv_uint(&j, "exit_status", ev->a);
			break;
		case PW_EV_UID:
			json_kv_uint(&j, "ruid", ev->a);
			json_kv_uint(&j, "euid", ev->b);
			break;
		case PW_EV_GID:
			json_kv_uint(&j, "rgid", ev->a);
			json_kv_uint(&j, "egid", ev->b);
			break;
		case PW_EV_PTRACE:
			json_kv_int(&j, "tracer_pid", ev->ppid);
			json_kv_bool(&j, "attach", ev->ppid != 0);
			break;
		case PW_EV_COMM:
			json_kv_str(&j, "new_comm", ev->comm);
			break;
		case PW_EV_COREDUMP:
			json_kv_int(&j, "parent_pid", ev->ppid);
			break;
		default:
			break;
		}
		json_kv_uint(&j, "cpu", ev->cpu);
		size_t n = json_finish(&j);
		fwrite(m->line, 1, n, m->out);
	} else {
		char data[128] = "", name[PW_PATH_MAX], pbuf[16] = "-";
		switch (ev->type) {
		case PW_EV_FORK:
			snprintf(data, sizeof(data), "%s child=%d",
			         ev->pid != ev->tid ? "thread" : "",
			         ev->pid != ev->tid ? ev->tid : ev->pid);
			break;
		case PW_EV_EXIT:
			if (sig)
				snprintf(data, sizeof(data), "signal=%s%s",
				         pw_signal_name(sig) ? pw_signal_name(sig) : "?",
				         core ? " (core dumped)" : "");
			else
				snprintf(data, sizeof(data), "code=%d", code);
			break;
		case PW_EV_UID:
			snprintf(data, sizeof(data), "ruid=%u euid=%u", ev->a, ev->b);
			break;
		case PW_EV_GID:
			snprintf(data, sizeof(data), "rgid=%u egid=%u", ev->a, ev->b);
			break;
		case PW_EV_PTRACE:
			snprintf(data, sizeof(data), "%s tracer=%d", ev->ppid ? "attach" : "detach",
			         ev->ppid);
			break;
		case PW_EV_COMM:
			snprintf(data, sizeof(data), "comm='%.16s'",
			         text_safe(ev->comm, name, sizeof(name)));
			break;
		default:
			break;
		}
		char ubuf[16] = "-";
		if (has_uid)
			snprintf(ubuf, sizeof(ubuf), "%u", e->uid);
		if (has_ppid)
			snprintf(pbuf, sizeof(pbuf), "%d", ppid);
		text_time(ev->ktime_ns, tbuf, sizeof(tbuf));
		fprintf(m->out, "%s %-8s %7d %7s %6s %s %s\n", tbuf,
		        ev->type == PW_EV_FORK && ev->pid != ev->tid ? "clone"
		                                                     : pw_event_name(ev->type),
		        ev->tid != ev->pid && ev->type != PW_EV_FORK ? ev->tid : ev->pid, pbuf,
		        ubuf,
		        has_exe    ? text_safe(e->exe, name, sizeof(name))
		        : has_comm ? text_safe(e->comm, name, sizeof(name))
		                   : "<unknown>",
		        data);
	}
}

/* Print an overrun record. */
static void print_overrun(struct monitor *m, const struct pw_event *ev, int rescanned)
{
	char tbuf[40];
	struct nl_stats st;

	nl_source_stats(m->src, &st);
	if (m->json) {
		pw_time_rfc3339(pw_mono_to_real(ev->rtime_ns), tbuf, sizeof(tbuf));
		fprintf(m->out,
		        "{\"type\":\"overrun\",\"time\":\"%s\",\"overruns\":%u,"
		        "\"overruns_total\":%llu,\"ring_drops_total\":%llu,\"rescanned\":%d}\n",
		        tbuf, ev->overruns, (unsigned long long)st.overruns,
		        (unsigned long long)st.ring_drops, rescanned);
	} else {
		text_time(ev->rtime_ns, tbuf, sizeof(tbuf));
		fprintf(m->out,
		        "%s %-8s events lost (%u now, %llu in all); rescanned /proc: %d "
		        "processes started since the last event\n",
		        tbuf, "OVERRUN", ev->overruns, (unsigned long long)st.overruns, rescanned);
	}
}

/* The exec watch's note of an exec: remember the path. */
static int watch_note(void *arg, const struct gate_request *rq)
{
	struct monitor *m = arg;

	exe_hint_put(m->hints, rq->pid, rq->path, rq->t_ns);
	return GATE_ALLOW;
}

/* The watch met a filesystem it has no mark for: adopt the mount watcher's. */
static void adopt_mounts(void *arg)
{
	struct monitor *m = arg;

	if (m->mw)
		(void)mount_watch_drain(m->mw, NULL, NULL);
}

/* A filesystem the mount watcher marked for the watch, or could not. */
static void on_mount(void *arg, size_t group, const char *path, const char *warning)
{
	(void)arg;
	(void)group;
	if (warning)
		fprintf(stderr, "procwarden monitor: warning: %s\n", warning);
	else
		fprintf(stderr, "procwarden monitor: watching '%s' too (mounted after the start)\n",
		        path);
}

/* Start the exec watch (fanotify FAN_OPEN_EXEC by names on every filesystem
 * programs run from): it names every exec, so the listener pins no exe.
 * Without it (no fanotify, no permission) the monitor says so and goes on. */
static void open_watch(struct monitor *m)
{
	struct gate_opts wo = {.everywhere = true, .watch_only = true, .names = true};
	char why[256];

	if (m->no_watch || !(m->mask & PW_EV_EXEC))
		return;
	m->hints = calloc(1, sizeof(*m->hints));
	if (!m->hints || gate_open(&wo, &m->watch, why, sizeof(why)) < 0) {
		fprintf(stderr,
		        "procwarden monitor: warning: %s; the exec watch is off (a launch gone "
		        "before /proc shows it stays unnamed)\n",
		        m->hints ? why : "out of memory");
		return;
	}
	gate_start(m->watch, watch_note, NULL, m); /* a watch by names has no thread */
	if (gate_names_all(m->watch))
		nl_source_pin_exe(m->src, false);
	/* filesystems mounted later: marked as they appear (Linux 6.14+) */
	if (mount_watch_open(&m->watch, 1, true, &m->mw, why, sizeof(why)) < 0)
		fprintf(stderr,
		        "procwarden monitor: note: filesystems mounted from now on are not "
		        "watched: %s\n",
		        why);
	else
		gate_set_refresh(m->watch, adopt_mounts, m);
}

/* procscan callback: a rescanned process printed as an exec. */
static void rescan_one(const struct pw_event *ev, void *arg)
{
	struct monitor *m = arg;

	print_exec(m, ev, "rescan");
}

/* proc_scan callback: a live process the table may keep. */
static int confirm_one(pid_t pid, uint64_t start_time, void *arg)
{
	struct monitor *m = arg;

	pt_confirm(m->pt, pid, pw_ticks_to_mono(start_time));
	return 0;
}

/* Handle one event popped from the ring. */
static void handle(struct monitor *m, const struct pw_event *ev)
{
	if (ev->type == PW_EV_OVERRUN) {
		int n = 0;
		m->overrun_events++;
		proc_parent_cache_clear(m->rs.parents); /* an exec may have been lost */
		/* events were lost: what the table holds alive must still be in /proc */
		pt_resync_begin(m->pt);
		if (proc_scan(m->procfd, 0, confirm_one, m) >= 0)
			pt_resync_end(m->pt, pw_now_mono());
		if (m->mask & PW_EV_EXEC) {
			/* the rescanned execs come first, then the overrun record that
			 * counts them */
			n = procscan_run(m->procfd, m->last_ktime, rescan_one, m);
			m->last_rescan_ns = pw_now_mono();
		}
		print_overrun(m, ev, n < 0 ? 0 : n);
		fflush(m->out);
		return;
	}
	m->last_ktime = ev->ktime_ns;
	pt_expire(m->pt, ev->ktime_ns);
	if (!(ev->type & m->mask)) {
		/* not asked for (--events): the table follows it all the same */
		if (ev->type == PW_EV_EXEC) {
			pt_exec(m->pt, ev->pid, ev->ktime_ns);
			nl_source_capture_done(m->src, ev);
		} else {
			if (ev->type == PW_EV_FORK && ev->pid == ev->tid &&
			    !pt_get(m->pt, ev->ppid))
				launch_seed(m->pt, m->src, m->procfd, ev->ppid, ev->ktime_ns,
				            m->pi);
			launch_table_event(m->pt, ev);
		}
		if (ev->pidfd >= 0)
			close(ev->pidfd);
		if (ev->exefd >= 0)
			close(ev->exefd);
		return;
	}
	m->by_type[bit_index(ev->type)]++;
	if (ev->type == PW_EV_EXEC) {
		proc_parent_cache_forget(m->rs.parents, ev->pid); /* its exe changed */
		print_exec(m, ev, "netlink");
	} else {
		print_other(m, ev);
	}
}

/* Flush standard output when its oldest line is due; returns the poll()
 * timeout until then (ms), or idle_ms with nothing waiting. */
static int flush_due(struct monitor *m, int idle_ms)
{
	uint64_t now, due;

	if (!m->unflushed_since)
		return idle_ms;
	now = pw_now_mono();
	due = m->unflushed_since + FLUSH_INTERVAL_MS * 1000000ull;
	if (now < due)
		return (int)((due - now + 999999) / 1000000);
	fflush(m->out);
	m->unflushed_since = 0;
	return idle_ms;
}

/* Summary on exit, to standard error. */
static void summary(struct monitor *m)
{
	static const uint32_t order[] = {PW_EV_FORK,   PW_EV_EXEC, PW_EV_EXIT,
	                                 PW_EV_UID,    PW_EV_GID,  PW_EV_SID,
	                                 PW_EV_PTRACE, PW_EV_COMM, PW_EV_COREDUMP};
	struct nl_stats st;
	uint64_t total = 0;

	nl_source_stats(m->src, &st);
	fprintf(stderr, "procwarden monitor: events:");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		uint64_t n = m->by_type[bit_index(order[i])];
		total += n;
		fprintf(stderr, " %s %llu%s", pw_event_name(order[i]), (unsigned long long)n,
		        i + 1 < sizeof(order) / sizeof(order[0]) ? "," : "");
	}
	fprintf(stderr, " (total %llu)\n", (unsigned long long)total);
	fprintf(
	    stderr,
	    "procwarden monitor: overruns %llu (events lost to a full buffer), ring drops %llu, "
	    "rescanned %llu (%llu reported again by the listener, skipped), gone before read "
	    "%llu, foreign messages ignored %llu, malformed %llu\n",
	    (unsigned long long)st.overruns, (unsigned long long)st.ring_drops,
	    (unsigned long long)m->rescanned, (unsigned long long)m->dup_skipped,
	    (unsigned long long)m->rs.gone, (unsigned long long)st.foreign,
	    (unsigned long long)st.malformed);
	if (m->watch) {
		struct gate_stats gs;
		gate_get_stats(m->watch, &gs);
		fprintf(stderr,
		        "procwarden monitor: exec watch: %llu execs seen, %llu exes named by it, "
		        "%llu overflows, %llu errors\n",
		        (unsigned long long)gs.requests, (unsigned long long)m->lc.exe_from_watch,
		        (unsigned long long)gs.overflows, (unsigned long long)gs.errors);
	} else if (m->mask & PW_EV_EXEC) {
		fprintf(stderr, "procwarden monitor: exec watch: off\n");
	}
}

/* Usage text. */
static void usage(FILE *f)
{
	fprintf(f, "usage: procwarden monitor [--json] [--events LIST] [--rcvbuf BYTES]\n"
	           "                          [--batch N] [--no-kernel-filter] [--no-watch-exec]\n"
	           "  --json         JSON lines (a value not learnt: null, named in unknown)\n"
	           "                 instead of columns\n"
	           "  --events LIST  comma-separated: fork,exec,exit,uid,gid,sid,ptrace,comm,"
	           "coredump (default all)\n"
	           "  --rcvbuf BYTES netlink receive buffer (K, M, G; default 8M)\n"
	           "  --batch N      datagrams per receive (1-256; default 64)\n"
	           "  --no-kernel-filter  filter events in the socket, not in the kernel\n"
	           "  --no-watch-exec  do not name execs from fanotify (FAN_OPEN_EXEC\n"
	           "                 notifications on every filesystem, on by default): a\n"
	           "                 launch gone before /proc could show it stays unnamed\n"
	           "  --watch-exec   the default, accepted for compatibility\n"
	           "  --help         this text\n");
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"events", required_argument, NULL, 'e'},
	    {"rcvbuf", required_argument, NULL, 'b'},
	    {"batch", required_argument, NULL, 'B'},
	    {"no-kernel-filter", no_argument, NULL, 'K'},
	    {"no-watch-exec", no_argument, NULL, 'X'},
	    {"watch-exec", no_argument, NULL, 'W'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	/* stdio keeps using it until exit: not in struct monitor, which is freed */
	static char out_buf[OUT_BUF];
	/* the listener ahead of the launches it captures, as the agent's (root) */
	struct nl_source_opts so = {.rcvbuf = 8u << 20, .nice = -10};
	struct monitor *m = calloc(1, sizeof(*m));
	char why[512], bad[64];
	uint64_t v;
	sigset_t sigs;
	int sfd = -1, c, rc = 2, r;

	if (!m) {
		fprintf(stderr, "procwarden monitor: out of memory\n");
		return 2;
	}
	m->pi = malloc(sizeof(*m->pi));
	m->out = stdout;
	m->mask = PW_EV_ALL_KERNEL;
	m->procfd = -1;
	if (!m->pi || proc_parent_cache_new(&m->rs.parents) < 0 ||
	    pt_new(PT_CAPACITY_DEFAULT, &m->pt) < 0)
		goto out;
	optind = 1;
	while ((c = getopt_long(argc, argv, "je:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			m->json = true;
			break;
		case 'e':
			if (pw_event_parse_list(optarg, &m->mask, bad, sizeof(bad)) < 0) {
				fprintf(stderr,
				        "procwarden monitor: unknown event '%s' in --events\n",
				        bad);
				usage(stderr);
				goto out;
			}
			break;
		case 'b':
			if (cli_number("monitor", "rcvbuf", optarg, true, 1, 1ull << 30, &v) < 0)
				goto out;
			so.rcvbuf = v;
			break;
		case 'B':
			if (cli_number("monitor", "batch", optarg, false, 1, 256, &v) < 0)
				goto out;
			so.batch = (unsigned)v;
			break;
		case 'K':
			so.no_kernel_filter = true;
			break;
		case 'X':
			m->no_watch = true;
			break;
		case 'W':
			m->no_watch = false;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "procwarden monitor: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto out;
	}
	/* what the table is built from, whatever --events prints; and the
	 * listener's proofs of a pin (nl.h) need every exit and fork */
	so.events =
	    m->mask | PW_EV_FORK | PW_EV_EXEC | PW_EV_EXIT | PW_EV_UID | PW_EV_GID | PW_EV_COMM;
	m->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	setvbuf(m->out, out_buf, _IOFBF, sizeof(out_buf)); /* flushed by flush_due() */

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "procwarden monitor: signalfd: %s\n", strerror(errno));
		goto out;
	}
	r = nl_source_open(&so, &m->src, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden monitor: %s\n", why);
		goto out;
	}
	open_watch(m);
	m->lc = (struct launch_ctx){.pt = m->pt, .src = m->src, .procfd = m->procfd, .rs = &m->rs};
	nl_source_capture(m->src, true); /* what /proc shows at the pin */
	r = nl_source_start(m->src);
	if (r < 0) {
		fprintf(stderr, "procwarden monitor: cannot start the listener: %s\n",
		        strerror(-r));
		goto out;
	}
	if (!m->json)
		fprintf(m->out, "%-15s %-8s %7s %7s %6s %s\n", "TIME", "EVENT", "PID", "PPID",
		        "UID", "EXE/COMM ARGS");
	fflush(m->out);

	struct ring *ring = nl_source_ring(m->src);
	struct pw_event ev;
	for (;;) {
		while (ring_pop(ring, &ev) == 0) {
			if (!m->unflushed_since)
				m->unflushed_since = pw_now_mono();
			handle(m, &ev);
		}
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
		                      {.fd = mount_watch_fd(m->mw), .events = POLLIN}};
		if (nl_source_wait(m->src, p, 2, flush_due(m, 1000)) <= 0)
			continue;
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    mount_watch_drain(m->mw, on_mount, m) < 0) {
			fprintf(stderr, "procwarden monitor: warning: the mount watcher stopped: "
			                "filesystems mounted from now on are not watched\n");
			mount_watch_free(m->mw);
			m->mw = NULL;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP)
				break;
		}
	}
	nl_source_stop(m->src);
	while (ring_pop(nl_source_ring(m->src), &ev) == 0)
		handle(m, &ev);
	fflush(m->out);
	summary(m);
	rc = 0;
out:
	nl_source_free(m->src);
	mount_watch_free(m->mw);
	gate_free(m->watch);
	free(m->hints);
	if (sfd >= 0)
		close(sfd);
	if (m->procfd >= 0)
		close(m->procfd);
	proc_parent_cache_free(m->rs.parents);
	pt_free(m->pt);
	free(m->pi);
	free(m);
	return rc;
}
