/*
 * hookexec.c - the hook executor: a separate process that runs hooks.
 *
 * Overview: two halves joined by one SOCK_SEQPACKET socketpair.
 *
 * The agent half (hookexec_start/submit/read/stop) owns its end of the
 * socket, a 64 KiB encode buffer and the executor's pid.  It encodes each
 * request into one fixed-layout message and sends it without blocking (a full
 * socket is a counted local skip); results come back as one `hook` record
 * JSON line per message, which the agent writes to its output.
 *
 * The executor is two processes: a supervisor (ex_main), which holds the
 * socket and forks a worker; when the worker dies (killed, crashed) it sends
 * an `error` record saying so and forks another, at most EX_RESTARTS times
 * in EX_RESTART_WINDOW_MS, then gives up and exits (the agent sees the
 * socket close).  A request the dead worker had read is lost with it.
 *
 * The worker half (ex_*) runs in the worker and owns everything there:
 * the socket (moved to fd 3, every other inherited fd closed), a signalfd for
 * SIGCHLD and SIGTERM, the running hooks (pid = process group, stdin, stdout
 * and stderr pipes, capture buffers, deadline), a bounded FIFO of requests
 * waiting for a slot, the per-rule rate-limit windows and the queue of result
 * records not yet sent.  It checks every message before reading a field,
 * spawns hooks with fork + execve (never a shell) in their own process group
 * with a clean environment, default signal dispositions and an empty mask
 * (not posix_spawn: glibc's leaves its internal signals 32 and 33 ignored),
 * kills the group at the deadline, and sends one record per request.  When
 * the agent's end closes (or SIGTERM, e.g. the agent died: PR_SET_PDEATHSIG)
 * it lets running hooks go on for at most 2 s, kills them, and exits.
 *
 * When a hook's main process exits, whatever it left in its process group is
 * killed too (while the leader is still a zombie, so the group id cannot have
 * been reused): hooks are bounded in time, their children included.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procwarden/hookexec.h"
#include "procwarden/json.h"
#include "procwarden/sandbox.h"

#define HOOK_MAGIC 0x4b485750u /* "PWHK" */
#define HOOK_VERSION 1
#define EX_SOCK_FD 3
#define EX_CLOSE_GRACE_MS 2000
#define EX_DRAIN_MS 1000 /* after a hook exits, wait this long for its pipes */
#define EX_MAX_OUTQ 2048 /* results owed (sent or not); at it stop reading requests */
#define EX_MAX_RULES 1024
#define STOP_WAIT_MS 3000
#define EX_COALESCE_PIDS 16 /* pids of skipped launches passed to the next run */
#define EX_RESTARTS 5       /* worker restarts allowed within EX_RESTART_WINDOW_MS */
#define EX_RESTART_WINDOW_MS 60000
#define HOOK_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* The request header; the parts follow in this order, each NUL-terminated. */
struct hook_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t argc;
	uint32_t total_len; /* header included */
	uint32_t timeout_s;
	int32_t pid, ppid;
	uint32_t uid;
	uint32_t argv_len;                                   /* argc strings, NULs included */
	uint32_t rule_len, exe_len, cmdline_len, record_len; /* NUL included */
};

struct hookexec {
	int fd;
	pid_t pid;
	char *buf; /* HOOKEXEC_MAX_MSG: the encoded request */
	uint64_t local_skips;
};

/* ---- wire format ---- */

/* Append a string part (with its NUL) at *off; returns its length. */
static uint32_t put_part(char *buf, size_t *off, const char *s, size_t len)
{
	memcpy(buf + *off, s, len);
	buf[*off + len] = '\0';
	*off += len + 1;
	return (uint32_t)(len + 1);
}

int hookexec_encode(const struct hook_request *req, void *out, size_t size)
{
	const char *rule = req->rule ? req->rule : "", *exe = req->exe ? req->exe : "";
	const char *cmdline = req->cmdline ? req->cmdline : "";
	const char *record = req->record ? req->record : "";
	size_t record_len = req->record ? req->record_len : 0;
	struct hook_msg m = {.magic = HOOK_MAGIC, .version = HOOK_VERSION};
	size_t total = sizeof(m), argc = 0, off;
	char *buf = out;

	if (!req->argv || !req->argv[0] || req->argv[0][0] != '/')
		return -EINVAL;
	if (memchr(record, '\0', record_len))
		return -EINVAL;
	for (; req->argv[argc]; argc++) {
		if (argc >= HOOKEXEC_MAX_ARGS)
			return -E2BIG;
		total += strlen(req->argv[argc]) + 1;
		if (total > HOOKEXEC_MAX_MSG)
			return -E2BIG;
	}
	total += strlen(rule) + strlen(exe) + strlen(cmdline) + 3;
	if (record_len > HOOKEXEC_MAX_MSG || total + record_len + 1 > HOOKEXEC_MAX_MSG)
		return -E2BIG;
	total += record_len + 1;
	if (total > size)
		return -E2BIG;

	m.argc = (uint16_t)argc;
	m.total_len = (uint32_t)total;
	m.timeout_s = req->timeout_s;
	m.pid = req->pid;
	m.ppid = req->ppid;
	m.uid = req->uid;
	off = sizeof(m);
	for (size_t i = 0; i < argc; i++)
		m.argv_len += put_part(buf, &off, req->argv[i], strlen(req->argv[i]));
	m.rule_len = put_part(buf, &off, rule, strlen(rule));
	m.exe_len = put_part(buf, &off, exe, strlen(exe));
	m.cmdline_len = put_part(buf, &off, cmdline, strlen(cmdline));
	m.record_len = put_part(buf, &off, record, record_len);
	memcpy(buf, &m, sizeof(m));
	return (int)total;
}

