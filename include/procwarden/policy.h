/*
 * policy.h - YAML policies: load, compile, evaluate.
 *
 * A loaded policy is immutable and reference-counted: the agent swaps the
 * current pointer on reload, and an evaluation holds one snapshot (one
 * reference) from start to end.  policy_eval() does no allocation and no I/O.
 * Loading never prints: errors go to a struct diags as FILE:LINE:COL.
 */
#ifndef PROCWARDEN_POLICY_H
#define PROCWARDEN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procwarden/diag.h"
#include "procwarden/procinfo.h"

struct policy;

/* Default places. */
#define POLICY_DEFAULT_DIR "/etc/procwarden/policy.d"

/* Severity of a rule; also sets the syslog priority. */
enum pw_severity {
	SEV_INFO = 0,
	SEV_NOTICE = 1, /* the default */
	SEV_WARNING = 2,
	SEV_ERROR = 3,
	SEV_CRITICAL = 4,
};
const char *pw_severity_name(int sev);
/* syslog priority (LOG_INFO ... LOG_CRIT) of a severity. */
int pw_severity_syslog(int sev);
/* A severity by name ("info" ... "critical"), or -EINVAL. */
int policy_severity_parse(const char *name);

/* Action bits of a verdict. */
enum {
	ACT_LOG = 1u << 0,
	ACT_ALLOW = 1u << 1,
	ACT_KILL = 1u << 2,
	ACT_HOOK = 1u << 3,
	ACT_DENY = 1u << 4,
};

/* What the policy needs in a snapshot (policy_needs()). */
enum {
	POLICY_NEED_PARENT = 1u << 0,    /* parent_exe / parent_comm used */
	POLICY_NEED_ANCESTORS = 1u << 1, /* ancestor_exe used */
	POLICY_NEED_ARGV = 1u << 2,      /* cmdline used */
	POLICY_NEED_COMM = 1u << 3,      /* comm used */
	/* an exact path in exe, parent_exe or ancestor_exe names a file: the
	 * identity of every exe is wanted (pi->exe_file) */
	POLICY_NEED_FILE = 1u << 4,
};

/* Load options (NULL: all off). */
struct policy_opts {
	/* warn about an exact path in exe, parent_exe or ancestor_exe that
	 * names no file (it then matches by name only): `check` */
	int warn_missing_files;
};

/* Load and compile every path (a file, or a directory whose *.yaml and *.yml
 * files are read in lexical order), in the order given.  On success returns
 * 0 and *ret holds a policy with one reference.  On any error returns
 * -EINVAL (or another negative errno), *ret is untouched, and every problem
 * found is in d as FILE:LINE:COL: error: ...  opts may be NULL. */
int policy_load(const char *const *paths, size_t npaths, const struct policy_opts *opts,
                struct policy **ret, struct diags *d);

/* With no paths configured: POLICY_DEFAULT_DIR if it exists, else the
 * built-in default policy.  Same contract as policy_load(). */
int policy_load_configured(const char *const *paths, size_t npaths, const struct policy_opts *opts,
                           struct policy **ret, struct diags *d);

/* Load from a buffer; name is the FILE used in diagnostics (fuzzing, tests). */
int policy_load_buffer(const char *name, const char *text, size_t len,
                       const struct policy_opts *opts, struct policy **ret, struct diags *d);

/* The built-in default policy's YAML text. */
const char *policy_default_text(void);

/* Take / drop a reference.  unref accepts NULL; the last one frees. */
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

/* Introspection. */
size_t policy_rule_count(const struct policy *p);
const char *policy_rule_name(const struct policy *p, uint32_t rule);
int policy_rule_severity(const struct policy *p, uint32_t rule);
unsigned policy_needs(const struct policy *p); /* POLICY_NEED_* */
/* True for the built-in default policy, loaded by policy_load_configured()
 * because POLICY_DEFAULT_DIR does not exist. */
bool policy_is_builtin(const struct policy *p);
/* Rules that kill or deny. */
size_t policy_enforcing_rules(const struct policy *p);
/* True when some rule denies (the agent then starts the fanotify gate). */
bool policy_has_deny(const struct policy *p);
/* True when the gate's verdict on an exec rests on the file alone: every
 * deny or allow rule up to the last deny tests only exe (not fileless), so
 * an exec the policy allows is allowed for anyone until the file changes or
 * the policy does (the gate then asks the kernel not to hold it again). */
