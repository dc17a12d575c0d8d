/*
 * test_policy_eval.c - evaluation semantics, the example policy,
 * the built-in default and large policies.
 *
 * Overview: loads policies from strings or fixtures and checks the verdict
 * of imagined launches field by field.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "policy_helpers.h"

/* Read a whole file into a malloc'd string. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char order_text[] = "version: 1\n"
                                 "rules:\n"
                                 "  - name: first\n"
                                 "    match: {exe: /bin/a}\n"
                                 "    actions: [log]\n"
                                 "  - name: everything\n"
                                 "    actions: [log]\n"
                                 "  - name: third\n"
                                 "    match: {exe: [/bin/b, /bin/a, /bin/a]}\n"
                                 "    severity: error\n"
                                 "    actions: [log]\n"
                                 "  - name: glob\n"
                                 "    match: {exe: '/bin/*'}\n"
                                 "    actions: [log]\n"
                                 "  - name: exact-and-uid\n"
                                 "    match: {exe: /bin/a, uid: 0}\n"
                                 "    actions: [log]\n";

static void test_rule_order(void **state)
{
	struct policy *p = load_ok(order_text);
	struct proc_info *pi = pi_new("/bin/a", 1000);
	struct policy_verdict v;

	(void)state;
	assert_int_equal(policy_rule_count(p), 5);
	assert_int_equal(policy_eval(p, pi, &v), 4);
	assert_string_equal(verdict_names(p, &v), "first,everything,third,glob");
	assert_int_equal(v.actions, ACT_LOG);
	assert_int_equal(v.severity, SEV_ERROR);
	assert_int_equal(v.allow_rule, -1);
	pi->uid = 0;
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "first,everything,third,glob,exact-and-uid");
	snprintf(pi->exe, sizeof(pi->exe), "/bin/b");
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "everything,third,glob");
	snprintf(pi->exe, sizeof(pi->exe), "/bin/c");
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "everything,glob");
	assert_int_equal(v.severity, SEV_NOTICE);
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/c");
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "everything");
	free(pi);
	policy_unref(p);
}

static void test_allow_stops(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: log-root\n"
	                           "    match: {uid: 0}\n"
	                           "    actions: [log]\n"
	                           "  - name: allow-ls\n"
	                           "    match: {exe: /bin/ls}\n"
	                           "    actions: [allow]\n"
	                           "  - name: kill-all\n"
	                           "    actions: [kill, hook: [/bin/echo]]\n");
	struct proc_info *pi = pi_new("/bin/ls", 1000);
	struct policy_verdict v;

	(void)state;
	/* only the allow matched: actions is exactly ACT_ALLOW */
	assert_int_equal(policy_eval(p, pi, &v), 1);
	assert_int_equal(v.actions, ACT_ALLOW);
	assert_int_equal(v.allow_rule, 1);
	assert_int_equal(v.signal, 0);
	assert_int_equal(v.n_hook_rules, 0);
	/* earlier rules still count; later ones do not */
	pi->uid = 0;
	assert_int_equal(policy_eval(p, pi, &v), 2);
	assert_string_equal(verdict_names(p, &v), "log-root,allow-ls");
	assert_int_equal(v.actions, ACT_LOG | ACT_ALLOW);
	/* without the allow, the last rule applies */
	snprintf(pi->exe, sizeof(pi->exe), "/bin/cat");
	assert_int_equal(policy_eval(p, pi, &v), 2);
	assert_int_equal(v.actions, ACT_LOG | ACT_KILL | ACT_HOOK);
	assert_int_equal(v.allow_rule, -1);
	assert_int_equal(v.signal, SIGKILL);
	assert_int_equal(v.signal_rule, 2);
	assert_int_equal(v.n_hook_rules, 1);
	assert_int_equal(v.hook_rules[0], 2);
	free(pi);
	policy_unref(p);
}

static void test_unless(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: curl\n"
	                           "    match: {comm: curl}\n"
	                           "    unless:\n"
	                           "      uid: 0\n"
	                           "      cmdline: 're:^curl -s https://updates\\.'\n"
	                           "    actions: [log]\n"
	                           "  - name: no-match-block\n"
	                           "    unless: {exe: '/usr/**'}\n"
	                           "    actions: [log]\n");
	struct proc_info *pi = pi_new("/usr/bin/curl", 0);
	struct policy_verdict v;

	(void)state;
	pi_argv(pi, "curl", "-s", "https://updates.example.org", NULL);
	assert_int_equal(policy_eval(p, pi, &v), 0); /* both unless keys hold */
	pi->uid = 1000;
	assert_int_equal(policy_eval(p, pi, &v), 1); /* only one does */
	assert_string_equal(verdict_names(p, &v), "curl");
	pi->uid = 0;
	pi_argv(pi, "curl", "http://evil", NULL);
	assert_int_equal(policy_eval(p, pi, &v), 1);
	snprintf(pi->exe, sizeof(pi->exe), "/opt/curl");
	assert_int_equal(policy_eval(p, pi, &v), 2);
	assert_string_equal(verdict_names(p, &v), "curl,no-match-block");
	free(pi);
	policy_unref(p);
}

