/*
 * load.c - read policy files (YAML) into a struct policy, strictly.
 *
 * Overview: builds a whole candidate policy from every path and refuses it
 * if anything was wrong, so a failed load never changes what the caller
 * holds.  libyaml composes each file into a document whose nodes keep their
 * line and column; the walk below checks every key, type and value, reports
 * each problem to the diags list as FILE:LINE:COL (from 1) and carries on,
 * so one run shows every mistake.  Nothing here prints.  User and group
 * names are resolved here, once, with getpwnam_r/getgrnam_r.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "policy_int.h"

#define MAX_FILE_SIZE (16u << 20)
#define MAX_HOOK_ARGS 256
#define MAX_TIMEOUT 3600
#define DEFAULT_TIMEOUT 10

/* The state of loading one file. */
struct loader {
	struct policy *p;
	struct diags *d;
	const struct policy_opts *opts;
	const char *file; /* the policy's copy of the name */
	const char *buf;
	size_t len;
	yaml_document_t *doc;
	unsigned char *seen; /* per node: already walked (an alias) */
	size_t n_nodes;
	size_t rules, actions;
	int oom;
	unsigned qi;
	char q[4][128]; /* shown() buffers */
};

/* Kinds of node, as messages name them. */
enum { K_NULL, K_STR, K_LIST, K_MAP };

static const char *const top_keys[] = {"version", "rules"};
static const char *const rule_keys[] = {"name",   "description", "severity", "match",
                                        "unless", "actions",     "mode"};
static const char *const cond_keys[] = {
    [SF_EXE] = "exe",
    [SF_COMM] = "comm",
    [SF_CMDLINE] = "cmdline",
    [SF_PARENT_EXE] = "parent_exe",
    [SF_PARENT_COMM] = "parent_comm",
    [SF_ANCESTOR_EXE] = "ancestor_exe",
    [SF_COUNT + IF_UID] = "uid",
    [SF_COUNT + IF_EUID] = "euid",
    [SF_COUNT + IF_GID] = "gid",
    [SF_COUNT + IF_EGID] = "egid",
    [SF_COUNT + IF_USER] = "user",
    [SF_COUNT + IF_GROUP] = "group",
    [SF_COUNT + IF_COUNT] = "fileless",
};
static const char *const action_names[] = {"log", "allow", "kill", "hook", "deny"};
static const char *const hook_keys[] = {"run", "timeout"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Add a diagnostic at LINE:COL (from 1). */
static void __attribute__((format(printf, 5, 0)))
vdiag(struct loader *L, enum diag_level lvl, unsigned line, unsigned col, const char *fmt,
      va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	diags_add(L->d, lvl, L->file, line, col, "%s", msg ? msg : "out of memory");
	free(msg);
}

/* Add an error at LINE:COL (from 1). */
static void __attribute__((format(printf, 4, 5)))
err_at(struct loader *L, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(L, DIAG_ERROR, line, col, fmt, ap);
	va_end(ap);
}

#define err(L, n, ...) err_at(L, (n)->start_mark.line + 1, (n)->start_mark.column + 1, __VA_ARGS__)

/* Add a warning at a node. */
static void __attribute__((format(printf, 3, 4)))
warn(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(L, DIAG_WARNING, n->start_mark.line + 1, n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

/* A user string made safe for a one-line message: control bytes become
 * '?', long ones are cut with "...".  Valid until four more calls. */
static const char *shown(struct loader *L, const char *s)
{
	char *o = L->q[L->qi++ % N(L->q)];
	size_t i;

	for (i = 0; s[i] && i < sizeof(L->q[0]) - 4; i++)
		o[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i])
		memcpy(o + i, "...", 3), i += 3;
	o[i] = '\0';
	return o;
}

/* Node number idx, or NULL.  A node reached twice came through an alias:
 * that is refused (it would also let a tiny file expand enormously). */
static yaml_node_t *node_at(struct loader *L, int idx)
{
	yaml_node_t *n = yaml_document_get_node(L->doc, idx);
	size_t i;

	if (!n)
		return NULL;
	i = (size_t)(n - L->doc->nodes.start);
	if (i < L->n_nodes) {
		if (L->seen[i] == 1)
			err(L, n, "YAML anchors and aliases are not supported");
		if (L->seen[i]++)
			return NULL;
	}
	return n;
}

/* Kind of a node: a plain empty, '~' or 'null' scalar is null. */
static int kind_of(const yaml_node_t *n)
{
	const char *v;

	if (n->type == YAML_MAPPING_NODE)
		return K_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return K_LIST;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	     !strcmp(v, "NULL")))
		return K_NULL;
	return K_STR;
}

static const char *kind_name(int k)
{
	static const char *const names[] = {"null", "a string", "a list", "a mapping"};

	return names[k];
}