bool policy_gate_file_only(const struct policy *p);
/* The directories the deny rules' exe patterns live under, owned by the
 * policy (*ret); returns their number, or -1 when some deny rule can match a
 * program anywhere (no exe, or a regex): the gate then watches every mount. */
int policy_deny_dirs(const struct policy *p, const char *const **ret);
/* A rule's description (owned by the policy), or NULL. */
const char *policy_rule_description(const struct policy *p, uint32_t rule);
/* A rule's own ACT_* bits; *ret_signal (may be NULL) gets its kill signal. */
uint32_t policy_rule_actions(const struct policy *p, uint32_t rule, int *ret_signal);
/* A rule's actions that `mode: audit` keeps from being carried out (ACT_KILL,
 * ACT_DENY, ACT_HOOK), or 0 for a rule that enforces. */
uint32_t policy_rule_audit(const struct policy *p, uint32_t rule);
/* Files loaded, in order, for `check`'s one-line summaries. */
size_t policy_file_count(const struct policy *p);
/* Name, number of rules and number of actions of file i. */
void policy_file_info(const struct policy *p, size_t i, const char **ret_name, size_t *ret_rules,
                      size_t *ret_actions);

/* A hook of a rule, owned by the policy (valid while a reference is held). */
struct policy_hook {
	const char *const *argv; /* NULL-terminated */
	unsigned timeout_s;      /* default 10 */
};
/* Hooks of a rule, in policy order; returns their number, *ret the array. */
size_t policy_rule_hooks(const struct policy *p, uint32_t rule, const struct policy_hook **ret);

#define POLICY_MAX_MATCHES 64

/* The result of evaluating one launch. */
struct policy_verdict {
	uint32_t n_rules;                   /* matching rules, in policy order */
	uint32_t rules[POLICY_MAX_MATCHES]; /* their indices */
	uint32_t rules_truncated;           /* more matched than POLICY_MAX_MATCHES */
	uint32_t actions;                   /* ACT_* accumulated up to an allow */
	uint32_t audit;                     /* ACT_KILL, DENY, HOOK of rules in audit
	                                     * mode: recorded, not carried out */
	int signal;                         /* the signal to send (strongest), or 0 */
	uint32_t signal_rule;               /* rule that chose it */
	int severity;                       /* highest severity of matching rules */
	int32_t allow_rule;                 /* rule whose allow stopped evaluation, or -1 */
	uint32_t n_hook_rules;              /* rules whose hooks must run */
	uint32_t hook_rules[POLICY_MAX_MATCHES];
	uint32_t match_errors; /* regex match-limit hits (counted as no match) */
	/* bit i: rules[i] matched by a file's identity (device, inode, mtime)
	 * where the path it saw did not match: a hardlink, a rename, a bind
	 * mount, a deleted file */
	uint64_t by_identity;
	/* rules with log, kill, deny or hook that would have been tested
	 * further but for a value not known (then the rule does not apply) */
	uint32_t n_undecided;
	uint32_t undecided[POLICY_MAX_MATCHES];
};

/* Evaluate one launch.  No allocation, no I/O; safe from any thread while a
 * reference is held.  An exact path in exe, parent_exe or ancestor_exe
 * also matches the file it named when the policy loaded, by identity,
 * where pi knows the identity (PI_HAVE_EXE_FILE, PI_HAVE_PARENT_FILE,
 * anc_file_known); an identity not known leaves the match to the path.  A condition on a value that
 * pi->have does not hold is unknown: a match on it does not hold (the rule is listed in
 * v->undecided instead), an unless on it does not exempt.  Returns the
 * number of matching rules. */
int policy_eval(const struct policy *p, const struct proc_info *pi, struct policy_verdict *v);

/* Evaluate a program about to run (the fanotify gate): only the rules with
 * deny or allow, up to the last deny, on what is known before the exec --
 * pi->exe is the file being executed; its ids, parent and ancestors are the
 * caller's (the loader refuses comm and cmdline in those rules).  Same
 * contract as policy_eval(); v->actions has ACT_DENY when it must not run. */
int policy_eval_preexec(const struct policy *p, const struct proc_info *pi,
                        struct policy_verdict *v);

/* Look a signal name up ("KILL", "SIGKILL", "sigterm"); returns the number or
 * -EINVAL.  pw_signal_name() gives "SIGKILL" for 9, or NULL. */
int pw_signal_parse(const char *name);
const char *pw_signal_name(int sig);

#endif
