/*
 * policy_int.h - the policy module's private structures (not an interface).
 *
 * Overview: a struct policy owns its rules, every string and compiled regex
 * in them, and the indexes compile.c builds over them.  load.c fills the
 * rules, compile.c indexes them, eval.c only reads.  Nothing outside
 * src/policy/ includes this file (the unit tests go through policy.h).
 */
#ifndef PROCWARDEN_POLICY_INT_H
#define PROCWARDEN_POLICY_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stddef.h>

#include "procwarden/policy.h"

/* Kinds of string pattern. */
enum pat_kind {
	PAT_EXACT = 0,
	PAT_GLOB = 1,
	PAT_REGEX = 2,
};

/* One string pattern: exact text, glob or regex. */
struct pattern {
	uint8_t kind;        /* enum pat_kind */
	uint32_t len;        /* bytes of s */
	uint32_t prefix_len; /* glob: literal bytes before the first wildcard */
	char *s;             /* exact text or glob, NUL-terminated (owned) */
	pcre2_code *re;      /* regex (owned) */
	/* an exact path in exe, parent_exe or ancestor_exe: the file it named
	 * when the policy loaded (matched by identity too) */
	uint8_t has_file;
	struct pw_file_id file;
};

/* Any of a list of patterns (OR). */
struct patlist {
	struct pattern *v;
	uint32_t n;
	uint8_t all_exact; /* every pattern is PAT_EXACT */
};

/* A closed interval of ids. */
struct idrange {
	uint32_t lo, hi;
};

/* Any of a set of id intervals, sorted and merged. */
struct idlist {
	struct idrange *v;
	uint32_t n;
};

/* String fields a condition can test. */
enum str_field {
	SF_EXE = 0,
	SF_COMM,
	SF_CMDLINE,
	SF_PARENT_EXE,
	SF_PARENT_COMM,
	SF_ANCESTOR_EXE,
	SF_COUNT,
};

/* Id fields a condition can test (user tests uid, group tests gid). */
enum id_field {
	IF_UID = 0,
	IF_EUID,
	IF_GID,
	IF_EGID,
	IF_USER,
	IF_GROUP,
	IF_COUNT,
};

/* One match or unless block: every key present must hold (AND). */
struct cond {
	uint32_t str_mask; /* bit (1 << enum str_field) for each key present */
	uint32_t id_mask;  /* bit (1 << enum id_field) */
	int8_t fileless;   /* -1 absent, else 0 or 1 */
	struct patlist str[SF_COUNT];
	struct idlist id[IF_COUNT];
	unsigned key_line[SF_COUNT], key_col[SF_COUNT]; /* where each string key is */
};

/* One rule, as loaded. */
struct rule {
	char *name;
	char *description; /* or NULL */
	const char *file;  /* the policy's copy of the file name */
	unsigned line, col;
	int severity;
	uint8_t has_match, has_unless;
	uint8_t exe_indexed; /* reachable through the exe indexes (not general) */
	struct cond match;
	struct cond unless;
	uint32_t actions; /* ACT_* carried out (a rule in audit mode: none of kill,
	                   * deny, hook) */
	uint32_t audit;   /* mode: audit: its ACT_KILL, ACT_DENY, ACT_HOOK, recorded
	                   * with "result": "audit" instead of carried out */
	uint32_t n_actions;
	int signal; /* with ACT_KILL */
	struct policy_hook *hooks;
	char ***hook_argv; /* owned argv of each hook */
	size_t n_hooks;
};

/* A loaded file, for check's summaries. */
struct policy_file {
	char *name;
	size_t rules, actions;
};

