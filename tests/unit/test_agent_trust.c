/*
 * test_agent_trust.c - the ownership and mode rule for policies and hooks,
 * and the seccomp profiles' shape.
 *
 * Overview: trust_check_chain() runs on an invented tree (a table of paths
 * with owner and mode, served by a fake stat), so every case -- a group- or
 * world-writable file, a foreign owner, a sticky world-writable directory
 * above, a missing component -- is checked without touching the system.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agent/trust.h"
#include "procwarden/sandbox.h"

struct fake_node {
	const char *path;
	uid_t uid;
	mode_t mode;
};

static const struct fake_node tree[] = {
    {"/", 0, S_IFDIR | 0755},
    {"/etc", 0, S_IFDIR | 0755},
    {"/etc/procwarden", 0, S_IFDIR | 0755},
    {"/etc/procwarden/ok.yaml", 0, S_IFREG | 0644},
    {"/etc/procwarden/gw.yaml", 0, S_IFREG | 0664},
    {"/etc/procwarden/ww.yaml", 0, S_IFREG | 0666},
    {"/etc/procwarden/theirs.yaml", 64050, S_IFREG | 0644},
    {"/etc/procwarden/mine.yaml", 1000, S_IFREG | 0600},
    {"/tmp", 0, S_IFDIR | 01777},
    {"/tmp/x", 0, S_IFDIR | 0755},
    {"/tmp/x/p.yaml", 0, S_IFREG | 0644},
    {"/srv", 0, S_IFDIR | 0775},
    {"/srv/hook", 0, S_IFREG | 0755},
    {"/opt", 64050, S_IFDIR | 0755},
    {"/opt/hook", 0, S_IFREG | 0755},
};

/* stat over the table. */
static int fake_stat(const char *path, struct stat *st, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		if (!strcmp(tree[i].path, path)) {
			memset(st, 0, sizeof(*st));
			st->st_uid = tree[i].uid;
			st->st_mode = tree[i].mode;
			return 0;
		}
	}
	return -ENOENT;
}

/* Run the check as root (owner 0); returns its result, why in why. */
static int check(const char *path, char *why, size_t len, bool *target)
{
	return trust_check_chain(path, 0, fake_stat, NULL, why, len, target);
}

static void test_trusted(void **state)
{
	char why[256];
	bool target;

	(void)state;
	assert_int_equal(check("/etc/procwarden/ok.yaml", why, sizeof(why), &target), 0);
	assert_int_equal(check("/etc/procwarden", why, sizeof(why), &target), 0);
	assert_int_equal(check("/etc/procwarden/", why, sizeof(why), &target), 0);
	assert_int_equal(check("/", why, sizeof(why), &target), 0);
}

static void test_group_writable(void **state)
{
	char why[256];
	bool target;

	(void)state;
	assert_int_equal(check("/etc/procwarden/gw.yaml", why, sizeof(why), &target), -EPERM);
	assert_true(target);
	assert_string_equal(why, "file '/etc/procwarden/gw.yaml' is writable by group (mode 0664)");
	assert_int_equal(check("/etc/procwarden/ww.yaml", why, sizeof(why), &target), -EPERM);
	assert_string_equal(why,
	                    "file '/etc/procwarden/ww.yaml' is writable by others (mode 0666)");
}

static void test_foreign_owner(void **state)
{
	char why[256];
	bool target;

	(void)state;
	assert_int_equal(check("/etc/procwarden/theirs.yaml", why, sizeof(why), &target), -EPERM);
	assert_true(target);
	assert_string_equal(why,
	                    "file '/etc/procwarden/theirs.yaml' is owned by uid 64050, not root");
	/* the agent's own uid is fine when it is not root */
	assert_int_equal(trust_check_chain("/etc/procwarden/mine.yaml", 1000, fake_stat, NULL, why,
	                                   sizeof(why), &target),
	                 0);
	/* a foreign directory above a root-owned hook */
	assert_int_equal(check("/opt/hook", why, sizeof(why), &target), -EPERM);
	assert_false(target);
	assert_string_equal(why, "directory '/opt' is owned by uid 64050, not root");
}

static void test_sticky_dir_above(void **state)
{
	char why[256];
	bool target;

	(void)state;
	assert_int_equal(check("/tmp/x/p.yaml", why, sizeof(why), &target), -EPERM);
	assert_false(target);
	assert_string_equal(why, "directory '/tmp' is writable by others (mode 1777)");
	assert_int_equal(check("/srv/hook", why, sizeof(why), &target), -EPERM);
	assert_string_equal(why, "directory '/srv' is writable by group (mode 0775)");
}

static void test_missing_and_relative(void **state)
{
	char why[256];
	bool target;

	(void)state;
	assert_int_equal(check("/etc/procwarden/none.yaml", why, sizeof(why), &target), -ENOENT);
	assert_non_null(strstr(why, "cannot check '/etc/procwarden/none.yaml'"));
	assert_int_equal(check("etc/x", why, sizeof(why), &target), -EINVAL);
}

/* The profiles: the agent may not exec or fork; the hook executor may. */
static void test_profiles(void **state)
{
	static const char *const agent_never[] = {"execve", "execveat",    "fork",   "vfork",
	                                          "ptrace", "setuid",      "capset", "mount",
	                                          "bpf",    "init_module", NULL};
	bool has_execve = false;

	(void)state;
	for (const char *const *n = sandbox_syscalls(SANDBOX_AGENT); *n; n++)
		for (size_t i = 0; agent_never[i]; i++)
			assert_string_not_equal(*n, agent_never[i]);
	/* the listener opens only /proc/PID/exe (O_PATH) to pin the program */
	for (const char *const *n = sandbox_syscalls(SANDBOX_LISTENER); *n; n++) {
		assert_string_not_equal(*n, "rename");
		assert_string_not_equal(*n, "unlink");
		assert_string_not_equal(*n, "socket");
		assert_string_not_equal(*n, "connect");
		assert_string_not_equal(*n, "readlink");
	}
	for (const char *const *n = sandbox_syscalls(SANDBOX_HOOKEXEC); *n; n++) {
		has_execve |= !strcmp(*n, "execve");
		assert_string_not_equal(*n, "ptrace");
		assert_string_not_equal(*n, "init_module");
		assert_string_not_equal(*n, "kexec_load");
	}
	assert_true(has_execve);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trusted),
	    cmocka_unit_test(test_group_writable),
	    cmocka_unit_test(test_foreign_owner),
	    cmocka_unit_test(test_sticky_dir_above),
	    cmocka_unit_test(test_missing_and_relative),
	    cmocka_unit_test(test_profiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
