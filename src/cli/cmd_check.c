/*
 * cmd_check.c - `procwarden check PATH...`: validate policies.
 *
 * Overview: loads every path together, exactly as the agent would (so a
 * rule name repeated across files is caught), then prints a one-line
 * summary per file on stdout, or every error on stderr.  Owns nothing past
 * its return.  Exit: 0 valid, 1 invalid, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "procwarden/agent.h"
#include "procwarden/cli.h"
#include "procwarden/policy.h"

/* Print the usage text to f. */
static void check_usage(FILE *f)
{
	fprintf(f, "usage: procwarden check [--insecure-permissions] PATH...\n"
	           "  Load policy files or directories (*.yaml, *.yml) as the agent would,\n"
	           "  and judge what it judges before it starts (hooks that exist, files\n"
	           "  and directories only root can write); print a summary per file, or\n"
	           "  every error.  Exit 0: run would start with it; 1: it would not.\n"
	           "  --insecure-permissions  as run's: others may write the files\n"
	           "  --allow-deny  accepted, does nothing (deny rules are always allowed)\n"
	           "  --help        this text\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"allow-deny", no_argument, NULL, 'D'},
	    {"insecure-permissions", no_argument, NULL, 'I'},
	    {NULL, 0, NULL, 0},
	};
	bool insecure = false;
	char why[1024];
	struct policy_opts opts = {.warn_missing_files = 1};
	struct policy *p = NULL;
	struct diags d;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			check_usage(stdout);
			return 0;
		case 'D': /* accepted for old scripts: deny is always allowed now */
			break;
		case 'I':
			insecure = true;
			break;
		default:
			check_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "procwarden check: no policy path given\n");
		check_usage(stderr);
		return 2;
	}
	diags_init(&d);
	r = policy_load((const char *const *)(argv + optind), (size_t)(argc - optind), &opts, &p,
	                &d);
	if (r < 0) {
		diags_print(&d, stderr);
		if (d.errors == 0)
			fprintf(stderr, "procwarden check: cannot load policy: %s\n", strerror(-r));
		else
			fprintf(stderr, "procwarden check: %zu error%s, policy refused\n", d.errors,
			        d.errors == 1 ? "" : "s");
		diags_free(&d);
		return 1;
	}
	for (size_t i = 0; i < policy_file_count(p); i++) {
		const char *name = NULL;
		size_t rules = 0, actions = 0;

		policy_file_info(p, i, &name, &rules, &actions);
		printf("%s: %zu rule%s, %zu action%s\n", name, rules, rules == 1 ? "" : "s",
		       actions, actions == 1 ? "" : "s");
	}
	diags_print(&d, stderr); /* warnings, if any */
	diags_free(&d);
	/* what run refuses before it starts */
	r = agent_check_policy_files(p, (const char *const *)(argv + optind),
	                             (size_t)(argc - optind), insecure, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "procwarden check: %s\n", why);
		policy_unref(p);
		return 1;
	}
	if (policy_rule_count(p) == 0)
		fprintf(stderr, "procwarden check: warning: 0 rules: run would enforce nothing\n");
	policy_unref(p);
	return 0;
}
