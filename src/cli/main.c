/*
 * main.c - procwarden's entry point: dispatch to a command.
 */
#include <stdio.h>
#include <string.h>

#include "procwarden/cli.h"

/* Usage text. */
static void usage(FILE *f)
{
	fprintf(f, "usage: procwarden COMMAND [OPTIONS]\n"
	           "\n"
	           "commands:\n"
	           "  run      enforce the policy on every program launch (the agent)\n"
	           "  monitor  show every process event live (fork, exec, exit, ...)\n"
	           "  check    load policy files and report every error\n"
	           "  test     evaluate one imagined launch against the policy\n"
	           "  version  print the version\n"
	           "\n"
	           "'procwarden COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"run", cmd_run},
	    {"monitor", cmd_monitor},
	    {"check", cmd_check},
	    {"test", cmd_test},
	};

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("procwarden %s\n", PW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "procwarden: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
