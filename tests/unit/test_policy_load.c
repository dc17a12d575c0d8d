/*
 * test_policy_load.c - every load error, with its exact FILE:LINE:COL.
 *
 * Overview: each bad fixture in tests/fixtures/policy/bad/ is loaded by its
 * relative name (from that directory, so the names in the messages are
 * stable) and the messages are compared byte for byte with the golden .err
 * beside it.  PW_UPDATE_GOLDEN=1 rewrites the goldens (then review them).
 */
#include <errno.h>
#include <unistd.h>

#include "policy_helpers.h"

#define BAD_DIR PW_FIXTURES "/policy/bad"

/* Every fixture: each load error of the issue has at least one. */
static const char *const fixtures[] = {
    "alias.yaml",
    "bad_glob.yaml",
    "bad_range.yaml",
    "bad_regex.yaml",
    "bad_timeout.yaml",
    "comments_only.yaml",
    "deny.yaml",
    "dup_dir",
    "duplicate_name.yaml",
    "empty.yaml",
    "empty_actions.yaml",
    "fileless_type.yaml",
    "hook_empty_argv.yaml",
    "hook_relative.yaml",
    "many_errors.yaml",
    "missing_actions.yaml",
    "missing_name.yaml",
    "missing_version.yaml",
    "no_such_file.yaml",
    "not_a_mapping.yaml",
    "not_utf8.yaml",
    "not_yaml.yaml",
    "two_documents.yaml",
    "unknown_action.yaml",
    "unknown_group.yaml",
    "unknown_key.yaml",
    "unknown_match_key.yaml",
    "unknown_severity.yaml",
    "unknown_signal.yaml",
    "unknown_user.yaml",
    "unsupported_version.yaml",
    "wrong_type.yaml",
};

/* Read a whole file, or NULL when it does not exist. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* Load name (relative to BAD_DIR) and return what check would print. */
static char *load_messages(const char *name)
{
	struct policy *p = (struct policy *)0x1;
	struct diags d;
	char *out = NULL;
	size_t len = 0;
	FILE *m;
	int r;

	diags_init(&d);
	r = policy_load(&name, 1, NULL, &p, &d);
	assert_int_equal(r, -EINVAL);
	assert_ptr_equal(p, (struct policy *)0x1);
	assert_true(d.errors > 0);
	m = open_memstream(&out, &len);
	assert_non_null(m);
	diags_print(&d, m);
	fclose(m);
	diags_free(&d);
	return out;
}

static void test_goldens(void **state)
{
	int update = getenv("PW_UPDATE_GOLDEN") != NULL;
	char cwd[4096];
	size_t failed = 0;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(BAD_DIR), 0);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char golden[256];
		char *got = load_messages(fixtures[i]), *want;
		const char *dot = strrchr(fixtures[i], '.');
		int stem = dot ? (int)(dot - fixtures[i]) : (int)strlen(fixtures[i]);

		snprintf(golden, sizeof(golden), "%.*s.err", stem, fixtures[i]);
		if (update) {
			FILE *f = fopen(golden, "w");

			assert_non_null(f);
			fputs(got, f);
			fclose(f);
		}
		want = read_all(golden);
		if (!want || strcmp(got, want) != 0) {
			fprintf(stderr, "%s: messages differ from %s\n--- got:\n%s--- want:\n%s",
			        fixtures[i], golden, got, want ? want : "(no golden file)\n");
			failed++;
		}
		free(got);
		free(want);
	}
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(failed, 0);
}

static void test_inline_errors(void **state)
{
	char *m;

	(void)state;
	/* the name of a buffer is the FILE of its messages */
	m = load_fail("version: 1\nrules:\n  - name: a\n    actions: [kil]\n");
	assert_string_equal(m, "test.yaml:4:15: error: unknown action 'kil' (did you mean "
	                       "'kill'?)");
	free(m);
	/* a column inside a quoted regex, at PCRE2's offset */
	m = load_fail("version: 1\nrules:\n  - name: a\n    match: {exe: 're:ab)c'}\n"
	              "    actions: [log]\n");
	assert_non_null(strstr(m, "test.yaml:4:24: error: invalid regex 're:ab)c': "));
	assert_non_null(strstr(m, "(at offset 2)"));
	free(m);
	/* control characters in user strings never break the one-line format */
	m = load_fail("version: 1\nrules:\n  - name: \"a\\nb\"\n    severity: \"x\\ny\"\n"
	              "    actions: [log]\n");
	assert_string_equal(m, "test.yaml:4:15: error: unknown severity 'x?y' (expected info, "
	                       "notice, warning, error or critical)");
	free(m);
}

static void test_directory_order(void **state)
{
	char dir[] = "/tmp/pw-policy-dir-XXXXXX";
	char path[256];
	const char *paths[1] = {dir};
	static const char *const files[][2] = {
	    {"b.yaml", "version: 1\nrules:\n  - {name: from-b, actions: [log]}\n"},
	    {"a.yml", "version: 1\nrules:\n  - {name: from-a, actions: [log]}\n"
	              "  - {name: from-a2, actions: [log]}\n"},
	    {"c.txt", "not: [a policy\n"},
	    {".hidden.yaml", "not: [a policy\n"},
	    {"B.yaml", "version: 1\nrules:\n  - {name: from-B, actions: [kill]}\n"},
	};
	struct policy *p = NULL;
	struct diags d;
	const char *name;
	size_t rules, actions;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(files[i][1], f);
		fclose(f);
	}
	diags_init(&d);
	assert_int_equal(policy_load(paths, 1, NULL, &p, &d), 0);
	assert_int_equal(policy_rule_count(p), 4);
	/* bytewise order: 'B' < 'a' < 'b' */
	assert_string_equal(policy_rule_name(p, 0), "from-B");
	assert_string_equal(policy_rule_name(p, 1), "from-a");
	assert_string_equal(policy_rule_name(p, 2), "from-a2");
	assert_string_equal(policy_rule_name(p, 3), "from-b");
	assert_int_equal(policy_file_count(p), 3);
	policy_file_info(p, 1, &name, &rules, &actions);
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	assert_string_equal(name, path);
	assert_int_equal(rules, 2);
	assert_int_equal(actions, 2);
	policy_unref(p);
	diags_free(&d);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		unlink(path);
	}
	rmdir(dir);
}

static void test_error_cap(void **state)
{
	size_t cap = 300 * 48 + 64, n = 0;
	char *text = malloc(cap);
	struct policy *p = NULL;
	struct diags d;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "version: 1\nrules:\n");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, cap - n, "  - {name: r%d, actions: [lgo]}\n", i);
	diags_init(&d);
	assert_int_equal(policy_load_buffer("cap.yaml", text, n, NULL, &p, &d), -EINVAL);
	assert_null(p);
	assert_int_equal(d.errors, 300); /* all counted ... */
	assert_int_equal(d.n, 100);      /* ... the first 100 kept */
	assert_int_equal(d.dropped, 200);
	assert_int_equal(d.v[99].line, 102); /* rule i is on line 3 + i */
	diags_free(&d);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_goldens),
	    cmocka_unit_test(test_inline_errors),
	    cmocka_unit_test(test_directory_order),
	    cmocka_unit_test(test_error_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
