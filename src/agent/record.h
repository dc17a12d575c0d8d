/* Internal to src/agent: formatting records as JSON lines. */
#ifndef PROCWARDEN_AGENT_RECORD_H
#define PROCWARDEN_AGENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procwarden/event.h"
#include "procwarden/json.h"
#include "procwarden/policy.h"
#include "procwarden/procinfo.h"

/* Result of one action, for the record. */
struct act_result {
	uint32_t action;    /* ACT_LOG, ACT_KILL, ACT_HOOK, ACT_DENY */
	int signal;         /* ACT_KILL */
	uint32_t rule;      /* ACT_HOOK: the rule; ACT_KILL: the rule that chose it */
	uint32_t hook;      /* ACT_HOOK: index among the rule's hooks */
	const char *result; /* "ok", "gone", "dry-run", "queued", "skipped", "error: ..." */
};

#define RECORD_MAX_ACTIONS 72
/* The record schema's version, in the start record: raised when a field
 * changes meaning or goes (new fields do not raise it).  docs/records.md. */
#define RECORD_SCHEMA 1

/* Everything an exec record says. */
struct exec_record {
	const struct pw_event *ev;
	const struct proc_info *pi;
	const char *source; /* "netlink", "rescan", "scan", "gate" */
	const struct policy *p;
	const struct policy_verdict *v;
	const struct act_result *acts;
	size_t n_acts;
	int64_t latency_us;       /* kill latency, or -1 */
	int64_t gate_us;          /* the gate's decision time, when it denied (else 0: absent) */
	int32_t ppid_now;         /* the current parent when it is not the forking one (0: same) */
	bool ancestors_used;      /* the policy walked the lineage (a cut one is "unknown") */
	bool matched_by_identity; /* an exe rule matched the file, not its name */
};

/* Format an exec record into buf (one line, '\n'-terminated).  Returns the
 * length. */
size_t record_exec(char *buf, size_t size, const struct exec_record *r);

/* Start a record of another type: {"type":TYPE,"time":NOW, ...}; the caller
 * adds fields and calls json_finish(). */
void record_begin(struct jbuf *j, char *buf, size_t size, const char *type);

#endif
