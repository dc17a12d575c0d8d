/*
 * args.c - option values for the commands (see args.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"

int cli_number(const char *cmd, const char *flag, const char *arg, bool suffixes, uint64_t min,
               uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (suffixes && end != arg)
		mul = *end == 'K'   ? 1ull << 10
		      : *end == 'M' ? 1ull << 20
		      : *end == 'G' ? 1ull << 30
		                    : 1;
	if (mul > 1)
		end++;
	if (end == arg || *end || errno || arg[0] == '-' || v > max / mul || v * mul < min ||
	    v * mul > max) {
		fprintf(stderr,
		        "procwarden %s: --%s wants %s from %" PRIu64 " to %" PRIu64 ", not '%s'\n",
		        cmd, flag, suffixes ? "a number (K, M, G: KiB, MiB, GiB)" : "a number", min,
		        max, arg);
		return -1;
	}
	*ret = v * mul;
	return 0;
}
