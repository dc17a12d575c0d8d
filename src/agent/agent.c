/*
 * agent.c - `procwarden run`: the evaluator thread and the agent's lifecycle.
 *
 * Overview: agent_run() subscribes (nl_source), scans the processes already
 * running, writes a `start` record, and then the calling thread evaluates:
 * pop an event from the listener's ring, snapshot /proc at once, evaluate
 * the current policy (one reference held for the whole evaluation), send the
 * signal through the pinned pidfd after checking the process is the one the
 * event was about (start time), then hand the record to the output writer
 * and hooks to the hook executor -- both through bounded queues that refuse
 * (and count) rather than wait.  The state lives in struct agent; nothing is
 * global but the policy pointer it holds.  Signals come from a signalfd:
 * SIGHUP reloads (a failed load leaves the running policy in force) and
 * reopens the log; SIGUSR1 only reopens the log (rotation); SIGTERM/SIGINT
 * unsubscribe, drain, flush and stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/record.h"
#include "agent/agent_int.h"
#include "procwarden/agent.h"
#include "procwarden/clock.h"
#include "procwarden/gate.h"
#include "procwarden/hookexec.h"
#include "procwarden/json.h"
#include "procwarden/launch.h"
#include "procwarden/nl.h"
#include "procwarden/output.h"
#include "procwarden/policy.h"
#include "procwarden/proc.h"
#include "procwarden/procscan.h"
#include "procwarden/ring.h"

#define RECORD_SIZE 65536 /* one record line at most (argv is cut to fit) */
#define BATCH_EVENTS 256  /* events handled between two looks at signals */
/* denials waiting for their record: a storm of them (1,000 in 0.6 s in the
 * deny test) overflowed 32 while the evaluator, at the same priority as the
 * gate threads, was busy; 8 KiB each, touched only when used */
#define GATE_RING 256
enum { SRC_NETLINK, SRC_RESCAN, SRC_SCAN };
static const char *const source_names[] = {"netlink", "rescan", "scan"};

/* Send a signal through a pidfd. */
static int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* True when pid descends from the hook executor (a hook or its children):
 * such launches never trigger hooks, so that a hook cannot loop. */
static bool is_hook_descendant(const struct agent *a, int32_t ppid)
{
	pid_t hx = a->hx ? hookexec_pid(a->hx) : 0;

	for (int depth = 0; hx > 0 && ppid > 1 && depth < 64; depth++) {
		if (ppid == hx)
			return true;
		struct proc_stat st;
		ppid = proc_read_stat(a->procfd, ppid, &st) < 0 ? -1 : st.ppid;
	}
	return false;
}

/* Queue a finished record line for output. */
static void emit(struct agent *a, const char *line, size_t len, int prio)
{
	if (output_write(a->out, line, len, prio) < 0) /* urgency; syslog only with --syslog */
		a->c.output_drops++;
}

/* Write an `error` record (rate-limited per kind by the caller). */
static void emit_error(struct agent *a, const char *what, const char *detail)
{
	struct jbuf j;

	record_begin(&j, a->line, RECORD_SIZE, "error");
	json_kv_str(&j, "error", what);
	if (detail)
		json_kv_str(&j, "detail", detail);
	emit(a, a->line, json_finish(&j), LOG_ERR);
}

/* What the verdict's rules in audit mode would have done, each with
 * "result": "audit" (their kill with its signal, deny, every hook). */
static void audit_acts(const struct policy *p, const struct policy_verdict *v,
                       struct act_result *acts, size_t *n)
{
	for (uint32_t i = 0; i < v->n_rules; i++) {
		uint32_t rule = v->rules[i], au = policy_rule_audit(p, rule);
		int sig = 0;
		const struct policy_hook *h;
		size_t nh = au & ACT_HOOK ? policy_rule_hooks(p, rule, &h) : 0;

		(void)policy_rule_actions(p, rule, &sig);
		if ((au & ACT_KILL) && *n < RECORD_MAX_ACTIONS)
			acts[(*n)++] = (struct act_result){
			    .action = ACT_KILL, .signal = sig, .rule = rule, .result = "audit"};
		if ((au & ACT_DENY) && *n < RECORD_MAX_ACTIONS)
			acts[(*n)++] = (struct act_result){
			    .action = ACT_DENY, .rule = rule, .result = "audit"};
		for (size_t k = 0; k < nh && *n < RECORD_MAX_ACTIONS; k++)
			acts[(*n)++] = (struct act_result){.action = ACT_HOOK,
			                                   .rule = rule,
			                                   .hook = (uint32_t)k,
			                                   .result = "audit"};
	}
}

/* Submit the hooks of every hook rule of the verdict; fills act results. */
static void run_hooks(struct agent *a, const struct policy *p, const struct policy_verdict *v,
                      const struct proc_info *pi, struct act_result *acts, size_t *n_acts,
                      const char *record, size_t record_len, bool skip_loop)
{
	char cmdline[4096];

	proc_cmdline(pi, cmdline, sizeof(cmdline));
	for (uint32_t i = 0; i < v->n_hook_rules; i++) {
		const struct policy_hook *h;
		uint32_t rule = v->hook_rules[i];
		size_t nh = policy_rule_hooks(p, rule, &h);

		for (size_t k = 0; k < nh && *n_acts < RECORD_MAX_ACTIONS; k++) {
			struct act_result *ar = &acts[(*n_acts)++];
			*ar = (struct act_result){
			    .action = ACT_HOOK, .rule = rule, .hook = (uint32_t)k};
			if (a->o->dry_run) {
				ar->result = "dry-run";
				continue;
			}
			if (skip_loop) {
				ar->result = "skipped: launched by a hook";
				a->c.hooks_skipped_loop++;
				continue;
			}
			struct hook_request req = {
			    .argv = h[k].argv,
			    .timeout_s = h[k].timeout_s,
			    .rule = policy_rule_name(p, rule),
			    .pid = pi->pid,
			    .ppid = pi->ppid,
			    .uid = pi->uid,
			    .exe = pi->exe,
			    .cmdline = cmdline,
			    .record = record,
			    .record_len = record_len,
			};
			int r = a->hx ? hookexec_submit(a->hx, &req) : -ENOTCONN;
			if (r == 0) {
				ar->result = "queued";
				a->c.hooks_submitted++;
			} else {
				ar->result = r == -EAGAIN     ? "skipped: hook queue full"
				             : r == -ENOTCONN ? "skipped: no hook executor"
				                              : "error";
				a->c.hooks_local_skipped++;
			}
		}
	}
}

/* One more record of uid, len bytes: true when it is over its budget (then
 * counted: report_losses() says so per uid). */
static bool over_budget(struct agent *a, uint32_t uid, size_t len)
{
	uint64_t limit =
	    a->o->uid_record_budget ? a->o->uid_record_budget : AGENT_UID_BUDGET_DEFAULT;
	uint64_t now = pw_now_mono();
	struct uid_budget *b = NULL, *oldest = NULL;

	if (limit == UINT64_MAX)
		return false;
	for (unsigned i = 0, h = (uid * 2654435761u) % UID_BUDGET_SLOTS; i < 8;
	     i++, h = (h + 1) % UID_BUDGET_SLOTS) {
		struct uid_budget *s = &a->budget[h];
		if (!s->used || s->uid == uid) {
			b = s;
			break;
		}
		if (!s->suppressed && (!oldest || s->window_ns < oldest->window_ns))
			oldest = s;
	}
	if (!b)
		b = oldest;
	if (!b)
		return false; /* every nearby slot has losses to say: no budget */
	if (!b->used || b->uid != uid)
		*b = (struct uid_budget){.uid = uid, .used = true, .window_ns = now};
	if (now - b->window_ns >= UID_BUDGET_WINDOW_NS) {
		b->window_ns = now;
		b->bytes = 0;
	}
	if (b->bytes + len <= limit) {
		b->bytes += len;
		return false;
	}
	b->suppressed++;
	a->budget_suppressed++;
	return true;
}

/* Count the record's rules, run its hooks (they get the record as it
 * stands before their own results, which acts -- rec's array,
 * RECORD_MAX_ACTIONS long -- then gains), and write it.  With root (a
 * launch whose kill was sent), the record waits in a pending slot until
 * the descendants that the kill takes with it are counted
 * (settle_pending()). */
/* --trace: the launch as an exec record, whatever the policy says (no
 * budget: the trace is the administrator's own file; a full queue is
 * counted, a loss of class trace). */
static void write_trace(struct agent *a, const struct exec_record *rec)
{
	size_t len = record_exec(a->trace_line, RECORD_SIZE, rec);

	if (output_write(a->trace, a->trace_line, len, -1) < 0)
		a->c.trace_drops++;
	else
		a->c.trace_lines++;
}

static void write_record(struct agent *a, struct exec_record *rec, struct act_result *acts,
                         struct pt_proc *root)
{
	const struct policy_verdict *v = rec->v;
	int prio = pw_severity_syslog(v->severity);
	size_t len;

