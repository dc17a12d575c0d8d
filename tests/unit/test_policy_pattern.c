/*
 * test_policy_pattern.c - every kind of pattern and id condition.
 *
 * Overview: each case loads a one-rule policy testing one field with one
 * pattern, then evaluates launches that must and must not match it.
 */
#include "policy_helpers.h"

/* Does a one-rule policy "FIELD: VALUE" match launch pi?  value is YAML. */
static int field_matches(const char *field, const char *value, const struct proc_info *pi)
{
	char text[2048];
	struct policy_verdict v;
	struct policy *p;
	int n;

	snprintf(text, sizeof(text),
	         "version: 1\nrules:\n  - name: r\n    match:\n      %s: %s\n"
	         "    actions: [log]\n",
	         field, value);
	p = load_ok(text);
	n = policy_eval(p, pi, &v);
	assert_int_equal(v.match_errors, 0);
	policy_unref(p);
	return n;
}

/* Does exe pattern (single-quoted YAML) match path? */
static int exe_matches(const char *pattern, const char *path)
{
	char value[1024];
	struct proc_info *pi = pi_new(path, 1000);
	int r;

	snprintf(value, sizeof(value), "'%s'", pattern);
	r = field_matches("exe", value, pi);
	free(pi);
	return r;
}

static void test_exact(void **state)
{
	(void)state;
	assert_true(exe_matches("/usr/bin/ls", "/usr/bin/ls"));
	assert_false(exe_matches("/usr/bin/ls", "/usr/bin/lsblk"));
	assert_false(exe_matches("/usr/bin/ls", "/usr/bin/l"));
	assert_false(exe_matches("/usr/bin/ls", "/usr/bin/LS"));
	assert_false(exe_matches("/usr/bin/ls", "/bin/ls"));
}

static void test_star(void **state)
{
	(void)state;
	assert_true(exe_matches("/usr/bin/*sh", "/usr/bin/bash"));
	assert_true(exe_matches("/usr/bin/*sh", "/usr/bin/sh"));
	assert_false(exe_matches("/usr/bin/*sh", "/usr/bin/x/bash"));
	assert_false(exe_matches("/usr/bin/*sh", "/usr/bin/bashx"));
	assert_true(exe_matches("/tmp/*", "/tmp/a"));
	assert_false(exe_matches("/tmp/*", "/tmp/a/b"));
	assert_true(exe_matches("/*/bin/ls", "/usr/bin/ls"));
	assert_false(exe_matches("/*/bin/ls", "/usr/local/bin/ls"));
	assert_true(exe_matches("/opt/*/bin/*", "/opt/app/bin/run"));
	assert_false(exe_matches("/opt/*/bin/*", "/opt/app/x/bin/run"));
	assert_true(exe_matches("/a*b*c", "/abxbyc"));
	assert_false(exe_matches("/a*b*c", "/ab/c"));
}

static void test_double_star(void **state)
{
	(void)state;
	/* at the start */
	assert_true(exe_matches("**/sh", "/bin/sh"));
	assert_true(exe_matches("**/sh", "/a/b/c/sh"));
	assert_true(exe_matches("**/sh", "sh"));
	assert_false(exe_matches("**/sh", "/bin/bash"));
	/* in the middle, including zero directories */
	assert_true(exe_matches("/usr/**/bin/x", "/usr/bin/x"));
	assert_true(exe_matches("/usr/**/bin/x", "/usr/local/bin/x"));
	assert_true(exe_matches("/usr/**/bin/x", "/usr/a/b/c/bin/x"));
	assert_false(exe_matches("/usr/**/bin/x", "/usr/local/sbin/x"));
	assert_false(exe_matches("/usr/**/bin/x", "/opt/bin/x"));
	/* at the end */
	assert_true(exe_matches("/opt/kiosk/**", "/opt/kiosk/app"));
	assert_true(exe_matches("/opt/kiosk/**", "/opt/kiosk/a/b/c"));
	assert_false(exe_matches("/opt/kiosk/**", "/opt/kiosk"));
	assert_false(exe_matches("/opt/kiosk/**", "/opt/kioskx/app"));
	assert_false(exe_matches("/opt/kiosk/**", "/usr/opt/kiosk/app"));
	/* mixed with * */
	assert_true(exe_matches("/home/**/*.sh", "/home/u/x/run.sh"));
	assert_false(exe_matches("/home/**/*.sh", "/home/u/x/run.py"));
}

static void test_question(void **state)
{
	(void)state;
	assert_true(exe_matches("/bin/?sh", "/bin/zsh"));
	assert_false(exe_matches("/bin/?sh", "/bin/sh"));
	assert_false(exe_matches("/bin/?sh", "/bin/bash"));
	assert_false(exe_matches("/a?b", "/a/b"));
	assert_true(exe_matches("/a??", "/axy"));
}