/* Check that p[0..len) is one string: len >= 1, its only NUL the last byte. */
static bool one_string(const char *p, uint32_t len)
{
	return len >= 1 && memchr(p, '\0', len) == p + len - 1;
}

int hookexec_decode(const void *msg, size_t len, struct hook_request *ret, const char **argv,
                    const char **ret_why)
{
	const char *p = msg, *a, *end;
	struct hook_msg m;
	uint64_t parts;
	size_t n = 0;

	if (len < sizeof(m)) {
		*ret_why = "shorter than the header";
		return -EBADMSG;
	}
	memcpy(&m, p, sizeof(m));
	if (m.magic != HOOK_MAGIC) {
		*ret_why = "bad magic";
		return -EBADMSG;
	}
	if (m.version != HOOK_VERSION) {
		*ret_why = "unknown version";
		return -EBADMSG;
	}
	if (m.total_len != len || len > HOOKEXEC_MAX_MSG) {
		*ret_why = "length does not match";
		return -EBADMSG;
	}
	parts = (uint64_t)m.argv_len + m.rule_len + m.exe_len + m.cmdline_len + m.record_len;
	if (parts != len - sizeof(m)) {
		*ret_why = "part lengths do not add up";
		return -EBADMSG;
	}
	if (m.argc < 1 || m.argc > HOOKEXEC_MAX_ARGS || m.argv_len < m.argc) {
		*ret_why = "bad argument count";
		return -EBADMSG;
	}
	/* argv: exactly argc strings filling argv_len */
	a = p + sizeof(m);
	end = a + m.argv_len;
	if (end[-1] != '\0') {
		*ret_why = "argv not NUL-terminated";
		return -EBADMSG;
	}
	for (const char *s = a; s < end; s += strlen(s) + 1) {
		if (n >= m.argc) {
			*ret_why = "more arguments than argc";
			return -EBADMSG;
		}
		argv[n++] = s;
	}
	if (n != m.argc) {
		*ret_why = "fewer arguments than argc";
		return -EBADMSG;
	}
	if (argv[0][0] != '/') {
		*ret_why = "argv[0] is not an absolute path";
		return -EBADMSG;
	}
	argv[n] = NULL;
	p = end;
	if (!one_string(p, m.rule_len) || !one_string(p + m.rule_len, m.exe_len) ||
	    !one_string(p + m.rule_len + m.exe_len, m.cmdline_len) ||
	    !one_string(p + m.rule_len + m.exe_len + m.cmdline_len, m.record_len)) {
		*ret_why = "a string is not NUL-terminated";
		return -EBADMSG;
	}
	*ret = (struct hook_request){
	    .argv = argv,
	    .timeout_s = m.timeout_s,
	    .rule = p,
	    .pid = m.pid,
	    .ppid = m.ppid,
	    .uid = m.uid,
	    .exe = p + m.rule_len,
	    .cmdline = p + m.rule_len + m.exe_len,
	    .record = p + m.rule_len + m.exe_len + m.cmdline_len,
	    .record_len = m.record_len - 1,
	};
	return 0;
}

/* ---- the executor process ---- */

struct capture {
	char *buf; /* max_output bytes */
	size_t len;
	uint64_t dropped;
};

/* Launches of a rule skipped since its last run (the next run is told). */
struct coalesced {
	uint64_t n;
	unsigned n_pids;
	int32_t pids[EX_COALESCE_PIDS];
};

struct ex_job {
	pid_t pid;           /* also the process group; 0: free slot */
	struct coalesced co; /* what this run stands for besides its own launch */
	int in_fd, out_fd, err_fd;
	char *msg; /* the request (owned); req points into it */
	struct hook_request req;
	const char *argv[HOOKEXEC_MAX_ARGS + 1];
	size_t in_off;
	struct capture out, err;
	uint64_t start_ms, deadline_ms, drain_ms;
	bool exited, timed_out;
	int status;
};

struct ex_msg {
	char *data;
	size_t len;
	struct coalesced co;
};

struct ex_rule {
	char *name;
	uint64_t *times; /* ring of the last admissions */
	unsigned n, next;
	uint64_t last;
	struct coalesced skipped; /* skipped since the last run */
	struct ex_msg held;       /* the latest skipped request: run once the rule may */
	int32_t held_pid;         /* its launch */
};

struct executor {
	int sock, sigfd;
	struct hookexec_opts o;
	struct ex_job *jobs; /* max_concurrent slots */
	unsigned running;
	struct ex_msg *queue; /* max_queue waiting requests, FIFO */
	unsigned q_head, q_len;
	struct ex_msg outq[EX_MAX_OUTQ]; /* results not yet sent, FIFO */
	unsigned o_head, o_len;
	struct ex_rule rules[EX_MAX_RULES];
	unsigned nrules;
	bool closing, sock_dead;
	uint64_t close_deadline;
	char *rbuf;   /* HOOKEXEC_MAX_MSG + 1 */
	char *record; /* HOOKEXEC_MAX_RECORD */
	char *scratch;
};

