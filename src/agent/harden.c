/*
 * harden.c - trust checks, least privilege and self-confinement.
 *
 * Overview: agent_run() calls, in this order: agent_check_trust() once the
 * policy has loaded (and reload() again on every SIGHUP, before the swap);
 * agent_drop_privileges() right after subscribing, before any thread of the
 * agent exists (capabilities are per thread: threads started later inherit
 * the reduced set); agent_confine() once everything is open and running.
 *
 * Capabilities kept (CapEff = CapPrm = CapBnd): CAP_KILL, to signal other
 * users' processes; CAP_SYS_PTRACE, to read other users' /proc/PID/exe (a
 * ptrace access check; cmdline, stat and status need nothing on Linux 6.x;
 * CAP_DAC_READ_SEARCH does not help for exe, found by experiment);
 * CAP_DAC_READ_SEARCH only with the exec watch by names (--watch-exec), for
 * open_by_handle_at of the directories its events name.  Not kept:
 * CAP_NET_ADMIN (SO_RCVBUFFORCE is set before the drop; subscribing and
 * unsubscribing need nothing since Linux 6.6), CAP_SYS_ADMIN (no fanotify in
 * this build), CAP_DAC_OVERRIDE (the policy, log and metrics live in
 * root-owned places that uid 0 reads and writes by their modes).
 *
 * Seccomp: one process-wide allowlist loaded with TSYNC (the evaluator, the
 * output writer and the listener get it atomically), then the listener
 * stacks the narrower listener profile on itself (nl_source_confine()).  The
 * output writer keeps the process-wide list: it needs everything the
 * evaluator needs but signals (syslog reconnects, log reopen).  The lists
 * are in src/util/sandbox.c; the hook executor loads its own in its process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "agent/record.h"
#include "agent/trust.h"
#include "procwarden/gate.h"
#include "procwarden/nl.h"
#include "procwarden/output.h"
#include "procwarden/policy.h"
#include "procwarden/sandbox.h"

/* The capabilities the agent keeps after setup (see the overview). */
#define KEEP_CAPS ((1ull << CAP_KILL) | (1ull << CAP_SYS_PTRACE))

/* stat(2) for trust_check_chain(). */
static int real_stat(const char *path, struct stat *st, void *arg)
{
	(void)arg;
	return stat(path, st) < 0 ? -errno : 0;
}

/* Check one path given by the user (a policy or a hook) and, when it is a
 * symlink or names one, the directory that holds the link too.  kind is
 * "policy" or "hook"; 0 or negative errno with why filled. */
static int check_path(const char *kind, const char *path, char *why, size_t whylen)
{
	char real[PATH_MAX], reason[PATH_MAX + 128], dir[PATH_MAX];
	const char *what = kind;
	bool target = false;
	int r;

	if (!realpath(path, real)) {
		r = -errno;
		snprintf(why, whylen, "refusing %s '%s': it cannot be resolved (%s)", kind, path,
		         strerror(errno));
		return r;
	}
	r = trust_check_chain(real, geteuid(), real_stat, NULL, reason, sizeof(reason), &target);
	if (r == 0 && strcmp(real, path)) {
		/* the link itself: whoever can write its directory can repoint it */
		const char *slash = strrchr(path, '/');
		size_t dl = slash ? (size_t)(slash - path) : 0;

		snprintf(dir, sizeof(dir), "%.*s", (int)(dl ? dl : 1), slash ? path : ".");
		if (realpath(dir, real))
			r = trust_check_chain(real, geteuid(), real_stat, NULL, reason,
			                      sizeof(reason), &target);
		target = false;
	}
	if (r == 0)
		return 0;
	if (r != -EPERM)
		snprintf(why, whylen, "refusing %s '%s': %s", what, path, reason);
	else if (target)
		snprintf(why, whylen,
		         "refusing %s '%s': %s; make it root's and writable only by root "
		         "(chown root: '%s'; chmod go-w '%s'), or run with --insecure-permissions",
		         what, path, reason, path, path);
	else
		snprintf(why, whylen,
		         "refusing %s '%s': %s; move the %s to a root-owned directory that only "
		         "root can write, or run with --insecure-permissions",
		         what, path, reason, kind);
	return r;
}

int agent_check_metrics_dir(struct agent *a, char *why, size_t whylen)
{
	const char *path = a->o->metrics_path, *slash;
	char dir[PATH_MAX];

	if (!path || a->o->insecure_permissions)
		return 0;
	/* the file is replaced by a rename in its directory: whoever can write
	 * that directory decides what the exporter reads */
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash > path ? slash - path : 1) : 1,
	         slash ? path : ".");
	return check_path("metrics directory", dir, why, whylen);
}

int agent_check_trust(struct agent *a, const struct policy *p, char *why, size_t whylen)
{
	return agent_check_policy_files(p, a->o->policy_paths, a->o->n_policy_paths,
	                                a->o->insecure_permissions, why, whylen);
}

