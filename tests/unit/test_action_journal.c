/*
 * test_action_journal.c - a record as a native journal entry: the fixed
 * fields, the record's members as PROCWARDEN_* fields (strings decoded, a
 * rule per name of `rules`, nested objects and null values left out), the
 * binary form of a value that holds a newline, and the length asked for
 * when the buffer is too small; and the transport: an entry too large for
 * a datagram arrives whole as a sealed memfd passed by descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "action/journal.h"
#include "action/syslog.h"

#define LINE(lit) lit, sizeof(lit) - 1

static size_t enc(char *buf, size_t cap, const char *line, size_t len)
{
	return pw_journal_encode(buf, cap, line, len, LOG_WARNING, LOG_AUTHPRIV, "procwarden", 42);
}

static void test_fields_of_an_exec_record(void **state)
{
	(void)state;
	static const char line[] =
	    "{\"host\":\"h\",\"boot_id\":\"b\",\"seq\":7,\"type\":\"exec\",\"time\":\"t\","
	    "\"pid\":1234,\"ppid\":1,\"uid\":64001,\"exe\":\"/tmp/a \\\"b\\\"\\\\c\\u00e9\","
	    "\"argv\":[\"x\",\"{\\\"exe\\\":1}\"],\"parent\":{\"exe\":\"/bin/nested\"},"
	    "\"rules\":[\"kill-tmp\",\"log-all\"],\"severity\":\"critical\",\"gone\":true}";
	char buf[4096];
	size_t n = enc(buf, sizeof(buf), LINE(line));
	assert_true(n < sizeof(buf));
	buf[n] = 0;
	char want[4096];
	snprintf(want, sizeof(want),
	         "PRIORITY=4\nSYSLOG_FACILITY=10\nSYSLOG_IDENTIFIER=procwarden\nSYSLOG_PID=42\n"
	         "PROCWARDEN_SEQ=7\nPROCWARDEN_TYPE=exec\nPROCWARDEN_PID=1234\n"
	         "PROCWARDEN_UID=64001\nPROCWARDEN_EXE=/tmp/a \"b\"\\c\xc3\xa9\n"
	         "PROCWARDEN_RULE=kill-tmp\nPROCWARDEN_RULE=log-all\n"
	         "PROCWARDEN_SEVERITY=critical\nMESSAGE=%s\n",
	         line);
	assert_string_equal(buf, want);
}

static void test_null_and_unknown_left_out(void **state)
{
	(void)state;
	static const char line[] = "{\"type\":\"exec\",\"pid\":5,\"uid\":null,\"exe\":null,"
	                           "\"unknown\":[\"uid\",\"exe\"],\"rule\":\"r\"}";
	char buf[1024];
	size_t n = enc(buf, sizeof(buf), LINE(line));
	buf[n] = 0;
	assert_null(strstr(buf, "PROCWARDEN_UID"));
	assert_null(strstr(buf, "PROCWARDEN_EXE"));
	assert_non_null(strstr(buf, "\nPROCWARDEN_PID=5\n"));
	assert_non_null(strstr(buf, "\nPROCWARDEN_RULE=r\n"));
}

static void test_newline_binary_form(void **state)
{
	(void)state;
	static const char line[] = "{\"exe\":\"/tmp/a\\nb\",\"pid\":1}";
	char buf[1024];
	size_t n = enc(buf, sizeof(buf), LINE(line));
	static const char want[] =
	    "PROCWARDEN_EXE\n\x08\0\0\0\0\0\0\0/tmp/a\nb\nPROCWARDEN_PID=1\n";
	const char *p = memmem(buf, n, "PROCWARDEN_EXE", 14);
	assert_non_null(p);
	assert_memory_equal(p, want, sizeof(want) - 1);
	/* MESSAGE holds no raw newline: the plain form */
	assert_non_null(memmem(buf, n, "\nMESSAGE={\"exe\"", 15));
}