static void test_accumulate_and_signal(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: term\n"
	                           "    actions: [kill: SIGTERM]\n"
	                           "  - name: hooked\n"
	                           "    severity: warning\n"
	                           "    actions: [log, hook: {run: [/bin/true, x], timeout: 7}]\n"
	                           "  - name: strongest\n"
	                           "    match: {uid: 0}\n"
	                           "    actions: [kill]\n"
	                           "  - name: hup\n"
	                           "    actions: [kill: hup, kill: INT]\n");
	struct proc_info *pi = pi_new("/bin/x", 1000);
	struct policy_verdict v;
	const struct policy_hook *h;
	int sig = 0;

	(void)state;
	assert_int_equal(policy_eval(p, pi, &v), 3);
	assert_int_equal(v.actions, ACT_KILL | ACT_LOG | ACT_HOOK);
	assert_int_equal(v.signal, SIGTERM); /* the first in rule order */
	assert_int_equal(v.signal_rule, 0);
	assert_int_equal(v.severity, SEV_WARNING);
	assert_int_equal(v.n_hook_rules, 1);
	assert_int_equal(policy_rule_hooks(p, v.hook_rules[0], &h), 1);
	assert_string_equal(h[0].argv[0], "/bin/true");
	assert_string_equal(h[0].argv[1], "x");
	assert_null(h[0].argv[2]);
	assert_int_equal(h[0].timeout_s, 7);
	pi->uid = 0;
	assert_int_equal(policy_eval(p, pi, &v), 4);
	assert_int_equal(v.signal, SIGKILL); /* SIGKILL beats everything */
	assert_int_equal(v.signal_rule, 2);
	assert_int_equal(policy_rule_actions(p, 3, &sig), ACT_KILL);
	assert_int_equal(sig, SIGHUP);
	free(pi);
	policy_unref(p);
}

static void test_truncation(void **state)
{
	char *text = malloc(100 * 64 + 64);
	size_t n = 0;
	struct policy *p;
	struct proc_info *pi = pi_new("/bin/x", 0);
	struct policy_verdict v;

	(void)state;
	assert_non_null(text);
	n += (size_t)sprintf(text + n, "version: 1\nrules:\n");
	for (int i = 0; i < 70; i++)
		n += (size_t)sprintf(text + n, "  - {name: r%d, actions: [hook: [/bin/h]]}\n", i);
	p = load_ok(text);
	assert_int_equal(policy_eval(p, pi, &v), 70);
	assert_int_equal(v.n_rules, POLICY_MAX_MATCHES);
	assert_int_equal(v.rules_truncated, 70 - POLICY_MAX_MATCHES);
	assert_int_equal(v.n_hook_rules, POLICY_MAX_MATCHES);
	policy_unref(p);
	free(pi);
	free(text);
}

