/*
 * harden.c - trust checks and self-confinement (see issue: hardening).
 *
 * Overview: agent_check_trust() and agent_confine() are called once at
 * startup by agent_run().  This file is the place for the policy-file
 * ownership checks, capability dropping and the seccomp allowlist.
 */
#include "agent/agent_int.h"

int agent_check_trust(struct agent *a, char *why, size_t whylen)
{
	(void)a;
	(void)why;
	(void)whylen;
	return 0;
}

int agent_confine(struct agent *a, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	a->confined = false;
	return 0;
}