/* Milliseconds on the monotonic clock. */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Nanoseconds on the realtime clock. */
static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Close *fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Queue one finished line for the agent (takes nothing: copies). */
static void ex_queue_result(struct executor *ex, const char *line, size_t len)
{
	struct ex_msg *m;

	if (ex->sock_dead || ex->o_len >= EX_MAX_OUTQ)
		return; /* not while open: see ex_can_read() */
	m = &ex->outq[(ex->o_head + ex->o_len) % EX_MAX_OUTQ];
	m->data = malloc(len);
	if (!m->data)
		return;
	memcpy(m->data, line, len);
	m->len = len;
	ex->o_len++;
}

/* Send queued results until the socket is full. */
static void ex_flush_results(struct executor *ex)
{
	while (ex->o_len) {
		struct ex_msg *m = &ex->outq[ex->o_head];
		ssize_t n = ex->sock_dead
		                ? -1
		                : send(ex->sock, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && !ex->sock_dead && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			ex->sock_dead = true; /* the agent is gone: drop the rest */
		free(m->data);
		ex->o_head = (ex->o_head + 1) % EX_MAX_OUTQ;
		ex->o_len--;
	}
}

/* The executor's `error` record for msg into buf; its length. */
static size_t error_record(char *buf, size_t size, const char *msg)
{
	char tbuf[32];
	struct jbuf j;

	pw_time_rfc3339(real_ns(), tbuf, sizeof(tbuf));
	json_init(&j, buf, size);
	json_obj_open(&j);
	json_kv_str(&j, "type", "error");
	json_kv_str(&j, "time", tbuf);
	json_kv_str(&j, "source", "hookexec");
	json_kv_str(&j, "message", msg);
	return json_finish(&j);
}

/* Report a message that could not be decoded. */
static void ex_report_malformed(struct executor *ex, size_t len, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "malformed hook request (%zu bytes): %s", len, why);
	ex_queue_result(ex, ex->record, error_record(ex->record, HOOKEXEC_MAX_RECORD, msg));
}

/* The "SIGxxx" name of a signal. */
static void signal_name(int sig, char *buf, size_t size)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "%d", sig);
}

/* Build and queue the `hook` record for a request: result is "ok", "exit",
 * "signal", "timeout", "skipped" or "error"; job is NULL when nothing ran. */
static void ex_report(struct executor *ex, const struct hook_request *req, const struct ex_job *job,
                      const char *result, const char *reason)
{
	char tbuf[32], sbuf[32];
	struct jbuf j;
	size_t n;

	pw_time_rfc3339(real_ns(), tbuf, sizeof(tbuf));
	json_init(&j, ex->record, HOOKEXEC_MAX_RECORD);
	json_obj_open(&j);
	json_kv_str(&j, "type", "hook");
	json_kv_str(&j, "time", tbuf);
	json_kv_str(&j, "rule", req->rule);
	json_kv_int(&j, "pid", req->pid);
	if (job)
		json_kv_int(&j, "hook_pid", job->pid);
	json_kv_str(&j, "result", result);
	if (job && !job->timed_out && WIFEXITED(job->status))
		json_kv_int(&j, "exit_code", WEXITSTATUS(job->status));
	if (job && (job->timed_out || WIFSIGNALED(job->status))) {
		signal_name(job->timed_out ? SIGKILL : WTERMSIG(job->status), sbuf, sizeof(sbuf));
		json_kv_str(&j, "signal", sbuf);
	}
	if (reason)
		json_kv_str(&j, "reason", reason);
	if (job && job->co.n)
		json_kv_uint(&j, "coalesced", job->co.n);
	json_kv_uint(&j, "duration_ms", job ? mono_ms() - job->start_ms : 0);
	if (job)
		json_kv_bool(&j, "output_truncated", job->out.dropped || job->err.dropped);
	json_key(&j, "argv");
	json_arr_open(&j);
	for (size_t i = 0; req->argv[i]; i++)
		json_str(&j, req->argv[i]);
	json_arr_close(&j);
	if (job) {
		json_kv_strn(&j, "stdout", job->out.buf, job->out.len);
		json_kv_strn(&j, "stderr", job->err.buf, job->err.len);
	}
	n = json_finish(&j);
	ex_queue_result(ex, ex->record, n);
}

/* The rate-limit state of a rule (created on first use; NULL: no memory). */
static struct ex_rule *ex_rule_get(struct executor *ex, const char *rule, uint64_t now)
{
	struct ex_rule *r = NULL;

	for (unsigned i = 0; i < ex->nrules; i++)
		if (strcmp(ex->rules[i].name, rule) == 0) {
			r = &ex->rules[i];
			break;
		}
	if (!r) {
		char *name = strdup(rule);
		uint64_t *times = calloc(ex->o.rate_per_rule, sizeof(*times));

		if (!name || !times) {
			free(name);
			free(times);
			return false;
		}
		if (ex->nrules < EX_MAX_RULES) {
			r = &ex->rules[ex->nrules++];
		} else { /* evict the least recently used */
			r = &ex->rules[0];
			for (unsigned i = 1; i < ex->nrules; i++)
				if (ex->rules[i].last < r->last)
					r = &ex->rules[i];
			free(r->name);
			free(r->times);
			free(r->held.data);
		}
		*r = (struct ex_rule){.name = name, .times = times};
	}
	r->last = now;
	return r;
}

/* Would the rate limit let r run now? */
static bool ex_rate_open(const struct executor *ex, const struct ex_rule *r, uint64_t now)
{
	uint64_t window = (uint64_t)ex->o.rate_window_s * 1000u;

	/* full ring and its oldest entry still inside the window: refuse */
	return !(r->n == ex->o.rate_per_rule && now - r->times[r->next] < window);
}