static void test_catastrophic_regex(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: evil\n"
	                           "    match: {cmdline: 're:(a+)+$'}\n"
	                           "    actions: [log]\n"
	                           "  - name: evil-glob\n"
	                           "    match: {exe: '**a**a**a**a**a**a**a**a**c'}\n"
	                           "    actions: [log]\n"
	                           "  - name: after\n"
	                           "    actions: [log]\n");
	struct proc_info *pi = pi_new("/bin/x", 0);
	struct policy_verdict v;
	struct timespec t0, t1;
	char arg[4001];
	double ms;

	(void)state;
	memset(arg, 'a', sizeof(arg) - 2);
	arg[sizeof(arg) - 2] = 'b';
	arg[sizeof(arg) - 1] = '\0';
	pi_argv(pi, arg, NULL);
	snprintf(pi->exe, sizeof(pi->exe), "/%s", arg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(policy_eval(p, pi, &v), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_string_equal(verdict_names(p, &v), "after");
	assert_int_equal(v.match_errors, 2); /* the regex and the glob hit their limits */
	assert_true(ms < 2000.0);
	/* a short subject matches normally, without errors */
	pi_argv(pi, "aaa", NULL);
	snprintf(pi->exe, sizeof(pi->exe), "/bin/x");
	assert_int_equal(policy_eval(p, pi, &v), 2);
	assert_int_equal(v.match_errors, 0);
	free(pi);
	policy_unref(p);
}

/* Evaluate pi against p and return the verdict's rule names. */
static const char *eval_names(const struct policy *p, const struct proc_info *pi,
                              struct policy_verdict *v)
{
	policy_eval(p, pi, v);
	return verdict_names(p, v);
}

static void test_example_policy(void **state)
{
	const char *path = PW_FIXTURES "/policy/example.yaml";
	struct policy *p = NULL;
	struct policy_verdict v;
	struct proc_info *pi;
	const struct policy_hook *h;
	struct diags d;

	(void)state;
	diags_init(&d);
	assert_int_equal(policy_load(&path, 1, NULL, &p, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(policy_rule_count(p), 4);
	assert_int_equal(policy_file_count(p), 1);
	/* (and POLICY_NEED_FILE where its paths exist on this machine) */
	assert_int_equal(policy_needs(p) & ~POLICY_NEED_FILE,
	                 POLICY_NEED_PARENT | POLICY_NEED_ARGV);

	/* kiosk-allowed: the kiosk user's allowed programs stop evaluation */
	pi = pi_new("/usr/bin/firefox-esr", 4244);
	assert_string_equal(eval_names(p, pi, &v), "kiosk-allowed");
	assert_int_equal(v.actions, ACT_ALLOW);
	assert_int_equal(v.allow_rule, 0);
	snprintf(pi->exe, sizeof(pi->exe), "/opt/kiosk/bin/app");
	assert_string_equal(eval_names(p, pi, &v), "kiosk-allowed");
	/* even a miner's cmdline: allow stops before 'miners' */
	pi_argv(pi, "app", "stratum+tcp://pool", NULL);
	assert_string_equal(eval_names(p, pi, &v), "kiosk-allowed");
	assert_int_equal(v.actions, ACT_ALLOW);

	/* kiosk-deny-rest: anything else the kiosk user runs is killed */
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/xterm");
	pi_argv(pi, "xterm", NULL);
	assert_string_equal(eval_names(p, pi, &v), "kiosk-deny-rest");
	assert_int_equal(v.actions, ACT_KILL | ACT_LOG);
	assert_int_equal(v.signal, SIGKILL);
	assert_int_equal(v.severity, SEV_NOTICE);
	/* another user running the same program: nothing */
	pi->uid = 1000;
	assert_string_equal(eval_names(p, pi, &v), "");
	assert_int_equal(v.actions, 0);
	free(pi);

	/* shell-from-web-server */
	pi = pi_new("/usr/bin/bash", 33);
	pi_parent(pi, "/usr/sbin/nginx");
	pi_argv(pi, "bash", "-i", NULL);
	assert_string_equal(eval_names(p, pi, &v), "shell-from-web-server");
	assert_int_equal(v.severity, SEV_CRITICAL);
	assert_int_equal(v.actions, ACT_LOG | ACT_HOOK);
	assert_int_equal(v.n_hook_rules, 1);
	assert_int_equal(policy_rule_hooks(p, v.hook_rules[0], &h), 1);
	assert_string_equal(h[0].argv[0], "/usr/local/libexec/page-oncall");
	assert_string_equal(h[0].argv[1], "--severity");
	assert_string_equal(h[0].argv[2], "high");
	assert_null(h[0].argv[3]);
	assert_int_equal(h[0].timeout_s, 10);
	snprintf(pi->exe, sizeof(pi->exe), "/bin/sh");
	pi_parent(pi, "/usr/lib/php/8.2/php-fpm8.2");
	assert_string_equal(eval_names(p, pi, &v), "shell-from-web-server");
	/* the healthcheck exception */
	pi_argv(pi, "sh", "-c", "/usr/lib/nginx/healthcheck", NULL);
	assert_string_equal(eval_names(p, pi, &v), "");
	/* not a shell, or not under a web server */
	pi_argv(pi, "sh", NULL);
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/python3");
	assert_string_equal(eval_names(p, pi, &v), "");
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/dash");
	pi_parent(pi, "/usr/sbin/sshd");
	assert_string_equal(eval_names(p, pi, &v), "");
	free(pi);

	/* miners */
	pi = pi_new("/home/u/.cache/x", 1000);
	pi_argv(pi, "x", "-o", "stratum+ssl://pool.example:3333", NULL);
	assert_string_equal(eval_names(p, pi, &v), "miners");
	assert_int_equal(v.actions, ACT_KILL | ACT_HOOK);
	assert_int_equal(v.signal, SIGKILL);
	assert_int_equal(v.signal_rule, 3);
	assert_int_equal(policy_rule_hooks(p, 3, &h), 1);
	assert_string_equal(h[0].argv[0], "/usr/local/sbin/quarantine");
	assert_null(h[0].argv[1]);
	assert_int_equal(h[0].timeout_s, 5);
	pi_argv(pi, "x", "-o", "stratum+udp://pool", NULL);
	assert_string_equal(eval_names(p, pi, &v), "");
	free(pi);

	diags_free(&d);
	policy_unref(p);
}

static void test_default_policy(void **state)
{
	const char *text = policy_default_text();
	struct policy *p = load_ok(text), *q = NULL;
	struct proc_info *pi = pi_new("/usr/bin/ls", 1000);
	struct policy_verdict v;
	struct stat st;
	struct diags d;

	(void)state;
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch");
	assert_int_equal(v.actions, ACT_LOG);
	assert_int_equal(v.severity, SEV_INFO);
	snprintf(pi->exe, sizeof(pi->exe), "/tmp/x");
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch,default-exec-from-temp");
	assert_int_equal(v.severity, SEV_WARNING);
	snprintf(pi->exe, sizeof(pi->exe), "/dev/shm/a/b");
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch,default-exec-from-temp");
	snprintf(pi->exe, sizeof(pi->exe), "/var/tmp/.x/y");
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch,default-exec-from-temp");
	snprintf(pi->exe, sizeof(pi->exe), "/memfd:payload (deleted)");
	pi->flags = PI_EXE_MEMFD;
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch,default-fileless-exec");
	assert_int_equal(v.severity, SEV_ERROR);
	pi->flags = 0;
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/bash");
	pi_parent(pi, "/usr/bin/python3");
	pi_ancestor(pi, "/usr/sbin/apache2");
	assert_string_equal(eval_names(p, pi, &v),
	                    "default-every-launch,default-shell-under-server");
	assert_int_equal(v.severity, SEV_CRITICAL);
	assert_int_equal(v.actions, ACT_LOG); /* nothing killed */
	pi_parent(pi, "/usr/sbin/mariadbd");
	pi->n_ancestors = 0;
	pi->ancestors_len = 0;
	assert_string_equal(eval_names(p, pi, &v),
	                    "default-every-launch,default-shell-under-server");
	pi_parent(pi, "/usr/sbin/sshd");
	assert_string_equal(eval_names(p, pi, &v), "default-every-launch");
	for (size_t i = 0; i < policy_rule_count(p); i++)
		assert_int_equal(policy_rule_actions(p, (uint32_t)i, NULL), ACT_LOG);

	/* with nothing configured, the built-in default is what loads */
	if (stat(POLICY_DEFAULT_DIR, &st) != 0) {
		diags_init(&d);
		assert_int_equal(policy_load_configured(NULL, 0, NULL, &q, &d), 0);
		assert_int_equal(policy_rule_count(q), policy_rule_count(p));
		assert_string_equal(policy_rule_name(q, 3), "default-shell-under-server");
		policy_unref(q);
		diags_free(&d);
	}
	free(pi);
	policy_unref(p);
}

static void test_default_file_matches(void **state)
{
	char *file = slurp(PW_SOURCE_DIR "/policies/builtin/default.yaml");

	(void)state;
	assert_string_equal(file, policy_default_text());
	free(file);
}

static void test_many_exact_rules(void **state)
{
	enum { N_RULES = 10000 };
	size_t cap = (size_t)N_RULES * 96 + 64, n = 0;
	char *text = malloc(cap);
	struct policy *p;
	struct proc_info *pi = pi_new("/usr/bin/prog7777", 0);
	struct policy_verdict v;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "version: 1\nrules:\n");
	for (int i = 0; i < N_RULES; i++)
		n += (size_t)snprintf(text + n, cap - n,
		                      "  - name: rule-%d\n    match: {exe: /usr/bin/prog%d}\n"
		                      "    actions: [log]\n",
		                      i, i);
	p = load_ok(text);
	assert_int_equal(policy_rule_count(p), N_RULES);
	assert_int_equal(policy_eval(p, pi, &v), 1);
	assert_int_equal(v.rules[0], 7777);
	assert_string_equal(policy_rule_name(p, 7777), "rule-7777");
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/prog10000");
	assert_int_equal(policy_eval(p, pi, &v), 0);
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/prog0");
	assert_int_equal(policy_eval(p, pi, &v), 1);
	assert_int_equal(v.rules[0], 0);
	policy_unref(p);
	free(pi);
	free(text);
}

static void test_refcount(void **state)
{
	struct policy *p = load_ok("version: 1\nrules: []\n");

	(void)state;
	assert_ptr_equal(policy_ref(p), p);
	policy_unref(p);
	assert_int_equal(policy_rule_count(p), 0);
	policy_unref(p);
	policy_unref(NULL);
}

static void test_deny_preexec(void **state)
{
	static const char text[] =
	    "version: 1\nrules:\n"
	    "  - {name: l, match: {exe: '/tmp/**'}, actions: [log]}\n"
	    "  - {name: ok, match: {exe: /tmp/ok, uid: 64001}, actions: [allow]}\n"
	    "  - {name: d, match: {exe: ['/tmp/**', /opt/bad/tool]}, actions: [deny, log]}\n"
	    "  - {name: after, match: {cmdline: 're:x'}, actions: [allow]}\n";
	struct policy *p = load_ok(text);
	struct proc_info *pi = pi_new("/tmp/x", 64001);
	struct policy_verdict v;
	const char *const *dirs;

	(void)state;
	assert_true(policy_has_deny(p));
	assert_int_equal(policy_deny_dirs(p, &dirs), 2);
	assert_string_equal(dirs[0], "/tmp");
	assert_string_equal(dirs[1], "/opt/bad");
	/* pre-exec: the log rule is not considered, the deny is */
	policy_eval_preexec(p, pi, &v);
	assert_int_equal(v.actions, ACT_DENY | ACT_LOG);
	assert_string_equal(eval_names(p, pi, &v), "l,d,after");
	policy_eval_preexec(p, pi, &v);
	assert_int_equal(v.n_rules, 1);
	/* an allow before the deny stops it */
	strcpy(pi->exe, "/tmp/ok");
	policy_eval_preexec(p, pi, &v);
	assert_int_equal(v.actions, ACT_ALLOW);
	pi->uid = 64002;
	policy_eval_preexec(p, pi, &v);
	assert_true(v.actions & ACT_DENY);
	/* outside the deny's paths */
	strcpy(pi->exe, "/usr/bin/true");
	policy_eval_preexec(p, pi, &v);
	assert_int_equal(v.actions, 0);
	free(pi);
	policy_unref(p);
}

/* mode: audit -- the rule matches and is recorded, its kill, deny and hook
 * are staged (v.audit), not carried out; it denies nothing before the exec
 * (no gate for it); an enforcing rule beside it still acts */
static void test_audit_mode(void **state)
{
	static const char text[] =
	    "version: 1\nrules:\n"
	    "  - {name: a, mode: audit, match: {exe: '/tmp/**'}, actions: [kill, deny, "
	    "{hook: [/bin/true]}]}\n"
	    "  - {name: e, mode: enforce, match: {exe: /tmp/e}, actions: [log]}\n";
	struct policy *p = load_ok(text);
	struct proc_info *pi = pi_new("/tmp/x", 64001);
	struct policy_verdict v;

	(void)state;
	assert_false(policy_has_deny(p));
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules, 1);
	assert_int_equal(v.actions, 0);
	assert_int_equal(v.audit, ACT_KILL | ACT_DENY | ACT_HOOK);
	assert_int_equal(v.signal, 0);
	assert_int_equal(v.n_hook_rules, 0);
	assert_int_equal(policy_rule_audit(p, 0), ACT_KILL | ACT_DENY | ACT_HOOK);
	assert_int_equal(policy_rule_audit(p, 1), 0);
	strcpy(pi->exe, "/tmp/e");
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules, 2);
	assert_int_equal(v.actions, ACT_LOG);
	policy_eval_preexec(p, pi, &v);
	assert_int_equal(v.actions, 0);
	free(pi);
	policy_unref(p);
}