/* An open-addressing hash map from a string (not owned) to a uint32_t. */
struct strmap_slot {
	const char *key; /* NULL: empty */
	uint32_t len;
	uint32_t val;
	uint64_t hash;
};
struct strmap {
	struct strmap_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* Rules reachable from a string key: key -> its slice of rules. */
struct rule_index {
	struct strmap map;     /* key -> slot number */
	uint32_t *start, *cnt; /* per slot: its slice of rules */
	uint32_t *rules;       /* rule indices, ascending per slot */
};

/* An exe with more '/'-ended prefixes than this (within the longest glob
 * prefix) is checked against every glob-indexed rule instead. */
#define POLICY_MAX_PREFIXES 64

/* A file named by an exact exe pattern, and a rule naming it. */
struct file_rule {
	struct pw_file_id file;
	uint32_t rule;
};

struct policy {
	int refs;
	unsigned needs;
	int builtin; /* the built-in default, loaded for want of a policy directory */
	struct rule *rules;
	size_t n_rules, cap_rules;
	struct policy_file *files;
	size_t n_files, cap_files;
	struct strmap names;          /* rule name -> rule index */
	struct rule_index exe_index;  /* exact exe -> rules listing it */
	struct rule_index glob_index; /* glob directory prefix -> rules */
	uint32_t *glob_rules;         /* rules with an indexed glob, ascending */
	size_t n_glob_rules;
	size_t max_glob_prefix;       /* longest key of glob_index, bytes */
	struct file_rule *file_index; /* exact-indexed rules by their exe's file, sorted */
	uint32_t *file_rules;         /* file_index's rules, in the same order */
	size_t n_file_index;
	uint32_t *general;   /* rules in neither index, ascending */
	uint32_t *all_rules; /* 0 .. n_rules - 1: a launch whose exe is unknown */
	size_t n_general;
	size_t deny_end; /* 1 + the last rule with deny, 0: none */
	bool
	    gate_file_only; /* the gate's verdict rests on the file alone (policy_gate_file_only) */
	char **deny_dirs;   /* directories deny rules' exe patterns live under (owned) */
	size_t n_deny_dirs;
	int deny_anywhere;         /* a deny rule can match a file anywhere */
	pcre2_match_context *mctx; /* match limits for every regex */
};

/* ---- pattern.c ---- */

/* Match limits: a hit counts as no match and as a verdict match error. */
#define POLICY_RE_MATCH_LIMIT 100000
#define POLICY_RE_DEPTH_LIMIT 2000
#define POLICY_GLOB_BUDGET 100000

/* Compile text (an exact string, a glob or "re:REGEX") into *pat.  Returns
 * 0, -ENOMEM, or -EINVAL with a message in err (errlen bytes) and the byte
 * offset of the problem inside text in *ret_off. */
int policy_pattern_compile(struct pattern *pat, const char *text, size_t len, char *err,
                           size_t errlen, size_t *ret_off);
/* Free what pat owns; accepts a zeroed pattern. */
void policy_pattern_free(struct pattern *pat);
/* 1 when s matches, 0 when not, -1 when a match limit was hit. */
int policy_pattern_match(const struct policy *p, const struct pattern *pat, const char *s,
                         size_t len);
/* True when id lies in l. */
int policy_idlist_has(const struct idlist *l, uint32_t id);
/* Sort and merge the intervals of l in place. */
void policy_idlist_normalize(struct idlist *l);
/* Create the shared match context with limits; NULL on ENOMEM. */
pcre2_match_context *policy_match_context_new(void);

/* ---- compile.c ---- */

/* FNV-1a of s; incrementally: POLICY_HASH_INIT, then policy_hash_byte()
 * for each byte, so every prefix of a string hashes in one pass. */
#define POLICY_HASH_INIT 0xcbf29ce484222325ull
static inline uint64_t policy_hash_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * 0x100000001b3ull;
}
uint64_t policy_hash(const char *s, size_t len);
/* Find key; returns its slot or NULL. */
const struct strmap_slot *policy_strmap_get(const struct strmap *m, const char *key, size_t len,
                                            uint64_t hash);
/* Insert key (not copied) with val unless present.  Returns 1 when
 * inserted, 0 when present (*ret_val then holds its value), -ENOMEM. */
int policy_strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val,
                      uint32_t *ret_val);
void policy_strmap_free(struct strmap *m);
/* Build the evaluation indexes of a fully loaded policy.  0 or -ENOMEM. */
int policy_compile(struct policy *p);
/* Free what a rule owns. */
void policy_rule_free(struct rule *ru);
/* Free a policy regardless of its reference count; accepts NULL. */
void policy_free(struct policy *p);

/* ---- names.c ---- */

/* The closest of n candidates to word (edit distance <= 2), or NULL. */
const char *policy_suggest(const char *word, const char *const *cands, size_t n);
/* The closest signal name ("SIGKILL") to word, or NULL. */
const char *policy_suggest_signal(const char *word);

#endif