/* The text of a string node, or NULL after reporting a wrong type. */
static const char *want_str(struct loader *L, const yaml_node_t *n, const char *what)
{
	int k = kind_of(n);

	if (k != K_STR) {
		err(L, n, "'%s' must be a string, not %s", what, kind_name(k));
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		err(L, n, "'%s' contains a NUL character", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Report unless n is of kind k. */
static int want_kind(struct loader *L, const yaml_node_t *n, int k, const char *what)
{
	int got = kind_of(n);

	if (got == k)
		return 0;
	err(L, n, "'%s' must be %s, not %s", what, kind_name(k), kind_name(got));
	return -1;
}

/* Index of a mapping key among keys, or -1 after reporting it as unknown,
 * duplicate or not a string.  *mask remembers the keys seen. */
static int map_key(struct loader *L, const yaml_node_t *k, const char *const *keys, size_t n,
                   uint32_t *mask)
{
	const char *s, *hint;

	if (kind_of(k) != K_STR) {
		err(L, k, "keys must be strings, not %s", kind_name(kind_of(k)));
		return -1;
	}
	s = (const char *)k->data.scalar.value;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, keys[i]) != 0)
			continue;
		if (*mask & (1u << i)) {
			err(L, k, "duplicate key '%s'", s);
			return -1;
		}
		*mask |= 1u << i;
		return (int)i;
	}
	hint = policy_suggest(s, keys, n);
	if (hint)
		err(L, k, "unknown key '%s' (did you mean '%s'?)", shown(L, s), hint);
	else
		err(L, k, "unknown key '%s'", shown(L, s));
	return -1;
}

/* Column (from 1) of byte off of a scalar's text, when the source shows the
 * text unchanged on one line; else the scalar's own column. */
static unsigned scalar_col(const yaml_node_t *n, size_t off)
{
	const unsigned char *v = n->data.scalar.value;
	size_t chars = 0, lead = 0;
	size_t width = n->end_mark.column - n->start_mark.column;
	int style = n->data.scalar.style;

	for (size_t i = 0; i < n->data.scalar.length; i++) {
		if ((v[i] & 0xc0) != 0x80) {
			chars++;
			lead += i < off;
		}
	}
	if (n->start_mark.line == n->end_mark.line) {
		if (style == YAML_PLAIN_SCALAR_STYLE && width == chars)
			return n->start_mark.column + 1 + lead;
		if ((style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		     style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
		    width == chars + 2)
			return n->start_mark.column + 2 + lead;
	}
	return n->start_mark.column + 1;
}

/* Compile one pattern node into pat; 0 or -1 after reporting. */
static int parse_pattern(struct loader *L, const yaml_node_t *n, const char *key,
                         struct pattern *pat)
{
	const char *s = want_str(L, n, key);
	char msg[320];
	size_t off = 0;
	int r;

	if (!s)
		return -1;
	r = policy_pattern_compile(pat, s, n->data.scalar.length, msg, sizeof(msg), &off);
	if (r == -ENOMEM) {
		L->oom = 1;
		return -1;
	}
	if (r < 0) {
		err_at(L, n->start_mark.line + 1, scalar_col(n, off), "invalid %s '%s': %s",
		       strncmp(s, "re:", 3) == 0 ? "regex" : "pattern", shown(L, s), msg);
		return -1;
	}
	return 0;
}

/* Items of a field that takes one scalar or a non-empty list of them; 0
 * after reporting a wrong type ('what' it must be) or an empty list. */
static size_t item_count(struct loader *L, const yaml_node_t *n, const char *key, const char *what,
                         const char *unit)
{
	int k = kind_of(n);
	size_t cnt;

	if (k != K_STR && k != K_LIST) {
		err(L, n, "'%s' must be %s, not %s", key, what, kind_name(k));
		return 0;
	}
	if (k == K_STR)
		return 1;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt == 0)
		err(L, n, "'%s' needs at least one %s", key, unit);
	return cnt;
}

/* An exact path of an exe field names a file: remember which (a hardlink,
 * a rename, a bind mount of it is the same file), or say that there is
 * none (then it matches by name only). */
static void resolve_file(struct loader *L, const yaml_node_t *n, const char *key,
                         struct pattern *pat)
{
	struct stat st;