static void test_deny_anywhere(void **state)
{
	struct policy *p = load_ok("version: 1\nrules:\n"
	                           "  - {name: d, match: {uid: 64001}, actions: [deny]}\n");
	struct policy *q = load_ok("version: 1\nrules:\n"
	                           "  - {name: d, match: {exe: 're:^/x'}, actions: [deny]}\n");
	struct policy *none = load_ok("version: 1\nrules:\n"
	                              "  - {name: k, match: {uid: 64001}, actions: [kill]}\n");
	const char *const *dirs;

	(void)state;
	assert_int_equal(policy_deny_dirs(p, &dirs), -1);
	assert_int_equal(policy_deny_dirs(q, &dirs), -1);
	assert_false(policy_has_deny(none));
	assert_int_equal(policy_deny_dirs(none, &dirs), 0);
	policy_unref(p);
	policy_unref(q);
	policy_unref(none);
}

static void test_deny_needs_preexec_keys(void **state)
{
	char *msg;

	(void)state;
	msg = load_fail("version: 1\nrules:\n"
	                "  - name: d\n    match:\n      cmdline: x\n    actions: [deny]\n");
	assert_non_null(strstr(msg,
	                       "test.yaml:5:7: error: rule 'd' denies before the program runs, "
	                       "when its 'cmdline' is not known yet"));
	free(msg);
	msg = load_fail("version: 1\nrules:\n"
	                "  - name: a\n    match: {exe: /x}\n    unless: {comm: y}\n"
	                "    actions: [allow]\n"
	                "  - {name: d, match: {exe: /x}, actions: [deny]}\n");
	assert_non_null(strstr(msg, "test.yaml:5:14: error: rule 'a' allows by 'comm'"));
	assert_non_null(strstr(msg, "('d', test.yaml:7)"));
	free(msg);
	/* an allow by cmdline after the last deny is fine */
	policy_unref(load_ok("version: 1\nrules:\n"
	                     "  - {name: d, match: {exe: /x}, actions: [deny]}\n"
	                     "  - {name: a, match: {cmdline: y}, actions: [allow]}\n"));
}

