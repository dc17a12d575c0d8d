/*
 * test_util_json.c - the fixed-buffer JSON writer: escapes, invalid UTF-8,
 * nesting, and truncation that always leaves valid JSON (checked with the
 * strict validator in json_check.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_check.h"
#include "procwarden/json.h"

/* Validate a string literal. */
#define LIT_OK(lit) json_check(lit, sizeof(lit) - 1)

/* Format one string value as {"s":...} into buf and return the line. */
static const char *one_string(char *buf, size_t cap, const char *s, size_t n)
{
	struct jbuf j;

	json_init(&j, buf, cap);
	json_obj_open(&j);
	json_kv_strn(&j, "s", s, n);
	json_finish(&j);
	assert_true(json_check(buf, strlen(buf)));
	return buf;
}

static void test_validator_itself(void **state)
{
	(void)state;
	assert_true(LIT_OK("{\"a\":[1,-2.5e3,true,null,\"x\\u00e9\"]}"));
	assert_false(LIT_OK("{\"a\":[1,]}"));
	assert_false(LIT_OK("{\"a\":1,}"));
	assert_false(LIT_OK("{\"a\" 1}"));
	assert_false(LIT_OK("\"\x01\""));
	assert_false(LIT_OK("\"\\x\""));
	assert_false(LIT_OK("\"\xc0\x80\""));
	assert_false(LIT_OK("[1] [2]"));
	assert_false(LIT_OK("01"));
	assert_false(LIT_OK("\"abc"));
}

static void test_escapes(void **state)
{
	static const char in[] = "a\"b\\c\n\t\r\b\f\x01\x1f\x7f/z";
	char buf[256];

	(void)state;
	assert_string_equal(one_string(buf, sizeof(buf), in, sizeof(in) - 1),
	                    "{\"s\":\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f/z\"}\n");
	/* NUL and every other control character via json_strn */
	for (int c = 0; c < 0x20; c++) {
		char ch = (char)c, want[32];
		const char *named = NULL;

		switch (c) {
		case '\n':
			named = "\\n";
			break;
		case '\t':
			named = "\\t";
			break;
		case '\r':
			named = "\\r";
			break;
		case '\b':
			named = "\\b";
			break;
		case '\f':
			named = "\\f";
			break;
		}
		if (named)
			snprintf(want, sizeof(want), "{\"s\":\"%s\"}\n", named);
		else
			snprintf(want, sizeof(want), "{\"s\":\"\\u%04x\"}\n", c);
		assert_string_equal(one_string(buf, sizeof(buf), &ch, 1), want);
	}
}

static void test_utf8(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\xc3\xa9", "\xc3\xa9"},                  /* e acute */
	    {"\xe2\x82\xac", "\xe2\x82\xac"},          /* euro */
	    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},  /* emoji */
	    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},  /* U+10FFFF */
	    {"\xc0\x80", "\\ufffd\\ufffd"},            /* overlong NUL */
	    {"\xc1\xbf", "\\ufffd\\ufffd"},            /* overlong */
	    {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"}, /* overlong '/' */
	    {"\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd"},
	    {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},            /* surrogate D800 */
	    {"\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd"},            /* surrogate DFFF */
	    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* U+110000 */
	    {"\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},
	    {"\xe2\x82", "\\ufffd\\ufffd"},   /* truncated at the end */
	    {"\xe2\x82x", "\\ufffd\\ufffdx"}, /* truncated mid-string */
	    {"\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd"},
	    {"\x80", "\\ufffd"}, /* stray continuation */
	    {"\xff\xfe", "\\ufffd\\ufffd"},
	    {"a\xc3", "a\\ufffd"},
	};
	char buf[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "{\"s\":\"%s\"}\n", cases[i].out);
		assert_string_equal(one_string(buf, sizeof(buf), cases[i].in, strlen(cases[i].in)),
		                    want);
	}
}

/* A 128 KiB string of random bytes (and of long multibyte runs) into a
 * 4 KiB buffer is cut and still valid. */
static void test_huge_string(void **state)
{
	size_t n = 128 * 1024;
	char *big = malloc(n);
	char buf[4096];
	struct jbuf j;
	size_t len;

	(void)state;
	assert_non_null(big);
	srand(42);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < n; i++) {
			if (round == 0)
				big[i] = (char)(rand() & 0xff);
			else if (round == 1)
				big[i] = "\xe2\x82\xac"[i % 3];
			else
				big[i] = '"';
		}
		json_init(&j, buf, sizeof(buf));
		json_obj_open(&j);
		json_kv_str(&j, "type", "exec");
		json_key(&j, "argv");
		json_arr_open(&j);
		json_strn(&j, big, n);
		json_strn(&j, "after", 5);
		json_arr_close(&j);
		json_kv_int(&j, "pid", 1234);
		len = json_finish(&j);
		assert_true(j.truncated);
		assert_true(len < sizeof(buf));
		assert_int_equal(strlen(buf), len);
		assert_int_equal(buf[len - 1], '\n');
		assert_true(json_check(buf, len));
		assert_true(len > sizeof(buf) - 16); /* the buffer was used, not given up */
	}
	free(big);
}

