/*
 * cmd_run.c - `procwarden run`: parse the options, start the agent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/agent.h"
#include "procwarden/cli.h"

/* Usage text. */
static void usage(FILE *f)
{
	fprintf(f,
	        "usage: procwarden run [--policy PATH]... [--log PATH|-] [--syslog] [--dry-run]\n"
	        "                      [--no-scan] [--metrics PATH] [--metrics-interval SECONDS]\n"
	        "                      [--rcvbuf BYTES] [--insecure-permissions] [--no-gate]\n"
	        "                      [--no-watch-exec] [--allow-empty-policy]\n"
	        "                      [--uid-record-budget BYTES]\n"
	        "  --policy PATH   a policy file or directory (*.yaml, *.yml); repeatable.\n"
	        "                  Default: /etc/procwarden/policy.d if it exists, else the\n"
	        "                  built-in default policy.\n"
	        "  --log PATH      append JSON lines to PATH ('-': standard output, the default)\n"
	        "  --syslog        also send records to syslog (facility authpriv)\n"
	        "  --dry-run       evaluate and log everything; send no signal, run no hook\n"
	        "  --no-scan       do not apply the policy to processes already running\n"
	        "  --metrics PATH  write Prometheus counters to PATH every few seconds\n"
	        "  --rcvbuf BYTES  netlink receive buffer (default 8 MiB)\n"
	        "  --no-gate       no fanotify gate: 'deny' rules kill right after the exec\n"
	        "                  instead of blocking it\n"
	        "  --no-watch-exec do not learn what every launch runs from fanotify\n"
	        "                  (FAN_OPEN_EXEC notifications on every filesystem programs\n"
	        "                  run from, on by default; they hold nothing up): a launch\n"
	        "                  gone before /proc could show it then stays unnamed\n"
	        "  --watch-exec    the default, accepted for compatibility\n"
	        "  --allow-empty-policy  let a reload (SIGHUP) replace a policy that kills or\n"
	        "                  denies by none: the policy directory gone (the built-in\n"
	        "                  default) or holding no rules; refused otherwise\n"
	        "  --uid-record-budget BYTES  of records per uid per minute (K, M, G;\n"
	        "                  default 64M; 0: no budget) for launches neither killed nor\n"
	        "                  denied and below severity warning; the rest are counted\n"
	        "                  and said in loss records (class uid_budget)\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"log", required_argument, NULL, 'l'},
	    {"syslog", no_argument, NULL, 's'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"no-scan", no_argument, NULL, 'S'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"metrics-interval", required_argument, NULL, 'i'},
	    {"rcvbuf", required_argument, NULL, 'b'},
	    {"batch", required_argument, NULL, 'B'},
	    {"ring", required_argument, NULL, 'R'},
	    {"insecure-permissions", no_argument, NULL, 'I'},
	    {"no-seccomp", no_argument, NULL, 'Z'},
	    {"no-gate", no_argument, NULL, 'G'},
	    {"watch-exec", no_argument, NULL, 'W'},
	    {"no-watch-exec", no_argument, NULL, 'X'},
	    {"allow-empty-policy", no_argument, NULL, 'E'},
	    {"uid-record-budget", required_argument, NULL, 'U'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct agent_opts o = {.watch_exec = true};
	const char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	int c, rc;

	if (!paths) {
		fprintf(stderr, "procwarden run: out of memory\n");
		return 2;
	}
	o.policy_paths = paths;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			paths[o.n_policy_paths++] = optarg;
			break;
		case 'l':
			o.log_path = optarg;
			break;
		case 's':
			o.syslog = true;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'S':
			o.no_scan = true;
			break;
		case 'm':
			o.metrics_path = optarg;
			break;
		case 'i':
			o.metrics_interval_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			o.rcvbuf = strtoull(optarg, NULL, 0);
			break;
		case 'B':
			o.batch = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'R':
			o.ring_capacity = strtoull(optarg, NULL, 0);
			break;
		case 'I':
			o.insecure_permissions = true;
			break;
		case 'Z':
			o.no_seccomp = true;
			break;
		case 'G':
			o.no_gate = true;
			break;
		case 'W':
			o.watch_exec = true;
			break;
		case 'X':
			o.watch_exec = false;
			break;
		case 'E':
			o.allow_empty_policy = true;
			break;
		case 'U': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			unsigned long long mul = *end == 'K'   ? 1ull << 10
			                         : *end == 'M' ? 1ull << 20
			                         : *end == 'G' ? 1ull << 30
			                                       : 1;
			if (mul > 1)
				end++;
			if (*end || end == optarg || v > (UINT64_MAX >> 31)) {
				fprintf(stderr,
				        "procwarden run: --uid-record-budget wants bytes per "
				        "minute (a number, K, M or G; 0: none)\n");
				return 2;
			}
			o.uid_record_budget = v ? v * mul : UINT64_MAX;
			break;
		}
		case 'h':
			usage(stdout);
			free(paths);
			return 0;
		default:
			usage(stderr);
			free(paths);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "procwarden run: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		free(paths);
		return 2;
	}
	rc = agent_run(&o);
	free(paths);
	return rc;
}