/* Is another run of r allowed now?  Charges the window when it is. */
static bool ex_rate_admit(struct executor *ex, struct ex_rule *r, uint64_t now)
{
	if (!ex_rate_open(ex, r, now))
		return false;
	r->times[r->next] = now;
	r->next = (r->next + 1) % ex->o.rate_per_rule;
	if (r->n < ex->o.rate_per_rule)
		r->n++;
	return true;
}

/* Build the hook's environment into env (7 entries, 9 when the run stands
 * for skipped launches too, + NULL); strings are malloc'd into own[]. */
static int ex_build_env(const struct hook_request *req, const struct coalesced *co, char **env,
                        char **own)
{
	int r = 0;

	env[0] = (char *)(uintptr_t)HOOK_PATH;
	if (asprintf(&own[0], "PROCWARDEN_PID=%d", req->pid) < 0 ||
	    asprintf(&own[1], "PROCWARDEN_PPID=%d", req->ppid) < 0 ||
	    asprintf(&own[2], "PROCWARDEN_UID=%u", req->uid) < 0 ||
	    asprintf(&own[3], "PROCWARDEN_EXE=%s", req->exe) < 0 ||
	    asprintf(&own[4], "PROCWARDEN_CMDLINE=%s", req->cmdline) < 0 ||
	    asprintf(&own[5], "PROCWARDEN_RULE=%s", req->rule) < 0)
		r = -ENOMEM;
	for (int i = 0; i < 6; i++)
		env[i + 1] = own[i];
	env[7] = NULL;
	/* the launches skipped since the rule's last run, which this one
	 * stands for too: their number and (the first EX_COALESCE_PIDS) pids */
	if (co->n && r == 0) {
		char pids[EX_COALESCE_PIDS * 12] = "";
		size_t off = 0;
		for (unsigned i = 0; i < co->n_pids && off < sizeof(pids); i++)
			off += (size_t)snprintf(pids + off, sizeof(pids) - off, "%s%d",
			                        i ? " " : "", co->pids[i]);
		if (asprintf(&own[6], "PROCWARDEN_COALESCED=%llu", (unsigned long long)co->n) < 0 ||
		    asprintf(&own[7], "PROCWARDEN_COALESCED_PIDS=%s", pids) < 0)
			return -ENOMEM;
		env[7] = own[6];
		env[8] = own[7];
		env[9] = NULL;
	}
	return r;
}

/* In the forked child: own process group, default signals, empty mask, the
 * pipes on 0-2, execve.  On failure writes errno to ep and exits. */
static __attribute__((noreturn)) void ex_child_exec(const struct ex_job *job, char **env, int in,
                                                    int out, int err, int ep)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	setpgid(0, 0);
	/* a hook does not outlive a worker killed under it (kept across execve) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* glibc's internal ones refuse: never ignored */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0)
		goto fail;
	execve(job->req.argv[0], (char *const *)(uintptr_t)job->req.argv, env);
