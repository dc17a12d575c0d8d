/*
 * eval.c - evaluate one launch against a compiled policy.
 *
 * Overview: reads the policy and the proc_info, writes only the verdict and
 * its own stack (the joined cmdline is built there, once, and only when a
 * rule tests it).  No allocation, no I/O, no locks: safe from any thread
 * while the caller holds a reference.  Candidate rules come from the
 * exact-exe index, the glob index (one lookup per directory prefix of the
 * exe) and the general list, merged in rule order without duplicates; a
 * rule's conditions are tested cheapest first.
 */
#include <signal.h>
#include <stdbool.h>
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
	size_t cmd_len;   /* SIZE_MAX until built */
	char *cmd;        /* PW_ARGV_MAX bytes on the caller's stack */
	bool by_identity; /* the rule being tested matched a file by identity */
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

/* Like list_match(), and where no path matches, an exact pattern naming the
 * file (known: file is the identity of s's file) matches by identity. */
static int file_match(struct eval_ctx *c, const struct patlist *l, const char *s, size_t len,
                      const struct pw_file_id *file)
{
	if (list_match(c, l, s, len))
		return 1;
	for (uint32_t i = 0; file && i < l->n; i++)
		if (l->v[i].has_file && pw_file_id_equal(&l->v[i].file, file)) {
			c->by_identity = true;
			return 1;
		}
	return 0;
}

/* ancestor_exe: the parent's exe, then every ancestor's up to pid 1.  1
 * when one matches, 0 when none does and all were known, -1 when none
 * matched but some were unknown (or the lineage was cut). */
static int ancestors_match(struct eval_ctx *c, const struct patlist *l)
{
	const struct proc_info *pi = c->pi;
	size_t off = 0, end = pi->ancestors_len;
	int unknown = !(pi->have & PI_HAVE_PARENT_EXE) || !(pi->have & PI_HAVE_ANCESTORS) ||
	              (pi->flags & PI_ANCESTORS_CUT);

	if ((pi->have & PI_HAVE_PARENT_EXE) &&
	    file_match(c, l, pi->parent_exe, c->parent_exe_len,
	               pi->have & PI_HAVE_PARENT_FILE ? &pi->parent_file : NULL))
		return 1;
	if (end > PW_ANCESTOR_BUF)
		end = PW_ANCESTOR_BUF;
	for (uint32_t i = 0; i < pi->n_ancestors && off < end; i++) {
		const char *s = pi->ancestors + off;
		size_t len = strnlen(s, end - off);

		if (len &&
		    file_match(c, l, s, len,
		               i < 64 && (pi->anc_file_known >> i & 1) ? &pi->anc_file[i] : NULL))
			return 1;
		off += len + 1;
	}
	return unknown ? -1 : 0;
}

/* The PI_HAVE_* bit each id field needs. */
static const uint32_t id_have[IF_COUNT] = {
    [IF_UID] = PI_HAVE_UID,   [IF_EUID] = PI_HAVE_EUID, [IF_GID] = PI_HAVE_GID,
    [IF_EGID] = PI_HAVE_EGID, [IF_USER] = PI_HAVE_UID,  [IF_GROUP] = PI_HAVE_GID,
};

/* Every key of cond holds: 1; one does not: 0; none fails but one rests on
 * a value not known: -1.  skip_exe: exe already matched via the index. */