	if (pat->kind != PAT_EXACT || pat->s[0] != '/')
		return;
	if (stat(pat->s, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return;
		pw_file_id_set(&pat->file, &st);
		pat->has_file = 1;
		L->p->needs |= POLICY_NEED_FILE;
	} else if (L->opts && L->opts->warn_missing_files) {
		warn(L, n, "'%s': '%s' %s; it matches by name only", key, shown(L, pat->s),
		     errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
	}
}

/* A string field: one pattern or a list of them (any of). */
static void parse_patlist(struct loader *L, const yaml_node_t *n, const char *key,
                          struct patlist *pl, bool files)
{
	int k = kind_of(n);
	size_t cnt = item_count(L, n, key, "a string or a list of strings", "pattern");

	if (!cnt)
		return;
	pl->v = calloc(cnt, sizeof(*pl->v));
	if (!pl->v) {
		L->oom = 1;
		return;
	}
	pl->all_exact = 1;
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *item =
		    k == K_LIST ? node_at(L, n->data.sequence.items.start[i]) : n;

		if (!item || parse_pattern(L, item, key, &pl->v[pl->n]) < 0)
			continue;
		if (files)
			resolve_file(L, item, key, &pl->v[pl->n]);
		if (pl->v[pl->n].kind != PAT_EXACT)
			pl->all_exact = 0;
		pl->n++;
	}
}

/* Parse a decimal id (at most UINT32_MAX - 1); 0 or -1. */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

/* Resolve a user (group when grp) name; 0 or -ENOENT. */
static int resolve_name(const char *name, int grp, uint32_t *ret)
{
	char buf[16384];
	int r;

	if (grp) {
		struct group g, *res = NULL;

		r = getgrnam_r(name, &g, buf, sizeof(buf), &res);
		if (r != 0 || !res)
			return -ENOENT;
		*ret = res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;

		r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
		if (r != 0 || !res)
			return -ENOENT;
		*ret = res->pw_uid;
	}
	return 0;
}

/* One id item: N, "LO-HI" or a name; 0 or -1 after reporting. */
static int parse_id(struct loader *L, const yaml_node_t *n, const char *key, int grp,
                    struct idrange *out)
{
	const char *s = want_str(L, n, key);
	const char *dash;
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (s[0] >= '0' && s[0] <= '9') {
		dash = strchr(s, '-');
		if (!dash && parse_u32(s, len, &out->lo) == 0) {
			out->hi = out->lo;
			return 0;
		}
		if (dash && parse_u32(s, (size_t)(dash - s), &out->lo) == 0 &&
		    parse_u32(dash + 1, strlen(dash + 1), &out->hi) == 0) {
			if (out->lo <= out->hi)
				return 0;
			err(L, n, "invalid range '%s' (%u is greater than %u)", shown(L, s),
			    out->lo, out->hi);
			return -1;
		}
		if (strspn(s, "0123456789-") == len) {
			err(L, n,
			    "invalid id '%s' (expected N, LOW-HIGH or a name; ids go up to %u)",
			    shown(L, s), UINT32_MAX - 1);
			return -1;
		}
	}
	if (resolve_name(s, grp, &out->lo) < 0) {
		err(L, n, "unknown %s '%s'", grp ? "group" : "user", shown(L, s));
		return -1;
	}
	out->hi = out->lo;
	return 0;
}

/* An id field: one item or a list (any of). */
static void parse_idlist(struct loader *L, const yaml_node_t *n, const char *key, int grp,
                         struct idlist *il)
{
	int k = kind_of(n);
	size_t cnt = item_count(L, n, key, "an id, a range, a name or a list of them", "value");

	if (!cnt)
		return;
	il->v = calloc(cnt, sizeof(*il->v));
	if (!il->v) {
		L->oom = 1;
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *item =
		    k == K_LIST ? node_at(L, n->data.sequence.items.start[i]) : n;

		if (item && parse_id(L, item, key, grp, &il->v[il->n]) == 0)
			il->n++;
	}
	policy_idlist_normalize(il);
}

/* A match or unless block. */
static void parse_cond(struct loader *L, const yaml_node_t *n, const char *what, struct cond *c)
{
	uint32_t mask = 0;

	c->fileless = -1;
	if (want_kind(L, n, K_MAP, what) < 0)
		return;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
		int ki;

		if (!k || !v)
			continue;
		ki = map_key(L, k, cond_keys, N(cond_keys), &mask);
		if (ki < 0)
			continue;
		if (ki < SF_COUNT) {
			parse_patlist(L, v, cond_keys[ki], &c->str[ki],
			              ki == SF_EXE || ki == SF_PARENT_EXE || ki == SF_ANCESTOR_EXE);
			c->str_mask |= 1u << ki;
			c->key_line[ki] = k->start_mark.line + 1;
			c->key_col[ki] = k->start_mark.column + 1;
			if (ki == SF_PARENT_EXE || ki == SF_PARENT_COMM)
				L->p->needs |= POLICY_NEED_PARENT;
			else if (ki == SF_ANCESTOR_EXE)
				L->p->needs |= POLICY_NEED_PARENT | POLICY_NEED_ANCESTORS;
			else if (ki == SF_CMDLINE)
				L->p->needs |= POLICY_NEED_ARGV;
			else if (ki == SF_COMM)
				L->p->needs |= POLICY_NEED_COMM;
		} else if (ki < SF_COUNT + IF_COUNT) {
			int f = ki - SF_COUNT;
			int grp = f == IF_GID || f == IF_EGID || f == IF_GROUP;

			parse_idlist(L, v, cond_keys[ki], grp, &c->id[f]);
			c->id_mask |= 1u << f;
		} else {
			const char *s =
			    kind_of(v) == K_STR ? (const char *)v->data.scalar.value : "";

			if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
				c->fileless = 1;
			else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
				c->fileless = 0;
			else
				err(L, v, "'fileless' must be true or false");
		}
	}
}

