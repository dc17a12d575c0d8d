/*
 * test_source.c - connector message decoding from byte fixtures, and the
 * BPF filter program run through a tiny classic-BPF interpreter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/filter.h>

#include "procwarden/event.h"
#include "procwarden/nl.h"

/* Little-endian x86_64 datagrams as the kernel sends them:
 * nlmsghdr(16) cn_msg(20) proc_event(16 + union). */
#define NLHDR(len) len, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define CNHDR(dlen) 1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, dlen, 0, 0, 0
#define EVHEAD(what0, what3) what0, 0, 0, what3, 1, 0, 0, 0, 0x10, 0x32, 0x54, 0x76, 0, 0, 0, 0

static const unsigned char fx_fork[] = {NLHDR(68), CNHDR(32), EVHEAD(0x01, 0),
	0xe8, 0x03, 0, 0, 0xe8, 0x03, 0, 0, 0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0};
static const unsigned char fx_exec[] = {NLHDR(60), CNHDR(24), EVHEAD(0x02, 0),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0};
static const unsigned char fx_uid[] = {NLHDR(68), CNHDR(32), EVHEAD(0x04, 0),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0x60, 0xea, 0, 0, 0, 0, 0, 0};
static const unsigned char fx_gid[] = {NLHDR(68), CNHDR(32), EVHEAD(0x40, 0),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0x61, 0xea, 0, 0, 0x62, 0xea, 0, 0};
static const unsigned char fx_sid[] = {NLHDR(60), CNHDR(24), EVHEAD(0x80, 0),
	0xd3, 0x04, 0, 0, 0xd2, 0x04, 0, 0};
static const unsigned char fx_ptrace[] = {NLHDR(68), CNHDR(32), EVHEAD(0x00, 0),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0x10, 0x27, 0, 0, 0x10, 0x27, 0, 0};
static const unsigned char fx_comm[] = {NLHDR(76), CNHDR(40), EVHEAD(0x00, 0),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 'w', 'o', 'r', 'k', 'e', 'r', ' ', '1',
	'2', '3', '4', '5', '6', '7', '8', '9'};
static const unsigned char fx_coredump[] = {NLHDR(68), CNHDR(32), EVHEAD(0x00, 0x40),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0xe8, 0x03, 0, 0, 0xe8, 0x03, 0, 0};
static const unsigned char fx_exit[] = {NLHDR(76), CNHDR(40), EVHEAD(0x00, 0x80),
	0xd2, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0x09, 0, 0, 0, 0x11, 0, 0, 0,
	0xe8, 0x03, 0, 0, 0xe8, 0x03, 0, 0};
static const unsigned char fx_ack[] = {NLHDR(56), CNHDR(20), EVHEAD(0x00, 0), 0, 0, 0, 0};

/* Copy a fixture and patch the event type for the ones whose low byte is 0. */
static size_t load(unsigned char *buf, const unsigned char *fx, size_t len, uint32_t what)
{
	memcpy(buf, fx, len);
	if (what)
		memcpy(buf + 36, &what, 4);
	return len;
}

static void test_fork(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_fork, sizeof(fx_fork), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_FORK);
	assert_int_equal(ev.ppid, 1000);
	assert_int_equal(ev.pid, 1234);
	assert_int_equal(ev.tid, 1234);
	assert_int_equal(ev.cpu, 1);
	assert_true(ev.ktime_ns == 0x76543210ull);
	assert_int_equal(ev.pidfd, -1);
}

static void test_exec(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_exec, sizeof(fx_exec), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_EXEC);
	assert_int_equal(ev.pid, 1234);
}

static void test_ids(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_uid, sizeof(fx_uid), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_UID);
	assert_int_equal(ev.a, 60000);
	assert_int_equal(ev.b, 0);
	assert_int_equal(nl_decode(fx_gid, sizeof(fx_gid), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_GID);
	assert_int_equal(ev.a, 60001);
	assert_int_equal(ev.b, 60002);
	assert_int_equal(nl_decode(fx_sid, sizeof(fx_sid), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_SID);
	assert_int_equal(ev.tid, 1235);
	assert_int_equal(ev.pid, 1234);
}

static void test_ptrace_comm_coredump(void **state)
{
	unsigned char buf[128];
	struct pw_event ev;
	size_t n;
	(void)state;

	n = load(buf, fx_ptrace, sizeof(fx_ptrace), PW_EV_PTRACE);
	assert_int_equal(nl_decode(buf, n, 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_PTRACE);
	assert_int_equal(ev.ppid, 10000);
	n = load(buf, fx_comm, sizeof(fx_comm), PW_EV_COMM);
	assert_int_equal(nl_decode(buf, n, 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_COMM);
	/* 16 bytes without a NUL: cut to 15 and terminated */
	assert_string_equal(ev.comm, "worker 12345678");
	assert_int_equal(nl_decode(fx_coredump, sizeof(fx_coredump), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_COREDUMP);
	assert_int_equal(ev.ppid, 1000);
}

static void test_exit(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_exit, sizeof(fx_exit), 0, &ev), NL_DEC_EVENT);
	assert_int_equal(ev.type, PW_EV_EXIT);
	assert_int_equal(ev.a, 9); /* killed by SIGKILL */
	assert_int_equal(ev.b, 17);
	assert_int_equal(ev.ppid, 1000);
}

static void test_ack(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_ack, sizeof(fx_ack), 0, &ev), NL_DEC_ACK);
	assert_int_equal(ev.pid, 7); /* cn seq */
	assert_int_equal(ev.a, 0);
}

