/*
 * test_agent_record.c - an exec record keeps its verdict whatever its argv:
 * an argv of control bytes (each escaped to six) is cut to leave room for
 * the rules, the actions and their results, and says argv_truncated; the
 * line stays valid JSON within the record size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/record.h"
#include "json_check.h"
#include "policy_helpers.h"

#define RECORD_SIZE 65536 /* src/agent/agent.c */

static void check_record_with_argv(const char *payload, size_t plen)
{
	struct policy *p = load_ok("version: 1\n"
	                           "rules:\n"
	                           "  - name: kill-marker\n"
	                           "    severity: critical\n"
	                           "    match: {exe: /tmp/pwtest/marker}\n"
	                           "    actions: [log, kill]\n");
	struct proc_info *pi = pi_new("/tmp/pwtest/marker", 64001);
	pi_parent(pi, "/usr/bin/bash");
	pi->pid = 1234;
	pi->ppid = 1;
	pi->have |= PI_HAVE_PPID;
	/* argv = [exe, payload, "last"] */
	pi->argc = 0;
	pi->argv_len = 0;
	const char *parts[] = {"/tmp/pwtest/marker", payload, "last"};
	size_t lens[] = {strlen(parts[0]), plen, 4};
	for (int i = 0; i < 3; i++) {
		assert_true(pi->argv_len + lens[i] + 1 <= sizeof(pi->argv));
		memcpy(pi->argv + pi->argv_len, parts[i], lens[i]);
		pi->argv_len += (uint32_t)lens[i];
		pi->argv[pi->argv_len++] = 0;
		pi->argc++;
	}
	struct policy_verdict v;
	assert_int_equal(policy_eval(p, pi, &v), 1);
	assert_int_equal(v.n_rules, 1);
	struct act_result acts[2] = {{.action = ACT_LOG, .result = "ok"},
	                             {.action = ACT_KILL, .signal = 9, .rule = 0, .result = "ok"}};
	struct pw_event ev = {.type = PW_EV_EXEC, .pid = 1234, .ktime_ns = 1};
	struct exec_record r = {.ev = &ev,
	                        .pi = pi,
	                        .source = "netlink",
	                        .p = p,
	                        .v = &v,
	                        .acts = acts,
	                        .n_acts = 2,
	                        .latency_us = 40};
	char *buf = malloc(RECORD_SIZE);
	assert_non_null(buf);
	size_t n = record_exec(buf, RECORD_SIZE, &r);
	assert_true(n < RECORD_SIZE);
	assert_true(json_check(buf, n - 1));
	assert_non_null(strstr(buf, "\"rules\":[\"kill-marker\"]"));
	assert_non_null(strstr(buf, "\"severity\":\"critical\""));
	assert_non_null(
	    strstr(buf, "{\"action\":\"kill\",\"signal\":\"SIGKILL\",\"rule\":\"kill-marker\","
	                "\"result\":\"ok\"}"));
	assert_non_null(strstr(buf, "\"source\":\"netlink\""));
	assert_non_null(strstr(buf, "\"parent_exe\":\"/usr/bin/bash\""));
	if (plen > 20000) /* too long for the record: cut, and said */
		assert_non_null(strstr(buf, "\"argv_truncated\":true"));
	else
		assert_non_null(strstr(buf, "\"last\"]"));
	free(buf);
	free(pi);
	policy_unref(p);
}

static void test_control_bytes_argv_keeps_verdict(void **state)
{
	(void)state;
	size_t plen = PW_ARGV_MAX - 64;
	char *payload = malloc(plen + 1);
	assert_non_null(payload);
	memset(payload, 1, plen);
	payload[plen] = 0;
	check_record_with_argv(payload, plen);
	free(payload);
}

static void test_short_argv_whole(void **state)
{
	(void)state;
	check_record_with_argv("--sleep-ms", 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_control_bytes_argv_keeps_verdict),
	    cmocka_unit_test(test_short_argv_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