/* Evaluate a launch of exe by uid; the names of the matching rules. */
static const char *exe_names(const struct policy *p, const char *exe, uint32_t uid)
{
	struct proc_info *pi = pi_new(exe, uid);
	static struct policy_verdict v;

	policy_eval(p, pi, &v);
	free(pi);
	return verdict_names(p, &v);
}

static void test_glob_index(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: app5\n"
	                           "    match: {exe: '/opt/app5/**/bin/*'}\n"
	                           "    actions: [log]\n"
	                           "  - name: shells\n"
	                           "    match: {exe: '/usr/bin/*sh'}\n"
	                           "    actions: [log]\n"
	                           "  - name: shells-root\n"
	                           "    match: {exe: ['/usr/bin/*sh', /bin/sh], uid: 0}\n"
	                           "    actions: [log]\n"
	                           "  - name: escaped\n"
	                           "    match: {exe: '/opt/a\\*b/*'}\n"
	                           "    actions: [log]\n");

	(void)state;
	assert_string_equal(exe_names(p, "/opt/app5/bin/tool", 1000), "app5");
	assert_string_equal(exe_names(p, "/opt/app5/x/y/bin/tool", 1000), "app5");
	assert_string_equal(exe_names(p, "/opt/app5/x/sbin/tool", 1000), "");
	assert_string_equal(exe_names(p, "/opt/app6/x/bin/tool", 1000), "");
	assert_string_equal(exe_names(p, "/opt/app5", 1000), "");
	assert_string_equal(exe_names(p, "/opt/app5/", 1000), "");
	/* the prefix is only a filter: the whole glob is still checked */
	assert_string_equal(exe_names(p, "/usr/bin/bash", 1000), "shells");
	assert_string_equal(exe_names(p, "/usr/bin/zsh", 0), "shells,shells-root");
	assert_string_equal(exe_names(p, "/usr/bin/shx", 1000), "");
	assert_string_equal(exe_names(p, "/usr/bin/sub/bash", 1000), "");
	assert_string_equal(exe_names(p, "/usr/bin/bash", 0), "shells,shells-root");
	assert_string_equal(exe_names(p, "/bin/sh", 0), "shells-root");
	assert_string_equal(exe_names(p, "/bin/sh", 1000), "");
	assert_string_equal(exe_names(p, "/opt/a*b/x", 1000), "escaped");
	assert_string_equal(exe_names(p, "/opt/aXb/x", 1000), "");
	assert_string_equal(exe_names(p, "", 1000), "");
	assert_string_equal(exe_names(p, "/", 1000), "");
	policy_unref(p);
}