/* Add a hook (argv list node, timeout) to ru; 0 or -1 after reporting. */
static int add_hook(struct loader *L, struct rule *ru, const yaml_node_t *list, unsigned timeout)
{
	size_t cnt;
	char **argv;
	void *nh, *na;

	if (want_kind(L, list, K_LIST, "hook") < 0)
		return -1;
	cnt = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (cnt == 0) {
		err(L, list, "hook needs a non-empty argv list (the program, then its arguments)");
		return -1;
	}
	if (cnt > MAX_HOOK_ARGS) {
		err(L, list, "hook has more than %d arguments", MAX_HOOK_ARGS);
		return -1;
	}
	argv = calloc(cnt + 1, sizeof(*argv));
	if (!argv)
		goto oom;
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *it = node_at(L, list->data.sequence.items.start[i]);
		const char *s = it ? want_str(L, it, "hook") : NULL;

		if (s && i == 0 && s[0] != '/')
			err(L, it, "hook program '%s' must be an absolute path", shown(L, s));
		argv[i] = strdup(s ? s : "");
		if (!argv[i])
			goto oom_argv;
	}
	nh = realloc(ru->hooks, (ru->n_hooks + 1) * sizeof(*ru->hooks));
	if (nh)
		ru->hooks = nh;
	na = realloc(ru->hook_argv, (ru->n_hooks + 1) * sizeof(*ru->hook_argv));
	if (na)
		ru->hook_argv = na;
	if (!nh || !na)
		goto oom_argv;
	ru->hooks[ru->n_hooks] =
	    (struct policy_hook){.argv = (const char *const *)argv, .timeout_s = timeout};
	ru->hook_argv[ru->n_hooks++] = argv;
	return 0;
oom_argv:
	for (size_t i = 0; i < cnt; i++)
		free(argv[i]);
	free(argv);
oom:
	L->oom = 1;
	return -1;
}

/* The value of 'hook': an argv list, or a map with run and timeout. */
static void parse_hook(struct loader *L, struct rule *ru, const yaml_node_t *v)
{
	const yaml_node_t *run = NULL;
	unsigned timeout = DEFAULT_TIMEOUT;
	uint32_t mask = 0;

	if (kind_of(v) == K_LIST) {
		add_hook(L, ru, v, timeout);
		return;
	}
	if (kind_of(v) != K_MAP) {
		err(L, v, "'hook' must be an argv list or a mapping with 'run', not %s",
		    kind_name(kind_of(v)));
		return;
	}
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(L, pr->key), *val = node_at(L, pr->value);
		int ki;
		uint32_t t;

		if (!k || !val)
			continue;
		ki = map_key(L, k, hook_keys, N(hook_keys), &mask);
		if (ki == 0) {
			run = val;
		} else if (ki == 1) {
			const char *s =
			    kind_of(val) == K_STR ? (const char *)val->data.scalar.value : NULL;

			if (s && parse_u32(s, strlen(s), &t) == 0 && t >= 1 && t <= MAX_TIMEOUT)
				timeout = t;
			else if (s)
				err(L, val, "bad timeout '%s' (whole seconds from 1 to %d)",
				    shown(L, s), MAX_TIMEOUT);
			else
				err(L, val, "bad timeout: whole seconds from 1 to %d, not %s",
				    MAX_TIMEOUT, kind_name(kind_of(val)));
		}
	}
	if (!run)
		err(L, v, "hook needs 'run' (the argv list)");
	else
		add_hook(L, ru, run, timeout);
}

/* Record a kill signal; SIGKILL is the strongest, else the first stays. */
static void add_kill(struct rule *ru, int sig)
{
	if (!(ru->actions & ACT_KILL) || (sig == SIGKILL && ru->signal != SIGKILL))
		ru->signal = sig;
	ru->actions |= ACT_KILL;
}

