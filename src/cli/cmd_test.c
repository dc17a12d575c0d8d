/*
 * cmd_test.c - `procwarden test`: evaluate one imagined launch.
 *
 * Overview: builds a struct proc_info from the options (nothing is read
 * from /proc and nothing runs), loads the policy as the agent would and
 * runs the agent's own evaluator on it, then prints the matching rules in
 * order and the resulting actions.  Exit: 0 evaluated, 1 policy refused,
 * 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procwarden/cli.h"
#include "procwarden/policy.h"

#define MAX_POLICIES 64

/* Print the usage text to f. */
static void test_usage(FILE *f)
{
	fprintf(f,
	        "usage: procwarden test [--policy PATH]... --exe PATH [--uid N|NAME] [--euid N]\n"
	        "                       [--gid N|NAME] [--egid N] [--comm C] [--parent-exe P]\n"
	        "                       [--parent-comm C] [--ancestor-exe P]... [--fileless]\n"
	        "                       [-- ARGV...]\n"
	        "  Evaluate one imagined launch and print the matching rules and actions.\n"
	        "  --policy PATH  a policy file or directory; repeatable (default: as run)\n"
	        "  --exe PATH     the program launched (its file, if it exists, by identity)\n"
	        "  --uid, --gid N|NAME; --euid, --egid N  its ids (effective ones default to the "
	        "real)\n"
	        "  --comm C, --parent-exe P, --parent-comm C, --ancestor-exe P (repeatable)\n"
	        "  --fileless     the program is a memfd or a deleted file\n"
	        "  --help         this text\n");
}

/* Parse a user (grp: group) id or name into *ret; 0 or -EINVAL.  For a user
 * name, *ret_gid (if given) gets its primary group. */
static int parse_id_arg(const char *s, int grp, uint32_t *ret, uint32_t *ret_gid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s && !*end && !errno && v < UINT32_MAX) {
		*ret = (uint32_t)v;
		return 0;
	}
	if (grp) {
		struct group *g = getgrnam(s);

		if (!g)
			return -EINVAL;
		*ret = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return -EINVAL;
		*ret = pw->pw_uid;
		if (ret_gid)
			*ret_gid = pw->pw_gid;
	}
	return 0;
}