	for (uint32_t i = 0; i < v->n_rules; i++)
		if (v->rules[i] < a->n_rule_matches)
			a->rule_matches[v->rules[i]]++;
	if ((v->actions & ACT_HOOK) && v->n_hook_rules) {
		size_t n_acts = rec->n_acts;
		len = record_exec(a->line, RECORD_SIZE, rec);
		bool loop = !a->o->dry_run && is_hook_descendant(a, rec->pi->ppid);
		run_hooks(a, rec->p, v, rec->pi, acts, &n_acts, a->line, len, loop);
		rec->n_acts = n_acts;
	}
	len = record_exec(a->line, RECORD_SIZE, rec);
	a->c.records++;
	if (root && len >= 2 && a->n_pending < PENDING_KILLS) {
		struct pending_kill *pk = &a->pending[a->n_pending];
		pk->line = malloc(len);
		if (pk->line) {
			pk->len = len - 2; /* without "}\n" */
			memcpy(pk->line, a->line, pk->len);
			pk->root = pt_ref_of(a->pt, root);
			pk->until_ns = root->kill_ns;
			pk->prio = prio;
			a->n_pending++;
			return;
		}
	}
	if (root)
		a->c.pending_overflow++;
	if (!root && !((v->actions | v->audit) & (ACT_KILL | ACT_DENY)) &&
	    v->severity < SEV_WARNING && (rec->pi->have & PI_HAVE_UID) &&
	    over_budget(a, rec->pi->uid, len + a->prefix_len + 24 /* "seq":N, */))
		return; /* counted: said in a loss record */
	emit(a, a->line, len, prio);
}

/* Write the kill records whose descendants are settled: every fork event
 * sent before the last signal of the tree (and DESCENDANT_SLACK_NS after,
 * for events stamped on other CPUs) has been handled.  all: every one
 * (stopping). */
#define DESCENDANT_SLACK_NS 2000000ull
static void settle_pending(struct agent *a, bool all)
{
	struct ring *ring = nl_source_ring(a->src);

	for (unsigned i = 0; i < a->n_pending;) {
		struct pending_kill *pk = &a->pending[i];
		uint64_t t = pk->until_ns + DESCENDANT_SLACK_NS;
		bool ready = all || a->last_ktime > t ||
		             (ring_count(ring) == 0 && nl_source_sync(a->src, t, 0) == 0);
		if (!ready) {
			i++;
			continue;
		}
		struct pt_proc *root = pt_deref(a->pt, pk->root);
		char tail[64];
		int n = snprintf(tail, sizeof(tail), ",\"descendants_signalled\":%u}\n",
		                 root ? root->descendants_signalled : 0);
		char *line = realloc(pk->line, pk->len + (size_t)n);
		if (line) {
			memcpy(line + pk->len, tail, (size_t)n);
			emit(a, line, pk->len + (size_t)n, pk->prio);
		} else {
			a->c.output_drops++;
		}
		free(line ? line : pk->line);
		a->pending[i] = a->pending[--a->n_pending];
	}
}

/* The listener pins exes from /proc again (the watch by names misses
 * execs: why says which), so that short-lived launches are still named.
 * Said once, in an error record. */
static void resume_pins(struct agent *a, const char *why, const char *detail)
{
	a->c.pins_resumed++;
	nl_source_pin_exe(a->src, true);
	emit_error(a, why, detail);
}

/* Send sig through pidfd to the process an event at since_ns was about:
 * once proven (launch_pinned() said the pidfd names it: a pidfd never
 * changes its process), else after that check.  0 sent; -ESRCH it is gone
 * (nothing signalled); -EAGAIN its identity could not be proven (nothing
 * signalled); another negative errno from the signal. */
static int signal_launch(struct agent *a, int pidfd, int32_t pid, uint64_t since_ns,
                         uint64_t pin_ns, bool proven, int sig)
{
	int r;

	if (pidfd < 0)
		return -ESRCH;
	if (!proven) {
		r = launch_pinned(a->src, pid, since_ns, pin_ns);
		if (r == -ESRCH)
			return r;
		if (r < 0)
			return -EAGAIN;
	}
	return pidfd_signal(pidfd, sig);
}

/* Count a signal_launch() result; returns the record's word for it. */
static const char *signal_counted(struct agent *a, int r)
{
	switch (r) {
	case 0:
		a->c.signals_sent++;
		return "ok";
	case -ESRCH:
		a->c.signals_gone++;
		return "gone";
	case -EAGAIN:
		a->c.signals_unverified++;
		return "unverified: the process may not be the one launched";
	default:
		a->c.signals_failed++;
		return r == -EPERM ? "error: EPERM" : "error";
	}
}

/* A process forked by one procwarden signalled, before the signal landed:
 * it goes too (through its own pidfd, after the same identity check), and
 * the launch whose kill started the tree counts it. */
static void kill_descendant(struct agent *a, struct pt_proc *c, struct pt_proc *parent)
{
	struct pt_proc *root = pt_deref(a->pt, parent->kill_root);
	int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	uint64_t pin_ns = pw_now_mono();
	int r = signal_launch(a, pidfd, c->pid, c->fork_ns, pin_ns, false, parent->kill_signal);

	if (pidfd >= 0)
		close(pidfd);
	/* signalled or not (gone already: a double fork's middle process), what
	 * it forked before now belongs to the tree too */
	c->kill_ns = pw_now_mono();
	c->kill_signal = parent->kill_signal;
	c->kill_root = parent->kill_root;
	if (r == -EAGAIN)
		a->c.signals_unverified++;
	if (r < 0)
		return;
	a->c.descendants_signalled++;
	if (!root)
		return;
	root->descendants_signalled++;
	for (unsigned i = 0; i < a->n_pending; i++)
		if (a->pending[i].root.slot == parent->kill_root.slot &&
		    a->pending[i].root.gen == parent->kill_root.gen)
			a->pending[i].until_ns = c->kill_ns;
}

/* A fork event: the table learns the child; a child of a process that
 * procwarden signalled, forked before the signal landed, is signalled. */
static void on_fork(struct agent *a, const struct pw_event *ev)
{
	struct pt_proc *c;

	if (!pt_get(a->pt, ev->ppid))
		launch_seed(a->pt, a->src, a->procfd, ev->ppid, ev->ktime_ns, a->pi);
	c = launch_table_event(a->pt, ev);
	struct pt_proc *p = c ? pt_parent(a->pt, c) : NULL;

	/* after a SIGKILL lands no fork succeeds: any fork it reports passed the
	 * kernel's check before (its event may come late); other signals leave
	 * the process running, so only forks stamped before the signal count */
	if (p && p->kill_ns &&
	    (p->kill_signal == SIGKILL || ev->ktime_ns <= p->kill_ns + DESCENDANT_SLACK_NS))
		kill_descendant(a, c, p);
}

/* Evaluate one launch and act on it.  Takes ownership of ev->pidfd.  e is
 * the launch's table entry (NULL: the table had no room). */