static void test_glob_and_exact_no_duplicate(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: before\n"
	                           "    match: {exe: /usr/bin/bash}\n"
	                           "    actions: [log]\n"
	                           "  - name: both\n"
	                           "    match: {exe: [/usr/bin/bash, '/usr/bin/*sh', '/usr/*/bash',"
	                           " '/usr/bin/b*']}\n"
	                           "    actions: [log]\n"
	                           "  - name: after\n"
	                           "    match: {exe: '/usr/*/bash'}\n"
	                           "    actions: [log]\n");
	struct proc_info *pi = pi_new("/usr/bin/bash", 1000);
	struct policy_verdict v;

	(void)state;
	assert_int_equal(policy_eval(p, pi, &v), 3);
	assert_int_equal(v.rules[0], 0);
	assert_int_equal(v.rules[1], 1);
	assert_int_equal(v.rules[2], 2);
	snprintf(pi->exe, sizeof(pi->exe), "/usr/bin/zsh");
	assert_int_equal(policy_eval(p, pi, &v), 1);
	assert_int_equal(v.rules[0], 1);
	snprintf(pi->exe, sizeof(pi->exe), "/usr/sbin/bash");
	assert_int_equal(policy_eval(p, pi, &v), 2);
	assert_string_equal(verdict_names(p, &v), "both,after");
	free(pi);
	policy_unref(p);
}

static void test_glob_order(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: allow-root\n"
	                           "    match: {uid: 0}\n"
	                           "    actions: [allow]\n"
	                           "  - name: log-x\n"
	                           "    match: {exe: '/opt/x/*'}\n"
	                           "    actions: [log]\n"
	                           "  - name: allow-y\n"
	                           "    match: {exe: '/opt/y/*'}\n"
	                           "    actions: [allow]\n"
	                           "  - name: exact-y\n"
	                           "    match: {exe: /opt/y/tool}\n"
	                           "    actions: [log]\n"
	                           "  - name: any-glob\n"
	                           "    match: {exe: '/*'}\n"
	                           "    actions: [log]\n"
	                           "  - name: kill-tool\n"
	                           "    match: {comm: tool}\n"
	                           "    actions: [kill]\n"
	                           "  - name: log-x-late\n"
	                           "    match: {exe: '/opt/**'}\n"
	                           "    actions: [log]\n");

	(void)state;
	assert_string_equal(exe_names(p, "/opt/x/tool", 1000), "log-x,kill-tool,log-x-late");
	/* an earlier general allow stops later glob rules */
	assert_string_equal(exe_names(p, "/opt/x/tool", 0), "allow-root");
	/* an earlier glob allow stops later exact, general and glob rules */
	assert_string_equal(exe_names(p, "/opt/y/tool", 1000), "allow-y");
	assert_string_equal(exe_names(p, "/opt/z/tool", 1000), "kill-tool,log-x-late");
	assert_string_equal(exe_names(p, "/tool", 1000), "any-glob,kill-tool");
	policy_unref(p);
}

static void test_glob_deep_exe(void **state)
{
	static char text[4096], exe[1024], deep[1024];
	size_t n = 0, d = 0;
	struct policy *p;

	(void)state;
	/* 80 directories: more prefixes than the evaluation looks up */
	for (int i = 0; i < 80; i++) {
		n += (size_t)snprintf(exe + n, sizeof(exe) - n, "/d%d", i);
		if (i < 70)
			d = n;
	}
	snprintf(exe + n, sizeof(exe) - n, "/tool");
	memcpy(deep, exe, d);
	snprintf(deep + d, sizeof(deep) - d, "/**/t?ol");
	snprintf(text, sizeof(text),
	         "version: 1\n"
	         "rules:\n"
	         "  - name: shallow\n"
	         "    match: {exe: '/d0/**/tool'}\n"
	         "    actions: [log]\n"
	         "  - name: other\n"
	         "    match: {exe: '/e/**'}\n"
	         "    actions: [log]\n"
	         "  - name: exact\n"
	         "    match: {exe: ['%s', '/e/*']}\n"
	         "    actions: [log]\n"
	         "  - name: deep\n"
	         "    match: {exe: '%s'}\n"
	         "    actions: [log]\n"
	         "  - name: deep-miss\n"
	         "    match: {exe: '%s/x/*'}\n"
	         "    actions: [log]\n",
	         exe, deep, deep);
	p = load_ok(text);
	assert_string_equal(exe_names(p, exe, 1000), "shallow,exact,deep");
	exe[1] = 'x';
	assert_string_equal(exe_names(p, exe, 1000), "");
	exe[1] = 'd';
	exe[n + 2] = 'x'; /* "/txol" */
	assert_string_equal(exe_names(p, exe, 1000), "deep");
	policy_unref(p);
}

