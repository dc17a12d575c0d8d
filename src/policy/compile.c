/*
 * compile.c - indexes over a loaded policy, its lifetime and introspection.
 *
 * Overview: after load.c has filled the rules, policy_compile() builds what
 * makes evaluation cheap: every rule whose exe condition lists only exact
 * paths and globs with a literal directory prefix ("/opt/app/" of
 * "/opt/app/t?ol-*") is reachable from two hash maps, one keyed by those
 * paths, one by those prefixes (key -> the ascending list of candidate
 * rules); every other rule sits in the general list.  An evaluation looks
 * the launch's exe and each of its directory prefixes up and merges the
 * ascending lists, so ten thousand exact-path rules cost one hash lookup
 * and a thousand globs under distinct directories a handful.
 * The policy is immutable afterwards; references are atomic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

uint64_t policy_hash(const char *s, size_t len)
{
	uint64_t h = POLICY_HASH_INIT;

	for (size_t i = 0; i < len; i++)
		h = policy_hash_byte(h, (unsigned char)s[i]);
	return h;
}

const struct strmap_slot *policy_strmap_get(const struct strmap *m, const char *key, size_t len,
                                            uint64_t hash)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct strmap_slot *sl = &m->slots[i];

		if (!sl->key)
			return NULL;
		if (sl->hash == hash && sl->len == len && memcmp(sl->key, key, len) == 0)
			return sl;
	}
}

/* Double the table (or create it). */
static int strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct strmap_slot *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const struct strmap_slot *sl = &m->slots[i];
		size_t j;

		if (!sl->key)
			continue;
		for (j = sl->hash & (ncap - 1); nv[j].key; j = (j + 1) & (ncap - 1))
			;
		nv[j] = *sl;
	}
	free(m->slots);
	m->slots = nv;
	m->cap = ncap;
	return 0;
}

int policy_strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val,
                      uint32_t *ret_val)
{
	uint64_t h = policy_hash(key, len);
	const struct strmap_slot *old = policy_strmap_get(m, key, len, h);
	size_t i;

	if (old) {
		if (ret_val)
			*ret_val = old->val;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
		return -ENOMEM;
	for (i = h & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		;
	m->slots[i] = (struct strmap_slot){.key = key, .len = (uint32_t)len, .val = val, .hash = h};
	m->n++;
	return 1;
}

void policy_strmap_free(struct strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The length of the directory prefix a glob is indexed under: its literal
 * prefix up to and including the last '/'.  0 when that is empty or just
 * "/" (such a glob would be a candidate for nearly every launch). */
static uint32_t glob_dir_len(const struct pattern *pat)
{
	uint32_t d = pat->prefix_len;

	while (d > 0 && pat->s[d - 1] != '/')
		d--;
	return d >= 2 ? d : 0;
}

/* The key pat files its rule under in the exact (glob = 0) or the glob
 * index, its length in *ret_len; NULL when pat has no key there. */
static const char *pat_key(const struct pattern *pat, int glob, uint32_t *ret_len)
{
	if (pat->kind != (glob ? PAT_GLOB : PAT_EXACT))
		return NULL;
	*ret_len = glob ? glob_dir_len(pat) : pat->len;
	return pat->s;
}

/* A rule is reached through the indexes when its exe condition lists only
 * exact paths and globs with a non-trivial directory prefix. */
static int rule_indexable(const struct rule *ru)
{
	const struct patlist *pl = &ru->match.str[SF_EXE];

	if (!ru->has_match || !(ru->match.str_mask & (1u << SF_EXE)))
		return 0;
	for (uint32_t k = 0; k < pl->n; k++) {
		const struct pattern *pat = &pl->v[k];

		if (pat->kind == PAT_REGEX || (pat->kind == PAT_GLOB && glob_dir_len(pat) == 0))
			return 0;
	}
	return 1;
}

/* The slot number of a key known to be in x. */
static uint32_t index_slot(const struct rule_index *x, const char *key, uint32_t len)
{
	return policy_strmap_get(&x->map, key, len, policy_hash(key, len))->val;
}

/* Build x over the indexed rules: the exact paths (glob = 0) or the glob
 * directory prefixes of their exe conditions.  0 or -ENOMEM. */
static int index_build(struct policy *p, struct rule_index *x, int glob)
{
	size_t n_keys = 0, n_pairs = 0;
	uint32_t *fill = NULL;
	int r = -ENOMEM;

	/* Pass 1: the keys. */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];

		if (!p->rules[i].exe_indexed)
			continue;
		for (uint32_t k = 0; k < pl->n; k++) {
			uint32_t len;
			const char *key = pat_key(&pl->v[k], glob, &len);
			int ins;

			if (!key)
				continue;
			n_pairs++;
			ins = policy_strmap_put(&x->map, key, len, (uint32_t)n_keys, NULL);
			if (ins < 0)
				goto out;
			n_keys += (size_t)ins;
		}
	}
	x->start = calloc(n_keys + 1, sizeof(uint32_t));
	x->cnt = calloc(n_keys + 1, sizeof(uint32_t));
	x->rules = calloc(n_pairs + 1, sizeof(uint32_t));
	fill = calloc(n_keys + 1, sizeof(uint32_t));
	if (!x->start || !x->cnt || !x->rules || !fill)
		goto out;

	/* Pass 2: count (a rule filed twice under one key counts once). */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];

		if (!p->rules[i].exe_indexed)
			continue;
		for (uint32_t k = 0; k < pl->n; k++) {
			uint32_t len, sl;
			const char *key = pat_key(&pl->v[k], glob, &len);

			if (!key)
				continue;
			sl = index_slot(x, key, len);
			if (fill[sl] != i + 1) {
				fill[sl] = (uint32_t)i + 1;
				x->cnt[sl]++;
			}
		}
	}
	for (size_t k = 1; k < n_keys; k++)
		x->start[k] = x->start[k - 1] + x->cnt[k - 1];

	/* Pass 3: fill in rule order, so each slice is ascending. */
	memset(fill, 0, (n_keys + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];

		if (!p->rules[i].exe_indexed)
			continue;
		for (uint32_t k = 0; k < pl->n; k++) {
			uint32_t len, sl, at;
			const char *key = pat_key(&pl->v[k], glob, &len);

			if (!key)
				continue;
			sl = index_slot(x, key, len);
			at = x->start[sl] + fill[sl];
			if (fill[sl] && x->rules[at - 1] == i)
				continue;
			x->rules[at] = (uint32_t)i;
			fill[sl]++;
		}
	}
	r = 0;
