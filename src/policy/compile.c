/*
 * compile.c - indexes over a loaded policy, its lifetime and introspection.
 *
 * Overview: after load.c has filled the rules, policy_compile() builds what
 * makes evaluation cheap: every rule whose exe condition is a list of exact
 * paths is reachable from a hash map keyed by those paths (exe -> the
 * ascending list of candidate rules); every other rule sits in the general
 * list.  An evaluation looks the launch's exe up once and merges the two
 * ascending lists, so ten thousand exact-path rules cost one hash lookup.
 * The policy is immutable afterwards; references are atomic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

uint64_t policy_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
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

int policy_compile(struct policy *p)
{
	size_t n_keys = 0, n_pairs = 0;
	uint32_t *fill = NULL;
	int r = -ENOMEM;

	/* Pass 1: the keys, and how many rules each has. */
	for (size_t i = 0; i < p->n_rules; i++) {
		struct rule *ru = &p->rules[i];
		const struct patlist *pl = &ru->match.str[SF_EXE];

		ru->exe_indexed =
		    ru->has_match && (ru->match.str_mask & (1u << SF_EXE)) && pl->all_exact;
		if (!ru->exe_indexed)
			continue;
		n_pairs += pl->n;
		for (uint32_t k = 0; k < pl->n; k++) {
			int ins = policy_strmap_put(&p->exe_index, pl->v[k].s, pl->v[k].len,
			                            (uint32_t)n_keys, NULL);
			if (ins < 0)
				goto out;
			n_keys += (size_t)ins;
		}
	}
	p->exe_start = calloc(n_keys + 1, sizeof(uint32_t));
	p->exe_cnt = calloc(n_keys + 1, sizeof(uint32_t));
	p->exe_rules = calloc(n_pairs + 1, sizeof(uint32_t));
	p->general = calloc(p->n_rules + 1, sizeof(uint32_t));
	fill = calloc(n_keys + 1, sizeof(uint32_t));
	if (!p->exe_start || !p->exe_cnt || !p->exe_rules || !p->general || !fill)
		goto out;

	/* Pass 2: count (a rule listing one path twice counts once). */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];

		if (!p->rules[i].exe_indexed) {
			p->general[p->n_general++] = (uint32_t)i;
			continue;
		}
		for (uint32_t k = 0; k < pl->n; k++) {
			const struct strmap_slot *sl =
			    policy_strmap_get(&p->exe_index, pl->v[k].s, pl->v[k].len,
			                      policy_hash(pl->v[k].s, pl->v[k].len));

			if (fill[sl->val] != i + 1) {
				fill[sl->val] = (uint32_t)i + 1;
				p->exe_cnt[sl->val]++;
			}
		}
	}
	for (size_t k = 1; k < n_keys; k++)
		p->exe_start[k] = p->exe_start[k - 1] + p->exe_cnt[k - 1];

	/* Pass 3: fill in rule order, so each slice is ascending. */
	memset(fill, 0, (n_keys + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct patlist *pl = &p->rules[i].match.str[SF_EXE];

		if (!p->rules[i].exe_indexed)
			continue;
		for (uint32_t k = 0; k < pl->n; k++) {
			const struct strmap_slot *sl =
			    policy_strmap_get(&p->exe_index, pl->v[k].s, pl->v[k].len,
			                      policy_hash(pl->v[k].s, pl->v[k].len));
			uint32_t at = p->exe_start[sl->val] + fill[sl->val];

			if (fill[sl->val] && p->exe_rules[at - 1] == i)
				continue;
			p->exe_rules[at] = (uint32_t)i;
			fill[sl->val]++;
		}
	}
	r = 0;
out:
	free(fill);
	return r;
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
	policy_strmap_free(&p->exe_index);
	free(p->exe_start);
	free(p->exe_cnt);
	free(p->exe_rules);
	free(p->general);
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

unsigned policy_needs(const struct policy *p)
{
	return p->needs;
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