/* A value not known is not a match, an unless on it does not exempt, and a
 * rule it left undecided is named. */
static void test_unknown_is_unknown(void **state)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: by-uid\n"
	                           "    match: {uid: 64101}\n"
	                           "    actions: [kill]\n"
	                           "  - name: tmp-unless-root\n"
	                           "    match: {exe: \"/tmp/**\"}\n"
	                           "    unless: {uid: 0}\n"
	                           "    actions: [log]\n"
	                           "  - name: web-shell\n"
	                           "    match: {exe: /bin/sh, ancestor_exe: /usr/sbin/nginx}\n"
	                           "    actions: [kill]\n"
	                           "  - name: args\n"
	                           "    match: {cmdline: \"re:stratum\"}\n"
	                           "    actions: [kill]\n");
	struct proc_info *pi = pi_new("/tmp/x", 64101);
	struct policy_verdict v;

	(void)state;
	/* known: both rules apply */
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "by-uid,tmp-unless-root");
	assert_int_equal(v.n_undecided, 0);
	/* ids unknown (gone before they were read): not judged as root */
	pi->have &= ~(uint32_t)PI_HAVE_IDS;
	pi->uid = pi->euid = pi->gid = pi->egid = 0;
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "tmp-unless-root"); /* unless did not exempt */
	assert_int_equal(v.n_undecided, 1);
	assert_string_equal(policy_rule_name(p, v.undecided[0]), "by-uid");
	assert_int_equal(v.signal, 0);
	/* argv unknown: the cmdline rule is undecided, not "no match" */
	pi->have &= ~(uint32_t)PI_HAVE_ARGV;
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_undecided, 2);
	assert_string_equal(policy_rule_name(p, v.undecided[1]), "args");
	/* exe unknown (gone, unnamed): the exe rules are undecided too, not
	 * skipped because no index led to them */
	pi->have &= ~(uint32_t)PI_HAVE_EXE;
	pi->exe[0] = '\0';
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules, 0);
	assert_int_equal(v.n_undecided, 4);
	assert_string_equal(policy_rule_name(p, v.undecided[1]), "tmp-unless-root");
	free(pi);

	/* lineage: a match anywhere holds; none with a cut walk is unknown */
	pi = pi_new("/bin/sh", 1000);
	pi_parent(pi, "/bin/bash");
	pi_ancestor(pi, "/usr/sbin/nginx");
	pi->flags |= PI_ANCESTORS_CUT;
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "web-shell");
	free(pi);
	pi = pi_new("/bin/sh", 1000);
	pi_parent(pi, "/bin/bash");
	pi_ancestor(pi, "/usr/sbin/cron");
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules + v.n_undecided, 0); /* all known: no match */
	pi->flags |= PI_ANCESTORS_CUT;
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules, 0);
	assert_int_equal(v.n_undecided, 1);
	assert_string_equal(policy_rule_name(p, v.undecided[0]), "web-shell");
	free(pi);
	policy_unref(p);
}

/* An exact path matches the file it named at load by identity too (a
 * hardlink, a rename, a deleted file); a file written since is another. */