fail:
	e = errno;
	if (write(ep, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Spawn the hook of a job whose request is decoded (fork + execve, never a
 * shell); 0 or negative errno (exec failures included). */
static int ex_spawn(struct ex_job *job)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ep[2] = {-1, -1};
	char *env[10], *own[8] = {NULL};
	ssize_t n;
	pid_t pid;
	int r, e;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = ex_build_env(&job->req, &job->co, env, own);
	if (r < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		ex_child_exec(job, env, in[0], out[1], err[1], ep[1]);
	close_fd(&ep[1]);
	/* EOF: execve succeeded (ep is O_CLOEXEC); an int: it failed */
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		r = -e;
		goto out;
	}
	job->pid = pid;
	job->in_fd = in[1];
	job->out_fd = out[0];
	job->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
	fcntl(job->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(job->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(job->err_fd, F_SETFL, O_NONBLOCK);
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
		close_fd(&ep[i]);
	}
	for (int i = 0; i < 8; i++)
		free(own[i]);
	return r;
}

/* Start the request m (decoded into a free slot); takes ownership of its
 * data and frees it if the hook cannot run (reported as an error). */
static void ex_start(struct executor *ex, const struct ex_msg *m)
{
	char *msg = m->data;
	size_t len = m->len;
	struct ex_job *job = NULL;
	const char *why;
	char reason[160];
	unsigned timeout;
	int r;

	for (unsigned i = 0; i < ex->o.max_concurrent; i++)
		if (!ex->jobs[i].pid) {
			job = &ex->jobs[i];
			break;
		}
	if (!job || hookexec_decode(msg, len, &job->req, job->argv, &why) < 0) {
		free(msg); /* decoded before it was queued: cannot happen */
		return;
	}
	job->msg = msg;
	job->co = m->co;
	job->in_off = 0;
	job->out.len = job->err.len = 0;
	job->out.dropped = job->err.dropped = 0;
	job->exited = job->timed_out = false;
	job->status = 0;
	job->start_ms = mono_ms();
	timeout = job->req.timeout_s ? job->req.timeout_s : 10;
	job->deadline_ms = job->start_ms + (uint64_t)timeout * 1000u;
	if (ex->closing && job->deadline_ms > ex->close_deadline)
		job->deadline_ms = ex->close_deadline;
	r = ex_spawn(job);
	if (r < 0) {
		snprintf(reason, sizeof(reason), "spawn failed: %s", strerror(-r));
		ex_report(ex, &job->req, NULL, "error", reason);
		free(job->msg);
		job->msg = NULL;
		return;
	}
	ex->running++;
}

/* Start waiting requests while there are free slots. */
static void ex_start_queued(struct executor *ex)
{
	while (ex->q_len && ex->running < ex->o.max_concurrent) {
		struct ex_msg m = ex->queue[ex->q_head];

		ex->q_head = (ex->q_head + 1) % ex->o.max_queue;
		ex->q_len--;
		ex_start(ex, &m);
	}
}

/* Rules whose last skipped request was never followed by a run: run it now
 * that the rule may (a slot free, nothing queued, the window open), for
 * itself and the others skipped with it -- a decoy's launches cannot mute
 * a real one's hook, only delay it to the window's end. */
static void ex_run_held(struct executor *ex, uint64_t now)
{
	for (unsigned i = 0; i < ex->nrules; i++) {
		struct ex_rule *r = &ex->rules[i];

		if (!r->held.data || ex->closing || ex->q_len ||
		    ex->running >= ex->o.max_concurrent)
			continue;
		if (!ex_rate_admit(ex, r, now))
			continue;
		struct ex_msg m = r->held;
		r->held = (struct ex_msg){0};
		m.co = r->skipped;
		m.co.n--; /* itself: not among those it stands for */
		for (unsigned k = 0; k < m.co.n_pids; k++)
			if (m.co.pids[k] == r->held_pid) {
				memmove(&m.co.pids[k], &m.co.pids[k + 1],
				        (m.co.n_pids - k - 1) * sizeof(m.co.pids[0]));
				m.co.n_pids--;
				break;
			}
		r->skipped = (struct coalesced){0};
		ex_start(ex, &m);
	}
}

/* A request of r skipped (rate limit, concurrency): counted for the next
 * run of r, and kept as the one to run when r may again if none comes. */
static void ex_hold(struct ex_rule *r, const char *buf, size_t len, int32_t pid)
{
	char *copy = malloc(len);

	r->skipped.n++;
	if (r->skipped.n_pids < EX_COALESCE_PIDS)
		r->skipped.pids[r->skipped.n_pids++] = pid;
	if (!copy)
		return;
	memcpy(copy, buf, len);
	free(r->held.data);
	r->held = (struct ex_msg){copy, len, {0}};
	r->held_pid = pid;
}

/* What a run of r now stands for (then nothing is owed). */
static struct coalesced ex_take_skipped(struct ex_rule *r)
{
	struct coalesced co = r->skipped;

	r->skipped = (struct coalesced){0};
	free(r->held.data);
	r->held = (struct ex_msg){0};
	return co;
}

/* Handle one message from the agent: check, rate-limit, run or queue or
 * skip. */
static void ex_handle_request(struct executor *ex, const char *buf, size_t len)
{
	const char *argv[HOOKEXEC_MAX_ARGS + 1], *why;
	struct hook_request req;
	char *copy;

	if (len > HOOKEXEC_MAX_MSG) {
		ex_report_malformed(ex, len, "longer than the maximum message");
		return;
	}
	if (hookexec_decode(buf, len, &req, argv, &why) < 0) {
		ex_report_malformed(ex, len, why);
		return;
	}
	uint64_t now = mono_ms();
	struct ex_rule *r = ex_rule_get(ex, req.rule, now);
	if (!r) {
		ex_report(ex, &req, NULL, "error", "out of memory");
		return;
	}
	if (ex->running >= ex->o.max_concurrent && ex->q_len >= ex->o.max_queue) {
		ex_report(ex, &req, NULL, "skipped", "concurrency");
		ex_hold(r, buf, len, req.pid);
		return;
	}
	if (!ex_rate_admit(ex, r, now)) {
		ex_report(ex, &req, NULL, "skipped", "rate-limit");
		ex_hold(r, buf, len, req.pid);
		return;
	}
	copy = malloc(len);
	if (!copy) {
		ex_report(ex, &req, NULL, "error", "out of memory");
		return;
	}
	memcpy(copy, buf, len);
	struct ex_msg m = {copy, len, ex_take_skipped(r)};
	if (ex->running < ex->o.max_concurrent) {
		ex_start(ex, &m);
		return;
	}
	ex->queue[(ex->q_head + ex->q_len) % ex->o.max_queue] = m;
	ex->q_len++;
}

/* Stop taking requests: running hooks get at most EX_CLOSE_GRACE_MS more,
 * waiting ones are dropped. */
static void ex_begin_closing(struct executor *ex)
{
	if (ex->closing)
		return;
	ex->closing = true;
	ex->close_deadline = mono_ms() + EX_CLOSE_GRACE_MS;
	for (unsigned i = 0; i < ex->o.max_concurrent; i++)
		if (ex->jobs[i].pid && ex->jobs[i].deadline_ms > ex->close_deadline)
			ex->jobs[i].deadline_ms = ex->close_deadline;
	while (ex->q_len) {
		free(ex->queue[ex->q_head].data);
		ex->q_head = (ex->q_head + 1) % ex->o.max_queue;
		ex->q_len--;
	}
}

/* May another request be read?  Every request read owes one result, so the
 * results queued, running and waiting together stay within the result queue
 * (beyond it the agent's socket fills and its submits are counted skips). */
static bool ex_can_read(const struct executor *ex)
{
	return !ex->closing && !ex->sock_dead && ex->o_len + ex->running + ex->q_len < EX_MAX_OUTQ;
}

/* Read the agent's requests until none is waiting. */
static void ex_read_requests(struct executor *ex)
{
	for (int i = 0; i < 64 && ex_can_read(ex); i++) {
		ssize_t n =
		    recv(ex->sock, ex->rbuf, HOOKEXEC_MAX_MSG + 1, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) { /* EOF: the agent closed its end (or died) */
			ex->sock_dead = true;
			ex_begin_closing(ex);
			return;
		}
		ex_handle_request(ex, ex->rbuf, (size_t)n);
	}
}

/* Read what a hook wrote to one pipe, keeping up to max_output bytes. */
static void ex_capture(struct executor *ex, int *fd, struct capture *c)
{
	for (int i = 0; i < 16; i++) {
		size_t room = ex->o.max_output - c->len;
		ssize_t n;

		if (room)
			n = read(*fd, c->buf + c->len, room);
		else
			n = read(*fd, ex->scratch, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(fd);
			return;
		}
		if (room)
			c->len += (size_t)n;
		else
			c->dropped += (uint64_t)n;
	}
}

/* Feed the exec record to a hook's stdin without blocking; closed when done
 * or when the hook stops reading (EPIPE). */
static void ex_feed_stdin(struct ex_job *job)
{
	while (job->in_off < job->req.record_len) {
		ssize_t n = write(job->in_fd, job->req.record + job->in_off,
		                  job->req.record_len - job->in_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			break;
		job->in_off += (size_t)n;
	}
	close_fd(&job->in_fd);
}

/* Reap hooks whose main process has exited, killing what they left in their
 * group first. */
static void ex_reap(struct executor *ex)
{
	for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
		struct ex_job *job = &ex->jobs[i];
		siginfo_t si = {0};

		if (!job->pid || job->exited)
			continue;
		if (waitid(P_PID, (id_t)job->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid != job->pid)
			continue;
		kill(-job->pid, SIGKILL); /* the zombie leader still holds the group id */
		while (waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR)
			;
		job->exited = true;
		job->drain_ms = mono_ms() + EX_DRAIN_MS;
		if (job->drain_ms > job->deadline_ms)
			job->drain_ms = job->deadline_ms;
		close_fd(&job->in_fd);
	}
}

/* Kill hooks past their deadline; stop waiting for pipes of exited ones. */
static void ex_check_deadlines(struct executor *ex, uint64_t now)
{
	for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
		struct ex_job *job = &ex->jobs[i];

		if (!job->pid)
			continue;
		if (!job->exited && !job->timed_out && now >= job->deadline_ms) {
			kill(-job->pid, SIGKILL); /* not reaped yet: the group is ours */
			job->timed_out = true;
		}
		if (job->exited && now >= job->drain_ms) {
			close_fd(&job->out_fd);
			close_fd(&job->err_fd);
		}
	}
}

/* Report and free every job that has exited and whose pipes are closed. */
static void ex_finish_jobs(struct executor *ex)
{
	for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
		struct ex_job *job = &ex->jobs[i];
		const char *result;

		if (!job->pid || !job->exited || job->out_fd >= 0 || job->err_fd >= 0)
			continue;
		if (job->timed_out)
			result = "timeout";
		else if (WIFSIGNALED(job->status))
			result = "signal";
		else if (WEXITSTATUS(job->status) == 0)
			result = "ok";
		else
			result = "exit";
		ex_report(ex, &job->req, job, result, NULL);
		free(job->msg);
		job->msg = NULL;
		job->pid = 0;
		ex->running--;
	}
	ex_start_queued(ex);
}

/* The next deadline as a poll() timeout. */
static int ex_poll_timeout(const struct executor *ex, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
		const struct ex_job *job = &ex->jobs[i];
		uint64_t t;

		if (!job->pid)
			continue;
		t = job->exited ? job->drain_ms : job->timed_out ? UINT64_MAX : job->deadline_ms;
		if (t < next)
			next = t;
	}
	for (unsigned i = 0; i < ex->nrules; i++) {
		const struct ex_rule *r = &ex->rules[i];
		uint64_t t;

		if (!r->held.data)
			continue;
		t = ex_rate_open(ex, r, now)
		        ? now + 50 /* a slot to free */
		        : r->times[r->next] + (uint64_t)ex->o.rate_window_s * 1000u;
		if (t < next)
			next = t;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now < 60000 ? next - now : 60000);
}