/* Copy src into a bounded field of size n (truncated). */
static void set_str(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The last path component of s. */
static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

/* Append one NUL-terminated string to a bounded NUL-separated buffer. */
static int append_str(char *buf, size_t cap, uint32_t *len, const char *s)
{
	size_t l = strlen(s) + 1;

	if (*len + l > cap)
		return -ENOSPC;
	memcpy(buf + *len, s, l);
	*len += (uint32_t)l;
	return 0;
}

/* Print the verdict v for people. */
static void print_verdict(const struct policy *p, const struct proc_info *pi,
                          const struct policy_verdict *v)
{
	printf("launch: %s (comm %s, uid %u, gid %u)\n", pi->exe, pi->comm, pi->uid, pi->gid);
	if (v->n_rules == 0) {
		printf("no rule matches: nothing is done\n");
		goto errors;
	}
	printf("matching rules, in order:\n");
	for (uint32_t i = 0; i < v->n_rules; i++)
		printf("  %u. %s (%s%s)\n", i + 1, policy_rule_name(p, v->rules[i]),
		       pw_severity_name(policy_rule_severity(p, v->rules[i])),
		       policy_rule_audit(p, v->rules[i]) ? ", mode audit" : "");
	if (v->rules_truncated)
		printf("  ... and %u more\n", v->rules_truncated);
	printf("severity: %s\n", pw_severity_name(v->severity));
	printf("actions:\n");
	if (v->actions & ACT_LOG)
		printf("  log\n");
	if (v->actions & ACT_KILL)
		printf("  kill %s (rule %s)\n",
		       pw_signal_name(v->signal) ? pw_signal_name(v->signal) : "?",
		       policy_rule_name(p, v->signal_rule));
	if (v->actions & ACT_DENY)
		printf("  deny\n");
	for (uint32_t i = 0; i < v->n_hook_rules; i++) {
		const struct policy_hook *h;
		size_t n = policy_rule_hooks(p, v->hook_rules[i], &h);

		for (size_t k = 0; k < n; k++) {
			printf("  hook");
			for (const char *const *a = h[k].argv; *a; a++)
				printf(" %s", *a);
			printf(" (rule %s, timeout %us)\n", policy_rule_name(p, v->hook_rules[i]),
			       h[k].timeout_s);
		}
	}
	if (v->audit)
		printf("  audit (staged, recorded with \"result\": \"audit\", not carried "
		       "out):%s%s%s\n",
		       v->audit & ACT_KILL ? " kill" : "", v->audit & ACT_DENY ? " deny" : "",
		       v->audit & ACT_HOOK ? " hook" : "");
	if (v->allow_rule >= 0)
		printf("  allowed by %s: no later rule applies\n",
		       policy_rule_name(p, (uint32_t)v->allow_rule));
errors:
	if (v->match_errors)
		printf("warning: %u pattern match%s hit a match limit (counted as no match)\n",
		       v->match_errors, v->match_errors == 1 ? "" : "es");
}

int cmd_test(int argc, char **argv)
{
	enum {
		O_POLICY = 256,
		O_EXE,
		O_UID,
		O_EUID,
		O_GID,
		O_EGID,
		O_COMM,
		O_PEXE,
		O_PCOMM,
		O_AEXE,
		O_FILELESS,
	};
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"policy", required_argument, NULL, O_POLICY},
	    {"exe", required_argument, NULL, O_EXE},
	    {"uid", required_argument, NULL, O_UID},
	    {"euid", required_argument, NULL, O_EUID},
	    {"gid", required_argument, NULL, O_GID},
	    {"egid", required_argument, NULL, O_EGID},
	    {"comm", required_argument, NULL, O_COMM},
	    {"parent-exe", required_argument, NULL, O_PEXE},
	    {"parent-comm", required_argument, NULL, O_PCOMM},
	    {"ancestor-exe", required_argument, NULL, O_AEXE},
	    {"fileless", no_argument, NULL, O_FILELESS},
	    {NULL, 0, NULL, 0},
	};
	const char *policies[MAX_POLICIES];
	size_t n_policies = 0;
	const char *comm = NULL, *pcomm = NULL;
	int have_euid = 0, have_egid = 0, have_gid = 0;
	uint32_t user_gid = UINT32_MAX;
	struct policy_verdict v;
	struct policy *p = NULL;
	struct proc_info *pi;
	struct diags d;
	int c, r, rc = 2;

	diags_init(&d);
	pi = calloc(1, sizeof(*pi));
	if (!pi) {
		fprintf(stderr, "procwarden test: out of memory\n");
		return 2;
	}
	pi->pid = 0;
	pi->uid = (uint32_t)getuid();
	pi->gid = (uint32_t)getgid();
	pi->have = PI_HAVE_IDS | PI_HAVE_COMM | PI_HAVE_ARGV;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			test_usage(stdout);
			rc = 0;
			goto out;
		case O_POLICY:
			if (n_policies == MAX_POLICIES) {
				fprintf(stderr, "procwarden test: too many --policy\n");
				goto out;
			}
			policies[n_policies++] = optarg;
			break;
		case O_EXE:
			set_str(pi->exe, sizeof(pi->exe), optarg);
			pi->have |= PI_HAVE_EXE;
			break;
		case O_UID:
		case O_EUID:
		case O_GID:
		case O_EGID: {
			int grp = c == O_GID || c == O_EGID;
			uint32_t *dst = c == O_UID    ? &pi->uid
			                : c == O_EUID ? &pi->euid
			                : c == O_GID  ? &pi->gid
			                              : &pi->egid;

			if (parse_id_arg(optarg, grp, dst, c == O_UID ? &user_gid : NULL) < 0) {
				fprintf(stderr, "procwarden test: unknown %s '%s'\n",
				        grp ? "group" : "user", optarg);
				goto out;
			}
			have_euid |= c == O_EUID;
			have_egid |= c == O_EGID;
			have_gid |= c == O_GID;
			break;
		}
		case O_COMM:
			comm = optarg;
			break;
		case O_PEXE:
			set_str(pi->parent_exe, sizeof(pi->parent_exe), optarg);
			pi->have |= PI_HAVE_PARENT_EXE;
			break;
		case O_PCOMM:
			pcomm = optarg;
			break;
		case O_AEXE:
			if (pi->n_ancestors >= PW_ANCESTORS_MAX ||
			    append_str(pi->ancestors, sizeof(pi->ancestors), &pi->ancestors_len,
			               optarg) < 0) {
				fprintf(stderr, "procwarden test: too many --ancestor-exe\n");
				goto out;
			}
			pi->n_ancestors++;
			pi->have |= PI_HAVE_ANCESTORS;
			break;
		case O_FILELESS:
			pi->flags |= PI_EXE_DELETED;
			break;
		default:
			test_usage(stderr);
			goto out;
		}
	}
	if (!(pi->have & PI_HAVE_EXE)) {
		fprintf(stderr, "procwarden test: --exe is required\n");
		test_usage(stderr);
		goto out;
	}
	if (!have_gid && user_gid != UINT32_MAX)
		pi->gid = user_gid; /* --uid NAME: that user's primary group */
	if (!have_euid)
		pi->euid = pi->uid;
	if (!have_egid)
		pi->egid = pi->gid;
	set_str(pi->comm, sizeof(pi->comm), comm ? comm : base_name(pi->exe));
	if (pcomm || pi->parent_exe[0]) {
		set_str(pi->parent_comm, sizeof(pi->parent_comm),
		        pcomm ? pcomm : base_name(pi->parent_exe));
		pi->have |= PI_HAVE_PARENT_COMM;
	}
	if (optind >= argc) {
		append_str(pi->argv, sizeof(pi->argv), &pi->argv_len, pi->exe);
		pi->argc = 1;
	}
	for (int i = optind; i < argc; i++) {
		if (append_str(pi->argv, sizeof(pi->argv), &pi->argv_len, argv[i]) < 0) {
			pi->flags |= PI_ARGV_TRUNCATED;
			break;
		}
		pi->argc++;
	}

	r = policy_load_configured(policies, n_policies, NULL, &p, &d);
	if (r < 0) {
		diags_print(&d, stderr);
		if (d.errors == 0)
			fprintf(stderr, "procwarden test: cannot load policy: %s\n", strerror(-r));
		rc = 1;
		goto out;
	}
	policy_eval(p, pi, &v);
	print_verdict(p, pi, &v);
	rc = 0;
out:
	policy_unref(p);
	diags_free(&d);
	free(pi);
	return rc;
}
