/*
 * event.c - names of connector event types.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "procwarden/event.h"

static const struct {
	uint32_t type;
	const char *name;
} event_names[] = {
	{PW_EV_FORK, "fork"},     {PW_EV_EXEC, "exec"},         {PW_EV_EXIT, "exit"},
	{PW_EV_UID, "uid"},       {PW_EV_GID, "gid"},           {PW_EV_SID, "sid"},
	{PW_EV_PTRACE, "ptrace"}, {PW_EV_COMM, "comm"},         {PW_EV_COREDUMP, "coredump"},
	{PW_EV_OVERRUN, "overrun"}, {PW_EV_NONE, "none"},
};

const char *pw_event_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (event_names[i].type == type)
			return event_names[i].name;
	return "?";
}

int pw_event_parse_list(const char *list, uint32_t *ret_mask, char *bad, size_t badlen)
{
	uint32_t mask = 0;
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		int found = 0;

		if (n == 3 && strncasecmp(p, "all", 3) == 0) {
			mask |= PW_EV_ALL_KERNEL;
			found = 1;
		}
		for (size_t i = 0; !found && i < sizeof(event_names) / sizeof(event_names[0]); i++) {
			uint32_t t = event_names[i].type;
			if (!(t & PW_EV_ALL_KERNEL))
				continue;
			if (strlen(event_names[i].name) == n &&
			    strncasecmp(p, event_names[i].name, n) == 0) {
				mask |= t;
				found = 1;
			}
		}
		if (!found) {
			if (bad && badlen)
				snprintf(bad, badlen, "%.*s", (int)n, p);
			return -EINVAL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!mask) {
		if (bad && badlen)
			snprintf(bad, badlen, "%s", list);
		return -EINVAL;
	}
	*ret_mask = mask;
	return 0;
}
