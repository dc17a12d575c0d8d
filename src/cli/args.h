/* Internal to src/cli: option values that must parse, or the command stops. */
#ifndef PROCWARDEN_CLI_ARGS_H
#define PROCWARDEN_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* Parse arg, the value of --flag of procwarden cmd: a decimal number (with
 * suffixes: K, M or G as powers of 1024) within [min, max].  0 and *ret;
 * -1 after printing why to standard error (the caller exits with 2). */
int cli_number(const char *cmd, const char *flag, const char *arg, bool suffixes, uint64_t min,
               uint64_t max, uint64_t *ret);

#endif