/* One action: a name or a one-key mapping NAME: ARGUMENT. */
static void parse_action(struct loader *L, struct rule *ru, const yaml_node_t *n)
{
	const yaml_node_t *kn = n, *arg = NULL;
	const char *name, *hint;
	int a = -1;

	if (kind_of(n) == K_MAP) {
		yaml_node_pair_t *pr = n->data.mapping.pairs.start;

		if (n->data.mapping.pairs.top - pr != 1) {
			err(L, n, "an action mapping must have exactly one key (kill or hook)");
			return;
		}
		kn = node_at(L, pr->key);
		arg = node_at(L, pr->value);
		if (!kn || !arg)
			return;
	}
	if (kind_of(kn) != K_STR) {
		err(L, kn, "an action must be a name or a mapping, not %s", kind_name(kind_of(kn)));
		return;
	}
	name = (const char *)kn->data.scalar.value;
	for (size_t i = 0; i < N(action_names); i++)
		if (!strcmp(name, action_names[i]))
			a = (int)i;
	if (a < 0) {
		hint = policy_suggest(name, action_names, N(action_names));
		if (hint)
			err(L, kn, "unknown action '%s' (did you mean '%s'?)", shown(L, name),
			    hint);
		else
			err(L, kn, "unknown action '%s' (expected log, allow, kill, hook or deny)",
			    shown(L, name));
		return;
	}
	L->actions++;
	ru->n_actions++;
	switch (a) {
	case 0: /* log */
	case 1: /* allow */
	case 4: /* deny */
		if (arg) {
			err(L, arg, "action '%s' takes no argument", name);
			return;
		}
		ru->actions |= a == 0 ? ACT_LOG : a == 1 ? ACT_ALLOW : ACT_DENY;
		return;
	case 2: { /* kill */
		const char *s;
		int sig;

		if (!arg) {
			add_kill(ru, SIGKILL);
			return;
		}
		s = want_str(L, arg, "kill");
		if (!s)
			return;
		sig = pw_signal_parse(s);
		if (sig < 0) {
			hint = policy_suggest_signal(s);
			if (hint)
				err(L, arg, "unknown signal '%s' (did you mean '%s'?)", shown(L, s),
				    hint);
			else
				err(L, arg, "unknown signal '%s'", shown(L, s));
			return;
		}
		add_kill(ru, sig);
		return;
	}
	default: /* hook */
		if (!arg) {
			err(L, kn, "'hook' needs a program: hook: [\"/path/to/program\", ARG...]");
			return;
		}
		parse_hook(L, ru, arg);
		ru->actions |= ACT_HOOK;
		return;
	}
}

/* The 'actions' list of a rule. */
static void parse_actions(struct loader *L, struct rule *ru, const yaml_node_t *n,
                          const char *rname)
{
	size_t cnt;

	if (want_kind(L, n, K_LIST, "actions") < 0)
		return;
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt == 0) {
		err(L, n, "rule '%s' has an empty 'actions' list", shown(L, rname));
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *it = node_at(L, n->data.sequence.items.start[i]);

		if (it)
			parse_action(L, ru, it);
	}
}

