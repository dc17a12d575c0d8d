/*
 * hookexec.h - the hook executor: a separate process that runs hooks.
 *
 * Started (forked) before the agent confines itself.  The agent sends it
 * fixed-layout requests over a SOCK_SEQPACKET socketpair, without blocking
 * (a full socket is a counted skip); the executor checks every length, runs
 * the hook with execve (never a shell) under a timeout, a concurrency cap and
 * a per-rule rate limit, and sends back one `hook` record (a JSON line) per
 * request, ran or skipped.  The agent reads results from hookexec_fd().
 */
#ifndef PROCWARDEN_HOOKEXEC_H
#define PROCWARDEN_HOOKEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hookexec;

struct hookexec_opts {
	unsigned max_concurrent; /* 0: 8 */
	unsigned rate_per_rule;  /* hooks per rule per rate_window_s; 0: 10 */
	unsigned rate_window_s;  /* 0: 10 */
	size_t max_output;       /* bytes of stdout and of stderr kept each; 0: 4096 */
	unsigned max_queue;      /* added: requests waiting for a slot; 0: 256 */
	bool no_seccomp;         /* do not load SANDBOX_HOOKEXEC in the executor */
};

/* What to run for one matched launch.  Everything is copied. */
struct hook_request {
	const char *const *argv; /* NULL-terminated; argv[0] an absolute path */
	unsigned timeout_s;      /* 0: 10 */
	const char *rule;        /* PROCWARDEN_RULE */
	int32_t pid, ppid;       /* PROCWARDEN_PID, PROCWARDEN_PPID */
	uint32_t uid;            /* PROCWARDEN_UID */
	const char *exe;         /* PROCWARDEN_EXE */
	const char *cmdline;     /* PROCWARDEN_CMDLINE */
	const char *record;      /* the exec record JSON, given on the hook's stdin */
	size_t record_len;
};

/* Limits of the wire format (added). */
#define HOOKEXEC_MAX_MSG 65536u    /* one request: header, argv, strings, record */
#define HOOKEXEC_MAX_ARGS 256u     /* argv entries per request */
#define HOOKEXEC_MAX_RECORD 65536u /* one result line; size hookexec_read()'s buf so */

/* Fork the executor.  0 and *ret, or negative errno.  opts may be NULL (all
 * defaults).  The executor loads its seccomp allowlist (SANDBOX_HOOKEXEC,
 * inherited by the hooks) before it reads a request, or exits.  Call it
 * from a thread that lives as long as the agent: the
 * executor gets SIGTERM (PR_SET_PDEATHSIG) when the forking thread exits. */
int hookexec_start(const struct hookexec_opts *o, struct hookexec **ret);
/* Queue a request without blocking.  0; -EAGAIN when the socket is full
 * (counted as skipped); -E2BIG when the request does not fit a message. */
int hookexec_submit(struct hookexec *h, const struct hook_request *req);
/* fd to poll for results (POLLIN). */
int hookexec_fd(const struct hookexec *h);
/* Read one result: a complete `hook` record JSON line (with '\n') into buf.
 * Returns its length, -EAGAIN when none is waiting, or negative errno
 * (-EPIPE: the executor is gone; -EMSGSIZE: the line did not fit buf and is
 * lost).  The line is NUL-terminated, so buf needs one byte more than it.
 * A request the executor could not decode comes back as an `error` record
 * ({"type":"error","time":…,"source":"hookexec","message":…}). */
ssize_t hookexec_read(struct hookexec *h, char *buf, size_t size);
/* The executor's pid (its descendants are hook processes). */
pid_t hookexec_pid(const struct hookexec *h);
/* Requests refused before reaching the executor (socket full). */
uint64_t hookexec_local_skips(const struct hookexec *h);
/* Stop: close the socket, let running hooks finish up to 2 s, kill the rest,
 * reap the executor.  Accepts NULL. */
void hookexec_stop(struct hookexec *h);

/* The wire format (added; exposed for the tests and fuzzers).  A request is
 * a fixed header (magic, version, total length, timeout, pid, ppid, uid, argc
 * and the length of each part) followed by the argv strings, rule, exe,
 * cmdline and record, each NUL-terminated. */

/* Encode req into buf.  Returns the message length, -EINVAL (no argv, argv[0]
 * not absolute, a NUL inside the record) or -E2BIG (more than
 * HOOKEXEC_MAX_ARGS arguments, more than HOOKEXEC_MAX_MSG or size bytes). */
int hookexec_encode(const struct hook_request *req, void *buf, size_t size);
/* Decode and check a message of exactly len bytes.  On success fills *ret
 * with pointers into msg (and argv, which needs HOOKEXEC_MAX_ARGS + 1
 * entries) and returns 0; otherwise -EBADMSG with *ret_why saying what was
 * wrong (a static string) and *ret untouched. */
int hookexec_decode(const void *msg, size_t len, struct hook_request *ret, const char **argv,
                    const char **ret_why);

#endif
