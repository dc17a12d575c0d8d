/*
 * record.c - the agent's JSON records.
 *
 * Overview: pure formatting into a caller's buffer (json.h: bounded, always
 * valid JSON whatever bytes a process put in its argv or name).  The record
 * fields are a contract with log consumers: type, time, pid, ppid, uid,
 * euid, gid, exe, argv, comm, parent_exe, rules, severity, actions,
 * latency_us, source, gone; a value not learnt is null and named in
 * `unknown`, rules a value not known left undecided are in `undecided`.
 */
#include <string.h>

#include "agent/record.h"
#include "procwarden/clock.h"

void record_begin(struct jbuf *j, char *buf, size_t size, const char *type)
{
	char t[40];

	json_init(j, buf, size);
	json_obj_open(j);
	json_kv_str(j, "type", type);
	pw_time_rfc3339(pw_now_real(), t, sizeof(t));
	json_kv_str(j, "time", t);
}

/* Name of an action bit. */
static const char *action_name(uint32_t a)
{
	switch (a) {
	case ACT_LOG:
		return "log";
	case ACT_KILL:
		return "kill";
	case ACT_HOOK:
		return "hook";
	case ACT_DENY:
		return "deny";
	case ACT_ALLOW:
		return "allow";
	default:
		return "?";
	}
}