static void handle_exec(struct agent *a, const struct pw_event *ev, int source, struct pt_proc *e)
{
	struct proc_info *pi = a->pi;
	struct policy *p = policy_ref(a->pol); /* one snapshot for the whole evaluation */
	struct policy_verdict v;
	struct act_result acts[RECORD_MAX_ACTIONS];
	struct pt_proc *killed = NULL;
	size_t n_acts = 0;
	unsigned what, needs = policy_needs(p);
	bool same = true, delivered = source == SRC_NETLINK && e;
	int32_t ppid_now = 0;
	int64_t latency = -1;
	uint64_t t0, t1;
	int r;

	/* read only what the policy needs before the verdict (the kill waits
	 * for it); the rest of the record is read after the kill.  A delivered
	 * exec takes its lineage and ids from the table, as the kernel
	 * reported them; /proc gives what events do not carry. */
	/* the exe's identity always: rules on files, and the check below that
	 * /proc still shows the program of this exec */
	what = PROC_READ_EXE | PROC_READ_EXE_FILE;
	if (!delivered)
		what |= PROC_READ_IDS;
	if (needs & POLICY_NEED_ARGV)
		what |= PROC_READ_ARGV;
	if (needs & POLICY_NEED_COMM)
		what |= PROC_READ_STAT;
	if ((needs & POLICY_NEED_PARENT) && !delivered)
		what |= PROC_READ_PARENT;
	if ((needs & POLICY_NEED_ANCESTORS) && !delivered)
		what |= PROC_READ_PARENT | PROC_READ_ANCESTORS;
	/* start times tell rescanned processes apart from delivered ones */
	bool dedupe =
	    source != SRC_NETLINK ||
	    (a->last_rescan_ns && pw_now_mono() - a->last_rescan_ns < PROCSCAN_MARGIN_NS * 5);
	if (dedupe)
		what |= PROC_READ_STAT;
	proc_parent_cache_forget(a->rs.parents, ev->pid); /* an exec: its exe changed */
	if (delivered) {
		struct launch_view lv;
		/* the pipeline's pointers as they are now (the watch goes at stop) */
		a->lc.pt = a->pt;
		a->lc.src = a->src;
		a->lc.procfd = a->procfd;
		a->lc.hints = a->hints;
		a->lc.watch = a->watch;
		a->lc.rs = &a->rs;
		launch_resolve(&a->lc, ev, e, what, needs & POLICY_NEED_ANCESTORS, pi, &lv);
		same = lv.same;
		ppid_now = lv.ppid_now;
	} else {
		proc_info_reset(pi, ev->pid);
		proc_exe_from_fd(a->procfd, ev->exefd, pi); /* pinned by the listener */
		proc_read(a->procfd, ev->pidfd, ev->pid, what, pi, &a->rs);
		same = proc_info_is_event_process(pi, ev->ktime_ns);
		if (!same) {
			/* /proc/PID shows a newer process: keep only the pinned exe */
			proc_info_reset(pi, ev->pid);
			proc_exe_from_fd(a->procfd, ev->exefd, pi);
			pi->flags |= PI_GONE;
		}
		if (ev->exefd >= 0)
			a->lc.exe_pins++;
		/* gone unnamed, with no table entry: the watch's note, if any */
		if (!(pi->have & PI_HAVE_EXE) && a->hints && source == SRC_NETLINK &&
		    !nl_source_execd(a->src, ev->pid, ev->ktime_ns) &&
		    exe_hint_name(a->hints, a->watch, ev->pid, ev->ktime_ns, 0, 0, 0, pw_now_mono(),
		                  pi))
			a->lc.exe_from_watch++;
	}
	if (source == SRC_SCAN && (pi->flags & PI_KTHREAD))
		goto out;
	if (!delivered && same) {
		/* scanned: the table learns it as /proc shows it */
		e = pt_scanned(a->pt, ev->pid, pi->have & PI_HAVE_STAT ? pi->ppid : 0, ev->ktime_ns,
		               (pi->have & PI_HAVE_IDS) == PI_HAVE_IDS ? PT_K_IDS : 0, pi->uid,
		               pi->euid, pi->gid, pi->egid, pi->have & PI_HAVE_EXE ? pi->exe : NULL,
		               pi->have & PI_HAVE_COMM ? pi->comm : NULL);
	}
	if (dedupe && same && (pi->have & PI_HAVE_STAT)) {
		if (seen_skip(&a->seen, pi->pid, pi->start_time, pi->exe, source != SRC_NETLINK))
			goto out; /* reported already, by a rescan or before one */
		if (source == SRC_RESCAN)
			a->c.rescanned++;
	}
	a->c.launches++;
	a->c.by_source[source]++;
	if (pi->flags & PI_GONE)
		a->c.gone++;
	if (!(pi->have & PI_HAVE_EXE))
		a->c.exe_unknown++; /* no exe rule can match it: counted, never silent */

	t0 = pw_now_mono();
	policy_eval(p, pi, &v);
	t1 = pw_now_mono();
	a->c.eval_ns += t1 - t0;
	a->c.evals++;
	if (v.n_undecided)
		a->c.undecided++;
	if (v.match_errors) {
		a->c.match_errors += v.match_errors;
		if (t1 - a->last_match_error_record > 1000000000ull) {
			a->last_match_error_record = t1;
			emit_error(a,
			           "a regular expression hit its match limit (counted as no match)",
			           pi->exe);
		}
	}
	bool record =
	    (v.actions & (ACT_LOG | ACT_KILL | ACT_HOOK | ACT_DENY)) || v.audit || v.n_undecided;
	if (!record && !a->trace)
		goto out; /* nothing matched, or only an allow */
	/* a deny that ran anyway (no gate, a filesystem it does not watch, ids
	 * changed by the exec, the gate failing open): kill it now */
	if ((v.actions & ACT_DENY) && v.signal != SIGKILL) {
		for (uint32_t i = 0; i < v.n_rules; i++)
			if (policy_rule_actions(p, v.rules[i], NULL) & ACT_DENY) {
				v.signal = SIGKILL;
				v.signal_rule = v.rules[i];
				break;
			}
		a->c.deny_fallback_kills++;
	}

	/* the kill first: nothing else may delay it but the command line, which
	 * a killed process takes with it (a few microseconds for the record) */
	if (v.signal && same && !(ev->cap & PW_CAP_RACED))
		proc_read(a->procfd, ev->pidfd, ev->pid, PROC_READ_ARGV, pi, &a->rs);
	if (v.signal) {
		struct act_result *ar = &acts[n_acts++];
		*ar = (struct act_result){
		    .action = ACT_KILL, .signal = v.signal, .rule = v.signal_rule};
		if (a->o->dry_run) {
			ar->result = "dry-run";
		} else if (ev->pidfd < 0 || !same) {
			ar->result = "gone";
			a->c.signals_gone++;
		} else {
#ifdef PW_TEST_HOOKS
			/* test-only: widen the window between the snapshot and the
			 * kill, so that a test can let the victim exit in between */
			if (a->test_kill_delay_ms)
				usleep(a->test_kill_delay_ms * 1000u);
#endif
			/* a delivered exec still "same" was proven by its pidfd */
			r = signal_launch(a, ev->pidfd, ev->pid, ev->ktime_ns, ev->pin_ns,
			                  delivered, v.signal);
			latency = (int64_t)(pw_now_mono() - ev->ktime_ns) / 1000;
			ar->result = signal_counted(a, r);
			if (r == -ESRCH)
				pi->flags |= PI_GONE;
			if (r == 0 && e) {
				e->kill_ns = pw_now_mono();
				e->kill_signal = v.signal;
				e->kill_root = pt_ref_of(a->pt, e);
				e->descendants_signalled = 0;
				killed = e;
			}
			if (source != SRC_NETLINK)
				latency = -1; /* the event time is a start time, not an exec */
		}
	}
	if (v.actions & ACT_DENY) {
		struct act_result *ar = &acts[n_acts++];
		*ar = (struct act_result){.action = ACT_DENY,
		                          .result = a->gate ? "ran: not stopped by the gate, killed"
		                                            : "ran: no gate, killed"};
	}
	if (v.actions & ACT_LOG) {
		struct act_result *ar = &acts[n_acts++];
		*ar = (struct act_result){.action = ACT_LOG, .result = "ok"};
	}
	if (v.audit)
		audit_acts(p, &v, acts, &n_acts);
	/* the rest of the record (after a kill the process may be dying: what
	 * cannot be read any more is left out, and counted) */
	if (same) {
		struct proc_read_stats late = {.parents = a->rs.parents};
		unsigned more = PROC_READ_EXE | PROC_READ_ARGV | PROC_READ_COMM;
		if (ev->cap & PW_CAP_RACED)
			more = PROC_READ_COMM;
		if (!delivered)
			more |= PROC_READ_IDS | PROC_READ_PARENT;
		proc_read_exec(a->procfd, ev->pidfd, ev->pid, ev->ktime_ns, more, pi, &late);
		a->rs.miss_argv += late.miss_argv;
	}

	struct exec_record rec = {
	    .ev = ev,
	    .pi = pi,
	    .source = source_names[source],
	    .p = p,
	    .v = &v,
	    .acts = acts,
	    .n_acts = n_acts,
	    .latency_us = latency,
	    .ppid_now = ppid_now,
	    .ancestors_used = (needs & POLICY_NEED_ANCESTORS) != 0,
	    .matched_by_identity = v.by_identity != 0,
	};
	if (a->trace) /* before the hooks add their results: the launch, the verdict */
		write_trace(a, &rec);
	if (record)
		write_record(a, &rec, acts, killed);
out:
	if (e)
		launch_learn(a->pt, e, pi);
	/* after the verdict is acted on: the watch's bookkeeping */
	if (a->hints && source == SRC_NETLINK) {
		bool pins_off = !nl_source_pins_exe(a->src);
		const char *why = exe_hint_check(a->hints, a->watch, a->procfd, ev->pid,
		                                 ev->ktime_ns, pi, pins_off);
		if (why)
			resume_pins(a, why, pi->have & PI_HAVE_EXE ? pi->exe : NULL);
	}
	if (source == SRC_NETLINK)
		nl_source_capture_done(a->src, ev);
	if (ev->pidfd >= 0)
		close(ev->pidfd);
	if (ev->exefd >= 0)
		close(ev->exefd);
	policy_unref(p);
}

/* The current policy, with a reference (any thread). */
static struct policy *current_policy(struct agent *a)
{
	struct policy *p;

	pthread_mutex_lock(&a->pol_lock);
	p = policy_ref(a->pol);
	pthread_mutex_unlock(&a->pol_lock);
	return p;
}

static void gate_push(struct agent *a, const struct deny_event *de);

/* The gate thread's decision on a program about to run: evaluate the deny
 * and allow rules on what is known before the exec, queue a denial for its
 * record, and answer.  Reads only the pinned process's ids and its parent
 * (no lock the exec'ing process could hold); never waits on another thread
 * but for the policy pointer's lock. */
