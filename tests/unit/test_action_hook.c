/*
 * test_action_hook.c - the hook executor: the wire format's checks, the
 * hook's environment, stdin, fds and signal state, timeouts that kill the
 * whole group, submits that never wait, rate limit, concurrency cap and
 * queue, bounded output capture, malformed messages, stopping.
 *
 * Every hook is a tiny /bin/sh script in a private mkdtemp directory; the
 * only processes killed are the executor's own hooks.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_check.h"
#include "procwarden/hookexec.h"

static char dir[64];

#define MAX_LINES 64

/* Milliseconds on the monotonic clock. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Path of a file in the private directory. */
static const char *in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* Write an executable hook script. */
static void write_script(const char *name, const char *body)
{
	char path[128];
	FILE *f = fopen(in_dir(path, sizeof(path), name), "we");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0700), 0);
}

/* Read a small file into buf (NUL-terminated); -1 if absent. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Collect n result lines within timeout_ms; each must be valid JSON.
 * Returns how many arrived. */
static int collect(struct hookexec *h, char lines[][HOOKEXEC_MAX_RECORD + 1], int n,
                   unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	int got = 0;

	while (got < n && now_ms() < end) {
		struct pollfd p = {.fd = hookexec_fd(h), .events = POLLIN};
		ssize_t len;

		poll(&p, 1, 50);
		len = hookexec_read(h, lines[got], HOOKEXEC_MAX_RECORD + 1);
		if (len == -EAGAIN)
			continue;
		assert_true(len > 0);
		assert_int_equal(lines[got][len - 1], '\n');
		if (!json_check(lines[got], (size_t)len))
			fail_msg("invalid JSON: %s", lines[got]);
		got++;
	}
	return got;
}