static int cond_holds(struct eval_ctx *c, const struct cond *k, int skip_exe)
{
	const struct proc_info *pi = c->pi;
	const uint32_t ids[IF_COUNT] = {
	    [IF_UID] = pi->uid,   [IF_EUID] = pi->euid, [IF_GID] = pi->gid,
	    [IF_EGID] = pi->egid, [IF_USER] = pi->uid,  [IF_GROUP] = pi->gid,
	};
	uint32_t sm = k->str_mask;
	int unknown = 0;

	for (int f = 0; f < IF_COUNT; f++) {
		if (!(k->id_mask & (1u << f)))
			continue;
		if (!(pi->have & id_have[f]))
			unknown = 1;
		else if (!policy_idlist_has(&k->id[f], ids[f]))
			return 0;
	}
	if (k->fileless >= 0) {
		if (!(pi->have & PI_HAVE_EXE))
			unknown = 1;
		else if (k->fileless != proc_info_fileless(pi))
			return 0;
	}
	if (skip_exe)
		sm &= ~(1u << SF_EXE);
	if (!sm)
		return unknown ? -1 : 1;
	if (sm & (1u << SF_EXE)) {
		if (!(pi->have & PI_HAVE_EXE))
			unknown = 1;
		else if (!file_match(c, &k->str[SF_EXE], pi->exe, c->exe_len,
		                     pi->have & PI_HAVE_EXE_FILE ? &pi->exe_file : NULL))
			return 0;
	}
	if (sm & (1u << SF_COMM)) {
		if (!(pi->have & PI_HAVE_COMM))
			unknown = 1;
		else if (!list_match(c, &k->str[SF_COMM], pi->comm, c->comm_len))
			return 0;
	}
	if (sm & ((1u << SF_PARENT_EXE) | (1u << SF_ANCESTOR_EXE)) && c->parent_exe_len == SIZE_MAX)
		c->parent_exe_len = strnlen(pi->parent_exe, PW_PATH_MAX);
	if (sm & (1u << SF_PARENT_EXE)) {
		if (!(pi->have & PI_HAVE_PARENT_EXE))
			unknown = 1;
		else if (!file_match(c, &k->str[SF_PARENT_EXE], pi->parent_exe, c->parent_exe_len,
		                     pi->have & PI_HAVE_PARENT_FILE ? &pi->parent_file : NULL))
			return 0;
	}
	if (sm & (1u << SF_PARENT_COMM)) {
		if (!(pi->have & PI_HAVE_PARENT_COMM))
			unknown = 1;
		else if (!list_match(c, &k->str[SF_PARENT_COMM], pi->parent_comm,
		                     c->parent_comm_len))
			return 0;
	}
	if (sm & (1u << SF_CMDLINE)) {
		if (!(pi->have & PI_HAVE_ARGV)) {
			unknown = 1;
		} else {
			if (c->cmd_len == SIZE_MAX)
				build_cmdline(c);
			if (!list_match(c, &k->str[SF_CMDLINE], c->cmd, c->cmd_len))
				return 0;
		}
	}
	if (sm & (1u << SF_ANCESTOR_EXE)) {
		int r = ancestors_match(c, &k->str[SF_ANCESTOR_EXE]);
		if (r == 0)
			return 0;
		if (r < 0)
			unknown = 1;
	}
	return unknown ? -1 : 1;
}

/* How a candidate list's rules are known to match the exe. */
enum { EXE_BY_PATH = 1, EXE_BY_FILE = 2 };

/* One ascending list of candidate rules being merged. */
struct cand_list {
	const uint32_t *v;
	uint32_t n, i;     /* i < n while the list is merged */
	uint8_t exe_known; /* its rules' exe condition holds: EXE_BY_PATH, EXE_BY_FILE */
};

/* Append a non-empty list to l[*nl]. */
static void add_list(struct cand_list *l, size_t *nl, const uint32_t *v, size_t n, int exe_known)
{
	if (n == 0)
		return;
	l[(*nl)++] = (struct cand_list){.v = v, .n = (uint32_t)n, .exe_known = (uint8_t)exe_known};
}

/* Append x's slice under key (hash: its policy_hash), if any. */
static void add_hit(struct cand_list *l, size_t *nl, const struct rule_index *x, const char *key,
                    size_t len, uint64_t hash, int exe_known)
{
	const struct strmap_slot *sl = policy_strmap_get(&x->map, key, len, hash);

	if (sl)
		add_list(l, nl, x->rules + x->start[sl->val], x->cnt[sl->val], exe_known);
}

/* The candidate lists of a launch into l (POLICY_MAX_PREFIXES + 3 entries):
 * the glob index's under each directory prefix of the exe ("/opt/",
 * "/opt/app/", ... up to the longest key), the exact index's under the exe,
 * the rules naming its file (file: its identity, or NULL), the general list.  An exe with too many
 * prefixes takes every glob-indexed rule instead: the prefix is only a filter, their exe is checked
 * anyway. Returns how many lists. */
/* The exact-indexed rules naming file, by identity. */
static void add_file_hits(const struct policy *p, const struct pw_file_id *file,
                          struct cand_list *l, size_t *nl)
{
	size_t lo = 0, hi = p->n_file_index, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pw_file_id *m = &p->file_index[mid].file;
		int less = m->ino != file->ino   ? m->ino < file->ino
		           : m->dev != file->dev ? m->dev < file->dev
		                                 : m->mtime_ns < file->mtime_ns;
		if (less)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < p->n_file_index && pw_file_id_equal(&p->file_index[end].file, file);)
		end++;
	add_list(l, nl, p->file_rules + lo, end - lo, EXE_BY_FILE);
}

static size_t gather(const struct policy *p, const char *exe, size_t len,
                     const struct pw_file_id *file, struct cand_list *l)
{
	size_t nl = 0, n_prefixes = 0, i = 0;
	size_t glob_end = p->max_glob_prefix < len ? p->max_glob_prefix : len;
	uint64_t h = POLICY_HASH_INIT;

	/* Hash once: every prefix a glob key could be, then the rest. */
	for (; i < glob_end; i++) {
		h = policy_hash_byte(h, (unsigned char)exe[i]);
		/* keys are at least 2 bytes long and end in '/' */
		if (exe[i] != '/' || i == 0)
			continue;
		if (++n_prefixes <= POLICY_MAX_PREFIXES)
			add_hit(l, &nl, &p->glob_index, exe, i + 1, h, 0);
	}
	if (n_prefixes > POLICY_MAX_PREFIXES) {
		nl = 0;
		add_list(l, &nl, p->glob_rules, p->n_glob_rules, 0);
	}
	if (p->exe_index.map.n) {
		for (; i < len; i++)
			h = policy_hash_byte(h, (unsigned char)exe[i]);
		add_hit(l, &nl, &p->exe_index, exe, len, h, EXE_BY_PATH);
	}
	if (file && p->n_file_index)
		add_file_hits(p, file, l, &nl);
	add_list(l, &nl, p->general, p->n_general, 0);
	return nl;
}