static int gate_decide(void *arg, const struct gate_request *rq)
{
	struct agent *a = arg;
	struct proc_info *pi = a->gate_pi;
	struct policy *p = current_policy(a);
	struct policy_verdict v;
	unsigned what = PROC_READ_IDS, needs = policy_needs(p);
	/* a verdict on the file alone: the caller's ids are not read for it
	 * (only for a denial's record), and an allowed file is not asked about
	 * again until it changes or the policy does -- unless the gate is where
	 * launches are named (no exec watch) */
	bool file_only = policy_gate_file_only(p);
	bool deny;

#ifdef PW_TEST_HOOKS
	/* test-only: a decision that takes its time (the gate's bound) */
	if (a->test_gate_delay_ms && strstr(rq->path, "/slow"))
		usleep(a->test_gate_delay_ms * 1000u);
#endif
	proc_info_reset(pi, rq->pid);
	proc_set_exe(pi, rq->path, strlen(rq->path));
	/* the file held, by its fd: its identity, and whether a " (deleted)"
	 * name leaves it without any (fileless) -- proc_read() below judges
	 * that by /proc/PID/exe, the caller's program before this exec */
	struct stat st;
	bool named_deleted = pi->flags & PI_EXE_DELETED;
	bool have_st =
	    rq->fd >= 0 && ((needs & POLICY_NEED_FILE) || named_deleted) && fstat(rq->fd, &st) == 0;
	if ((needs & POLICY_NEED_FILE) && have_st) {
		pw_file_id_set(&pi->exe_file, &st);
		pi->have |= PI_HAVE_EXE_FILE;
	}
	uint32_t fileless = named_deleted && (!have_st || st.st_nlink == 0) ? PI_EXE_DELETED : 0;
	if (needs & (POLICY_NEED_PARENT | POLICY_NEED_ANCESTORS))
		what |= PROC_READ_PARENT;
	if (needs & POLICY_NEED_ANCESTORS)
		what |= PROC_READ_ANCESTORS;
	if (!file_only)
		proc_read(a->gate_procfd, rq->pidfd, rq->pid, what, pi, &a->gate_rs);
	pi->flags = (pi->flags & ~(uint32_t)PI_EXE_DELETED) | fileless;
	policy_eval_preexec(p, pi, &v);
	/* a deny rule that rested on an unknown value, or a regex that hit its
	 * limit: not decided -- never allowed for good, and denied when the
	 * gate fails closed */
	bool unsure = v.match_errors != 0;
	for (uint32_t i = 0; i < v.n_undecided; i++)
		unsure |= (policy_rule_actions(p, v.undecided[i], NULL) & ACT_DENY) != 0;
	policy_unref(p);
	bool unsure_deny = unsure && a->o->gate_fail_closed && !(v.actions & ACT_DENY);
	deny = ((v.actions & ACT_DENY) || unsure_deny) && !a->o->dry_run;
	if (!deny && !a->watch) /* one writer of the hints: the watch's reader when there is one */
		exe_hint_put(a->hints, rq->pid, rq->path, rq->t_ns);
	if (!(v.actions & ACT_DENY) && !unsure_deny) {
		/* for good only what the file alone decided: not a deleted file, a
		 * memfd or a cut path (an fd can run it again under another name) */
		bool whole = !unsure && !v.n_undecided &&
		             !(pi->flags & (PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED));
		return file_only && whole && a->watch ? GATE_ALLOW_FILE : GATE_ALLOW;
	}
	/* the record names the caller and its parent (denials are rare: worth
	 * the read) */
	proc_read(a->gate_procfd, rq->pidfd, rq->pid,
	          PROC_READ_PARENT | (file_only ? PROC_READ_IDS : 0), pi, &a->gate_rs);
	pi->flags = (pi->flags & ~(uint32_t)PI_EXE_DELETED) | fileless;

	struct deny_event *de = a->gate_ev;
	*de = (struct deny_event){
	    .pid = pi->pid,
	    .ppid = pi->ppid,
	    .uid = pi->uid,
	    .euid = pi->euid,
	    .gid = pi->gid,
	    .egid = pi->egid,
	    .have = pi->have & (PI_HAVE_IDS | PI_HAVE_PPID | PI_HAVE_STAT | PI_HAVE_PARENT_EXE |
	                        PI_HAVE_PARENT_COMM | PI_HAVE_EXE_FILE),
	    .file = pi->exe_file,
	    .flags = pi->flags & (PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED),
	    .t_ns = rq->t_ns,
	    .decide_ns = pw_now_mono() - rq->t_ns,
	    .denied = deny,
	    .why = unsure_deny ? DENY_UNKNOWN : DENY_RULE,
	};
	memcpy(de->exe, pi->exe, sizeof(de->exe));
	memcpy(de->parent_exe, pi->parent_exe, sizeof(de->parent_exe));
	memcpy(de->parent_comm, pi->parent_comm, sizeof(de->parent_comm));
	gate_push(a, de);
	return deny ? GATE_DENY : GATE_ALLOW;
}

/* Queue a gate record for the evaluator (the gate thread or its supervisor). */
static void gate_push(struct agent *a, const struct deny_event *de)
{
	pthread_mutex_lock(&a->gate_push_lock);
	int r = ring_push(a->gate_ring, de);
	pthread_mutex_unlock(&a->gate_push_lock);
	if (r < 0)
		__atomic_add_fetch(&a->c.gate_ring_drops, 1, __ATOMIC_RELAXED);
}

/* An exec the gate answered without a decision (its supervisor thread):
 * queue its record.  Only what the request says is known: pid and file. */
static void gate_undecided(void *arg, const struct gate_request *rq, bool denied)
{
	struct agent *a = arg;
	struct deny_event *de = a->gate_sup_ev;

	/* nothing here may block (no fstat: a FUSE or NFS file's attributes
	 * come from its server) */
	*de = (struct deny_event){.pid = rq->pid,
	                          .t_ns = rq->t_ns,
	                          .decide_ns = pw_now_mono() - rq->t_ns,
	                          .denied = denied,
	                          .why = DENY_BOUND};
	if (rq->path)
		snprintf(de->exe, sizeof(de->exe), "%s", rq->path);
	gate_push(a, de);
}

/* The watch's note of an exec (its thread): remember the path. */
static int watch_note(void *arg, const struct gate_request *rq)
{
	struct agent *a = arg;

	exe_hint_put(a->hints, rq->pid, rq->path, rq->t_ns);
	return GATE_ALLOW;
}

/* Record a denial the gate made (evaluator thread). */
static void handle_denial(struct agent *a, const struct deny_event *de)
{
	struct proc_info *pi = a->pi;
	struct policy *p = policy_ref(a->pol);
	struct policy_verdict v;
	struct act_result acts[RECORD_MAX_ACTIONS];
	size_t n_acts = 0;
	struct pw_event ev = {
	    .type = PW_EV_EXEC, .pid = de->pid, .ktime_ns = de->t_ns, .pidfd = -1, .exefd = -1};

	proc_info_reset(pi, de->pid);
	pi->ppid = de->ppid;
	pi->uid = de->uid;
	pi->euid = de->euid;
	pi->gid = de->gid;
	pi->egid = de->egid;
	pi->have |= de->have;
	pi->exe_file = de->file;
	memcpy(pi->exe, de->exe, sizeof(pi->exe));
	if (de->why != DENY_BOUND || de->exe[0])
		pi->have |= PI_HAVE_EXE;
	pi->flags |= de->flags;
	memcpy(pi->parent_exe, de->parent_exe, sizeof(pi->parent_exe));
	memcpy(pi->parent_comm, de->parent_comm, sizeof(pi->parent_comm));
	if (de->why == DENY_RULE) {
		/* the rules as the current policy names them (a reload in
		 * between may name none: the record still says what the gate
		 * did) */
		policy_eval_preexec(p, pi, &v);
	} else {
		/* no rule decided it (what the request did not carry is unknown) */
		memset(&v, 0, sizeof(v));
		v.allow_rule = -1;
		v.severity = SEV_WARNING;
	}
	bool bound = de->why == DENY_BOUND;
	acts[n_acts++] = (struct act_result){
	    .action = bound && !de->denied ? ACT_ALLOW : ACT_DENY,
	    .result = !de->denied && !bound  ? "dry-run"
	              : de->why == DENY_RULE ? "ok"
	              : de->why == DENY_UNKNOWN
	                  ? "fail-closed: a deny rule rested on an unknown value"
	              : de->denied ? "fail-closed: no decision within the gate's bound"
	                           : "fail-open: no decision within the gate's bound"};
	if (de->denied)
		a->c.denials++;
	else if (!bound)
		a->c.denials_dry_run++;
	a->c.launches++;
	if (v.actions & ACT_LOG)
		acts[n_acts++] = (struct act_result){.action = ACT_LOG, .result = "ok"};
	struct exec_record rec = {
	    .ev = &ev,
	    .pi = pi,
	    .source = "gate",
	    .p = p,
	    .v = &v,
	    .acts = acts,
	    .n_acts = n_acts,
	    .latency_us = -1,
	    .gate_us = (int64_t)(de->decide_ns / 1000),
	    .matched_by_identity = v.by_identity != 0,
	};
	if (a->trace) /* a launch the gate stopped is a launch too */
		write_trace(a, &rec);
	write_record(a, &rec, acts, NULL);
	policy_unref(p);
}

/* Start the gate when the policy denies: before the capabilities go (it
 * needs CAP_SYS_ADMIN to mark).  Without it, deny rules kill after the exec
 * (said in the start record and on stderr). */
static int open_gate(struct agent *a)
{
	const char *const *dirs;
	int n;
	char why[256];
	int r;

	if (!a->o->watch_exec) {
		snprintf(a->watch_off, sizeof(a->watch_off), "off: --no-watch-exec");
	} else {
		struct gate_opts wo = {.everywhere = true, .watch_only = true, .names = true};
		r = gate_open(&wo, &a->watch, why, sizeof(why));
		if (r < 0) {
			snprintf(a->watch_off, sizeof(a->watch_off), "off: %s", why);
			fprintf(stderr,
			        "procwarden: warning: %s; the exec watch is off (a launch gone "
			        "before /proc shows it stays unnamed)\n",
			        why);
		}
	}
	if (!policy_has_deny(a->pol)) {
		snprintf(a->gate_off, sizeof(a->gate_off), "off: no deny rule");
	} else if (a->o->no_gate) {
		snprintf(a->gate_off, sizeof(a->gate_off), "off: --no-gate");
	} else {
		n = policy_deny_dirs(a->pol, &dirs);
		struct gate_opts go = {.dirs = dirs,
		                       .n_dirs = n > 0 ? (size_t)n : 0,
		                       .everywhere = n < 0,
		                       .fail_closed = a->o->gate_fail_closed};
		r = gate_open(&go, &a->gate, why, sizeof(why));
		if (r < 0) {
			snprintf(a->gate_off, sizeof(a->gate_off), "off: %s", why);
			fprintf(stderr,
			        "procwarden: warning: %s; 'deny' rules kill right after the exec\n",
			        why);
		}
	}
	if (!a->gate && !a->watch)
		return 0;
	a->gate_procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a->gate_pi = malloc(sizeof(*a->gate_pi));
	a->gate_ev = malloc(sizeof(*a->gate_ev));
	a->gate_sup_ev = malloc(sizeof(*a->gate_sup_ev));
	a->deny_buf = malloc(sizeof(*a->deny_buf));
	a->hints = calloc(1, sizeof(*a->hints));
	if (a->gate_procfd < 0 || !a->gate_pi || !a->gate_ev || !a->gate_sup_ev || !a->deny_buf ||
	    !a->hints)
		return -ENOMEM;
	return ring_new(sizeof(struct deny_event), GATE_RING, &a->gate_ring);
}