/* The raw (still escaped) string value of "key" in line, or "" . */
static const char *get_str(const char *line, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	p = strstr(line, pat);
	if (!p)
		return out;
	p += strlen(pat);
	while (*p && *p != '"' && n + 2 < size) {
		if (*p == '\\')
			out[n++] = *p++;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

/* The integer value of "key" in line, or INT64_MIN when absent. */
static int64_t get_int(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : INT64_MIN;
}

/* Count the lines whose "key" equals value. */
static int count_field(char lines[][HOOKEXEC_MAX_RECORD + 1], int n, const char *key,
                       const char *value)
{
	char buf[256];
	int c = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(get_str(lines[i], key, buf, sizeof(buf)), value) == 0)
			c++;
	return c;
}

/* Is pid gone (absent, or a zombie waiting for its new parent)? */
static bool process_gone(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return true;
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Wait up to ms for pid to be gone. */
static bool wait_gone(pid_t pid, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (process_gone(pid))
			return true;
		usleep(10000);
	}
	return process_gone(pid);
}

/* A request for script name with target pid. */
static struct hook_request request(const char *const *argv, const char *rule, int32_t pid,
                                   const char *record)
{
	return (struct hook_request){
	    .argv = argv,
	    .rule = rule,
	    .pid = pid,
	    .ppid = 1,
	    .uid = 1000,
	    .exe = "/usr/bin/victim",
	    .cmdline = "victim --flag 'quoted arg'",
	    .record = record,
	    .record_len = record ? strlen(record) : 0,
	};
}

static char (*lines)[HOOKEXEC_MAX_RECORD + 1];

static int group_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/pw-hook-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	lines = calloc(MAX_LINES, sizeof(*lines));
	return lines ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(lines);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_codec(void **state)
{
	static const char *const argv[] = {"/bin/hook", "a", "", "b c", NULL};
	struct hook_request req = request(argv, "rule-1", 42, "{\"type\":\"exec\"}\n"), got;
	const char *dargv[HOOKEXEC_MAX_ARGS + 1], *why;
	static char buf[HOOKEXEC_MAX_MSG], bad[HOOKEXEC_MAX_MSG];
	int n, r;

	(void)state;
	req.timeout_s = 7;
	n = hookexec_encode(&req, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(hookexec_decode(buf, (size_t)n, &got, dargv, &why), 0);
	assert_string_equal(got.argv[0], "/bin/hook");
	assert_string_equal(got.argv[2], "");
	assert_string_equal(got.argv[3], "b c");
	assert_null(got.argv[4]);
	assert_string_equal(got.rule, "rule-1");
	assert_string_equal(got.exe, "/usr/bin/victim");
	assert_string_equal(got.cmdline, "victim --flag 'quoted arg'");
	assert_int_equal(got.record_len, strlen(req.record));
	assert_memory_equal(got.record, req.record, got.record_len);
	assert_int_equal(got.pid, 42);
	assert_int_equal(got.ppid, 1);
	assert_int_equal(got.uid, 1000);
	assert_int_equal(got.timeout_s, 7);

	/* every truncation is refused */
	for (int len = 0; len < n; len++)
		assert_int_equal(hookexec_decode(buf, (size_t)len, &got, dargv, &why), -EBADMSG);
	/* every single-byte corruption is refused or still decodes within bounds */
	for (int i = 0; i < n; i++) {
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x5a;
		r = hookexec_decode(bad, (size_t)n, &got, dargv, &why);
		if (r == 0) {
			assert_true(got.argv[0][0] == '/');
			assert_true(got.rule >= bad && got.record + got.record_len < bad + n);
		} else {
			assert_int_equal(r, -EBADMSG);
		}
	}
	/* header fields: bad magic, version, total length, argc, a missing NUL */
	{
		static const struct {
			size_t off;
			uint32_t val;
			int size;
		} cases[] = {
		    {0, 0xdeadbeef, 4},   /* magic */
		    {4, 2, 2},            /* version */
		    {6, 0, 2},            /* argc 0 */
		    {6, 3, 2},            /* argc smaller than the strings */
		    {6, 9, 2},            /* argc larger */
		    {8, 10, 4},           /* total_len */
		    {28, 0xffffffffu, 4}, /* argv_len: overflow attempt */
		    {32, 1, 4},           /* rule_len: parts no longer add up */
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			uint16_t v16 = (uint16_t)cases[c].val;

			memcpy(bad, buf, (size_t)n);
			if (cases[c].size == 2)
				memcpy(bad + cases[c].off, &v16, 2);
			else
				memcpy(bad + cases[c].off, &cases[c].val, 4);
			assert_int_equal(hookexec_decode(bad, (size_t)n, &got, dargv, &why),
			                 -EBADMSG);
			assert_non_null(why);
		}
	}
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = 'x'; /* record not NUL-terminated */
	assert_int_equal(hookexec_decode(bad, (size_t)n, &got, dargv, &why), -EBADMSG);

	/* encoder limits */
	{
		static const char *const rel[] = {"hook", NULL};
		char *big = malloc(HOOKEXEC_MAX_MSG);

		assert_non_null(big);
		req.argv = rel;
		assert_int_equal(hookexec_encode(&req, buf, sizeof(buf)), -EINVAL);
		req.argv = argv;
		memset(big, 'r', HOOKEXEC_MAX_MSG - 1);
		big[HOOKEXEC_MAX_MSG - 1] = '\0';
		req.record = big;
		req.record_len = HOOKEXEC_MAX_MSG - 100;
		assert_int_equal(hookexec_encode(&req, buf, sizeof(buf)), -E2BIG);
		req.record_len = 1000;
		assert_int_equal(hookexec_encode(&req, buf, 500), -E2BIG);
		assert_true(hookexec_encode(&req, buf, sizeof(buf)) > 1000);
		free(big);
	}
}

static void test_env_stdin_fds(void **state)
{
	static const char record[] = "{\"type\":\"exec\",\"pid\":4242,\"argv\":[\"a\\nb\"]}\n";
	char path[128], buf[8192], val[256];
	const char *argv[] = {path, "arg one", NULL};
	struct hookexec *h;
	struct hook_request req;
	sigset_t block, old;
	struct sigaction ign = {.sa_handler = SIG_IGN}, oldusr;

	(void)state;
	write_script("record.sh", "d=${0%/*}\n"
	                          "env > \"$d/env\"\n"
	                          "cat > \"$d/stdin\"\n"
	                          "ls /proc/self/fd | tr '\\n' ' ' > \"$d/fds\"\n"
	                          "grep -E '^Sig(Blk|Ign)' /proc/self/status > \"$d/sig\"\n"
	                          "printf 'out\\n'; printf 'err\"\\n' >&2");
	in_dir(path, sizeof(path), "record.sh");
	/* the agent blocks and ignores signals: hooks must not inherit that */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &ign, &oldusr);
	assert_int_equal(hookexec_start(NULL, &h), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGUSR1, &oldusr, NULL);

	req = request(argv, "alert-rule", 4242, record);
	assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 1, 5000), 1);
	assert_string_equal(get_str(lines[0], "type", val, sizeof(val)), "hook");
	assert_string_equal(get_str(lines[0], "result", val, sizeof(val)), "ok");
	assert_string_equal(get_str(lines[0], "rule", val, sizeof(val)), "alert-rule");
	assert_string_equal(get_str(lines[0], "stdout", val, sizeof(val)), "out\\n");
	assert_string_equal(get_str(lines[0], "stderr", val, sizeof(val)), "err\\\"\\n");
	assert_int_equal(get_int(lines[0], "pid"), 4242);
	assert_int_equal(get_int(lines[0], "exit_code"), 0);
	assert_true(get_int(lines[0], "hook_pid") > 0);
	assert_true(strlen(get_str(lines[0], "time", val, sizeof(val))) == 27);
	assert_non_null(strstr(lines[0], "\"output_truncated\":false"));
	assert_non_null(strstr(lines[0], "\"argv\":[\""));
	assert_non_null(strstr(lines[0], "record.sh\",\"arg one\"]"));

	/* the environment is exactly PATH and the six PROCWARDEN_ variables (the
	 * shell adds PWD) */
	assert_true(read_file(in_dir(buf, sizeof(buf), "env"), buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_PID=4242\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_PPID=1\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_UID=1000\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_EXE=/usr/bin/victim\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_CMDLINE=victim --flag 'quoted arg'\n"));
	assert_non_null(strstr(buf, "PROCWARDEN_RULE=alert-rule\n"));
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "PROCWARDEN_", 11) != 0 && strncmp(l, "PATH=", 5) != 0 &&
		    strncmp(l, "PWD=", 4) != 0)
			fail_msg("unexpected variable in the hook's environment: %s", l);
	/* stdin is the record, byte for byte */
	assert_int_equal(read_file(in_dir(buf, sizeof(buf), "stdin"), buf, sizeof(buf)),
	                 (ssize_t)strlen(record));
	assert_string_equal(buf, record);
	/* only 0, 1, 2 (and ls's own directory fd) */
	assert_true(read_file(in_dir(buf, sizeof(buf), "fds"), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "0 1 2 3 ");
	/* nothing blocked, nothing ignored */
	assert_true(read_file(in_dir(buf, sizeof(buf), "sig"), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	hookexec_stop(h);
}

static void test_timeout_kills_group(void **state)
{
	char path[128], buf[128], val[64];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;
	pid_t bg, hook;
	int64_t ms;

	(void)state;
	write_script("sleeper.sh", "sleep 30 &\necho $! > \"${0%/*}/bg\"\nexec sleep 30");
	in_dir(path, sizeof(path), "sleeper.sh");
	assert_int_equal(hookexec_start(NULL, &h), 0);
	req = request(argv, "slow", 1, "{}\n");
	req.timeout_s = 1;
	assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 1, 5000), 1);
	assert_string_equal(get_str(lines[0], "result", val, sizeof(val)), "timeout");
	assert_string_equal(get_str(lines[0], "signal", val, sizeof(val)), "SIGKILL");
	ms = get_int(lines[0], "duration_ms");
	assert_true(ms >= 950 && ms < 2500);
	hook = (pid_t)get_int(lines[0], "hook_pid");
	assert_true(read_file(in_dir(buf, sizeof(buf), "bg"), buf, sizeof(buf)) > 0);
	bg = (pid_t)atoi(buf);
	assert_true(bg > 0);
	assert_true(wait_gone(hook, 1000));
	assert_true(wait_gone(bg, 1000)); /* the whole group went */
	hookexec_stop(h);
}

