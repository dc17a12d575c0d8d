/* Internal to src/agent: the agent's state, shared by its files. */
#ifndef PROCWARDEN_AGENT_INT_H
#define PROCWARDEN_AGENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procwarden/launch.h"
#include "procwarden/agent.h"
#include "procwarden/exehint.h"
#include "procwarden/gate.h"
#include "procwarden/proc.h"
#include "procwarden/mounts.h"
#include "procwarden/procscan.h"
#include "procwarden/ptable.h"

struct nl_source;
struct output;
struct hookexec;
struct policy;
struct gate;
struct ring;

/* Counters of the evaluator thread (only it writes them). */
struct agent_counters {
	uint64_t launches;
	uint64_t by_source[3]; /* netlink, rescan, scan */
	uint64_t records;
	uint64_t gone;
	uint64_t signals_sent, signals_gone, signals_failed;
	uint64_t hooks_submitted, hooks_local_skipped, hooks_skipped_loop;
	uint64_t hook_executor_lost; /* 1 once the executor gave up (hooks no longer run) */
	uint64_t hooks_ok, hooks_failed, hooks_timeout, hooks_skipped;
	uint64_t overruns, rescans, rescanned;
	uint64_t eval_ns, evals, match_errors;
	uint64_t output_drops;
	uint64_t reloads, reload_failures;
	uint64_t denials, denials_dry_run, deny_fallback_kills, gate_ring_drops;
	uint64_t exe_unknown;  /* launches evaluated without knowing their exe */
	uint64_t pins_resumed; /* the watch missed an exec: the listener pins again (0 or 1) */
	uint64_t descendants_signalled; /* processes a killed launch forked, signalled too */
	uint64_t signals_unverified;    /* signals not sent: the target's identity unproven */
	uint64_t pending_overflow;      /* kill records written before their descendants settled */
	uint64_t undecided;             /* launches a rule could not judge (unknown values) */
	/* loss records: what each class had when last said, and when */
	uint64_t loss_said[12];
	uint64_t loss_said_ns[12];
	uint64_t trace_lines, trace_drops; /* --trace: launches written, refused */
};

/* A kill record waiting until the launch's descendants have been signalled
 * (the fork events sent before the last of those signals are handled). */
#define PENDING_KILLS 32
/* The hot path (listener, evaluator, gate threads) runs at this nice value
 * (set before the capabilities are dropped, see agent_drop_privileges()):
 * ahead of the launches it must capture before they exit and kill before
 * they act; auditd boosts itself too (priority_boost, 4 by default).
 * Measured (tests/bench/run-peers --parts kill, 1,000 victims whose first
 * act is a write): at 0, 50-55% escaped and 35-50% were gone before the
 * kill; with only the listener at -10, 62-67% escaped (it took the CPU from
 * the evaluator); with both at -10, 25%, 8% gone. */
#define AGENT_HOT_NICE (-10)
struct pending_kill {
	struct pt_ref root; /* the killed launch's table entry */
	uint64_t until_ns;  /* the latest signal of its tree */
	char *line;         /* the record without its closing "}\n" (malloc'd) */
	size_t len;
	int prio;
};

/* A launch the gate decided to deny, for the evaluator to record: a fixed
 * value (no pointers) crossing the gate ring. */
/* Why the gate recorded an exec. */
enum deny_why {
	DENY_RULE,    /* a deny rule matched */
	DENY_UNKNOWN, /* --gate-fail closed: a deny rule rested on an unknown value */
	DENY_BOUND,   /* no decision within the gate's bound (its supervisor answered) */
};

struct deny_event {
	int32_t pid, ppid;
	uint32_t uid, euid, gid, egid;
	uint32_t have;  /* PI_HAVE_* of the fields below */
	uint32_t flags; /* PI_EXE_* */
	uint64_t t_ns;  /* when the gate read the request (CLOCK_MONOTONIC) */
	uint64_t decide_ns;
	bool denied;            /* the exec was denied (not: --dry-run, or failing open) */
	uint8_t why;            /* enum deny_why */
	struct pw_file_id file; /* PI_HAVE_EXE_FILE in have */
	char exe[PW_PATH_MAX];
	char parent_exe[PW_PATH_MAX];
	char parent_comm[PW_COMM_MAX];
};

/* One uid's record budget (agent.budget[]). */
#define UID_BUDGET_SLOTS 256
#define UID_BUDGET_WINDOW_NS 60000000000ull
struct uid_budget {
	uint32_t uid;
	bool used;
	uint64_t bytes;      /* of records in the window */
	uint64_t window_ns;  /* when the window started */
	uint64_t suppressed; /* records not written, not said yet */
};

