/*
 * gate.h - pre-exec enforcement: a fanotify FAN_OPEN_EXEC_PERM gate.
 *
 * The kernel holds every execve of a file on a marked filesystem until the
 * gate answers; the gate thread reads each request, asks a decision
 * function, and answers allow or deny.  It fails open: an error anywhere
 * answers allow, and when the gate closes (or the process dies) the kernel
 * allows whatever was pending.  Setting up needs CAP_SYS_ADMIN; the thread
 * needs no capability.  A watch (watch_only) sees the same execs without
 * holding them: it only learns what each process executed.
 *
 * Bounded answers: a request not answered GATE_ANSWER_BOUND_MS after the
 * gate read it (its decision stuck: a slow policy, a lock) is answered by
 * a supervisor thread -- allow, or deny with fail_closed -- and so is every
 * request queued behind it while the decision stays stuck; each is handed to
 * the undecided function for its record.  With fail_closed the queue is
 * unlimited (an overflow would make the kernel allow), and a request that
 * cannot be read or resolved is denied, not allowed.
 */
#ifndef PROCWARDEN_GATE_H
#define PROCWARDEN_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gate;

/* How long after reading a request the gate answers it at the latest; the
 * supervisor looks every GATE_SUPERVISE_MS. */
#define GATE_ANSWER_BOUND_MS 250
#define GATE_SUPERVISE_MS 50

/* One request, valid during the decision call only. */
struct gate_request {
	int32_t pid;      /* the process calling execve (its thread group) */
	int pidfd;        /* a pidfd of it, or -1 */
	const char *path; /* the file about to run, as the kernel names it */
	int fd;           /* an fd of that file (valid during the call), or -1 */
	uint64_t t_ns;    /* CLOCK_MONOTONIC when the gate read the request */
};

/* A decision. */
enum gate_answer {
	GATE_ALLOW = 0,
	GATE_DENY = 1,
	/* allow, and every later exec of this file (its inode) until it is
	 * modified or gate_forget(): the kernel is told not to hold them (an
	 * ignore mark, which it drops when the file is written) */
	GATE_ALLOW_FILE = 2,
};

/* The decision (enum gate_answer).  Runs on the gate thread, must not block
 * (the exec waits for it): no hooks, no waiting on other threads. */
typedef int (*gate_decide_fn)(void *arg, const struct gate_request *rq);
/* A request answered without a decision (denied: fail_closed); runs on the
 * supervisor thread, must not block; rq->fd and rq->pidfd may be -1. */
typedef void (*gate_undecided_fn)(void *arg, const struct gate_request *rq, bool denied);

struct gate_opts {
	const char *const *dirs; /* watch the filesystems holding these */
	size_t n_dirs;
	bool everywhere;  /* watch every filesystem programs can run from */
	bool watch_only;  /* FAN_OPEN_EXEC notifications: learn, never hold an exec
	                   * up (the decision's answer is ignored) */
	bool names;       /* with watch_only: events name the file by its
	                   * directory's handle and its name (no fd per exec; the
	                   * caller needs CAP_DAC_READ_SEARCH to resolve a directory
	                   * it has not seen); no thread: gate_start() only sets the
	                   * function and gate_catch_up_once() reads the events */
	bool fail_closed; /* deny what cannot be decided (see above) */
};

struct gate_stats {
	uint64_t requests, allowed, denied;
	uint64_t errors;        /* answered allow because something failed */
	uint64_t overflows;     /* queue overflows (the kernel allowed those) */
	uint64_t answer_ns_max; /* slowest read-to-answer */
	uint64_t answer_ns_sum;
	uint64_t dir_lookups;   /* names: directories resolved by handle (cache misses) */
	uint64_t undecided;     /* answered by the supervisor: no decision in time */
	uint64_t fd_denials;    /* execs the kernel denied: the gate could not take
	                         * their fd (EMFILE, ENFILE) */
	uint64_t files_allowed; /* ignore marks made (GATE_ALLOW_FILE) */
	uint64_t files_forgets; /* times they were all dropped (gate_forget, or full) */
	uint64_t files_errors;  /* ignore marks the kernel refused */
};

/* Create the fanotify group and mark the filesystems.  0 and *ret, or a
 * negative errno with why filled (no fanotify, no permission, nothing to
 * mark).  A filesystem that cannot be marked is skipped and named in
 * gate_warnings(). */