static void test_sets(void **state)
{
	(void)state;
	assert_true(exe_matches("/bin/[bd]ash", "/bin/bash"));
	assert_true(exe_matches("/bin/[bd]ash", "/bin/dash"));
	assert_false(exe_matches("/bin/[bd]ash", "/bin/cash"));
	assert_true(exe_matches("/bin/[!b]ash", "/bin/dash"));
	assert_false(exe_matches("/bin/[!b]ash", "/bin/bash"));
	assert_true(exe_matches("/bin/[^b]ash", "/bin/dash"));
	assert_false(exe_matches("/bin/[^b]ash", "/bin/bash"));
	assert_true(exe_matches("/dev/tty[0-9]", "/dev/tty5"));
	assert_true(exe_matches("/dev/tty[0-9]", "/dev/tty0"));
	assert_true(exe_matches("/dev/tty[0-9]", "/dev/tty9"));
	assert_false(exe_matches("/dev/tty[0-9]", "/dev/ttyS"));
	assert_false(exe_matches("/dev/tty[0-9]", "/dev/tty10"));
	assert_true(exe_matches("/x/[a-cx-z]", "/x/y"));
	assert_false(exe_matches("/x/[a-cx-z]", "/x/m"));
	assert_true(exe_matches("/x/[]a]", "/x/]"));
	assert_true(exe_matches("/x/[a-]", "/x/-"));
	/* a set never matches '/', even negated */
	assert_false(exe_matches("/a[!x]b", "/a/b"));
	/* escapes */
	assert_true(exe_matches("/x/\\*", "/x/*"));
	assert_false(exe_matches("/x/\\*", "/x/a"));
}

static void test_regex(void **state)
{
	(void)state;
	assert_true(exe_matches("re:^/usr/bin/", "/usr/bin/ls"));
	assert_false(exe_matches("re:^/usr/bin/", "/opt/usr/bin/ls"));
	/* unanchored: a search */
	assert_true(exe_matches("re:bin/l", "/usr/bin/ls"));
	assert_true(exe_matches("re:ls$", "/usr/bin/ls"));
	assert_false(exe_matches("re:ls$", "/usr/bin/lsblk"));
	assert_true(exe_matches("re:^/usr/lib/php/.*php-fpm", "/usr/lib/php/8.2/php-fpm8.2"));
	assert_true(exe_matches("re:^/(usr/)?bin/(ba|da)?sh$", "/bin/sh"));
	assert_true(exe_matches("re:^/(usr/)?bin/(ba|da)?sh$", "/usr/bin/dash"));
	assert_false(exe_matches("re:^/(usr/)?bin/(ba|da)?sh$", "/usr/bin/zsh"));
	/* a plain string that looks like a regex is exact */
	assert_false(exe_matches("^/usr/bin/ls$", "/usr/bin/ls"));
	assert_true(exe_matches("^/usr/bin/ls$", "^/usr/bin/ls$"));
}

static void test_cmdline_comm(void **state)
{
	struct proc_info *pi = pi_new("/usr/bin/python3", 1000);

	(void)state;
	pi_argv(pi, "python3", "-c", "import os", NULL);
	assert_true(field_matches("cmdline", "'python3 -c import os'", pi));
	assert_false(field_matches("cmdline", "'python3 -c'", pi));
	assert_true(field_matches("cmdline", "'re:-c import'", pi));
	assert_true(field_matches("cmdline", "'python3 -c *'", pi));
	assert_true(field_matches("comm", "python3", pi));
	assert_true(field_matches("comm", "'py*'", pi));
	assert_false(field_matches("comm", "python", pi));
	/* a list is any of */
	assert_true(field_matches("comm", "[perl, python3]", pi));
	assert_false(field_matches("comm", "[perl, ruby]", pi));
	free(pi);
}

static void test_parent_ancestor(void **state)
{
	struct proc_info *pi = pi_new("/bin/sh", 33);

	(void)state;
	pi_parent(pi, "/usr/sbin/php-fpm8.2");
	pi_ancestor(pi, "/usr/sbin/nginx");
	pi_ancestor(pi, "/usr/lib/systemd/systemd");
	assert_true(field_matches("parent_exe", "'/usr/sbin/php-fpm*'", pi));
	assert_false(field_matches("parent_exe", "/usr/sbin/nginx", pi));
	assert_true(field_matches("parent_comm", "php-fpm8.2", pi));
	/* ancestor_exe: the parent and every ancestor */
	assert_true(field_matches("ancestor_exe", "/usr/sbin/nginx", pi));
	assert_true(field_matches("ancestor_exe", "/usr/lib/systemd/systemd", pi));
	assert_true(field_matches("ancestor_exe", "'/usr/sbin/php-fpm*'", pi));
	assert_false(field_matches("ancestor_exe", "/bin/sh", pi));
	assert_false(field_matches("ancestor_exe", "/usr/sbin/apache2", pi));
	free(pi);
}

/* Does "FIELD: VALUE" match a launch with all four ids equal to id? */
static int id_matches(const char *field, const char *value, uint32_t id)
{
	struct proc_info *pi = pi_new("/usr/bin/id", id);
	int r = field_matches(field, value, pi);

	free(pi);
	return r;
}