/* "key": null */
static void kv_null(struct jbuf *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

/* An id, or null when not known. */
static void kv_id(struct jbuf *j, const struct proc_info *pi, const char *key, uint32_t v,
                  uint32_t have)
{
	if (pi->have & have)
		json_kv_uint(j, key, v);
	else
		kv_null(j, key);
}

/* A string field, or null when not known. */
static void kv_text(struct jbuf *j, const struct proc_info *pi, const char *key, const char *v,
                    uint32_t have)
{
	if (pi->have & have)
		json_kv_str(j, key, v);
	else
		kv_null(j, key);
}

/* The fields a record may not know, in record order. */
static const struct {
	const char *name;
	uint32_t have;
} known_fields[] = {
    {"ppid", PI_HAVE_PPID | PI_HAVE_STAT},
    {"uid", PI_HAVE_UID},
    {"euid", PI_HAVE_EUID},
    {"gid", PI_HAVE_GID},
    {"egid", PI_HAVE_EGID},
    {"exe", PI_HAVE_EXE},
    {"argv", PI_HAVE_ARGV},
    {"comm", PI_HAVE_COMM},
    {"parent_exe", PI_HAVE_PARENT_EXE},
    {"parent_comm", PI_HAVE_PARENT_COMM},
};

/* An upper bound of what an exec record needs after its argv (every string
 * escaped at worst 6 bytes a byte): the argv is cut to leave it room, so a
 * long command line never costs the record its rules, actions or result. */
static size_t tail_bound(const struct exec_record *r)
{
	const struct proc_info *pi = r->pi;
	const struct policy_verdict *v = r->v;
	size_t n = 1024; /* keys, numbers, the unknown list, flags */

	n += 6 * (sizeof(pi->comm) + sizeof(pi->parent_comm));
	if (pi->have & PI_HAVE_PARENT_EXE)
		n += 6 * strlen(pi->parent_exe);
	for (uint32_t i = 0; i < v->n_rules; i++)
		n += 6 * strlen(policy_rule_name(r->p, v->rules[i])) + 3;
	for (uint32_t i = 0; i < v->n_undecided; i++)
		n += 6 * strlen(policy_rule_name(r->p, v->undecided[i])) + 3;
	for (size_t i = 0; i < r->n_acts; i++) {
		const struct act_result *a = &r->acts[i];
		n += 128 + (a->result ? 6 * strlen(a->result) : 0);
		if (a->action == ACT_HOOK || a->action == ACT_KILL)
			n += 6 * strlen(policy_rule_name(r->p, a->rule));
		if (a->action == ACT_HOOK) {
			const struct policy_hook *h;
			if (a->hook < policy_rule_hooks(r->p, a->rule, &h))
				for (const char *const *s = h[a->hook].argv; *s; s++)
					n += 6 * strlen(*s) + 3;
		}
	}
	return n;
}

size_t record_exec(char *buf, size_t size, const struct exec_record *r)
{
	const struct proc_info *pi = r->pi;
	const struct policy_verdict *v = r->v;
	struct jbuf j;
	char t[40];

	json_init(&j, buf, size);
	json_obj_open(&j);
	json_kv_str(&j, "type", "exec");
	/* the launch's own time: the kernel's timestamp of the exec event */
	pw_time_rfc3339(pw_mono_to_real(r->ev->ktime_ns), t, sizeof(t));
	json_kv_str(&j, "time", t);
	json_kv_int(&j, "pid", pi->pid);
	/* a value not learnt is null, and named in "unknown" */
	if (pi->have & (PI_HAVE_PPID | PI_HAVE_STAT))
		json_kv_int(&j, "ppid", pi->ppid);
	else
		kv_null(&j, "ppid");
	if (r->ppid_now > 0 && (pi->have & (PI_HAVE_PPID | PI_HAVE_STAT)) &&
	    r->ppid_now != pi->ppid)
		json_kv_int(&j, "ppid_now", r->ppid_now);
	kv_id(&j, pi, "uid", pi->uid, PI_HAVE_UID);
	kv_id(&j, pi, "euid", pi->euid, PI_HAVE_EUID);
	kv_id(&j, pi, "gid", pi->gid, PI_HAVE_GID);
	kv_id(&j, pi, "egid", pi->egid, PI_HAVE_EGID);
	if (pi->have & PI_HAVE_EXE)
		json_kv_str(&j, "exe", pi->exe);
	else
		kv_null(&j, "exe");
	if (r->matched_by_identity)
		json_kv_str(&j, "matched_by", "identity");
	bool cut = j.truncated;
	size_t cap = json_reserve(&j, tail_bound(r));
	json_key(&j, "argv");
	if (pi->have & PI_HAVE_ARGV) {
		json_arr_open(&j);
		for (uint32_t i = 0, off = 0; i < pi->argc && off < pi->argv_len; i++) {
			size_t n = strnlen(pi->argv + off, pi->argv_len - off);
			json_strn(&j, pi->argv + off, n);
			off += (uint32_t)n + 1;
		}
		json_arr_close(&j);
	} else {
		json_null(&j);
	}
	json_unreserve(&j, cap);
	if ((pi->flags & PI_ARGV_TRUNCATED) || (j.truncated && !cut))
		json_kv_bool(&j, "argv_truncated", true);
	kv_text(&j, pi, "comm", pi->comm, PI_HAVE_COMM);
	kv_text(&j, pi, "parent_exe", pi->parent_exe, PI_HAVE_PARENT_EXE);
	kv_text(&j, pi, "parent_comm", pi->parent_comm, PI_HAVE_PARENT_COMM);
	json_key(&j, "unknown");
	json_arr_open(&j);
	for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
		if (!(pi->have & known_fields[i].have))
			json_str(&j, known_fields[i].name);
	if (r->ancestors_used && (pi->flags & PI_ANCESTORS_CUT))
		json_str(&j, "ancestors");
	json_arr_close(&j);
	if (proc_info_fileless(pi))
		json_kv_bool(&j, "fileless", true);
	json_key(&j, "rules");
	json_arr_open(&j);
	for (uint32_t i = 0; i < v->n_rules; i++)
		json_str(&j, policy_rule_name(r->p, v->rules[i]));
	json_arr_close(&j);
	if (v->rules_truncated)
		json_kv_bool(&j, "rules_truncated", true);
	if (v->n_undecided) {
		json_key(&j, "undecided");
		json_arr_open(&j);
		for (uint32_t i = 0; i < v->n_undecided; i++)
			json_str(&j, policy_rule_name(r->p, v->undecided[i]));
		json_arr_close(&j);
	}
	json_kv_str(&j, "severity", pw_severity_name(v->severity));
	json_key(&j, "actions");
	json_arr_open(&j);
	for (size_t i = 0; i < r->n_acts; i++) {
		const struct act_result *a = &r->acts[i];
		json_obj_open(&j);
		json_kv_str(&j, "action", action_name(a->action));
		if (a->action == ACT_KILL) {
			const char *s = pw_signal_name(a->signal);
			json_kv_str(&j, "signal", s ? s : "?");
		}
		if (a->action == ACT_HOOK || a->action == ACT_KILL ||
		    (a->action == ACT_DENY && !strcmp(a->result, "audit")))
			json_kv_str(&j, "rule", policy_rule_name(r->p, a->rule));
		if (a->action == ACT_HOOK) {
			const struct policy_hook *h;
			size_t nh = policy_rule_hooks(r->p, a->rule, &h);
			if (a->hook < nh) {
				json_key(&j, "argv");
				json_arr_open(&j);
				for (const char *const *s = h[a->hook].argv; *s; s++)
					json_str(&j, *s);
				json_arr_close(&j);
			}
		}
		json_kv_str(&j, "result", a->result);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	if (r->latency_us >= 0)
		json_kv_int(&j, "latency_us", r->latency_us);
	if (!strcmp(r->source, "gate"))
		json_kv_int(&j, "gate_us", r->gate_us);
	json_kv_str(&j, "source", r->source);
	if (pi->flags & PI_GONE)
		json_kv_bool(&j, "gone", true);
	if (v->match_errors)
		json_kv_uint(&j, "match_errors", v->match_errors);
	return json_finish(&j);
}