out:
	free(fill);
	return r;
}

/* Free what x owns. */
static void index_free(struct rule_index *x)
{
	policy_strmap_free(&x->map);
	free(x->start);
	free(x->cnt);
	free(x->rules);
	memset(x, 0, sizeof(*x));
}

/* Add the directory dir (len bytes, no trailing '/' but for "/") to the
 * deny directories unless present.  0 or -ENOMEM. */
static int deny_dir_add(struct policy *p, const char *dir, size_t len)
{
	char **v;

	for (size_t i = 0; i < p->n_deny_dirs; i++)
		if (strlen(p->deny_dirs[i]) == len && !memcmp(p->deny_dirs[i], dir, len))
			return 0;
	v = realloc(p->deny_dirs, (p->n_deny_dirs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->deny_dirs = v;
	v[p->n_deny_dirs] = strndup(dir, len);
	if (!v[p->n_deny_dirs])
		return -ENOMEM;
	p->n_deny_dirs++;
	return 0;
}

/* Where the gate must watch for the deny rules: the directory part of each
 * exact or glob exe pattern (up to the glob's last literal '/'); a deny rule
 * without an exe, or with a regex or a relative one, can match anywhere. */
/* A condition on the file only: its exe (path, identity).  Not fileless: a
 * file deleted after it was allowed runs again through an fd. */
static bool cond_file_only(const struct cond *c)
{
	return !c->id_mask && !(c->str_mask & ~(1u << SF_EXE)) && c->fileless < 0;
}

static int deny_dirs_build(struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *ru = &p->rules[i];
		if (ru->actions & ACT_DENY)
			p->deny_end = i + 1;
	}
	/* the gate's verdict rests on the file alone when every deny or allow
	 * rule it evaluates (up to the last deny) tests nothing but the file */
	p->gate_file_only = p->deny_end > 0;
	for (size_t i = 0; i < p->deny_end; i++) {
		const struct rule *ru = &p->rules[i];
		if ((ru->actions & (ACT_DENY | ACT_ALLOW)) &&
		    ((ru->has_match && !cond_file_only(&ru->match)) ||
		     (ru->has_unless && !cond_file_only(&ru->unless))))
			p->gate_file_only = false;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *ru = &p->rules[i];
		const struct patlist *pl = &ru->match.str[SF_EXE];

		if (!(ru->actions & ACT_DENY))
			continue;
		if (!ru->has_match || !(ru->match.str_mask & (1u << SF_EXE))) {
			p->deny_anywhere = 1;
			continue;
		}
		for (uint32_t k = 0; k < pl->n; k++) {
			const struct pattern *pat = &pl->v[k];
			size_t lit = pat->kind == PAT_GLOB ? pat->prefix_len : pat->len;
			size_t slash = lit;

			if (pat->kind == PAT_REGEX || !pat->len || pat->s[0] != '/') {
				p->deny_anywhere = 1;
				continue;
			}
			while (slash > 0 && pat->s[slash - 1] != '/')
				slash--;
			/* "/x" -> "/", "/a/b/x" -> "/a/b" */
			if (deny_dir_add(p, pat->s, slash > 1 ? slash - 1 : 1) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int file_rule_cmp(const void *x, const void *y)
{
	const struct file_rule *a = x, *b = y;

	if (a->file.ino != b->file.ino)
		return a->file.ino < b->file.ino ? -1 : 1;
	if (a->file.dev != b->file.dev)
		return a->file.dev < b->file.dev ? -1 : 1;
	if (a->file.mtime_ns != b->file.mtime_ns)
		return a->file.mtime_ns < b->file.mtime_ns ? -1 : 1;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

/* The indexed rules by the files their exact exe paths named at load
 * (sorted by file, then rule: each file's rules are ascending; a rule
 * naming one file twice is there once).  0 or -ENOMEM. */
static int file_index_build(struct policy *p)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];
		for (uint32_t j = 0; p->rules[i].exe_indexed && j < pl->n; j++)
			n += pl->v[j].has_file;
	}
	if (!n)
		return 0;
	p->file_index = calloc(n, sizeof(*p->file_index));
	p->file_rules = calloc(n, sizeof(*p->file_rules));
	if (!p->file_index || !p->file_rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];
		for (uint32_t j = 0; p->rules[i].exe_indexed && j < pl->n; j++)
			if (pl->v[j].has_file)
				p->file_index[k++] =
				    (struct file_rule){.file = pl->v[j].file, .rule = (uint32_t)i};
	}
	qsort(p->file_index, k, sizeof(*p->file_index), file_rule_cmp);
	for (size_t i = 0; i < k; i++)
		if (!p->n_file_index ||
		    file_rule_cmp(&p->file_index[p->n_file_index - 1], &p->file_index[i]))
			p->file_index[p->n_file_index++] = p->file_index[i];
	for (size_t i = 0; i < p->n_file_index; i++)
		p->file_rules[i] = p->file_index[i].rule;
	return 0;
}

int policy_compile(struct policy *p)
{
	int r;

	p->general = calloc(p->n_rules + 1, sizeof(uint32_t));
	p->glob_rules = calloc(p->n_rules + 1, sizeof(uint32_t));
	p->all_rules = calloc(p->n_rules + 1, sizeof(uint32_t));
	if (!p->general || !p->glob_rules || !p->all_rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++)
		p->all_rules[i] = (uint32_t)i;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct rule *ru = &p->rules[i];
		const struct patlist *pl = &ru->match.str[SF_EXE];
		int has_glob = 0;

		ru->exe_indexed = (uint8_t)rule_indexable(ru);
		if (!ru->exe_indexed) {
			p->general[p->n_general++] = (uint32_t)i;
			continue;
		}
		for (uint32_t k = 0; k < pl->n; k++) {
			uint32_t d;

			if (pl->v[k].kind != PAT_GLOB)
				continue;
			has_glob = 1;
			d = glob_dir_len(&pl->v[k]);
			if (d > p->max_glob_prefix)
				p->max_glob_prefix = d;
		}
		if (has_glob)
			p->glob_rules[p->n_glob_rules++] = (uint32_t)i;
	}
	r = index_build(p, &p->exe_index, 0);
	if (r < 0)
		return r;
	r = index_build(p, &p->glob_index, 1);
	if (r < 0)
		return r;
	r = file_index_build(p);
	if (r < 0)
		return r;
	return deny_dirs_build(p);
}

/* Free what a condition owns. */
static void cond_free(struct cond *c)
{
	for (int f = 0; f < SF_COUNT; f++) {
		for (uint32_t i = 0; i < c->str[f].n; i++)
			policy_pattern_free(&c->str[f].v[i]);
		free(c->str[f].v);
	}
	for (int f = 0; f < IF_COUNT; f++)
		free(c->id[f].v);
}

void policy_rule_free(struct rule *ru)
{
	free(ru->name);
	free(ru->description);
	cond_free(&ru->match);
	cond_free(&ru->unless);
	for (size_t h = 0; h < ru->n_hooks; h++) {
		for (char **a = ru->hook_argv[h]; a && *a; a++)
			free(*a);
		free(ru->hook_argv[h]);
	}
	free(ru->hooks);
	free(ru->hook_argv);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		policy_rule_free(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].name);
	free(p->files);
	policy_strmap_free(&p->names);
	index_free(&p->exe_index);
	index_free(&p->glob_index);
	free(p->glob_rules);
	free(p->all_rules);
	free(p->file_index);
	free(p->file_rules);
	free(p->general);
	for (size_t i = 0; i < p->n_deny_dirs; i++)
		free(p->deny_dirs[i]);
	free(p->deny_dirs);
	pcre2_match_context_free(p->mctx);
	free(p);
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void policy_unref(struct policy *p)
{
	if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
		policy_free(p);
}

size_t policy_rule_count(const struct policy *p)
{
	return p->n_rules;
}

bool policy_is_builtin(const struct policy *p)
{
	return p->builtin != 0;
}

size_t policy_enforcing_rules(const struct policy *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		n += (p->rules[i].actions & (ACT_KILL | ACT_DENY)) != 0;
	return n;
}

const char *policy_rule_name(const struct policy *p, uint32_t rule)
{
	return rule < p->n_rules ? p->rules[rule].name : NULL;
}

const char *policy_rule_description(const struct policy *p, uint32_t rule)
{
	return rule < p->n_rules ? p->rules[rule].description : NULL;
}

int policy_rule_severity(const struct policy *p, uint32_t rule)
{
	return rule < p->n_rules ? p->rules[rule].severity : SEV_NOTICE;
}

uint32_t policy_rule_actions(const struct policy *p, uint32_t rule, int *ret_signal)
{
	if (rule >= p->n_rules)
		return 0;
	if (ret_signal)
		*ret_signal = p->rules[rule].signal;
	return p->rules[rule].actions;
}

uint32_t policy_rule_audit(const struct policy *p, uint32_t rule)
{
	return rule < p->n_rules ? p->rules[rule].audit : 0;
}

unsigned policy_needs(const struct policy *p)
{
	return p->needs;
}

bool policy_has_deny(const struct policy *p)
{
	return p->deny_end > 0;
}

bool policy_gate_file_only(const struct policy *p)
{
	return p->gate_file_only;
}

int policy_deny_dirs(const struct policy *p, const char *const **ret)
{
	*ret = (const char *const *)p->deny_dirs;
	return p->deny_anywhere ? -1 : (int)p->n_deny_dirs;
}

size_t policy_file_count(const struct policy *p)
{
	return p->n_files;
}

void policy_file_info(const struct policy *p, size_t i, const char **ret_name, size_t *ret_rules,
                      size_t *ret_actions)
{
	if (i >= p->n_files)
		return;
	if (ret_name)
		*ret_name = p->files[i].name;
	if (ret_rules)
		*ret_rules = p->files[i].rules;
	if (ret_actions)
		*ret_actions = p->files[i].actions;
}

size_t policy_rule_hooks(const struct policy *p, uint32_t rule, const struct policy_hook **ret)
{
	if (rule >= p->n_rules) {
		*ret = NULL;
		return 0;
	}
	*ret = p->rules[rule].hooks;
	return p->rules[rule].n_hooks;
}
