/*
 * cli.h - the procwarden commands.  main() dispatches on argv[1] and calls
 * one of these with argv shifted so that argv[0] is the command name
 * ("check", "test", ...), ready for getopt_long.  Each returns the process
 * exit code: 0 success, 1 a policy or check failure, 2 a usage or
 * environment error (for example: cannot subscribe to the proc connector).
 * Only this layer prints to people.
 */
#ifndef PROCWARDEN_CLI_H
#define PROCWARDEN_CLI_H

int cmd_monitor(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_test(int argc, char **argv);

#endif
