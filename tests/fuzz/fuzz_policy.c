/*
 * fuzz_policy.c - libFuzzer target for the policy loader.
 *
 * Overview: feeds arbitrary bytes to policy_load_buffer() and, when they
 * load, evaluates one launch against the result, so the compiled indexes
 * and matchers are exercised too.  Owns nothing across calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proc_info pi;
	struct policy_opts opts = {0};
	struct policy *p = NULL;
	struct policy_verdict v;
	struct diags d;

	diags_init(&d);
	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &opts, &p, &d) == 0) {
		if (!pi.exe[0]) {
			strcpy(pi.exe, "/usr/bin/bash");
			strcpy(pi.comm, "bash");
			strcpy(pi.parent_exe, "/usr/sbin/nginx");
			strcpy(pi.parent_comm, "nginx");
			memcpy(pi.argv, "sh\0-c\0/tmp/x", 13);
			pi.argv_len = 13;
			pi.argc = 3;
			memcpy(pi.ancestors, "/usr/lib/systemd/systemd", 25);
			pi.ancestors_len = 25;
			pi.n_ancestors = 1;
			pi.uid = pi.euid = 33;
			pi.gid = pi.egid = 33;
		}
		policy_eval(p, &pi, &v);
		policy_eval_preexec(p, &pi, &v);
		const char *const *dirs;
		(void)policy_deny_dirs(p, &dirs);
		policy_unref(p);
	}
	free(diags_join(&d));
	diags_free(&d);
	return 0;
}