/* Drain the signalfd: SIGCHLD reaps, SIGTERM starts closing. */
static void ex_read_signals(struct executor *ex)
{
	struct signalfd_siginfo si;
	bool chld = false;

	while (read(ex->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM)
			ex_begin_closing(ex);
		else if (si.ssi_signo == SIGCHLD)
			chld = true;
	}
	if (chld)
		ex_reap(ex);
}

/* The executor's main loop; returns when closing and every hook is done. */
static void ex_loop(struct executor *ex)
{
	size_t nfds = 2 + 3 * (size_t)ex->o.max_concurrent;
	struct pollfd *pfd = calloc(nfds, sizeof(*pfd));

	if (!pfd)
		return;
	while (!ex->closing || ex->running) {
		uint64_t now = mono_ms();
		size_t n = 0;

		pfd[n++] = (struct pollfd){.fd = ex->sigfd, .events = POLLIN};
		pfd[n] = (struct pollfd){.fd = -1};
		if (ex_can_read(ex))
			pfd[n].events |= POLLIN;
		if (ex->o_len && !ex->sock_dead)
			pfd[n].events |= POLLOUT;
		if (pfd[n].events) /* else a hangup would be reported in a busy loop */
			pfd[n].fd = ex->sock;
		n++;
		for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
			struct ex_job *job = &ex->jobs[i];

			pfd[n++] =
			    (struct pollfd){.fd = job->pid ? job->in_fd : -1, .events = POLLOUT};
			pfd[n++] =
			    (struct pollfd){.fd = job->pid ? job->out_fd : -1, .events = POLLIN};
			pfd[n++] =
			    (struct pollfd){.fd = job->pid ? job->err_fd : -1, .events = POLLIN};
		}
		if (poll(pfd, n, ex_poll_timeout(ex, now)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			ex_read_signals(ex);
		for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
			struct ex_job *job = &ex->jobs[i];
			struct pollfd *p = &pfd[2 + 3 * i];

			if (!job->pid)
				continue;
			if (p[0].revents && job->in_fd >= 0)
				ex_feed_stdin(job);
			if (p[1].revents && job->out_fd >= 0)
				ex_capture(ex, &job->out_fd, &job->out);
			if (p[2].revents && job->err_fd >= 0)
				ex_capture(ex, &job->err_fd, &job->err);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR) && ex_can_read(ex))
			ex_read_requests(ex);
		ex_reap(ex); /* cheap, and covers a SIGCHLD merged with an earlier one */
		ex_check_deadlines(ex, mono_ms());
		ex_finish_jobs(ex);
		ex_run_held(ex, mono_ms());
		ex_flush_results(ex);
	}
	ex_flush_results(ex);
	free(pfd);
}