/* Append ru to the policy (taking ownership of what it holds). */
static int push_rule(struct policy *p, struct rule *ru)
{
	if (p->n_rules == p->cap_rules) {
		size_t ncap = p->cap_rules ? p->cap_rules * 2 : 16;
		struct rule *nv = realloc(p->rules, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->rules = nv;
		p->cap_rules = ncap;
	}
	p->rules[p->n_rules++] = *ru;
	return 0;
}

/* Check a rule's name is new; 0, or -1 after reporting where it was first. */
static int claim_name(struct loader *L, const yaml_node_t *n, const char *name)
{
	uint32_t first;
	int r =
	    policy_strmap_put(&L->p->names, name, strlen(name), (uint32_t)L->p->n_rules, &first);
	const struct rule *f;

	if (r < 0) {
		L->oom = 1;
		return -1;
	}
	if (r == 1)
		return 0;
	f = &L->p->rules[first];
	err(L, n, "duplicate rule name '%s'", shown(L, name));
	diags_add(L->d, DIAG_NOTE, f->file, f->line, f->col, "'%s' was first defined here",
	          shown(L, name));
	return -1;
}

/* One element of 'rules'. */
/* A deny is decided before the program runs (the fanotify gate), when its
 * command line and name are not known yet; so is an allow that comes before
 * a deny, since it stops the deny.  Report every such key of ru; later names
 * the deny rule an allow would stop (NULL for ru's own deny). */
static void check_preexec(struct loader *L, const struct rule *ru, const char *verb,
                          const struct rule *later)
{
	static const int fields[] = {SF_CMDLINE, SF_COMM};
	const struct cond *conds[] = {ru->has_match ? &ru->match : NULL,
	                              ru->has_unless ? &ru->unless : NULL};

	for (size_t c = 0; c < N(conds); c++) {
		for (size_t i = 0; conds[c] && i < N(fields); i++) {
			int f = fields[i];
			if (!(conds[c]->str_mask & (1u << f)))
				continue;
			if (!later)
				diags_add(L->d, DIAG_ERROR, ru->file, conds[c]->key_line[f],
				          conds[c]->key_col[f],
				          "rule '%s' %s before the program runs, when its '%s' is "
				          "not known yet: a deny can match exe, parent_exe, "
				          "parent_comm, ancestor_exe, ids and fileless (use 'kill' "
				          "to act on the %s)",
				          ru->name ? ru->name : "", verb, cond_keys[f],
				          f == SF_CMDLINE ? "command line" : "name");
			else
				diags_add(L->d, DIAG_ERROR, ru->file, conds[c]->key_line[f],
				          conds[c]->key_col[f],
				          "rule '%s' allows by '%s', which is not known before the "
				          "program runs, and a later rule ('%s', %s:%u) denies: an "
				          "allow before a deny can match exe, parent_exe, "
				          "parent_comm, ancestor_exe, ids and fileless (or move it "
				          "after the deny)",
				          ru->name, cond_keys[f], later->name, later->file,
				          later->line);
		}
	}
}

static void parse_rule(struct loader *L, const yaml_node_t *n)
{
	struct rule ru = {.severity = SEV_NOTICE, .file = L->file};
	uint32_t mask = 0;
	bool audit = false;
	const char *rname = NULL;
	int named = 0;

	ru.match.fileless = ru.unless.fileless = -1;
	ru.line = n->start_mark.line + 1;
	ru.col = n->start_mark.column + 1;
	if (kind_of(n) != K_MAP) {
		err(L, n, "a rule must be a mapping, not %s", kind_name(kind_of(n)));
		return;
	}
	/* Find the name first, for messages about the rest. */
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);

		if (k && v && kind_of(k) == K_STR && kind_of(v) == K_STR &&
		    !strcmp((const char *)k->data.scalar.value, "name")) {
			rname = (const char *)v->data.scalar.value;
			break;
		}
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
		const char *s;
		int ki;

		if (!k || !v)
			continue;
		ki = map_key(L, k, rule_keys, N(rule_keys), &mask);
		switch (ki) {
		case 0: /* name */
			s = want_str(L, v, "name");
			if (!s)
				break;
			if (!*s) {
				err(L, v, "'name' must not be empty");
				break;
			}
			ru.name = strdup(s);
			if (!ru.name) {
				L->oom = 1;
				break;
			}
			named = claim_name(L, v, ru.name) == 0;
			break;
		case 1: /* description */
			s = want_str(L, v, "description");
			if (s && !(ru.description = strdup(s)))
				L->oom = 1;
			break;
		case 2: { /* severity */
			const char *hint;
			static const char *const sevs[] = {"info", "notice", "warning", "error",
			                                   "critical"};

			s = want_str(L, v, "severity");
			if (!s)
				break;
			ru.severity = policy_severity_parse(s);
			if (ru.severity >= 0)
				break;
			ru.severity = SEV_NOTICE;
			hint = policy_suggest(s, sevs, N(sevs));
			if (hint)
				err(L, v, "unknown severity '%s' (did you mean '%s'?)", shown(L, s),
				    hint);
			else
				err(L, v,
				    "unknown severity '%s' (expected info, notice, warning, error "
				    "or "
				    "critical)",
				    shown(L, s));
			break;
		}
		case 3: /* match */
			ru.has_match = 1;
			parse_cond(L, v, "match", &ru.match);
			break;
		case 4: /* unless */
			ru.has_unless = 1;
			parse_cond(L, v, "unless", &ru.unless);
			break;
		case 5: /* actions */
			parse_actions(L, &ru, v, rname ? rname : "");
			break;
		case 6: /* mode */
			s = want_str(L, v, "mode");
			if (s && !strcmp(s, "audit"))
				audit = true;
			else if (s && strcmp(s, "enforce"))
				err(L, v, "unknown mode '%s' (expected enforce or audit)",
				    shown(L, s));
			break;
		default:
			break;
		}
	}
	if (!(mask & 1u))
		err(L, n, "rule has no 'name'");
	if (!(mask & (1u << 5))) {
		if (rname)
			err(L, n, "rule '%s' has no 'actions'", shown(L, rname));
		else
			err(L, n, "rule has no 'actions'");
	}
	if (ru.actions & ACT_DENY)
		check_preexec(L, &ru, "denies", NULL);
	if (audit && (ru.actions & ACT_ALLOW))
		err(L, n,
		    "rule '%s': an allow cannot be staged (mode: audit stages kill, deny and "
		    "hook; an allow would still stop the rules after it)",
		    shown(L, rname ? rname : ""));
	if (audit) { /* staged: evaluated and recorded, not carried out */
		ru.audit = ru.actions & (ACT_KILL | ACT_DENY | ACT_HOOK);
		ru.actions &= ~ru.audit;
		if (!ru.audit)
			warn(L, n, "rule '%s' is in audit mode but has no kill, deny or hook",
			     shown(L, rname ? rname : ""));
	}
	if (!named) {
		/* Not indexed by name: keep it anyway, it is freed with the
		 * policy (a load with errors is refused). */
		free(ru.name);
		ru.name = strdup("");
		if (!ru.name)
			L->oom = 1;
	}
	if (push_rule(L->p, &ru) < 0) {
		L->oom = 1;
		policy_rule_free(&ru);
		return;
	}
	L->rules++;
}

