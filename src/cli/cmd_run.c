/*
 * cmd_run.c - `procwarden run`: parse the options, start the agent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "procwarden/agent.h"
#include "cli/args.h"
#include "procwarden/cli.h"
#include "procwarden/policy.h"

/* Usage text. */
static void usage(FILE *f)
{
	fprintf(f,
	        "usage: procwarden run [--policy PATH]... [--log PATH|-] [--syslog|--journal]\n"
	        "                      [--syslog-facility NAME] [--syslog-min-severity LEVEL]\n"
	        "                      [--dry-run] [--trace PATH]\n"
	        "                      [--no-scan] [--metrics PATH] [--metrics-interval SECONDS]\n"
	        "                      [--rcvbuf BYTES] [--insecure-permissions] [--no-gate]\n"
	        "                      [--no-watch-exec] [--allow-empty-policy]\n"
	        "                      [--gate-fail open|closed]\n"
	        "                      [--uid-record-budget BYTES]\n"
	        "  --policy PATH   a policy file or directory (*.yaml, *.yml); repeatable.\n"
	        "                  Default: /etc/procwarden/policy.d if it exists, else the\n"
	        "                  built-in default policy.\n"
	        "  --log PATH      append JSON lines to PATH ('-': standard output, the default)\n"
	        "  --trace PATH    also append every launch, whatever the policy says, to PATH\n"
	        "                  as an exec record (for replay and learn; reopened with the\n"
	        "                  log on SIGHUP and SIGUSR1); with --dry-run and an empty\n"
	        "                  policy: observation only\n"
	        "  --syslog        also send records to syslog (facility authpriv)\n"
	        "  --journal       instead of --syslog: send records to the systemd journal\n"
	        "                  as native entries (MESSAGE: the JSON line; PRIORITY,\n"
	        "                  PROCWARDEN_RULE, _PID, _EXE, _TYPE, _UID, _SEVERITY, _SEQ)\n"
	        "  --syslog-facility NAME  with --syslog or --journal: auth, authpriv (the\n"
	        "                  default), daemon, user, local0 ... local7\n"
	        "  --syslog-min-severity LEVEL  with --syslog or --journal: only records of this\n"
	        "                  severity or more (info, notice, warning, error,\n"
	        "                  critical; default info: all) go to syslog too, the\n"
	        "                  rest to the log file only\n"
	        "  --dry-run       evaluate and log everything; send no signal, run no hook\n"
	        "  --no-scan       do not apply the policy to processes already running\n"
	        "  --metrics PATH  write Prometheus counters to PATH (its directory root's\n"
	        "                  and writable only by root)\n"
	        "  --metrics-interval SECONDS  how often (default 5)\n"
	        "  --rcvbuf BYTES  netlink receive buffer (K, M, G; default 8M)\n"
	        "  --insecure-permissions  accept policy files and hooks that others can\n"
	        "                  write (said in the start record)\n"
	        "  --no-gate       no fanotify gate: 'deny' rules kill right after the exec\n"
	        "                  instead of blocking it\n"
	        "  --gate-fail open|closed  what the gate answers an exec it cannot decide\n"
	        "                  within 250 ms of reading it (a stuck decision) or at all\n"
	        "                  (an unreadable request): allow (open, the default) or\n"
	        "                  deny (closed, for kiosks; its queue is then unlimited,\n"
	        "                  so that no overflow lets an exec through); recorded\n"
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
	        "                  and said in loss records (class uid_budget)\n"
	        "For testing and benchmarks:\n"
	        "  --batch N       datagrams per receive (1-256; default 64)\n"
	        "  --ring N        events the listener's queue holds (default 16384)\n"
	        "  --no-seccomp    do not load the seccomp filter (sanitizers, valgrind)\n"
	        "  --help          this text\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"log", required_argument, NULL, 'l'},
	    {"trace", required_argument, NULL, 'T'},
	    {"syslog", no_argument, NULL, 's'},
	    {"journal", no_argument, NULL, 'J'},
	    {"syslog-facility", required_argument, NULL, 'F'},
	    {"syslog-min-severity", required_argument, NULL, 'M'},
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
	    {"gate-fail", required_argument, NULL, 'K'},
	    {"watch-exec", no_argument, NULL, 'W'},
	    {"no-watch-exec", no_argument, NULL, 'X'},
	    {"allow-empty-policy", no_argument, NULL, 'E'},
	    {"uid-record-budget", required_argument, NULL, 'U'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct agent_opts o = {.watch_exec = true};
	const char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	uint64_t v;
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
		case 'T':
			o.trace_path = optarg;
			break;
		case 's':
			o.syslog = true;
			break;
		case 'J':
			o.journal = true;
			break;
		case 'F': {
			static const struct {
				const char *name;
				int fac;
			} facs[] = {{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV},
			            {"daemon", LOG_DAEMON}, {"user", LOG_USER},
			            {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
			            {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
			            {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
			            {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
			size_t i = 0;
			while (i < sizeof(facs) / sizeof(facs[0]) && strcmp(facs[i].name, optarg))
				i++;
			if (i == sizeof(facs) / sizeof(facs[0])) {
				fprintf(stderr,
				        "procwarden run: --syslog-facility: unknown facility '%s' "
				        "(auth, authpriv, daemon, user, local0 ... local7)\n",
				        optarg);
				goto bad;
			}
			o.syslog_facility = facs[i].fac;
			break;
		}
		case 'M': {
			int sev = policy_severity_parse(optarg);
			if (sev < 0) {
				fprintf(
				    stderr,
				    "procwarden run: --syslog-min-severity: unknown severity '%s' "
				    "(info, notice, warning, error, critical)\n",
				    optarg);
				goto bad;
			}
			o.syslog_max_prio = pw_severity_syslog(sev);
			break;
		}
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
			if (cli_number("run", "metrics-interval", optarg, false, 1, 86400, &v) < 0)
				goto bad;
			o.metrics_interval_s = (unsigned)v;
			break;
		case 'b':
			if (cli_number("run", "rcvbuf", optarg, true, 1, 1ull << 30, &v) < 0)
				goto bad;
			o.rcvbuf = v;
			break;
		case 'B':
			if (cli_number("run", "batch", optarg, false, 1, 256, &v) < 0)
				goto bad;
			o.batch = (unsigned)v;
			break;
		case 'R':
			if (cli_number("run", "ring", optarg, false, 1, 1u << 24, &v) < 0)
				goto bad;
			o.ring_capacity = v;
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
		case 'K':
			if (strcmp(optarg, "open") && strcmp(optarg, "closed")) {
				fprintf(stderr,
				        "procwarden run: --gate-fail: '%s' is not open or closed\n",
				        optarg);
				goto bad;
			}
			o.gate_fail_closed = !strcmp(optarg, "closed");
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
		case 'U': /* bytes a minute; 0: no budget */
			if (cli_number("run", "uid-record-budget", optarg, true, 0, 1ull << 40,
			               &v) < 0)
				goto bad;
			o.uid_record_budget = v ? v : UINT64_MAX;
			break;
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
	if (o.syslog && o.journal) {
		fprintf(stderr, "procwarden run: --syslog and --journal: choose one (the journal "
		                "forwards to syslog)\n");
		goto bad;
	}
	o.syslog |= o.journal; /* the journal is syslog's transport then */
	if (0) {
	bad:
		free(paths);
		return 2;
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