static void test_identity(void **state)
{
	char dir[] = "/tmp/pw-ident-XXXXXX", path[64], text[1024];
	struct policy_verdict v;
	struct pw_file_id id, other;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/forbidden", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	pw_file_id_set(&id, &st);
	snprintf(text, sizeof(text),
	         "version: 1\n"
	         "rules:\n"
	         "  - name: by-exe\n"
	         "    match: {exe: %s}\n"
	         "    actions: [kill]\n"
	         "  - name: by-parent\n"
	         "    match: {parent_exe: %s}\n"
	         "    actions: [log]\n"
	         "  - name: by-ancestor\n"
	         "    match: {ancestor_exe: [\"re:^/nowhere\", %s]}\n"
	         "    actions: [log]\n",
	         path, path, path);
	struct policy *p = load_ok(text);
	assert_true(policy_needs(p) & POLICY_NEED_FILE);

	/* the same name: matched by path, not by identity */
	struct proc_info *pi = pi_new(path, 1000);
	pi->exe_file = id;
	pi->have |= PI_HAVE_EXE_FILE;
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "by-exe");
	assert_int_equal(v.by_identity, 0);
	free(pi);

	/* another name (a hardlink, a rename, " (deleted)"), the same file */
	pi = pi_new("/home/u/innocent (deleted)", 1000);
	pi->exe_file = id;
	pi->have |= PI_HAVE_EXE_FILE;
	pi_parent(pi, "/home/u/p");
	pi->parent_file = id;
	pi->have |= PI_HAVE_PARENT_FILE;
	pi_ancestor(pi, "/home/u/gp");
	pi->anc_file[0] = id;
	pi->anc_file_known = 1;
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "by-exe,by-parent,by-ancestor");
	assert_int_equal(v.by_identity, 7);
	assert_int_equal(v.signal, SIGKILL);

	/* identity not known: the name decides */
	pi->have &= ~(uint32_t)(PI_HAVE_EXE_FILE | PI_HAVE_PARENT_FILE);
	policy_eval(p, pi, &v);
	assert_string_equal(verdict_names(p, &v), "by-ancestor");
	assert_int_equal(v.by_identity, 1);

	/* the file written since the load (or an inode number reused by
	 * another file): not the same */
	other = id;
	other.mtime_ns++;
	pi->exe_file = other;
	pi->have |= PI_HAVE_EXE_FILE;
	pi->anc_file_known = 0;
	policy_eval(p, pi, &v);
	assert_int_equal(v.n_rules, 0);
	free(pi);
	policy_unref(p);

	/* a path that names no file: check warns, the load does not fail */
	struct policy_opts o = {.warn_missing_files = 1};
	struct diags d;
	char missing[128];
	snprintf(
	    missing, sizeof(missing),
	    "version: 1\nrules:\n  - name: gone\n    match: {exe: %s/none}\n    actions: [log]\n",
	    dir);
	diags_init(&d);
	assert_int_equal(policy_load_buffer("m.yaml", missing, strlen(missing), &o, &p, &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "does not exist"));
	assert_int_equal(d.v[0].line, 4);
	diags_free(&d);
	assert_false(policy_needs(p) & POLICY_NEED_FILE);
	policy_unref(p);
	unlink(path);
	rmdir(dir);
}

/* The gate's verdict rests on the file alone only when every deny or allow
 * rule up to the last deny tests only exe (or fileless). */
static void test_gate_file_only(void **state)
{
	(void)state;
	static const struct {
		const char *rules;
		bool want;
	} cases[] = {
	    {"  - {name: d, match: {exe: /x/a}, actions: [deny]}\n", true},
	    {"  - {name: d, match: {exe: \"/x/*\"}, unless: {exe: /x/ok}, actions: [deny]}\n",
	     true},
	    /* fileless: a file deleted after it was allowed runs through an fd */
	    {"  - {name: d, match: {fileless: true}, actions: [deny]}\n", false},
	    {"  - {name: d, match: {exe: /x/a, uid: 64001}, actions: [deny]}\n", false},
	    {"  - {name: d, match: {exe: /x/a}, unless: {uid: 64001}, actions: [deny]}\n", false},
	    {"  - {name: d, match: {parent_exe: /x/p}, actions: [deny]}\n", false},
	    {"  - {name: d, actions: [deny]}\n", true},
	    /* an allow on the caller before the last deny decides whether it applies */
	    {"  - {name: a, match: {uid: 64001}, actions: [allow]}\n"
	     "  - {name: d, match: {exe: /x/a}, actions: [deny]}\n",
	     false},
	    /* after the last deny, or not deny/allow: the gate does not evaluate it */
	    {"  - {name: d, match: {exe: /x/a}, actions: [deny]}\n"
	     "  - {name: a, match: {uid: 64001}, actions: [allow]}\n"
	     "  - {name: k, match: {uid: 64002}, actions: [kill]}\n",
	     true},
	    {"  - {name: l, match: {uid: 64001}, actions: [log]}\n"
	     "  - {name: d, match: {exe: /x/a}, actions: [deny]}\n",
	     true},
	    /* no deny: no gate */
	    {"  - {name: k, match: {exe: /x/a}, actions: [kill]}\n", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "version: 1\nrules:\n%s", cases[i].rules);
		struct policy *p = load_ok(text);
		if (policy_gate_file_only(p) != cases[i].want)
			fail_msg("case %zu: %s", i, cases[i].rules);
		policy_unref(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_order),
	    cmocka_unit_test(test_unknown_is_unknown),
	    cmocka_unit_test(test_identity),
	    cmocka_unit_test(test_allow_stops),
	    cmocka_unit_test(test_unless),
	    cmocka_unit_test(test_accumulate_and_signal),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_catastrophic_regex),
	    cmocka_unit_test(test_example_policy),
	    cmocka_unit_test(test_default_policy),
	    cmocka_unit_test(test_default_file_matches),
	    cmocka_unit_test(test_many_exact_rules),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_deny_preexec),
	    cmocka_unit_test(test_audit_mode),
	    cmocka_unit_test(test_deny_anywhere),
	    cmocka_unit_test(test_deny_needs_preexec_keys),
	    cmocka_unit_test(test_glob_index),
	    cmocka_unit_test(test_glob_and_exact_no_duplicate),
	    cmocka_unit_test(test_glob_order),
	    cmocka_unit_test(test_glob_deep_exe),
	    cmocka_unit_test(test_gate_file_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