/* A gate's or the watch's part of the start record. */
static void json_gate(const struct agent *a, struct jbuf *j, const char *key, const struct gate *g,
                      const char *off)
{
	const char *const *v;
	size_t n;

	json_key(j, key);
	json_obj_open(j);
	json_kv_str(j, "state", g ? "on" : off[0] ? off : "off");
	if (g && gate_names(g))
		json_kv_bool(j, "names", true); /* by directory handle and name */
	if (g && !strcmp(key, "gate")) {
		json_kv_str(j, "fail", gate_fail_closed(g) ? "closed" : "open");
		json_kv_uint(j, "answer_bound_ms", GATE_ANSWER_BOUND_MS);
	}
	if (g) {
		n = gate_marks(g, &v);
		json_key(j, "watching");
		json_arr_open(j);
		for (size_t i = 0; i < n; i++)
			json_str(j, v[i]);
		json_arr_close(j);
		n = gate_warnings(g, &v);
		if (n) {
			json_key(j, "warnings");
			json_arr_open(j);
			for (size_t i = 0; i < n; i++)
				json_str(j, v[i]);
			json_arr_close(j);
		}
	}
	if (g) { /* filesystems mounted after the start */
		char s[400];
		if (a->mw)
			snprintf(s, sizeof(s), "marked as they are mounted");
		else
			snprintf(s, sizeof(s), "%s: %s",
			         !strcmp(key, "gate") ? "not gated, deny rules kill after the exec"
			                              : "not watched",
			         a->mounts_off);
		json_kv_str(j, "later_mounts", s);
	}
	json_obj_close(j);
}

/* procscan callbacks. */
static void on_scan(const struct pw_event *ev, void *arg)
{
	struct agent *a = arg;

	if (a->hx && ev->pid == hookexec_pid(a->hx)) {
		close(ev->pidfd);
		return;
	}
	handle_exec(a, ev, SRC_SCAN, NULL);
}

static void on_rescan(const struct pw_event *ev, void *arg)
{
	struct agent *a = arg;

	handle_exec(a, ev, SRC_RESCAN, NULL);
}

/* proc_scan() callback after an overrun: a live entry is still there. */
static int confirm_one(pid_t pid, uint64_t start_time, void *arg)
{
	struct agent *a = arg;

	pt_confirm(a->pt, pid, pw_ticks_to_mono(start_time));
	return 0;
}

/* An overrun marker: report it, then rescan /proc for what it hid. */
static void handle_overrun(struct agent *a, const struct pw_event *ev)
{
	struct nl_stats st;
	struct jbuf j;
	int n;

	a->c.overruns += ev->overruns;
	nl_source_stats(a->src, &st);
	record_begin(&j, a->line, RECORD_SIZE, "overrun");
	json_kv_uint(&j, "overruns", ev->overruns);
	json_kv_uint(&j, "overruns_total", st.overruns);
	json_kv_uint(&j, "ring_drops_total", st.ring_drops);
	json_kv_str(&j, "action", "rescan");
	emit(a, a->line, json_finish(&j), LOG_WARNING);

	a->c.rescans++;
	a->last_rescan_ns = pw_now_mono();
	proc_parent_cache_clear(a->rs.parents); /* an exec may have been lost */
	/* events were lost: what the table holds alive must still be in /proc */
	pt_resync_begin(a->pt);
	n = procscan_run(a->procfd, a->last_ktime, on_rescan, a);
	if (n < 0)
		emit_error(a, "rescan of /proc after an overrun failed", strerror(-n));
	else if (proc_scan(a->procfd, 0, confirm_one, a) >= 0)
		pt_resync_end(a->pt, pw_now_mono());
}

/* Handle one event from the ring. */
static void handle_event(struct agent *a, const struct pw_event *ev)
{
	if (ev->type == PW_EV_OVERRUN) {
		handle_overrun(a, ev);
		return;
	}
	a->last_ktime = ev->ktime_ns;
	switch (ev->type) {
	case PW_EV_EXEC:
		handle_exec(a, ev, SRC_NETLINK, pt_exec(a->pt, ev->pid, ev->ktime_ns));
		return; /* it closed the fds */
	case PW_EV_FORK:
		on_fork(a, ev);
		break;
	default:
		launch_table_event(a->pt, ev);
		break;
	}
	if (ev->pidfd >= 0)
		close(ev->pidfd);
	if (ev->exefd >= 0)
		close(ev->exefd);
}

/* Tell systemd msg ("READY=1", "WATCHDOG=1"), when it asked (NOTIFY_SOCKET). */
static void sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t sl;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
	close(fd);
}

/* What every record starts with, for a collector of many machines:
 * "host":"NAME","boot_id":"UUID", (a value not known: null).  Into buf;
 * returns it. */
static const char *record_prefix(char *buf, size_t size)
{
	char host[256] = "", boot[64] = "";
	struct jbuf j;
	int fd;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, boot, sizeof(boot) - 1);
		boot[n > 0 ? n : 0] = '\0';
		boot[strcspn(boot, "\n")] = '\0';
		close(fd);
	}
	json_init(&j, buf, size);
	json_obj_open(&j);
	json_kv_str(&j, "host", host[0] ? host : NULL);
	json_kv_str(&j, "boot_id", boot[0] ? boot : NULL);
	size_t n = json_finish(&j); /* {...}\n: keep what is inside, add a comma */
	memmove(buf, buf + 1, n - 3);
	buf[n - 3] = ',';
	buf[n - 2] = '\0';
	return buf;
}

/* systemd's status line (systemctl status): the counters that matter. */
static void notify_status(struct agent *a)
{
	char msg[192];

	snprintf(msg, sizeof(msg),
	         "STATUS=%llu launches, %llu records, %llu signals sent, %llu denied, %u rules",
	         (unsigned long long)a->c.launches, (unsigned long long)a->c.records,
	         (unsigned long long)a->c.signals_sent, (unsigned long long)a->c.denials,
	         a->pol ? (unsigned)policy_rule_count(a->pol) : 0u);
	sd_notify(msg);
}

/* systemd's watchdog interval for this process (WATCHDOG_USEC, and
 * WATCHDOG_PID when set), in ns; 0: none.  The agent pings at half of it
 * from its main loop: a stopped or stuck agent is restarted, and the
 * kernel lets the execs its gate held go when the old one is gone. */
static uint64_t watchdog_ns(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || (pid && strtol(pid, NULL, 10) != getpid()))
		return 0;
	v = strtoull(usec, &end, 10);
	return *end || !v ? 0 : v * 1000ull;
}

/* Add the policy's files and rule count to a record. */
static void json_policy(struct jbuf *j, const struct policy *p)
{
	json_key(j, "policy");
	json_obj_open(j);
	json_kv_uint(j, "rules", policy_rule_count(p));
	json_key(j, "files");
	json_arr_open(j);
	for (size_t i = 0; i < policy_file_count(p); i++) {
		const char *name;
		size_t nr, na;
		policy_file_info(p, i, &name, &nr, &na);
		json_str(j, name);
	}
	json_arr_close(j);
	json_obj_close(j);
}