static void test_uid_ranges(void **state)
{
	(void)state;
	assert_false(id_matches("uid", "\"1000-1999\"", 999));
	assert_true(id_matches("uid", "\"1000-1999\"", 1000));
	assert_true(id_matches("uid", "\"1000-1999\"", 1500));
	assert_true(id_matches("uid", "\"1000-1999\"", 1999));
	assert_false(id_matches("uid", "\"1000-1999\"", 2000));
	assert_true(id_matches("uid", "1000-1999", 1999)); /* plain works too */
	assert_true(id_matches("uid", "4244", 4244));
	assert_false(id_matches("uid", "4244", 4243));
	assert_true(id_matches("uid", "[5, \"10-12\", 20]", 5));
	assert_true(id_matches("uid", "[5, \"10-12\", 20]", 10));
	assert_true(id_matches("uid", "[5, \"10-12\", 20]", 12));
	assert_true(id_matches("uid", "[5, \"10-12\", 20]", 20));
	assert_false(id_matches("uid", "[5, \"10-12\", 20]", 6));
	assert_false(id_matches("uid", "[5, \"10-12\", 20]", 13));
	/* overlapping intervals merge */
	assert_true(id_matches("uid", "[\"1-10\", \"5-20\", \"21-22\"]", 22));
	assert_false(id_matches("uid", "[\"1-10\", \"5-20\", \"21-22\"]", 23));
	assert_true(id_matches("euid", "0", 0));
	assert_true(id_matches("gid", "\"100-200\"", 100));
	assert_true(id_matches("egid", "\"100-200\"", 200));
	assert_false(id_matches("egid", "\"100-200\"", 201));
	assert_true(id_matches("uid", "4294967294", 4294967294u));
}

static void test_id_fields_apart(void **state)
{
	struct proc_info *pi = pi_new("/usr/bin/sudo", 1000);

	(void)state;
	pi->euid = 0;
	pi->egid = 27;
	assert_true(field_matches("uid", "1000", pi));
	assert_false(field_matches("uid", "0", pi));
	assert_true(field_matches("euid", "0", pi));
	assert_false(field_matches("euid", "1000", pi));
	assert_true(field_matches("gid", "1000", pi));
	assert_true(field_matches("egid", "27", pi));
	assert_false(field_matches("egid", "1000", pi));
	free(pi);
}

static void test_names(void **state)
{
	(void)state;
	/* root / group root exist on every system */
	assert_true(id_matches("uid", "root", 0));
	assert_false(id_matches("uid", "root", 1));
	assert_true(id_matches("user", "root", 0));
	assert_false(id_matches("user", "root", 1000));
	assert_true(id_matches("user", "[nobody, root]", 0));
	assert_true(id_matches("group", "root", 0));
	assert_false(id_matches("group", "root", 5));
	assert_true(id_matches("gid", "root", 0));
	assert_true(id_matches("euid", "root", 0));
	assert_true(id_matches("egid", "root", 0));
}

static void test_fileless(void **state)
{
	struct proc_info *pi = pi_new("/memfd:x (deleted)", 0);

	(void)state;
	assert_false(field_matches("fileless", "true", pi));
	assert_true(field_matches("fileless", "false", pi));
	pi->flags |= PI_EXE_MEMFD;
	assert_true(field_matches("fileless", "true", pi));
	assert_false(field_matches("fileless", "false", pi));
	pi->flags = PI_EXE_DELETED;
	assert_true(field_matches("fileless", "true", pi));
	free(pi);
}

static void test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(pw_signal_parse("KILL"), 9);
	assert_int_equal(pw_signal_parse("SIGKILL"), 9);
	assert_int_equal(pw_signal_parse("sigterm"), 15);
	assert_int_equal(pw_signal_parse("hup"), 1);
	assert_int_equal(pw_signal_parse("SIGKIL"), -22);
	assert_int_equal(pw_signal_parse(""), -22);
	assert_string_equal(pw_signal_name(9), "SIGKILL");
	assert_string_equal(pw_signal_name(19), "SIGSTOP");
	assert_null(pw_signal_name(0));
	assert_null(pw_signal_name(200));
	assert_string_equal(pw_severity_name(SEV_CRITICAL), "critical");
	assert_string_equal(pw_severity_name(SEV_NOTICE), "notice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),        cmocka_unit_test(test_star),
	    cmocka_unit_test(test_double_star),  cmocka_unit_test(test_question),
	    cmocka_unit_test(test_sets),         cmocka_unit_test(test_regex),
	    cmocka_unit_test(test_cmdline_comm), cmocka_unit_test(test_parent_ancestor),
	    cmocka_unit_test(test_uid_ranges),   cmocka_unit_test(test_id_fields_apart),
	    cmocka_unit_test(test_names),        cmocka_unit_test(test_fileless),
	    cmocka_unit_test(test_signal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