/* Put the socket on fd 3 with 0-2 open and every other fd closed. */
static int ex_sanitize_fds(int orig)
{
	int sock = orig, null_fd;

	if (sock < EX_SOCK_FD) {
		sock = fcntl(orig, F_DUPFD_CLOEXEC, EX_SOCK_FD);
		if (sock < 0)
			return -errno;
	}
	for (int fd = 0; fd < EX_SOCK_FD; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 && fd != orig)
			continue;
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null_fd >= 0 && null_fd != fd) {
			dup2(null_fd, fd);
			close(null_fd);
		}
	}
	if (sock != EX_SOCK_FD) {
		if (dup3(sock, EX_SOCK_FD, O_CLOEXEC) < 0)
			return -errno;
	}
	close_range(EX_SOCK_FD + 1, ~0U, 0);
	return EX_SOCK_FD;
}

/* Set the executor's signals: SIGCHLD and SIGTERM to the signalfd, terminal
 * signals and SIGPIPE ignored, everything else default and unblocked. */
static int ex_setup_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
	sigset_t mask;
	int fd;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd >= 0 ? fd : -errno;
}

/* The worker: runs the hooks until the agent's end closes; never returns.
 * Exits 0 then, non-zero when it could not run. */
static __attribute__((noreturn)) void ex_worker(int sock, const struct hookexec_opts *o,
                                                pid_t supervisor)
{
	struct executor *ex;
	int rc = 1;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != supervisor)
		_exit(1); /* the supervisor died before we could watch it */
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		_exit(1);
	ex->o = *o;
	ex->sock = sock;
	ex->sigfd = ex_setup_signals();
	if (ex->sigfd < 0)
		goto out;
	ex->jobs = calloc(ex->o.max_concurrent, sizeof(*ex->jobs));
	ex->queue = calloc(ex->o.max_queue, sizeof(*ex->queue));
	ex->rbuf = malloc(HOOKEXEC_MAX_MSG + 1);
	ex->record = malloc(HOOKEXEC_MAX_RECORD);
	ex->scratch = malloc(4096);
	if (!ex->jobs || !ex->queue || !ex->rbuf || !ex->record || !ex->scratch)
		goto out;
	for (unsigned i = 0; i < ex->o.max_concurrent; i++) {
		struct ex_job *job = &ex->jobs[i];

		job->in_fd = job->out_fd = job->err_fd = -1;
		job->out.buf = malloc(ex->o.max_output);
		job->err.buf = malloc(ex->o.max_output);
		if (!job->out.buf || !job->err.buf)
			goto out;
	}
	ex_loop(ex);
	rc = 0;
out:
	/* any hook still running (allocation failure, poll error): kill it */
	for (unsigned i = 0; ex->jobs && i < ex->o.max_concurrent; i++)
		if (ex->jobs[i].pid && !ex->jobs[i].exited)
			kill(-ex->jobs[i].pid, SIGKILL);
	_exit(rc); /* no atexit handlers, no stdio flush of the agent's buffers */
}

/* The supervisor tells the agent (an `error` record on the socket). */
static void sup_report(int sock, const char *msg)
{
	char line[512];
	size_t n = error_record(line, sizeof(line), msg);

	if (send(sock, line, n, MSG_NOSIGNAL) < 0) {
		/* the agent is gone: nothing to tell */
	}
}

/* The executor process: a supervisor that forks the worker and, when the
 * worker dies (killed, crashed), says so and starts another, at most
 * EX_RESTARTS times in EX_RESTART_WINDOW_MS; then it gives up and exits,
 * and the agent sees the socket close.  Never returns. */
