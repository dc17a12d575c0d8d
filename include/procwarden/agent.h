/*
 * agent.h - the agent: source -> ring -> evaluator -> actions, wired.
 *
 * agent_run() owns everything it starts: the listener (nl_source), the
 * output writer, the hook executor, the current policy.  The calling thread
 * becomes the evaluator: it pops events, snapshots /proc, evaluates the
 * policy, signals through pidfds at once, and hands slow work (records,
 * hooks) to queues that never block it.  Signals are read from a signalfd:
 * SIGHUP reloads (atomically) and reopens the log, SIGTERM/SIGINT stop.
 */
#ifndef PROCWARDEN_AGENT_H
#define PROCWARDEN_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define AGENT_UID_BUDGET_DEFAULT (64ull << 20) /* bytes of records per uid per minute */

struct agent_opts {
	const char **policy_paths; /* --policy, in order; none: configured default */
	size_t n_policy_paths;
	const char *log_path;   /* NULL or "-": standard output */
	const char *trace_path; /* --trace: every launch as an exec record, or NULL */
	bool syslog;
	bool journal;        /* syslog as native journal entries (--journal) */
	int syslog_facility; /* LOG_* facility; 0: LOG_AUTHPRIV */
	int syslog_max_prio; /* records of a syslog priority above this (less severe)
	                      * go to the log file only; 0: LOG_DEBUG (all) */
	bool dry_run;
	bool no_scan;
	const char *metrics_path;    /* NULL: none */
	unsigned metrics_interval_s; /* 0: 5 */
	size_t rcvbuf;               /* 0: 8 MiB */
	unsigned batch;              /* recvmmsg batch; 0: default */
	size_t ring_capacity;        /* 0: default */
	size_t table_capacity;       /* process table entries; 0: PT_CAPACITY_DEFAULT */
	bool insecure_permissions;
	/* a reload may load a policy source that vanished or is empty (the
	 * built-in default, or no rules) in place of one that enforces */
	bool allow_empty_policy;
	/* bytes of records per uid per minute for launches that are neither
	 * killed nor denied and below severity warning; beyond it they are
	 * counted and said in a loss record (class uid_budget).  0:
	 * AGENT_UID_BUDGET_DEFAULT; UINT64_MAX: none */
	uint64_t uid_record_budget;
	bool no_seccomp;
	bool no_gate;          /* deny rules: kill after the exec, no fanotify gate */
	bool gate_fail_closed; /* --gate-fail closed: deny what the gate cannot decide */
	bool watch_exec;       /* learn exes from fanotify notifications (cmd_run: on
	                        * unless --no-watch-exec) */
};

/* Run until SIGTERM/SIGINT.  Returns the exit code: 0 after a clean stop,
 * 1 when the policy does not load, 2 when the agent cannot start (messages
 * printed to standard error by the caller layer: agent_run prints only
 * through its own records and, before the log exists, to stderr). */
int agent_run(const struct agent_opts *o);

struct policy;
/* What `run` checks of a loaded policy before it enforces it, for `check`
 * to judge the same: every hook exists and is a file, and the policy paths
 * given (or /etc/procwarden/policy.d), each policy file and each hook are
 * owned by root and writable only by root, as every directory above them
 * (not with insecure).  0, or a negative errno with why filled. */
int agent_check_policy_files(const struct policy *p, const char *const *paths, size_t n_paths,
                             bool insecure, char *why, size_t whylen);

#endif