static void test_twenty_submits_prompt(void **state)
{
	struct hookexec_opts o = {.rate_per_rule = 100};
	char path[128];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;
	uint64_t t0, t1;

	(void)state;
	write_script("nap.sh", "exec sleep 0.4");
	in_dir(path, sizeof(path), "nap.sh");
	assert_int_equal(hookexec_start(&o, &h), 0);
	req = request(argv, "storm", 7, "{\"type\":\"exec\"}\n");
	t0 = now_ms();
	for (int i = 0; i < 20; i++) {
		req.pid = 1000 + i;
		assert_int_equal(hookexec_submit(h, &req), 0);
	}
	t1 = now_ms();
	assert_true(t1 - t0 < 50);
	assert_int_equal(collect(h, lines, 20, 10000), 20);
	assert_int_equal(count_field(lines, 20, "result", "ok"), 20);
	/* 8 at a time: three waves of 0.4 s */
	assert_true(now_ms() - t0 >= 1100);
	assert_int_equal(hookexec_local_skips(h), 0);
	hookexec_stop(h);
}

static void test_rate_limit(void **state)
{
	struct hookexec_opts o = {.rate_per_rule = 2, .rate_window_s = 60};
	char path[128], val[64];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;

	(void)state;
	write_script("true.sh", "exit 0");
	in_dir(path, sizeof(path), "true.sh");
	assert_int_equal(hookexec_start(&o, &h), 0);
	req = request(argv, "noisy", 1, "{}\n");
	for (int i = 0; i < 5; i++)
		assert_int_equal(hookexec_submit(h, &req), 0);
	req.rule = "quiet";
	assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 6, 5000), 6);
	assert_int_equal(count_field(lines, 6, "result", "ok"), 3);
	assert_int_equal(count_field(lines, 6, "result", "skipped"), 3);
	assert_int_equal(count_field(lines, 6, "reason", "rate-limit"), 3);
	for (int i = 0; i < 6; i++)
		if (strcmp(get_str(lines[i], "result", val, sizeof(val)), "skipped") == 0) {
			assert_string_equal(get_str(lines[i], "rule", val, sizeof(val)), "noisy");
			assert_int_equal(get_int(lines[i], "hook_pid"), INT64_MIN);
		}
	hookexec_stop(h);
}