static __attribute__((noreturn)) void ex_main(int sock, const struct hookexec_opts *o, pid_t agent)
{
	uint64_t starts[EX_RESTARTS + 1] = {0};
	unsigned n_starts = 0;
	sigset_t mask;
	pid_t me;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != agent)
		_exit(1); /* the agent died before we could watch it */
	sock = ex_sanitize_fds(sock);
	if (sock < 0 || ex_setup_signals() < 0 || chdir("/") < 0)
		_exit(1);
	fcntl(sock, F_SETFL, O_NONBLOCK);
	if (!o->no_seccomp && sandbox_apply(SANDBOX_HOOKEXEC, 0) < 0)
		_exit(1); /* fail closed: the agent sees the executor gone */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	me = getpid();
	for (;;) {
		uint64_t now = mono_ms();
		int status = 0;
		pid_t w;

		/* the starts within the window, this one included */
		unsigned k = 0;
		for (unsigned i = 0; i < n_starts; i++)
			if (now - starts[i] < EX_RESTART_WINDOW_MS)
				starts[k++] = starts[i];
		n_starts = k;
		if (n_starts > EX_RESTARTS) {
			char msg[160];
			snprintf(msg, sizeof(msg),
			         "the hook executor died %u times within %u s: hooks are not run "
			         "any more (restart the agent)",
			         n_starts, EX_RESTART_WINDOW_MS / 1000);
			sup_report(sock, msg);
			_exit(1);
		}
		starts[n_starts++] = now;
		w = fork();
		if (w < 0) {
			sup_report(sock, "the hook executor could not start its worker: hooks are "
			                 "not run any more (restart the agent)");
			_exit(1);
		}
		if (w == 0)
			ex_worker(sock, o, me);
		for (;;) {
			siginfo_t si;
			if (sigwaitinfo(&mask, &si) < 0)
				continue;
			if (si.si_signo == SIGTERM) {
				/* the agent died: the worker winds down as on EOF */
				kill(w, SIGTERM);
				while (waitpid(w, &status, 0) < 0 && errno == EINTR)
					;
				_exit(0);
			}
			pid_t r;
			bool done = false;
			while ((r = waitpid(-1, &status, WNOHANG)) > 0)
				if (r == w) {
					done = true;
					break;
				}
			if (done)
				break;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			_exit(0); /* the agent closed its end */
		char how[48], msg[224];
		if (WIFSIGNALED(status))
			signal_name(WTERMSIG(status), how, sizeof(how));
		else
			snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
		snprintf(msg, sizeof(msg),
		         "the hook executor died (%s): hooks it was running are lost, their "
		         "results with them; restarted",
		         how);
		sup_report(sock, msg);
		struct timespec pause = {.tv_nsec = 100 * 1000000L}; /* not a busy loop */
		nanosleep(&pause, NULL);
	}
}

/* ---- the agent side ---- */

int hookexec_start(const struct hookexec_opts *opts, struct hookexec **ret)
{
	struct hookexec_opts o = opts ? *opts : (struct hookexec_opts){0};
	int sv[2], sndbuf = 1 << 20, r;
	struct hookexec *h;
	pid_t agent = getpid();

	if (!o.max_concurrent)
		o.max_concurrent = 8;
	if (!o.rate_per_rule)
		o.rate_per_rule = 10;
	if (!o.rate_window_s)
		o.rate_window_s = 10;
	if (!o.max_output)
		o.max_output = 4096;
	if (!o.max_queue)
		o.max_queue = 256;
	if (o.max_concurrent > EX_MAX_OUTQ / 4)
		o.max_concurrent = EX_MAX_OUTQ / 4;
	if (o.max_queue > EX_MAX_OUTQ / 2)
		o.max_queue = EX_MAX_OUTQ / 2;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->buf = malloc(HOOKEXEC_MAX_MSG);
	if (!h->buf) {
		r = -ENOMEM;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		goto fail;
	}
	/* room for many queued requests (and results) in flight */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	h->pid = fork();
	if (h->pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (h->pid == 0) {
		/* the executor needs nothing of the agent's side */
		close(sv[0]);
		free(h->buf);
		free(h);
		ex_main(sv[1], &o, agent);
	}
	close(sv[1]);
	h->fd = sv[0];
	fcntl(h->fd, F_SETFL, O_NONBLOCK);
	*ret = h;
	return 0;
fail:
	free(h->buf);
	free(h);
	return r;
}

int hookexec_submit(struct hookexec *h, const struct hook_request *req)
{
	int n = hookexec_encode(req, h->buf, HOOKEXEC_MAX_MSG);

	if (n < 0)
		return n;
	if (send(h->fd, h->buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		int r = errno == EWOULDBLOCK ? -EAGAIN : -errno;

		h->local_skips++;
		return r;
	}
	return 0;
}

int hookexec_fd(const struct hookexec *h)
{
	return h->fd;
}

ssize_t hookexec_read(struct hookexec *h, char *buf, size_t size)
{
	ssize_t n;

	if (size < 2)
		return -EINVAL;
	n = recv(h->fd, buf, size - 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	if ((size_t)n > size - 1)
		return -EMSGSIZE;
	buf[n] = '\0';
	return n;
}

pid_t hookexec_pid(const struct hookexec *h)
{
	return h->pid;
}

uint64_t hookexec_local_skips(const struct hookexec *h)
{
	return h->local_skips;
}

void hookexec_stop(struct hookexec *h)
{
	struct timespec tick = {.tv_nsec = 10 * 1000000L};
	int status;

	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd); /* EOF: the executor winds down within 2 s */
	for (int waited = 0; h->pid > 0; waited += 10) {
		pid_t r = waitpid(h->pid, &status, WNOHANG);

		if (r == h->pid || (r < 0 && errno != EINTR))
			break;
		if (waited >= STOP_WAIT_MS) {
			kill(h->pid, SIGKILL); /* our child, not yet reaped */
			waitpid(h->pid, &status, 0);
			break;
		}
		nanosleep(&tick, NULL);
	}
	free(h->buf);
	free(h);
}