/* Every truncation of every fixture is refused, never read past. */
static void test_short(void **state)
{
	static const struct {
		const unsigned char *p;
		size_t n;
	} fx[] = {{fx_fork, sizeof(fx_fork)}, {fx_exec, sizeof(fx_exec)},
		  {fx_exit, sizeof(fx_exit)}, {fx_comm, sizeof(fx_comm)},
		  {fx_uid, sizeof(fx_uid)}};
	struct pw_event ev;
	(void)state;

	for (size_t f = 0; f < sizeof(fx) / sizeof(fx[0]); f++) {
		for (size_t len = 0; len < fx[f].n; len++) {
			unsigned char *copy = test_malloc(len ? len : 1);
			memcpy(copy, fx[f].p, len);
			int r = nl_decode(copy, len, 0, &ev);
			assert_true(r == -EBADMSG);
			test_free(copy);
		}
	}
}

/* A header that claims more than was received, or a cn_msg.len that claims
 * more than the netlink message holds, or less than the event type needs. */
static void test_malformed(void **state)
{
	unsigned char buf[128];
	struct pw_event ev;
	(void)state;

	memcpy(buf, fx_exit, sizeof(fx_exit));
	buf[0] = 200; /* nlmsg_len > received */
	assert_int_equal(nl_decode(buf, sizeof(fx_exit), 0, &ev), -EBADMSG);
	memcpy(buf, fx_exit, sizeof(fx_exit));
	buf[32] = 100; /* cn len > message */
	assert_int_equal(nl_decode(buf, sizeof(fx_exit), 0, &ev), -EBADMSG);
	memcpy(buf, fx_exit, sizeof(fx_exit));
	buf[32] = 20; /* exit needs 16 + 24 */
	assert_int_equal(nl_decode(buf, sizeof(fx_exit), 0, &ev), -EBADMSG);
	memcpy(buf, fx_exit, sizeof(fx_exit));
	buf[0] = 8; /* nlmsg_len < header */
	assert_int_equal(nl_decode(buf, sizeof(fx_exit), 0, &ev), -EBADMSG);
	/* other connector index: not ours */
	memcpy(buf, fx_exec, sizeof(fx_exec));
	buf[16] = 2;
	assert_int_equal(nl_decode(buf, sizeof(fx_exec), 0, &ev), NL_DEC_SKIP);
	/* unknown event type: skipped */
	memcpy(buf, fx_exec, sizeof(fx_exec));
	buf[37] = 0x04;
	assert_int_equal(nl_decode(buf, sizeof(fx_exec), 0, &ev), NL_DEC_SKIP);
}

static void test_foreign(void **state)
{
	struct pw_event ev;
	(void)state;
	assert_int_equal(nl_decode(fx_exec, sizeof(fx_exec), 4242, &ev), -EPERM);
	assert_int_equal(nl_decode(fx_exit, sizeof(fx_exit), 1, &ev), -EPERM);
}

/* A minimal classic BPF interpreter for the instructions the filter uses. */
static uint32_t run_bpf(const struct sock_filter *f, int n, const unsigned char *pkt, size_t len)
{
	uint32_t a = 0;
	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k + 4 > len)
				return 0;
			a = (uint32_t)pkt[i->k] << 24 | (uint32_t)pkt[i->k + 1] << 16 |
			    (uint32_t)pkt[i->k + 2] << 8 | pkt[i->k + 3];
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += (a == i->k) ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			fail_msg("unexpected BPF instruction %#x", i->code);
		}
	}
	fail_msg("fell off the end of the program");
	return 0;
}

static void test_filter(void **state)
{
	struct sock_filter prog[16];
	unsigned char buf[128];
	int n;
	(void)state;

	n = nl_build_filter(PW_EV_EXEC | PW_EV_EXIT, prog, 16);
	assert_true(n > 0);
	assert_int_not_equal(run_bpf(prog, n, fx_exec, sizeof(fx_exec)), 0);
	assert_int_not_equal(run_bpf(prog, n, fx_exit, sizeof(fx_exit)), 0);
	assert_int_not_equal(run_bpf(prog, n, fx_ack, sizeof(fx_ack)), 0);
	assert_int_equal(run_bpf(prog, n, fx_fork, sizeof(fx_fork)), 0);
	assert_int_equal(run_bpf(prog, n, fx_uid, sizeof(fx_uid)), 0);
	memcpy(buf, fx_exec, sizeof(fx_exec));
	buf[16] = 2; /* another connector index */
	assert_int_equal(run_bpf(prog, n, buf, sizeof(fx_exec)), 0);
	assert_int_equal(nl_build_filter(PW_EV_EXEC, prog, 3), -ENOSPC);
}

static void test_event_names(void **state)
{
	uint32_t mask = 0;
	char bad[32];
	(void)state;
	assert_int_equal(pw_event_parse_list("exec,exit", &mask, bad, sizeof(bad)), 0);
	assert_int_equal(mask, PW_EV_EXEC | PW_EV_EXIT);
	assert_int_equal(pw_event_parse_list("all", &mask, bad, sizeof(bad)), 0);
	assert_int_equal(mask, PW_EV_ALL_KERNEL);
	assert_int_equal(pw_event_parse_list("exec,forks", &mask, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "forks");
	assert_string_equal(pw_event_name(PW_EV_COREDUMP), "coredump");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork),      cmocka_unit_test(test_exec),
		cmocka_unit_test(test_ids),       cmocka_unit_test(test_ptrace_comm_coredump),
		cmocka_unit_test(test_exit),      cmocka_unit_test(test_ack),
		cmocka_unit_test(test_short),     cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_foreign),   cmocka_unit_test(test_filter),
		cmocka_unit_test(test_event_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