/* Skipped launches are not lost: the last one skipped runs once the window
 * reopens, told how many others (and which) it stands for; a run admitted
 * after skips is told the same. */
static void test_rate_limit_coalesces(void **state)
{
	struct hookexec_opts o = {.rate_per_rule = 1, .rate_window_s = 1};
	char path[128], buf[4096];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;

	(void)state;
	write_script("co.sh", "d=${0%/*}\n"
	                      "echo \"$PROCWARDEN_PID ${PROCWARDEN_COALESCED:-0} "
	                      "${PROCWARDEN_COALESCED_PIDS:-}\" >> \"$d/co\"");
	in_dir(path, sizeof(path), "co.sh");
	unlink(in_dir(buf, sizeof(buf), "co"));
	assert_int_equal(hookexec_start(&o, &h), 0);
	for (int pid = 101; pid <= 105; pid++) {
		req = request(argv, "decoyed", pid, "{}\n");
		assert_int_equal(hookexec_submit(h, &req), 0);
	}
	/* 1 ok + 4 skipped at once, then the held one (105) after ~1 s */
	assert_int_equal(collect(h, lines, 6, 5000), 6);
	assert_int_equal(count_field(lines, 6, "result", "skipped"), 4);
	assert_int_equal(count_field(lines, 6, "result", "ok"), 2);
	assert_non_null(strstr(lines[5], "\"coalesced\":3"));
	assert_true(read_file(in_dir(buf, sizeof(buf), "co"), buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "101 0 \n105 3 102 103 104\n");
	hookexec_stop(h);
}

static void test_concurrency_queue(void **state)
{
	struct hookexec_opts o = {.max_concurrent = 1, .max_queue = 2, .rate_per_rule = 100};
	char path[128];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;

	(void)state;
	write_script("nap2.sh", "exec sleep 0.3");
	in_dir(path, sizeof(path), "nap2.sh");
	assert_int_equal(hookexec_start(&o, &h), 0);
	req = request(argv, "cap", 1, "{}\n");
	for (int i = 0; i < 5; i++)
		assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 5, 5000), 5);
	assert_int_equal(count_field(lines, 5, "result", "ok"), 3); /* 1 running + 2 queued */
	assert_int_equal(count_field(lines, 5, "reason", "concurrency"), 2);
	hookexec_stop(h);
}

