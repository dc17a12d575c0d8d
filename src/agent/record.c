/*
 * record.c - the agent's JSON records.
 *
 * Overview: pure formatting into a caller's buffer (json.h: bounded, always
 * valid JSON whatever bytes a process put in its argv or name).  The record
 * fields are a contract with log consumers: type, time, pid, ppid, uid,
 * euid, gid, exe, argv, comm, parent_exe, rules, severity, actions,
 * latency_us, source, gone.
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
	json_kv_int(&j, "ppid", pi->ppid);
	json_kv_uint(&j, "uid", pi->uid);
	json_kv_uint(&j, "euid", pi->euid);
	json_kv_uint(&j, "gid", pi->gid);
	json_kv_uint(&j, "egid", pi->egid);
	json_kv_str(&j, "exe", pi->exe);
	json_key(&j, "argv");
	json_arr_open(&j);
	for (uint32_t i = 0, off = 0; i < pi->argc && off < pi->argv_len; i++) {
		size_t n = strnlen(pi->argv + off, pi->argv_len - off);
		json_strn(&j, pi->argv + off, n);
		off += (uint32_t)n + 1;
	}
	json_arr_close(&j);
	if (pi->flags & PI_ARGV_TRUNCATED)
		json_kv_bool(&j, "argv_truncated", true);
	json_kv_str(&j, "comm", pi->comm);
	json_kv_str(&j, "parent_exe", pi->parent_exe);
	json_kv_str(&j, "parent_comm", pi->parent_comm);
	if (proc_info_fileless(pi))
		json_kv_bool(&j, "fileless", true);
	json_key(&j, "rules");
	json_arr_open(&j);
	for (uint32_t i = 0; i < v->n_rules; i++)
		json_str(&j, policy_rule_name(r->p, v->rules[i]));
	json_arr_close(&j);
	if (v->rules_truncated)
		json_kv_bool(&j, "rules_truncated", true);
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
		if (a->action == ACT_HOOK || a->action == ACT_KILL)
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