static void test_surrogate_pair(void **state)
{
	(void)state;
	static const char line[] = "{\"exe\":\"/x\\ud83d\\ude00\"}";
	char buf[512];
	size_t n = enc(buf, sizeof(buf), LINE(line));
	assert_non_null(memmem(buf, n, "PROCWARDEN_EXE=/x\xf0\x9f\x98\x80\n", 22));
}

static void test_too_small_says_length(void **state)
{
	(void)state;
	static const char line[] = "{\"type\":\"stop\",\"pid\":9,\"exe\":\"/a/b/c\"}";
	char big[1024], small[16];
	size_t need = enc(big, sizeof(big), LINE(line));
	assert_int_equal(enc(small, sizeof(small), LINE(line)), need);
	assert_int_equal(enc(NULL, 0, LINE(line)), need);
}

static void test_not_an_object(void **state)
{
	(void)state;
	char buf[512];
	size_t n = enc(buf, sizeof(buf), LINE("plain text"));
	buf[n] = 0;
	assert_null(strstr(buf, "PROCWARDEN_"));
	assert_non_null(strstr(buf, "\nMESSAGE=plain text\n"));
	/* malformed (not the agent's JSON): ends, makes nothing up */
	n = enc(buf, sizeof(buf), LINE("{\"rules\":[1}, \"pid\":4}"));
	buf[n] = 0;
	assert_null(strstr(buf, "PROCWARDEN_PID"));
	n = enc(buf, sizeof(buf), LINE("{\"rules\":[\"a\" \"b\"],\"pid\":4}"));
	buf[n] = 0;
	assert_non_null(strstr(buf, "\nMESSAGE="));
	/* a truncated line: what was read stays, nothing is made up */
	n = enc(buf, sizeof(buf), LINE("{\"pid\":3,\"exe\":\"/unterminated"));
	buf[n] = 0;
	assert_non_null(strstr(buf, "PROCWARDEN_PID=3\n"));
	assert_null(strstr(buf, "PROCWARDEN_EXE"));
}

static void test_large_entry_by_memfd(void **state)
{
	(void)state;
	char dir[] = "/tmp/pwjournal.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/socket", dir);
	int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);

	struct pw_syslog s;
	pw_syslog_init(&s, path, "procwarden", LOG_AUTHPRIV, true);
	assert_true(s.fd >= 0);
	int small = 4096; /* the kernel doubles it: datagrams of ~8 KiB at most */
	assert_int_equal(setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	size_t len = 100000;
	char *line = malloc(len + 1);
	assert_non_null(line);
	memset(line, 'a', len);
	memcpy(line, "{\"type\":\"exec\",\"exe\":\"", 23);
	memcpy(line + len - 2, "\"}", 2);
	line[len] = 0;
	assert_int_equal(pw_syslog_send(&s, LOG_WARNING, line, len), 0);
	assert_int_equal(s.sent, 1);

	char byte;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
	assert_int_equal(recvmsg(rx, &mh, MSG_DONTWAIT), 0); /* no payload: only the fd */
	struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
	assert_non_null(ch);
	assert_int_equal(ch->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(ch), sizeof(int));
	assert_int_equal(fcntl(fd, F_GET_SEALS),
	                 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	size_t need = pw_journal_encode(NULL, 0, line, len, LOG_WARNING, LOG_AUTHPRIV, "procwarden",
	                                (int)getpid());
	char *want = malloc(need), *got = malloc(need + 1);
	assert_non_null(want);
	assert_non_null(got);
	pw_journal_encode(want, need, line, len, LOG_WARNING, LOG_AUTHPRIV, "procwarden",
	                  (int)getpid());
	assert_int_equal(pread(fd, got, need + 1, 0), (ssize_t)need);
	assert_memory_equal(got, want, need);
	close(fd);
	free(want);
	free(got);
	free(line);
	pw_syslog_close(&s);
	close(rx);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_of_an_exec_record),
	    cmocka_unit_test(test_null_and_unknown_left_out),
	    cmocka_unit_test(test_newline_binary_form),
	    cmocka_unit_test(test_surrogate_pair),
	    cmocka_unit_test(test_too_small_says_length),
	    cmocka_unit_test(test_not_an_object),
	    cmocka_unit_test(test_large_entry_by_memfd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