static void test_output_bounded_and_results(void **state)
{
	struct hookexec_opts o = {.max_output = 16, .rate_per_rule = 100};
	char p_loud[128], p_exit[128], p_sig[128], p_noexec[128], p_missing[128], val[256];
	const char *a_loud[] = {p_loud, NULL}, *a_exit[] = {p_exit, NULL};
	const char *a_sig[] = {p_sig, NULL}, *a_noexec[] = {p_noexec, NULL};
	const char *a_missing[] = {p_missing, NULL};
	struct hook_request req;
	struct hookexec *h;
	int seen = 0;

	(void)state;
	write_script("loud.sh", "i=0; while [ $i -lt 200 ]; do printf xxxxx; printf yyyyy >&2; "
	                        "i=$((i+1)); done");
	write_script("exit3.sh", "exit 3");
	write_script("selfkill.sh", "kill -TERM $$");
	write_script("noexec.sh", "exit 0");
	chmod(in_dir(p_noexec, sizeof(p_noexec), "noexec.sh"), 0600);
	in_dir(p_loud, sizeof(p_loud), "loud.sh");
	in_dir(p_exit, sizeof(p_exit), "exit3.sh");
	in_dir(p_sig, sizeof(p_sig), "selfkill.sh");
	in_dir(p_missing, sizeof(p_missing), "missing.sh");
	assert_int_equal(hookexec_start(&o, &h), 0);
	req = request(a_loud, "loud", 1, NULL);
	assert_int_equal(hookexec_submit(h, &req), 0);
	req = request(a_exit, "exit", 2, NULL);
	assert_int_equal(hookexec_submit(h, &req), 0);
	req = request(a_sig, "sig", 3, NULL);
	assert_int_equal(hookexec_submit(h, &req), 0);
	req = request(a_noexec, "noexec", 4, NULL);
	assert_int_equal(hookexec_submit(h, &req), 0);
	req = request(a_missing, "missing", 5, NULL);
	assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 5, 5000), 5);
	for (int i = 0; i < 5; i++) {
		const char *l = lines[i];

		switch (get_int(l, "pid")) {
		case 1:
			assert_string_equal(get_str(l, "result", val, sizeof(val)), "ok");
			assert_string_equal(get_str(l, "stdout", val, sizeof(val)),
			                    "xxxxxxxxxxxxxxxx");
			assert_string_equal(get_str(l, "stderr", val, sizeof(val)),
			                    "yyyyyyyyyyyyyyyy");
			assert_non_null(strstr(l, "\"output_truncated\":true"));
			break;
		case 2:
			assert_string_equal(get_str(l, "result", val, sizeof(val)), "exit");
			assert_int_equal(get_int(l, "exit_code"), 3);
			break;
		case 3:
			assert_string_equal(get_str(l, "result", val, sizeof(val)), "signal");
			assert_string_equal(get_str(l, "signal", val, sizeof(val)), "SIGTERM");
			assert_int_equal(get_int(l, "exit_code"), INT64_MIN);
			break;
		case 4:
			assert_string_equal(get_str(l, "result", val, sizeof(val)), "error");
			assert_string_equal(get_str(l, "reason", val, sizeof(val)),
			                    "spawn failed: Permission denied");
			break;
		case 5:
			assert_string_equal(get_str(l, "result", val, sizeof(val)), "error");
			assert_string_equal(get_str(l, "reason", val, sizeof(val)),
			                    "spawn failed: No such file or directory");
			break;
		default:
			fail_msg("unexpected record %s", l);
		}
		seen++;
	}
	assert_int_equal(seen, 5);
	hookexec_stop(h);
}