/* Size the per-rule counters to the current policy (reset on reload). */
static int reset_rule_counters(struct agent *a)
{
	size_t n = policy_rule_count(a->pol);
	uint64_t *m = calloc(n ? n : 1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	free(a->rule_matches);
	a->rule_matches = m;
	a->n_rule_matches = n;
	return 0;
}

/* Load the configured policy.  0, or -EINVAL with the messages in d. */
static int load_policy(struct agent *a, struct policy **ret, struct diags *d)
{
	return policy_load_configured(a->o->policy_paths, a->o->n_policy_paths, NULL, ret, d);
}

static void drain_mounts(struct agent *a);

/* Before a reload's swap: the mount watcher marks what the new policy's
 * deny rules cover (it keeps the capability the agent gave up), so that the
 * gate holds execs there once the new policy decides them.  Said in an
 * `error` record when it cannot (warn_ungated then says what is not
 * covered). */
static void remark_for(struct agent *a, const struct policy *np)
{
	const char *const *dirs;
	int n, r;

	if (!a->mw || !a->gate || !policy_has_deny(np))
		return;
	n = policy_deny_dirs(np, &dirs);
	r = mount_watch_set_dirs(a->mw, dirs, n > 0 ? (size_t)n : 0, n < 0, 1000);
	if (r == 0) {
		if (n < 0 || !gate_everywhere(a->gate))
			(void)gate_set_dirs(a->gate, dirs, n > 0 ? (size_t)n : 0, n < 0);
		drain_mounts(a);  /* the marks it made, as `mount` records */
	} else if (r != -EPIPE) { /* a watcher gone is said by drain_mounts */
		emit_error(a, "the mount watcher did not mark the new policy's directories",
		           strerror(-r));
	} else {
		drain_mounts(a);
	}
}

/* After a reload: say so when deny rules reach where the gate does not
 * watch (marks need a capability the agent gave up after starting). */
static void warn_ungated(struct agent *a)
{
	const char *const *dirs;
	int n;

	if (!policy_has_deny(a->pol) || a->o->no_gate)
		return;
	n = policy_deny_dirs(a->pol, &dirs);
	bool covered = a->gate != NULL && (n >= 0 || gate_everywhere(a->gate));
	for (int i = 0; covered && i < n; i++)
		covered = gate_covers(a->gate, dirs[i]);
	if (!covered)
		emit_error(a,
		           "the new policy denies where the gate does not watch (restart the "
		           "agent to watch there); those deny rules kill right after the exec",
		           a->gate ? NULL : a->gate_off);
}

/* SIGHUP: reload atomically, reopen the log. */
static void reload(struct agent *a)
{
	struct policy *np = NULL;
	char why[1024];
	struct diags d;
	struct jbuf j;
	int r;

	output_reopen(a->out);
	if (a->trace)
		output_reopen(a->trace);
	diags_init(&d);
	r = agent_check_trust(a, NULL, why, sizeof(why)) < 0 ? -EPERM : load_policy(a, &np, &d);
	if (r == -EPERM)
		diags_add(&d, DIAG_ERROR, "procwarden", 0, 0, "%s", why);
	if (r == 0 && agent_check_trust(a, np, why, sizeof(why)) < 0) {
		diags_add(&d, DIAG_ERROR, "procwarden", 0, 0, "%s", why);
		policy_unref(np);
		r = -EPERM;
	}
	/* a source that vanished or is empty must not switch enforcement off */
	if (r == 0 && !a->o->allow_empty_policy && policy_enforcing_rules(a->pol) &&
	    (policy_rule_count(np) == 0 || (policy_is_builtin(np) && !policy_is_builtin(a->pol)))) {
		diags_add(&d, DIAG_ERROR, "procwarden", 0, 0,
		          "%s; the running policy kills or denies by %zu rules (run with "
		          "--allow-empty-policy to allow this)",
		          policy_is_builtin(np) ? "the policy directory " POLICY_DEFAULT_DIR
		                                  " is gone (the built-in default would replace it)"
		                                : "the new policy has no rules",
		          policy_enforcing_rules(a->pol));
		policy_unref(np);
		r = -ENOENT;
	}
	if (r < 0) {
		a->c.reload_failures++;
		record_begin(&j, a->line, RECORD_SIZE, "error");
		json_kv_str(&j, "error", "policy reload failed; the running policy stays in force");
		json_key(&j, "messages");
		json_arr_open(&j);
		for (size_t i = 0; i < d.n; i++) {
			char msg[1024];
			const char *lvl = d.v[i].level == DIAG_ERROR     ? "error"
			                  : d.v[i].level == DIAG_WARNING ? "warning"
			                                                 : "note";
			if (d.v[i].line)
				snprintf(msg, sizeof(msg), "%s:%u:%u: %s: %s", d.v[i].file,
				         d.v[i].line, d.v[i].col, lvl, d.v[i].msg);
			else
				snprintf(msg, sizeof(msg), "%s: %s: %s", d.v[i].file, lvl,
				         d.v[i].msg);
			json_str(&j, msg);
		}
		json_arr_close(&j);
		emit(a, a->line, json_finish(&j), LOG_ERR);
		diags_free(&d);
		return;
	}
	diags_free(&d);
	remark_for(a, np);
	struct policy *old = a->pol;
	pthread_mutex_lock(&a->pol_lock);
	a->pol = np; /* the swap: evaluations take their own reference */
	pthread_mutex_unlock(&a->pol_lock);
	policy_unref(old);
	if (a->gate) /* files allowed by the old policy are asked about again */
		gate_forget(a->gate);
	warn_ungated(a);
	reset_rule_counters(a);
	a->c.reloads++;
	record_begin(&j, a->line, RECORD_SIZE, "reload");
	json_policy(&j, a->pol);
	emit(a, a->line, json_finish(&j), LOG_NOTICE);
}

/* Hook results: write each `hook` record and count its outcome. */
static void drain_hooks(struct agent *a)
{
	ssize_t n;

	if (!a->hx)
		return;
	while ((n = hookexec_read(a->hx, a->hookline, RECORD_SIZE)) > 0 || n == -EMSGSIZE) {
		if (n < 0) {
			emit_error(a, "a hook record did not fit: it is lost", NULL);
			continue;
		}
		const char *res = strstr(a->hookline, "\"result\":\"");
		if (res) {
			res += 10;
			if (!strncmp(res, "ok\"", 3))
				a->c.hooks_ok++;
			else if (!strncmp(res, "timeout\"", 8))
				a->c.hooks_timeout++;
			else if (!strncmp(res, "skipped\"", 8))
				a->c.hooks_skipped++;
			else
				a->c.hooks_failed++;
		}
		emit(a, a->hookline, (size_t)n, LOG_INFO);
	}
	if (n == -EPIPE || (n < 0 && n != -EAGAIN)) {
		/* the executor is gone for good (it restarts its worker itself;
		 * it said why before it went): no busy loop on its closed socket */
		a->c.hook_executor_lost++;
		emit_error(a,
		           "the hook executor is gone: hooks are not run any more (restart "
		           "the agent)",
		           NULL);
		hookexec_stop(a->hx);
		a->hx = NULL;
	}
}

/* Losses are said, not only counted: a `loss` record per class with news,
 * at most one per class per second ({"type":"loss","class":...,"count":
 * since the last,"total":...}).  The output says its own (output_full,
 * output_error). */
static void report_losses(struct agent *a, uint64_t now)
{
	struct nl_stats st;
	struct pt_stats ps;

	nl_source_stats(a->src, &st);
	pt_get_stats(a->pt, &ps);
	struct gate_stats gs = {0};
	if (a->gate)
		gate_get_stats(a->gate, &gs);
	const struct {
		const char *cls;
		uint64_t total;
	} v[] = {
	    {"ring", st.ring_drops},
	    {"gate_records", __atomic_load_n(&a->c.gate_ring_drops, __ATOMIC_RELAXED)},
	    {"table_full", ps.full},
	    {"note_too_long",
	     a->hints ? atomic_load_explicit(&a->hints->too_long, memory_order_relaxed) : 0},
	    {"hooks_skipped", a->c.hooks_skipped + a->c.hooks_local_skipped},
	    {"match_limit", a->c.match_errors},
	    {"receive_errors", st.recv_errors},
	    /* execs the kernel denied: the gate could not take their fd */
	    {"gate_fd_denials", gs.fd_denials},
	    /* --trace lines its queue refused */
	    {"trace", a->c.trace_drops},
	};
	_Static_assert(sizeof(v) / sizeof(v[0]) <= sizeof(a->c.loss_said) / sizeof(uint64_t),
	               "loss classes");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct jbuf j;
		if (v[i].total <= a->c.loss_said[i] ||
		    (a->c.loss_said_ns[i] && now - a->c.loss_said_ns[i] < 1000000000ull))
			continue;
		record_begin(&j, a->line, RECORD_SIZE, "loss");
		json_kv_str(&j, "class", v[i].cls);
		json_kv_uint(&j, "count", v[i].total - a->c.loss_said[i]);
		json_kv_uint(&j, "total", v[i].total);
		emit(a, a->line, json_finish(&j), LOG_WARNING);
		a->c.loss_said[i] = v[i].total;
		a->c.loss_said_ns[i] = now;
	}
	/* records a uid's budget held back: one loss record per uid */
	if (a->budget_suppressed &&
	    (!a->budget_said_ns || now - a->budget_said_ns >= 1000000000ull)) {
		a->budget_said_ns = now;
		for (unsigned i = 0; i < UID_BUDGET_SLOTS; i++) {
			struct uid_budget *b = &a->budget[i];
			struct jbuf j;
			if (!b->suppressed)
				continue;
			record_begin(&j, a->line, RECORD_SIZE, "loss");
			json_kv_str(&j, "class", "uid_budget");
			json_kv_uint(&j, "uid", b->uid);
			json_kv_uint(&j, "count", b->suppressed);
			json_kv_uint(&j, "total", a->budget_suppressed);
			emit(a, a->line, json_finish(&j), LOG_WARNING);
			b->suppressed = 0;
		}
	}
}

/* Handle signals from the signalfd; returns true when asked to stop. */
static bool handle_signals(struct agent *a)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(a->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* systemd: reloading since now, then ready again (either way) */
			char msg[64];
			snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
			         (unsigned long long)(pw_now_mono() / 1000));
			sd_notify(msg);
			reload(a);
			sd_notify("READY=1");
			notify_status(a);
		} else if (si.ssi_signo == SIGUSR1) {
			output_reopen(a->out); /* log rotation: the policy stays as it is */
			if (a->trace)
				output_reopen(a->trace);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = true;
		else if (si.ssi_signo == SIGCHLD)
			continue;
	}
	return stop;
}

/* The watch met a filesystem it has no mark for: adopt what the mount
 * watcher marked since (told, as records, on the event loop). */
static void adopt_mounts(void *arg)
{
	struct agent *a = arg;

	if (a->mw)
		(void)mount_watch_drain(a->mw, NULL, NULL);
}

/* A filesystem the mount watcher marked, or could not. */
static void on_mount(void *arg, size_t group, const char *path, const char *warning)
{
	struct agent *a = arg;
	struct jbuf j;

	if (warning) {
		emit_error(a, "a filesystem mounted later is not watched", warning);
		return;
	}
	a->mounts_marked++;
	record_begin(&j, a->line, RECORD_SIZE, "mount");
	json_kv_str(&j, "path", path);
	json_kv_str(&j, "marked_for", group == 0 ? "gate" : "watch");
	emit(a, a->line, json_finish(&j), LOG_INFO);
}

/* What the mount watcher said; said once when it is gone. */
static void drain_mounts(struct agent *a)
{
	int r = mount_watch_drain(a->mw, on_mount, a);

	if (r == 0)
		return;
	emit_error(a,
	           "the mount watcher stopped: filesystems mounted from now on are not "
	           "gated (deny rules kill after the exec there) nor watched",
	           strerror(-r));
	mount_watch_free(a->mw);
	a->mw = NULL;
}