struct agent {
	const struct agent_opts *o;
	struct launch_ctx lc; /* the launch step shared with monitor, and its counters */
	bool boosted;         /* the hot path runs at AGENT_HOT_NICE */
	bool metrics_failing; /* the last metrics write failed (said in an error record) */
	char prefix[384];     /* "host":...,"boot_id":..., for the output */
	size_t prefix_len;
	int nice; /* the nice value the agent was started with */
	struct nl_source *src;
	struct output *out;
	struct output *trace; /* --trace: every launch (NULL: off) */
	char *trace_line;     /* RECORD_SIZE, the evaluator's */
	struct hookexec *hx;
	struct policy *pol; /* the current policy: swapped whole on reload, under pol_lock
	                     * (the gate thread takes its references under it) */
	pthread_mutex_t pol_lock;
	pthread_mutex_t gate_push_lock; /* the gate ring's two producers: the gate
	                                 * thread (denials) and its supervisor */
	struct gate *gate;              /* NULL: no deny rule, --no-gate, or no fanotify */
	struct gate *watch; /* the exec watch (off: --no-watch-exec); then the only hint writer */
	struct mount_watch *mw; /* marks later mounts for both (NULL: not on this kernel) */
	char mounts_off[320];   /* why not, for the start record */
	uint64_t mounts_marked; /* filesystems it marked (for the gate or the watch) */
	bool watch_on;          /* the watch ran (its counters go in the stop record) */
	char watch_off[320];
	struct ring *gate_ring;         /* gate thread -> evaluator: struct deny_event */
	struct proc_info *gate_pi;      /* the gate thread's own */
	struct deny_event *gate_ev;     /* the gate thread's own */
	struct deny_event *gate_sup_ev; /* the gate supervisor's own */
	struct deny_event *deny_buf;    /* the evaluator's, to pop into */
	struct exe_hints *hints;        /* gate thread -> evaluator */
	struct gate_stats gate_stats_final, watch_stats_final;
	struct proc_read_stats gate_rs;
	int gate_procfd;
	char gate_off[320];     /* why there is no gate, for the start record */
	uint64_t *rule_matches; /* per rule of pol */
	size_t n_rule_matches;
	int procfd, sfd, tfd;
	struct proc_info *pi;
	struct proc_read_stats rs;
	struct agent_counters c;
	uint64_t last_ktime; /* kernel time of the last event delivered */
	uint64_t last_match_error_record;
	uint64_t last_loss_check_ns;
	struct uid_budget budget[UID_BUDGET_SLOTS];
	uint64_t budget_suppressed; /* records the budget held back, in all */
	uint64_t budget_said_ns;
	uint64_t last_rescan_ns; /* when the last overrun rescan ran */
	struct seen_set seen;    /* launches evaluated, so that rescans skip them */
	struct ptable *pt;       /* the process table, fed by every event */
	struct pending_kill pending[PENDING_KILLS];
	unsigned n_pending;
	bool confined;
	unsigned test_kill_delay_ms; /* PW_TEST_HOOKS builds only */
	unsigned test_gate_delay_ms; /* PW_TEST_HOOKS: the gate's decisions on a "/slow*" file */
	char *line;                  /* record buffer */
	char *hookline;              /* hook result buffer */
};

/* Write the Prometheus text file atomically (temp file + rename). */
int agent_write_metrics(struct agent *a);
/* Refuse policy p's files and hooks when others could have written them
 * (unless --insecure-permissions), and hooks that do not exist.  0, or
 * negative errno with why filled (the path and the fix).  With p NULL, only
 * the configured paths are checked: done before anything is read. */
int agent_check_trust(struct agent *a, const struct policy *p, char *why, size_t whylen);
/* The directory of --metrics: trusted as a policy's is (trust.h). */
int agent_check_metrics_dir(struct agent *a, char *why, size_t whylen);
/* no_new_privs; drop every capability but CAP_KILL and CAP_SYS_PTRACE (and
 * those from the bounding set).  Call before any thread starts: capabilities
 * are per thread.  0, or negative errno with why filled. */
int agent_drop_privileges(struct agent *a, char *why, size_t whylen);
/* Install the seccomp filters (every thread; the listener's narrower one on
 * it), unless --no-seccomp.  0, or negative errno with why filled. */
int agent_confine(struct agent *a, char *why, size_t whylen);

#endif