/* The document's root: version, then rules. */
static void parse_root(struct loader *L, const yaml_node_t *root)
{
	const yaml_node_t *version = NULL, *rules = NULL;
	uint32_t mask = 0;

	if (kind_of(root) != K_MAP) {
		err(L, root, "a policy file must be a mapping with 'version' and 'rules', not %s",
		    kind_name(kind_of(root)));
		return;
	}
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
		int ki;

		if (!k || !v)
			continue;
		ki = map_key(L, k, top_keys, N(top_keys), &mask);
		if (ki == 0)
			version = v;
		else if (ki == 1)
			rules = v;
	}
	if (!version) {
		err(L, root, "missing 'version' (add 'version: 1')");
	} else {
		const char *s =
		    kind_of(version) == K_STR ? (const char *)version->data.scalar.value : NULL;
		uint32_t ver;

		if (!s) {
			err(L, version, "'version' must be an integer, not %s",
			    kind_name(kind_of(version)));
			return;
		}
		if (parse_u32(s, strlen(s), &ver) < 0) {
			err(L, version, "'version' must be an integer, not '%s'", shown(L, s));
			return;
		}
		if (ver != 1) {
			err(L, version, "unsupported version '%s' (this build reads version 1)",
			    shown(L, s));
			return;
		}
	}
	if (!rules)
		return;
	if (want_kind(L, rules, K_LIST, "rules") < 0)
		return;
	for (yaml_node_item_t *it = rules->data.sequence.items.start;
	     it < rules->data.sequence.items.top && !L->oom; it++) {
		const yaml_node_t *rn = node_at(L, *it);

		if (rn)
			parse_rule(L, rn);
	}
}

/* Report libyaml's complaint with its place. */
static void yaml_problem(struct loader *L, const yaml_parser_t *yp)
{
	const char *problem = yp->problem ? yp->problem : "unknown error";

	if (yp->error == YAML_MEMORY_ERROR) {
		L->oom = 1;
		return;
	}
	if (yp->error == YAML_READER_ERROR) {
		/* Only a byte offset: count lines and characters up to it. */
		unsigned line = 1, col = 1;
		size_t off = yp->problem_offset;

		/* Point at the start of a broken sequence, not its bad byte. */
		for (int k = 0;
		     k < 4 && off > 0 && off <= L->len && ((unsigned char)L->buf[off - 1] & 0x80) &&
		     ((off < L->len && ((unsigned char)L->buf[off] & 0xc0) != 0xc0) ||
		      off == L->len);
		     k++) {
			off--;
			if (((unsigned char)L->buf[off] & 0xc0) == 0xc0)
				break;
		}
		for (size_t i = 0; i < off && i < L->len; i++) {
			if (L->buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)L->buf[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (strstr(problem, "UTF") || strstr(problem, "Unicode"))
			err_at(L, line, col, "file is not valid UTF-8 (%s)", problem);
		else
			err_at(L, line, col, "invalid text (%s)", problem);
		return;
	}
	if (yp->context)
		err_at(L, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
		       "invalid YAML: %s (%s)", problem, yp->context);
	else
		err_at(L, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
		       "invalid YAML: %s", problem);
}

/* Record a loaded file; returns its policy-owned name, or NULL. */
static const char *add_file(struct policy *p, const char *name)
{
	if (p->n_files == p->cap_files) {
		size_t ncap = p->cap_files ? p->cap_files * 2 : 4;
		struct policy_file *nv = realloc(p->files, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		p->files = nv;
		p->cap_files = ncap;
	}
	p->files[p->n_files] = (struct policy_file){.name = strdup(name)};
	if (!p->files[p->n_files].name)
		return NULL;
	return p->files[p->n_files++].name;
}

/* Parse one file's text into p.  Returns 0 or -ENOMEM (errors go to d). */
static int load_text(struct policy *p, const char *name, const char *text, size_t len,
                     const struct policy_opts *opts, struct diags *d)
{
	struct loader L = {.p = p, .d = d, .opts = opts, .buf = text, .len = len};
	yaml_parser_t yp;
	yaml_document_t doc, next;
	yaml_node_t *root;
	int r = 0;

	L.file = add_file(p, name);
	if (!L.file)
		return -ENOMEM;
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &doc)) {
		yaml_problem(&L, &yp);
		goto out_parser;
	}
	L.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err_at(&L, 1, 1, "empty policy file (expected 'version: 1' and 'rules')");
		goto out_doc;
	}
	L.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
	L.seen = calloc(L.n_nodes, 1);
	if (!L.seen) {
		L.oom = 1;
		goto out_doc;
	}
	parse_root(&L, root);
	if (!yaml_parser_load(&yp, &next)) {
		yaml_problem(&L, &yp);
	} else {
		yaml_node_t *r2 = yaml_document_get_root_node(&next);

		if (r2)
			err(&L, r2, "a policy file holds one YAML document; this is a second");
		yaml_document_delete(&next);
	}
out_doc:
	free(L.seen);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&yp);
	p->files[p->n_files - 1].rules = L.rules;
	p->files[p->n_files - 1].actions = L.actions;
	if (L.oom)
		r = -ENOMEM;
	return r;
}