int agent_check_policy_files(const struct policy *p, const char *const *paths, size_t n_paths,
                             bool insecure, char *why, size_t whylen)
{
	struct stat st;
	int r;

	/* a hook that does not exist is an error whatever the permissions */
	for (uint32_t i = 0; p && i < policy_rule_count(p); i++) {
		const struct policy_hook *h;
		size_t nh = policy_rule_hooks(p, i, &h);

		for (size_t k = 0; k < nh; k++) {
			const char *exe = h[k].argv[0];

			if (stat(exe, &st) < 0) {
				r = -errno;
				snprintf(why, whylen, "cannot use hook '%s' of rule '%s': %s", exe,
				         policy_rule_name(p, i), strerror(errno));
				return r;
			}
			if (!S_ISREG(st.st_mode)) {
				snprintf(why, whylen,
				         "cannot use hook '%s' of rule '%s': not a file", exe,
				         policy_rule_name(p, i));
				return -EINVAL;
			}
			if (insecure)
				continue;
			r = check_path("hook", exe, why, whylen);
			if (r < 0)
				return r;
		}
	}
	if (insecure)
		return 0;
	for (size_t i = 0; i < n_paths; i++) {
		r = check_path("policy", paths[i], why, whylen);
		if (r < 0)
			return r;
	}
	if (!n_paths && stat(POLICY_DEFAULT_DIR, &st) == 0) {
		r = check_path("policy", POLICY_DEFAULT_DIR, why, whylen);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; p && i < policy_file_count(p); i++) {
		const char *name;
		size_t nr, na;

		policy_file_info(p, i, &name, &nr, &na);
		if (name[0] == '<')
			continue; /* built in */
		r = check_path("policy", name, why, whylen);
		if (r < 0)
			return r;
	}
	return 0;
}

int agent_drop_privileges(struct agent *a, char *why, size_t whylen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	uint64_t eff, prm, keep = KEEP_CAPS;
	bool setpcap;

	if (a->watch && gate_names(a->watch))
		keep |= 1ull << CAP_DAC_READ_SEARCH;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0) {
		snprintf(why, whylen, "cannot read the capabilities: %s", strerror(errno));
		return -errno;
	}
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	setpcap = eff & (1ull << CAP_SETPCAP);
	/* the hot path -- this thread (the evaluator), the listener and the
	 * gate's threads, started next -- runs at AGENT_HOT_NICE (needs
	 * CAP_SYS_NICE, kept by no thread after this; best effort); the output
	 * writer goes back to the nice value the agent was started with
	 * (raising a nice value needs nothing), and the hook executor, started
	 * before, keeps it */
	errno = 0;
	a->nice = getpriority(PRIO_PROCESS, 0);
	if (errno == 0 && a->nice > AGENT_HOT_NICE)
		a->boosted = setpriority(PRIO_PROCESS, 0, AGENT_HOT_NICE) == 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, whylen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/* the bounding set: what no exec could ever regain (needs CAP_SETPCAP;
	 * without it the agent already runs with less) */
	for (int cap = 0; setpcap && cap < 64; cap++) {
		if ((keep >> cap) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(why, whylen, "cannot drop capability %d from the bounding set: %s",
			         cap, strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		snprintf(why, whylen, "cannot clear the ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	prm &= keep;
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)prm;
	data[1].permitted = data[1].effective = (uint32_t)(prm >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0) {
		snprintf(why, whylen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

#ifdef PW_TEST_HOOKS
/* Test-only (PROCWARDEN_TEST_FORBIDDEN=1): what a call outside the list did,
 * "errno N (text)" -- EPERM is the filter; ENOENT would mean it ran. */
static char test_listener_result[96];

/* Try a call the agent profile allows but the listener's does not (rename:
 * ENOENT if it ran, EPERM from the filter). */
static void test_listener_forbidden(void)
{
	if (rename("/nonexistent/procwarden-a", "/nonexistent/procwarden-b") == 0)
		snprintf(test_listener_result, sizeof(test_listener_result), "allowed");
	else
		snprintf(test_listener_result, sizeof(test_listener_result), "errno %d (%s)", errno,
		         strerror(errno));
}

/* Try execve (outside the agent's list) on the evaluator thread, and log
 * both results as an `error` record. */
static void test_forbidden(struct agent *a)
{
	char *const argv[] = {(char *)(uintptr_t) "/nonexistent/procwarden-test", NULL};
	char line[512], detail[256];
	struct jbuf j;
	int e;

	if (!getenv("PROCWARDEN_TEST_FORBIDDEN"))
		return;
	execve(argv[0], argv, argv + 1);
	e = errno;
	snprintf(detail, sizeof(detail), "evaluator execve: errno %d (%s); listener rename: %s", e,
	         strerror(e), test_listener_result[0] ? test_listener_result : "not tried");
	record_begin(&j, line, sizeof(line), "error");
	json_kv_str(&j, "error", "test: forbidden system calls");
	json_kv_str(&j, "detail", detail);
	output_write(a->out, line, json_finish(&j), -1);
}
#endif

/* On the listener thread: stack the listener profile. */
static int confine_listener(void *arg)
{
	int r = sandbox_apply(SANDBOX_LISTENER, SANDBOX_STACKED);

	(void)arg;
#ifdef PW_TEST_HOOKS
	if (r == 0 && getenv("PROCWARDEN_TEST_FORBIDDEN"))
		test_listener_forbidden();
#endif
	return r;
}

int agent_confine(struct agent *a, char *why, size_t whylen)
{
	int r;

	a->confined = false;
	if (a->o->no_seccomp)
		return 0;
	r = sandbox_apply(SANDBOX_AGENT, SANDBOX_TSYNC);
	if (r < 0) {
		snprintf(why, whylen,
		         "cannot install the seccomp filter: %s (--no-seccomp runs "
		         "without it)",
		         strerror(-r));
		return r;
	}
	r = nl_source_confine(a->src, confine_listener, a, 2000);
	if (r < 0) {
		snprintf(why, whylen, "cannot confine the listener thread: %s", strerror(-r));
		return r;
	}
	a->confined = true;
#ifdef PW_TEST_HOOKS
	test_forbidden(a);
#endif
	return 0;
}