/* The stop record with the final counters. */
static void emit_stop(struct agent *a)
{
	struct nl_stats st;
	struct jbuf j;

	nl_source_stats(a->src, &st);
	record_begin(&j, a->line, RECORD_SIZE, "stop");
	json_kv_uint(&j, "launches", a->c.launches);
	json_kv_uint(&j, "records", a->c.records);
	json_kv_uint(&j, "signals_sent", a->c.signals_sent);
	json_kv_uint(&j, "signals_gone", a->c.signals_gone);
	json_kv_uint(&j, "signals_failed", a->c.signals_failed);
	json_kv_uint(&j, "overruns", st.overruns);
	json_kv_uint(&j, "ring_drops", st.ring_drops);
	json_kv_uint(&j, "rescans", a->c.rescans);
	json_kv_uint(&j, "gone_before_read", a->c.gone);
	json_kv_uint(&j, "exe_unknown", a->c.exe_unknown);
	if (a->watch_on)
		json_kv_uint(&j, "watch_pins_resumed", a->c.pins_resumed);
	json_kv_uint(&j, "foreign_messages", st.foreign);
	json_kv_uint(&j, "pidfd_failures", st.pidfd_fail);
	json_kv_uint(&j, "pins_refused_fd_budget", st.fd_budget_refused);
	json_kv_uint(&j, "exe_pin_failures", st.exefd_fail);
	json_kv_uint(&j, "exe_pins", a->lc.exe_pins);
	json_kv_uint(&j, "captured", a->lc.captured);
	json_kv_uint(&j, "capture_full", st.cap_full);
	json_kv_uint(&j, "capture_raced", st.cap_raced);
	json_kv_uint(&j, "capture_refused", a->lc.capture_refused);
	json_kv_uint(&j, "captures", st.captures);
	json_key(&j, "pin_delay_us"); /* upper bounds of power-of-two buckets */
	json_obj_open(&j);
	json_kv_uint(&j, "p50", nl_pin_delay_quantile(&st, 0.5));
	json_kv_uint(&j, "p90", nl_pin_delay_quantile(&st, 0.9));
	json_kv_uint(&j, "p99", nl_pin_delay_quantile(&st, 0.99));
	json_obj_close(&j);
	json_kv_uint(&j, "output_drops", a->c.output_drops);
	if (a->trace) {
		json_kv_uint(&j, "trace_lines", a->c.trace_lines);
		json_kv_uint(&j, "trace_drops", a->c.trace_drops);
	}
	if (a->out && a->o->syslog) {
		struct output_stats os;
		output_get_stats(a->out, &os);
		json_kv_uint(&j, a->o->journal ? "journal_lost" : "syslog_lost", os.syslog_lost);
	}
	json_kv_uint(&j, "denied", a->c.denials);
	json_kv_uint(&j, "deny_fallback_kills", a->c.deny_fallback_kills);
	json_kv_uint(&j, "exe_from_gate", a->lc.exe_from_watch);
	json_kv_uint(&j, "descendants_signalled", a->c.descendants_signalled);
	json_kv_uint(&j, "signals_unverified", a->c.signals_unverified);
	json_kv_uint(&j, "undecided", a->c.undecided);
	json_kv_uint(&j, "hook_executor_lost", a->c.hook_executor_lost);
	json_kv_uint(&j, "chains_by_file", a->lc.chains_by_file);
	{
		struct pt_stats ts;
		pt_get_stats(a->pt, &ts);
		json_key(&j, "table");
		json_obj_open(&j);
		json_kv_uint(&j, "capacity", ts.capacity);
		json_kv_uint(&j, "entries", ts.entries);
		json_kv_uint(&j, "peak", ts.peak);
		json_kv_uint(&j, "full", ts.full);
		json_kv_uint(&j, "evicted_linked", ts.evicted_linked);
		json_kv_uint(&j, "bytes", ts.bytes);
		json_obj_close(&j);
	}
	if (a->watch_on) {
		json_kv_uint(&j, "watch_events", a->watch_stats_final.requests);
		json_kv_uint(&j, "watch_overflows", a->watch_stats_final.overflows);
		json_kv_uint(&j, "watch_errors", a->watch_stats_final.errors);
		json_kv_uint(&j, "watch_dir_lookups", a->watch_stats_final.dir_lookups);
	}
	if (a->watch_on || !a->gate_off[0])
		json_kv_uint(&j, "mounts_marked", a->mounts_marked);
	if (!a->gate_off[0]) { /* the gate was on */
		struct gate_stats gs = a->gate_stats_final;
		json_kv_uint(&j, "gate_requests", gs.requests);
		json_kv_uint(&j, "gate_errors", gs.errors);
		json_kv_uint(&j, "gate_overflows", gs.overflows);
		json_kv_uint(&j, "gate_answer_us_max", gs.answer_ns_max / 1000);
		json_kv_uint(&j, "gate_undecided", gs.undecided);
		json_kv_uint(&j, "gate_files_allowed", gs.files_allowed);
		json_kv_uint(&j, "gate_files_forgets", gs.files_forgets);
		json_kv_uint(&j, "gate_files_errors", gs.files_errors);
		json_kv_uint(&j, "gate_fd_denials", gs.fd_denials);
		json_kv_uint(&j, "gate_record_drops",
		             __atomic_load_n(&a->c.gate_ring_drops, __ATOMIC_RELAXED));
	}
	emit(a, a->line, json_finish(&j), LOG_NOTICE);
}

int agent_run(const struct agent_opts *o)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct nl_source_opts so = {0};
	struct output_opts oo = {0};
	struct diags d;
	char why[512];
	sigset_t sigs;
	int rc = 2, r;

	diags_init(&d);
	if (!a) {
		fprintf(stderr, "procwarden: out of memory\n");
		return 2;
	}
	a->o = o;
	a->procfd = a->sfd = a->tfd = a->gate_procfd = -1;
	pthread_mutex_init(&a->pol_lock, NULL);
	pthread_mutex_init(&a->gate_push_lock, NULL);
#ifdef PW_TEST_HOOKS
	if (getenv("PROCWARDEN_TEST_KILL_DELAY_MS"))
		a->test_kill_delay_ms = (unsigned)atoi(getenv("PROCWARDEN_TEST_KILL_DELAY_MS"));
	if (getenv("PROCWARDEN_TEST_GATE_DELAY_MS"))
		a->test_gate_delay_ms = (unsigned)atoi(getenv("PROCWARDEN_TEST_GATE_DELAY_MS"));