static void test_malformed_on_socket(void **state)
{
	char path[128], val[256];
	const char *argv[] = {path, NULL};
	static char msg[HOOKEXEC_MAX_MSG + 16];
	struct hook_request req;
	struct hookexec *h;
	int n;

	(void)state;
	write_script("true2.sh", "exit 0");
	in_dir(path, sizeof(path), "true2.sh");
	assert_int_equal(hookexec_start(NULL, &h), 0);
	/* garbage, a truncated valid message, and one longer than the maximum */
	assert_int_equal(send(hookexec_fd(h), "garbage", 7, 0), 7);
	req = request(argv, "ok-after", 9, "{}\n");
	n = hookexec_encode(&req, msg, sizeof(msg));
	assert_true(n > 0);
	assert_int_equal(send(hookexec_fd(h), msg, (size_t)n - 1, 0), n - 1);
	memset(msg + n, 0, sizeof(msg) - (size_t)n);
	assert_int_equal(send(hookexec_fd(h), msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	/* the executor is still fine */
	assert_int_equal(hookexec_submit(h, &req), 0);
	assert_int_equal(collect(h, lines, 4, 5000), 4);
	assert_int_equal(count_field(lines, 4, "type", "error"), 3);
	assert_string_equal(get_str(lines[0], "message", val, sizeof(val)),
	                    "malformed hook request (7 bytes): shorter than the header");
	assert_string_equal(get_str(lines[0], "source", val, sizeof(val)), "hookexec");
	assert_non_null(strstr(lines[2], "longer than the maximum"));
	assert_string_equal(get_str(lines[3], "result", val, sizeof(val)), "ok");
	hookexec_stop(h);
}

static void test_stop_kills_running(void **state)
{
	char path[128], buf[128];
	const char *argv[] = {path, NULL};
	struct hook_request req;
	struct hookexec *h;
	pid_t hook = 0, ex;
	uint64_t t0;

	(void)state;
	write_script("long.sh", "echo $$ > \"${0%/*}/long.pid\"\nexec sleep 30");
	in_dir(path, sizeof(path), "long.sh");
	unlink(in_dir(buf, sizeof(buf), "long.pid"));
	assert_int_equal(hookexec_start(NULL, &h), 0);
	ex = hookexec_pid(h);
	req = request(argv, "long", 1, "{}\n");
	req.timeout_s = 30;
	assert_int_equal(hookexec_submit(h, &req), 0);
	for (int i = 0; i < 200 && hook <= 0; i++) {
		usleep(10000);
		if (read_file(in_dir(buf, sizeof(buf), "long.pid"), buf, sizeof(buf)) > 0)
			hook = (pid_t)atoi(buf);
	}
	assert_true(hook > 0);
	t0 = now_ms();
	hookexec_stop(h); /* 2 s grace, then the hook is killed */
	assert_true(now_ms() - t0 >= 1900);
	assert_true(now_ms() - t0 < 3500);
	assert_true(wait_gone(hook, 1000));
	assert_true(process_gone(ex));
	hookexec_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec),
	    cmocka_unit_test(test_env_stdin_fds),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_twenty_submits_prompt),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_rate_limit_coalesces),
	    cmocka_unit_test(test_concurrency_queue),
	    cmocka_unit_test(test_output_bounded_and_results),
	    cmocka_unit_test(test_malformed_on_socket),
	    cmocka_unit_test(test_stop_kills_running),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
