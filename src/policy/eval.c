/*
 * eval.c - evaluate one launch against a compiled policy.
 *
 * Overview: reads the policy and the proc_info, writes only the verdict and
 * its own stack (the joined cmdline is built there, once, and only when a
 * rule tests it).  No allocation, no I/O, no locks: safe from any thread
 * while the caller holds a reference.  Candidate rules come from the
 * exact-exe index and the general list, merged in rule order; a rule's
 * conditions are tested cheapest first.
 */
#include <signal.h>
#include <string.h>

#include "policy_int.h"

/* Lazily computed views of the launch. */
struct eval_ctx {
	const struct policy *p;
	const struct proc_info *pi;
	struct policy_verdict *v;
	size_t exe_len;
	size_t comm_len;
	size_t parent_exe_len; /* SIZE_MAX until needed */
	size_t parent_comm_len;
	size_t cmd_len; /* SIZE_MAX until built */
	char *cmd;      /* PW_ARGV_MAX bytes on the caller's stack */
};

/* Join argv by single spaces into ctx->cmd. */
static void build_cmdline(struct eval_ctx *c)
{
	size_t n = c->pi->argv_len;

	if (n > PW_ARGV_MAX)
		n = PW_ARGV_MAX;
	memcpy(c->cmd, c->pi->argv, n);
	while (n > 0 && c->cmd[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (c->cmd[i] == '\0')
			c->cmd[i] = ' ';
	c->cmd_len = n;
}

/* Any pattern of l matches s (1), none (0); limit hits are counted. */
static int list_match(struct eval_ctx *c, const struct patlist *l, const char *s, size_t len)
{
	for (uint32_t i = 0; i < l->n; i++) {
		int r = policy_pattern_match(c->p, &l->v[i], s, len);

		if (r > 0)
			return 1;
		if (r < 0)
			c->v->match_errors++;
	}
	return 0;
}

/* ancestor_exe: the parent's exe, then every ancestor's up to pid 1. */
static int ancestors_match(struct eval_ctx *c, const struct patlist *l)
{
	const struct proc_info *pi = c->pi;
	size_t off = 0, end = pi->ancestors_len;

	if (list_match(c, l, pi->parent_exe, c->parent_exe_len))
		return 1;
	if (end > PW_ANCESTOR_BUF)
		end = PW_ANCESTOR_BUF;
	for (uint32_t i = 0; i < pi->n_ancestors && off < end; i++) {
		const char *s = pi->ancestors + off;
		size_t len = strnlen(s, end - off);

		if (list_match(c, l, s, len))
			return 1;
		off += len + 1;
	}
	return 0;
}

/* Every key of cond holds.  skip_exe: exe already matched via the index. */
static int cond_holds(struct eval_ctx *c, const struct cond *k, int skip_exe)
{
	const struct proc_info *pi = c->pi;
	const uint32_t ids[IF_COUNT] = {
	    [IF_UID] = pi->uid,   [IF_EUID] = pi->euid, [IF_GID] = pi->gid,
	    [IF_EGID] = pi->egid, [IF_USER] = pi->uid,  [IF_GROUP] = pi->gid,
	};
	uint32_t sm = k->str_mask;

	for (int f = 0; f < IF_COUNT; f++)
		if ((k->id_mask & (1u << f)) && !policy_idlist_has(&k->id[f], ids[f]))
			return 0;
	if (k->fileless >= 0 && k->fileless != proc_info_fileless(pi))
		return 0;
	if (skip_exe)
		sm &= ~(1u << SF_EXE);
	if (!sm)
		return 1;
	if ((sm & (1u << SF_EXE)) && !list_match(c, &k->str[SF_EXE], pi->exe, c->exe_len))
		return 0;
	if ((sm & (1u << SF_COMM)) && !list_match(c, &k->str[SF_COMM], pi->comm, c->comm_len))
		return 0;
	if (sm & ((1u << SF_PARENT_EXE) | (1u << SF_ANCESTOR_EXE)) && c->parent_exe_len == SIZE_MAX)
		c->parent_exe_len = strnlen(pi->parent_exe, PW_PATH_MAX);
	if ((sm & (1u << SF_PARENT_EXE)) &&
	    !list_match(c, &k->str[SF_PARENT_EXE], pi->parent_exe, c->parent_exe_len))
		return 0;
	if ((sm & (1u << SF_PARENT_COMM)) &&
	    !list_match(c, &k->str[SF_PARENT_COMM], pi->parent_comm, c->parent_comm_len))
		return 0;
	if (sm & (1u << SF_CMDLINE)) {
		if (c->cmd_len == SIZE_MAX)
			build_cmdline(c);
		if (!list_match(c, &k->str[SF_CMDLINE], c->cmd, c->cmd_len))
			return 0;
	}
	if ((sm & (1u << SF_ANCESTOR_EXE)) && !ancestors_match(c, &k->str[SF_ANCESTOR_EXE]))
		return 0;
	return 1;
}

/* Record rule r as matching; returns 1 when its allow stops evaluation. */
static int apply_rule(struct eval_ctx *c, uint32_t r)
{
	const struct rule *ru = &c->p->rules[r];
	struct policy_verdict *v = c->v;

	if (v->n_rules < POLICY_MAX_MATCHES)
		v->rules[v->n_rules++] = r;
	else
		v->rules_truncated++;
	if (ru->severity > v->severity)
		v->severity = ru->severity;
	v->actions |= ru->actions;
	if ((ru->actions & ACT_KILL) &&
	    (v->signal == 0 || (ru->signal == SIGKILL && v->signal != SIGKILL))) {
		v->signal = ru->signal;
		v->signal_rule = r;
	}
	if (ru->n_hooks && v->n_hook_rules < POLICY_MAX_MATCHES)
		v->hook_rules[v->n_hook_rules++] = r;
	if (ru->actions & ACT_ALLOW) {
		v->allow_rule = (int32_t)r;
		return 1;
	}
	return 0;
}

int policy_eval(const struct policy *p, const struct proc_info *pi, struct policy_verdict *v)
{
	char cmd[PW_ARGV_MAX];
	struct eval_ctx c = {
	    .p = p,
	    .pi = pi,
	    .v = v,
	    .exe_len = strnlen(pi->exe, PW_PATH_MAX),
	    .comm_len = strnlen(pi->comm, PW_COMM_MAX),
	    .parent_exe_len = SIZE_MAX,
	    .parent_comm_len = strnlen(pi->parent_comm, PW_COMM_MAX),
	    .cmd_len = SIZE_MAX,
	    .cmd = cmd,
	};
	const uint32_t *cand = NULL;
	uint32_t nc = 0;
	size_t i = 0, j = 0;

	v->n_rules = 0;
	v->rules_truncated = 0;
	v->actions = 0;
	v->signal = 0;
	v->signal_rule = 0;
	v->severity = SEV_INFO;
	v->allow_rule = -1;
	v->n_hook_rules = 0;
	v->match_errors = 0;

	if (p->exe_index.n) {
		const struct strmap_slot *sl = policy_strmap_get(&p->exe_index, pi->exe, c.exe_len,
		                                                 policy_hash(pi->exe, c.exe_len));

		if (sl) {
			cand = p->exe_rules + p->exe_start[sl->val];
			nc = p->exe_cnt[sl->val];
		}
	}
	while (i < nc || j < p->n_general) {
		uint32_t r;
		int indexed = j >= p->n_general || (i < nc && cand[i] < p->general[j]);
		const struct rule *ru;

		r = indexed ? cand[i++] : p->general[j++];
		ru = &p->rules[r];
		if (ru->has_match && !cond_holds(&c, &ru->match, indexed))
			continue;
		if (ru->has_unless && cond_holds(&c, &ru->unless, 0))
			continue;
		if (apply_rule(&c, r))
			break;
	}
	return (int)(v->n_rules + v->rules_truncated);
}