/* The record used by the nesting and truncation tests. */
static void build_record(struct jbuf *j)
{
	json_obj_open(j);
	json_kv_str(j, "type", "exec");
	json_kv_int(j, "pid", -42);
	json_kv_uint(j, "big", UINT64_MAX);
	json_kv_bool(j, "gone", false);
	json_key(j, "argv");
	json_arr_open(j);
	json_str(j, "/bin/echo");
	json_str(j, "quote \" and \\ and\nnewline");
	json_strn(j, "bad \xff\xc0 utf8 \xe2\x82\xac", 15);
	json_arr_close(j);
	json_key(j, "actions");
	json_arr_open(j);
	json_obj_open(j);
	json_kv_str(j, "action", "kill");
	json_kv_str(j, "signal", "SIGKILL");
	json_key(j, "nested");
	json_arr_open(j);
	json_arr_open(j);
	json_int(j, 1);
	json_int(j, 2);
	json_arr_close(j);
	json_arr_open(j);
	json_arr_close(j);
	json_null(j);
	json_bool(j, true);
	json_arr_close(j);
	json_obj_close(j);
	json_obj_open(j);
	json_kv_str(j, "action", "hook");
	json_key(j, "raw");
	json_raw(j, "{\"x\":1}");
	json_obj_close(j);
	json_arr_close(j);
	json_key(j, "empty");
	json_obj_open(j);
	json_obj_close(j);
	json_kv_str(j, "null_str", NULL);
	json_kv_str(j, "last", "done");
	json_obj_close(j);
}

static const char record_want[] =
    "{\"type\":\"exec\",\"pid\":-42,\"big\":18446744073709551615,\"gone\":false,"
    "\"argv\":[\"/bin/echo\",\"quote \\\" and \\\\ and\\nnewline\","
    "\"bad \\ufffd\\ufffd utf8 \xe2\x82\xac\"],"
    "\"actions\":[{\"action\":\"kill\",\"signal\":\"SIGKILL\","
    "\"nested\":[[1,2],[],null,true]},{\"action\":\"hook\",\"raw\":{\"x\":1}}],"
    "\"empty\":{},\"null_str\":null,\"last\":\"done\"}\n";

static void test_nested(void **state)
{
	char buf[1024];
	struct jbuf j;
	size_t len;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	build_record(&j);
	len = json_finish(&j);
	assert_false(j.truncated);
	assert_string_equal(buf, record_want);
	assert_int_equal(len, strlen(record_want));
	assert_true(json_check(buf, len));
}

/* Every buffer size from 64 to 512 gives valid JSON; big enough gives the
 * whole record. */
static void test_truncation_every_size(void **state)
{
	size_t full = strlen(record_want);

	(void)state;
	for (size_t cap = 64; cap <= 512; cap++) {
		char *buf = malloc(cap); /* exact size: ASan catches any overrun */
		struct jbuf j;
		size_t len;

		assert_non_null(buf);
		memset(buf, 'X', cap);
		json_init(&j, buf, cap);
		build_record(&j);
		len = json_finish(&j);
		assert_true(len < cap);
		assert_int_equal(buf[len], '\0');
		assert_int_equal(buf[len - 1], '\n');
		if (!json_check(buf, len))
			fail_msg("invalid JSON at cap %zu: %s", cap, buf);
		if (cap > full) {
			assert_false(j.truncated);
			assert_string_equal(buf, record_want);
		} else {
			assert_true(j.truncated);
		}
		free(buf);
	}
}

/* Levels beyond the 16-deep stack are skipped, not corrupted. */
static void test_too_deep(void **state)
{
	char buf[512];
	struct jbuf j;
	size_t len;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	json_obj_open(&j);
	json_key(&j, "a");
	for (int i = 0; i < 20; i++)
		json_arr_open(&j);
	json_int(&j, 7);
	for (int i = 0; i < 20; i++)
		json_arr_close(&j);
	json_kv_int(&j, "after", 1);
	json_obj_close(&j);
	len = json_finish(&j);
	assert_true(j.truncated);
	assert_true(json_check(buf, len));
	assert_non_null(strstr(buf, "\"after\":1}"));

	/* unclosed levels are closed by json_finish; a dangling key gets null */
	json_init(&j, buf, sizeof(buf));
	json_obj_open(&j);
	json_key(&j, "a");
	json_arr_open(&j);
	json_obj_open(&j);
	json_key(&j, "k");
	len = json_finish(&j);
	assert_string_equal(buf, "{\"a\":[{\"k\":null}]}\n");
	assert_true(json_check(buf, len));
}

static void test_rfc3339(void **state)
{
	char buf[28];

	(void)state;
	pw_time_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	pw_time_rfc3339(1795307103123456789ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T00:25:03.123456Z");
	assert_int_equal(strlen(buf), 27);
	/* the same second again (its cached part), then the next one */
	pw_time_rfc3339(1795307103000000999ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T00:25:03.000000Z");
	pw_time_rfc3339(1795307104999999999ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T00:25:04.999999Z");
	/* a buffer too small for the fraction gets the seconds, cut to fit */
	char small[12];
	pw_time_rfc3339(1795307103123456789ull, small, sizeof(small));
	assert_string_equal(small, "2026-11-22T");
}

static void test_numbers(void **state)
{
	char buf[64];
	struct jbuf j;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	json_arr_open(&j);
	json_int(&j, INT64_MIN);
	json_int(&j, -1);
	json_int(&j, 0);
	json_uint(&j, UINT64_MAX);
	json_arr_close(&j);
	json_finish(&j);
	assert_string_equal(buf, "[-9223372036854775808,-1,0,18446744073709551615]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validator_itself),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_huge_string),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_truncation_every_size),
	    cmocka_unit_test(test_too_deep),
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