/* Read a whole regular file; 0 or negative errno (errors reported). */
static int read_file(const char *path, char **ret, size_t *ret_len, struct diags *d)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO must not hold the load up (it is refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		diags_add(d, DIAG_ERROR, path, 0, 0, "cannot read policy: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		diags_add(d, DIAG_ERROR, path, 0, 0, "cannot read policy: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		diags_add(d, DIAG_ERROR, path, 0, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)MAX_FILE_SIZE) {
		r = -EFBIG;
		diags_add(d, DIAG_ERROR, path, 0, 0, "policy file larger than %u MiB",
		          MAX_FILE_SIZE >> 20);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			diags_add(d, DIAG_ERROR, path, 0, 0, "cannot read policy: %s",
			          strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Load one file.  0 or -ENOMEM; other problems are reported to d. */
static int load_file(struct policy *p, const char *path, const struct policy_opts *opts,
                     struct diags *d)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, &text, &len, d);

	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = load_text(p, path, text, len, opts, d);
	free(text);
	return r;
}

/* True for NAME.yaml / NAME.yml, not hidden. */
static int is_policy_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.')
		return 0;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

/* qsort order: lexical (bytewise), not the locale's. */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.yaml / *.yml of a directory in lexical order. */
static int load_dir(struct policy *p, const char *dir, const struct policy_opts *opts,
                    struct diags *d)
{
	DIR *dp = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!dp) {
		diags_add(d, DIAG_ERROR, dir, 0, 0, "cannot read policy directory: %s",
		          strerror(errno));
		return 0;
	}
	while ((de = readdir(dp))) {
		if (!is_policy_name(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(names, ncap * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			names = nv;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t dl = strlen(dir);
		char *path = NULL;

		while (dl > 1 && dir[dl - 1] == '/')
			dl--;
		if (asprintf(&path, "%.*s/%s", (int)dl, dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = load_file(p, path, opts, d);
		free(path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dp);
	return r;
}

/* A new, empty policy with one reference; NULL on ENOMEM. */
static struct policy *policy_new(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->refs = 1;
	p->mctx = policy_match_context_new();
	if (!p->mctx) {
		free(p);
		return NULL;
	}
	return p;
}

/* Common end of every load: refuse on any error, else compile. */
static int finish(struct policy *p, int r, size_t errors0, struct policy **ret, struct diags *d)
{
	/* an allow that would stop a later deny must be decidable before the
	 * program runs, like the deny */
	if (r == 0) {
		struct loader L = {.p = p, .d = d};
		const struct rule *next_deny = NULL;

		for (size_t i = p->n_rules; i-- > 0;) {
			const struct rule *ru = &p->rules[i];
			if (ru->actions & ACT_DENY)
				next_deny = ru;
			else if ((ru->actions & ACT_ALLOW) && next_deny)
				check_preexec(&L, ru, "allows", next_deny);
		}
	}
	if (r == 0 && d->errors > errors0)
		r = -EINVAL;
	if (r == 0)
		r = policy_compile(p);
	if (r < 0) {
		policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int policy_load(const char *const *paths, size_t npaths, const struct policy_opts *opts,
                struct policy **ret, struct diags *d)
{
	struct diags local;
	struct policy *p;
	size_t errors0;
	int r = 0;

	if (!d) {
		diags_init(&local);
		d = &local;
	}
	errors0 = d->errors;
	p = policy_new();
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < npaths && r == 0; i++) {
		struct stat st;

		if (stat(paths[i], &st) < 0) {
			diags_add(d, DIAG_ERROR, paths[i], 0, 0, "cannot read policy: %s",
			          strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode))
			r = load_dir(p, paths[i], opts, d);
		else
			r = load_file(p, paths[i], opts, d);
	}
	r = finish(p, r, errors0, ret, d);
out:
	if (d == &local)
		diags_free(&local);
	return r;
}

int policy_load_buffer(const char *name, const char *text, size_t len,
                       const struct policy_opts *opts, struct policy **ret, struct diags *d)
{
	struct diags local;
	struct policy *p;
	size_t errors0;
	int r;

	if (!d) {
		diags_init(&local);
		d = &local;
	}
	errors0 = d->errors;
	p = policy_new();
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	r = load_text(p, name ? name : "<buffer>", text, len, opts, d);
	r = finish(p, r, errors0, ret, d);
out:
	if (d == &local)
		diags_free(&local);
	return r;
}

int policy_load_configured(const char *const *paths, size_t npaths, const struct policy_opts *opts,
                           struct policy **ret, struct diags *d)
{
	static const char *const def[] = {POLICY_DEFAULT_DIR};
	struct stat st;
	const char *text;

	if (npaths)
		return policy_load(paths, npaths, opts, ret, d);
	if (stat(POLICY_DEFAULT_DIR, &st) == 0)
		return policy_load(def, 1, opts, ret, d);
	text = policy_default_text();
	int r = policy_load_buffer("<built-in default>", text, strlen(text), opts, ret, d);
	if (r == 0)
		(*ret)->builtin = 1;
	return r;
}