#endif
	a->pi = malloc(sizeof(*a->pi));
	a->line = malloc(RECORD_SIZE);
	a->hookline = malloc(RECORD_SIZE);
	if (!a->pi || !a->line || !a->hookline || proc_parent_cache_new(&a->rs.parents) < 0 ||
	    pt_new(o->table_capacity, &a->pt) < 0) {
		fprintf(stderr, "procwarden: out of memory\n");
		goto out;
	}

	/* 1. the policy: nothing starts if it is not trusted or does not load */
	r = agent_check_trust(a, NULL, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden: %s\n", why);
		goto out;
	}
	r = load_policy(a, &a->pol, &d);
	if (r < 0) {
		diags_print(&d, stderr);
		fprintf(stderr, "procwarden: the policy did not load; nothing started\n");
		rc = 1;
		goto out;
	}
	if (reset_rule_counters(a) < 0)
		goto out;
	r = agent_check_trust(a, a->pol, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden: %s\n", why);
		goto out;
	}

	/* 2. signals: blocked everywhere, read from a signalfd here */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	a->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->sfd < 0 || a->procfd < 0) {
		fprintf(stderr, "procwarden: cannot set up: %s\n", strerror(errno));
		goto out;
	}

	/* 3. the hook executor, forked before anything is confined */
	if (!o->dry_run) {
		struct hookexec_opts ho = {.no_seccomp = o->no_seccomp};
		r = hookexec_start(&ho, &a->hx);
		if (r < 0) {
			fprintf(stderr, "procwarden: cannot start the hook executor: %s\n",
			        strerror(-r));
			goto out;
		}
	}

	/* 4. subscribe: the kernel must acknowledge, or we say why and stop */
	/* the table is built from the events: lineage, ids, comm as they change */
	so.events = PW_EV_FORK | PW_EV_EXEC | PW_EV_EXIT | PW_EV_UID | PW_EV_GID | PW_EV_COMM;
	so.no_threads = true;
	so.quiet_non_exec = true; /* the table's events wait for the next exec */
	so.rcvbuf = o->rcvbuf ? o->rcvbuf : (8u << 20);
	so.batch = o->batch;
	so.ring_capacity = o->ring_capacity;
	r = nl_source_open(&so, &a->src, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden: %s\n", why);
		goto out;
	}
	/* the gate marks filesystems with CAP_SYS_ADMIN, before it goes */
	r = open_gate(a);
	if (r < 0) {
		fprintf(stderr, "procwarden: cannot set up the gate: %s\n", strerror(-r));
		goto out;
	}
	/* filesystems mounted later: marked by a watcher that alone keeps
	 * CAP_SYS_ADMIN (mounts.h) */
	if (a->gate || a->watch) {
		struct gate *gs[2] = {a->gate, a->watch};
		r = mount_watch_open(gs, 2, !o->no_seccomp, &a->mw, why, sizeof(why));
		if (r < 0)
			snprintf(a->mounts_off, sizeof(a->mounts_off), "%.300s", why);
		else if (a->watch)
			gate_set_refresh(a->watch, adopt_mounts, a);
	}
	/* a watch by names on every filesystem names each exec: no pins */
	a->watch_on = a->watch != NULL;
	if (a->watch && gate_names_all(a->watch))
		nl_source_pin_exe(a->src, false);
	/* capabilities are per thread: drop them before any thread starts */
	r = agent_drop_privileges(a, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden: %s\n", why);
		goto out;
	}

	/* 5. the output (opened without capabilities, like a reopen) */
	oo.log_path = o->log_path;
	oo.syslog = o->syslog;
	oo.journal = o->journal;
	oo.syslog_facility = o->syslog_facility;
	oo.record_prefix = record_prefix(a->prefix, sizeof(a->prefix));
	a->prefix_len = strlen(a->prefix); /* the budget counts the bytes written */
	oo.syslog_max_prio = o->syslog_max_prio;
	oo.set_nice = a->boosted; /* the hot path's boost is not the writer's */
	oo.nice = a->nice;
	r = output_new(&oo, &a->out);
	if (r < 0) {
		fprintf(stderr, "procwarden: cannot open the log '%s': %s\n",
		        o->log_path ? o->log_path : "-", strerror(-r));
		goto out;
	}
	if (o->trace_path) { /* every launch: a larger queue, no syslog */
		struct output_opts to = oo;
		to.log_path = o->trace_path;
		to.syslog = to.journal = false;
		to.ring_bytes = 4u << 20;
		a->trace_line = malloc(RECORD_SIZE);
		r = a->trace_line ? output_new(&to, &a->trace) : -ENOMEM;
		if (r < 0) {
			fprintf(stderr, "procwarden: cannot open the trace '%s': %s\n",
			        o->trace_path, strerror(-r));
			goto out;
		}
	}

	nl_source_capture(a->src, true); /* what /proc shows at the pin (launch.h) */
	r = nl_source_start(a->src);
	if (r < 0) {
		fprintf(stderr, "procwarden: cannot start the listener: %s\n", strerror(-r));
		goto out;
	}
	if (a->gate) {
		r = gate_start(a->gate, gate_decide, gate_undecided, a);
		if (r < 0) {
			fprintf(stderr, "procwarden: cannot start the gate: %s\n", strerror(-r));
			goto out;
		}
	}
	if (a->watch) {
		r = gate_start(a->watch, watch_note, NULL, a);
		if (r < 0) {
			fprintf(stderr, "procwarden: cannot start the watch: %s\n", strerror(-r));
			goto out;
		}
	}

	/* 6. what already runs gets the same policy */
	int scanned = 0;
	if (!o->no_scan) {
		pt_resync_begin(a->pt);
		scanned = procscan_run(a->procfd, 0, on_scan, a);
		pt_resync_end(a->pt, pw_now_mono()); /* links children scanned before parents */
		if (scanned < 0) {
			fprintf(stderr, "procwarden: cannot scan /proc: %s\n", strerror(-scanned));
			goto out;
		}
	}

	/* 7. metrics timer */
	if (o->metrics_path) {
		unsigned iv = o->metrics_interval_s ? o->metrics_interval_s : 5;
		struct itimerspec its = {.it_interval = {.tv_sec = iv}, .it_value = {.tv_sec = iv}};
		a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (a->tfd < 0 || timerfd_settime(a->tfd, 0, &its, NULL) < 0) {
			fprintf(stderr, "procwarden: timerfd: %s\n", strerror(errno));
			goto out;
		}
		r = agent_check_metrics_dir(a, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "procwarden: %s\n", why);
			goto out;
		}
		r = agent_write_metrics(a);
		if (r < 0) { /* said now, not found missing by whoever reads it */
			fprintf(stderr, "procwarden: cannot write the metrics file '%s': %s\n",
			        o->metrics_path, strerror(-r));
			goto out;
		}
	}

	/* 8. confinement (after everything is open) */
	r = agent_confine(a, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden: %s\n", why);
		goto out;
	}

	{
		struct nl_stats st;
		struct jbuf j;
		nl_source_stats(a->src, &st);
		record_begin(&j, a->line, RECORD_SIZE, "start");
		json_kv_str(&j, "version", PW_VERSION);
		json_kv_uint(&j, "schema", RECORD_SCHEMA);
		json_kv_int(&j, "pid", getpid());
		json_policy(&j, a->pol);
		json_kv_bool(&j, "dry_run", o->dry_run);
		json_kv_int(&j, "scanned", scanned);
		json_kv_bool(&j, "kernel_filter", st.kernel_filter);
		json_kv_bool(&j, "socket_filter", st.socket_filter);
		json_kv_uint(&j, "rcvbuf", st.rcvbuf);
		json_kv_bool(&j, "insecure_permissions", o->insecure_permissions);
		json_kv_str(&j, "seccomp", a->confined ? "on" : "off");
		json_gate(a, &j, "gate", a->gate, a->gate_off);
		json_gate(a, &j, "watch", a->watch, a->watch_off);
		emit(a, a->line, json_finish(&j), LOG_NOTICE);
	}
	/* ready: the start record is in the log (not only queued for it) */
	if (getenv("NOTIFY_SOCKET"))
		(void)output_flush(a->out, 1000);
	sd_notify("READY=1");
	uint64_t wd = watchdog_ns() / 2, wd_next = pw_now_mono() + wd;

	/* 9. the evaluator loop */
	struct ring *ring = nl_source_ring(a->src);
	struct pw_event ev;
	bool stop = false;
	while (!stop) {
		int n = 0;
		while (n < BATCH_EVENTS && ring_pop(ring, &ev) == 0) {
			handle_event(a, &ev);
			n++;
		}
		while (a->gate_ring && ring_pop(a->gate_ring, a->deny_buf) == 0)
			handle_denial(a, a->deny_buf);
		settle_pending(a, false);
		/* a killed launch's descendants: their forks wake us at once */
		nl_source_urgent_forks(a->src, a->n_pending > 0);
		pt_expire(a->pt, a->last_ktime);
		uint64_t now = pw_now_mono();
		if (now - a->last_loss_check_ns >= 100000000ull) {
			a->last_loss_check_ns = now;
			report_losses(a, now);
		}
		bool gate_wait = a->gate_ring && ring_prepare_wait(a->gate_ring);
		struct pollfd p[5] = {
		    {.fd = a->sfd, .events = POLLIN},
		    {.fd = a->hx ? hookexec_fd(a->hx) : -1, .events = POLLIN},
		    {.fd = a->tfd, .events = POLLIN},
		    {.fd = gate_wait ? ring_fd(a->gate_ring) : -1, .events = POLLIN},
		    {.fd = mount_watch_fd(a->mw), .events = POLLIN},
		};
		/* sleeps only when the rings are empty */
		/* kill records waiting for descendants: look again soon */
		int timeout =
		    n < BATCH_EVENTS && (gate_wait || !a->gate_ring) ? (a->n_pending ? 5 : -1) : 0;
		if (wd) {
			uint64_t t = pw_now_mono();
			if (t >= wd_next) {
				sd_notify("WATCHDOG=1");
				notify_status(a);
				wd_next = t + wd;
			}
			int until = (int)((wd_next - t) / 1000000) + 1;
			if (timeout < 0 || timeout > until)
				timeout = until;
		}
		r = nl_source_wait(a->src, p, 5, timeout);
		if (gate_wait)
			ring_finish_wait(a->gate_ring);
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN)
			stop = handle_signals(a);
		if (p[1].revents & (POLLIN | POLLHUP))
			drain_hooks(a);
		if (p[4].revents & (POLLIN | POLLHUP))
			drain_mounts(a);
		if (p[2].revents & POLLIN) {
			uint64_t exp;
			if (read(a->tfd, &exp, sizeof(exp)) > 0) {
				int mr = agent_write_metrics(a);
				if (mr < 0 && !a->metrics_failing)
					emit_error(a, "cannot write the metrics file",
					           strerror(-mr));
				a->metrics_failing = mr < 0; /* said once a streak */
			}
		}
	}

	/* 10. stop: the gate first (the kernel allows what it held, once the
	 * mount watcher, which holds the group too, is gone), then
	 * unsubscribe, drain (the watch still names what is left), flush */
	mount_watch_free(a->mw);
	a->mw = NULL;
	if (a->gate)
		gate_get_stats(a->gate, &a->gate_stats_final);
	gate_free(a->gate);
	a->gate = NULL;
	while (a->gate_ring && ring_pop(a->gate_ring, a->deny_buf) == 0)
		handle_denial(a, a->deny_buf);
	sd_notify("STOPPING=1");
	nl_source_stop(a->src);
	while (ring_pop(ring, &ev) == 0)
		handle_event(a, &ev);
	settle_pending(a, true);
	if (a->watch)
		gate_get_stats(a->watch, &a->watch_stats_final);
	gate_free(a->watch);
	a->watch = NULL;
	drain_hooks(a);
	memset(a->c.loss_said_ns, 0,
	       sizeof(a->c.loss_said_ns)); /* the last word, whatever the rate */
	report_losses(a, pw_now_mono());
	emit_stop(a);
	if (o->metrics_path)
		agent_write_metrics(a);
	rc = 0;
out:
	mount_watch_free(a->mw);
	gate_free(a->gate);
	gate_free(a->watch);
	ring_free(a->gate_ring);
	if (a->gate_procfd >= 0)
		close(a->gate_procfd);
	free(a->gate_pi);
	free(a->gate_ev);
	free(a->gate_sup_ev);
	free(a->deny_buf);
	free(a->hints);
	hookexec_stop(a->hx);
	nl_source_free(a->src);
	if (a->out) {
		output_flush(a->out, 5000);
		output_free(a->out);
	}
	if (a->trace) {
		output_flush(a->trace, 5000);
		output_free(a->trace);
	}
	free(a->trace_line);
	policy_unref(a->pol);
	diags_free(&d);
	if (a->sfd >= 0)
		close(a->sfd);
	if (a->tfd >= 0)
		close(a->tfd);
	if (a->procfd >= 0)
		close(a->procfd);
	free(a->rule_matches);
	for (unsigned i = 0; i < a->n_pending; i++)
		free(a->pending[i].line);
	pt_free(a->pt);
	proc_parent_cache_free(a->rs.parents);
	free(a->pi);
	free(a->line);
	free(a->hookline);
	free(a);
	return rc;
}