/* Record rule r as matching; returns 1 when its allow stops evaluation. */
static int apply_rule(struct eval_ctx *c, uint32_t r)
{
	const struct rule *ru = &c->p->rules[r];
	struct policy_verdict *v = c->v;

	if (v->n_rules < POLICY_MAX_MATCHES) {
		if (c->by_identity)
			v->by_identity |= 1ull << v->n_rules;
		v->rules[v->n_rules++] = r;
	} else
		v->rules_truncated++;
	if (ru->severity > v->severity)
		v->severity = ru->severity;
	v->actions |= ru->actions;
	v->audit |= ru->audit;
	if ((ru->actions & ACT_KILL) &&
	    (v->signal == 0 || (ru->signal == SIGKILL && v->signal != SIGKILL))) {
		v->signal = ru->signal;
		v->signal_rule = r;
	}
	if (ru->n_hooks && (ru->actions & ACT_HOOK) && v->n_hook_rules < POLICY_MAX_MATCHES)
		v->hook_rules[v->n_hook_rules++] = r;
	if (ru->actions & ACT_ALLOW) {
		v->allow_rule = (int32_t)r;
		return 1;
	}
	return 0;
}

static int eval(const struct policy *p, const struct proc_info *pi, struct policy_verdict *v,
                bool preexec)
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
	struct cand_list l[POLICY_MAX_PREFIXES + 3];
	size_t nl;

	v->n_rules = 0;
	v->rules_truncated = 0;
	v->actions = 0;
	v->audit = 0;
	v->signal = 0;
	v->signal_rule = 0;
	v->severity = SEV_INFO;
	v->allow_rule = -1;
	v->n_hook_rules = 0;
	v->match_errors = 0;
	v->n_undecided = 0;
	v->by_identity = 0;

	/* an exe not known: every rule is a candidate (a rule on the exe is then
	 * undecided, not silently skipped) */
	if (pi->have & PI_HAVE_EXE) {
		nl = gather(p, pi->exe, c.exe_len,
		            pi->have & PI_HAVE_EXE_FILE ? &pi->exe_file : NULL, l);
	} else {
		nl = 0;
		add_list(l, &nl, p->all_rules, p->n_rules, 0);
	}
	while (nl > 0) {
		uint32_t r = UINT32_MAX;
		int exe_known = 0;
		const struct rule *ru;

		/* The smallest head; every list holding it steps past it. */
		for (size_t k = 0; k < nl; k++)
			if (l[k].v[l[k].i] < r)
				r = l[k].v[l[k].i];
		for (size_t k = 0; k < nl;) {
			if (l[k].v[l[k].i] == r) {
				exe_known |= l[k].exe_known;
				if (++l[k].i == l[k].n) {
					l[k] = l[--nl];
					continue;
				}
			}
			k++;
		}
		ru = &p->rules[r];
		if (preexec) {
			if (r >= p->deny_end)
				break; /* lists are ascending: nothing later denies */
			if (!(ru->actions & (ACT_DENY | ACT_ALLOW)))
				continue;
		}
		/* by its file only when no path of it matched */
		c.by_identity = exe_known == EXE_BY_FILE;
		int m = ru->has_match ? cond_holds(&c, &ru->match, exe_known) : 1;
		if (m == 0)
			continue;
		bool by_identity = c.by_identity;
		/* an unless that rests on an unknown value does not exempt */
		if (ru->has_unless && cond_holds(&c, &ru->unless, 0) == 1)
			continue;
		c.by_identity = by_identity;
		if (m < 0) {
			if (((ru->actions | ru->audit) &
			     (ACT_LOG | ACT_KILL | ACT_DENY | ACT_HOOK)) &&
			    v->n_undecided < POLICY_MAX_MATCHES)
				v->undecided[v->n_undecided++] = r;
			continue;
		}
		if (apply_rule(&c, r))
			break;
	}
	return (int)(v->n_rules + v->rules_truncated);
}

int policy_eval(const struct policy *p, const struct proc_info *pi, struct policy_verdict *v)
{
	return eval(p, pi, v, false);
}

int policy_eval_preexec(const struct policy *p, const struct proc_info *pi,
                        struct policy_verdict *v)
{
	return eval(p, pi, v, true);
}