int gate_open(const struct gate_opts *o, struct gate **ret, char *why, size_t whylen);
/* Start the thread (and a gate's supervisor; undecided may be NULL).  0 or
 * negative errno. */
int gate_start(struct gate *g, gate_decide_fn fn, gate_undecided_fn undecided, void *arg);
/* The mount points marked, owned by the gate; returns their number. */
size_t gate_marks(const struct gate *g, const char *const **ret);
/* What could not be marked (one string each, owned by the gate). */
size_t gate_warnings(const struct gate *g, const char *const **ret);
/* CLOCK_MONOTONIC time before which every queued event has been handled. */
uint64_t gate_drained_ns(const struct gate *g);
/* Read and handle one batch of queued events on the calling thread (under
 * the same lock).  1 when the batch took everything queued, 0 when more may
 * be queued, negative errno (-EAGAIN: nothing was). */
int gate_catch_up_once(struct gate *g);
/* True for a gate that fails closed (gate_opts.fail_closed). */
bool gate_fail_closed(const struct gate *g);
/* True for a watch by names (gate_opts.names) that the kernel accepted. */
bool gate_names(const struct gate *g);
/* True for a watch by names on every filesystem programs run from, each
 * marked and resolvable (no warning): it notes every exec there. */
bool gate_names_all(const struct gate *g);
/* CLOCK_MONOTONIC when its marks were made (execs before: not all seen). */
uint64_t gate_since_ns(const struct gate *g);
/* True when the gate watches every filesystem programs run from. */
bool gate_everywhere(const struct gate *g);
/* True when an exec under dir (or its nearest existing ancestor) would reach
 * the gate: its filesystem is marked. */
bool gate_covers(const struct gate *g, const char *dir);
/* True when the filesystem of device dev is marked. */
bool gate_covers_dev(const struct gate *g, dev_t dev);
/* Queue overflows so far (notifications the kernel dropped). */
uint64_t gate_overflows(const struct gate *g);
/* Forget every GATE_ALLOW_FILE (a new policy): the next exec of each file
 * is held and decided again; a decision made before this call and answered
 * after it marks nothing.  Any thread. */
void gate_forget(struct gate *g);
/* The group's fd (the mount watcher marks filesystems mounted later on it). */
int gate_fd(const struct gate *g);
/* Told of a filesystem gate_remark() marked: its mount point, device, and
 * whether that mount shows the filesystem's root. */
typedef void (*gate_mark_fn)(void *arg, const char *path, dev_t dev, bool whole, const void *fsid);
/* Mark again what the gate's options cover (every filesystem programs run
 * from, or those holding or mounted below its directories) and is not
 * marked yet: run by the mount watcher (mounts.c) in its own process, on its
 * copy of the gate, with CAP_SYS_ADMIN; fsid: the filesystem's
 * (__kernel_fsid_t, for a watch by names), or NULL.  A mount point from the
 * mount table is not touched but by the mark (FUSE ones not at all), and a
 * device marked before is marked again (a new filesystem may have it now).
 * Number newly marked, or negative errno; what could not be marked is added
 * to gate_warnings(), once (at most 64 warnings are kept). */
int gate_remark(struct gate *g, gate_mark_fn fn, void *arg);
/* What gate_remark() marks from now on: the filesystems holding dirs[0..n)
 * and mounted below them, or every one (everywhere).  0 or -ENOMEM. */
int gate_set_dirs(struct gate *g, const char *const *dirs, size_t n, bool everywhere);
/* Add a mark the mount watcher made (path, dev, whole, fsid as told to fn)
 * to the gate's table, for gate_covers() and a watch's names.  0, 1 when the
 * filesystem was marked already, or negative errno.  One caller at a time;
 * readers on other threads see a mark complete or not at all. */
int gate_adopt(struct gate *g, const char *path, dev_t dev, bool whole, const void *fsid);
/* A names watch that meets a filesystem it has no mark for calls fn once
 * (on the reader's thread) before it gives up on the name: the mount
 * watcher's marks adopted since (mount_watch_drain without fn). */
void gate_set_refresh(struct gate *g, void (*fn)(void *arg), void *arg);
/* Counters (any thread). */
void gate_get_stats(const struct gate *g, struct gate_stats *ret);
/* Stop the thread and close the group (the kernel allows what is pending).
 * Accepts NULL. */
void gate_free(struct gate *g);

#endif
