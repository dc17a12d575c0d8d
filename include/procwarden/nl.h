/*
 * nl.h - the proc connector event source (netlink, CN_IDX_PROC).
 *
 * nl_decode() turns one datagram into events (pure; unit-tested from byte
 * fixtures).  struct nl_source owns the socket and the listener thread: the
 * thread only receives (recvmmsg batches), checks that each message comes
 * from the kernel, decodes, pins exec'd processes with a pidfd and pushes
 * struct pw_event into a bounded SPSC ring.  It never blocks on anything but
 * the socket; a full ring and every ENOBUFS overrun are counted, and an
 * overrun queues a PW_EV_OVERRUN marker so the consumer can rescan /proc.
 */
#ifndef PROCWARDEN_NL_H
#define PROCWARDEN_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procwarden/event.h"

struct pollfd;

struct ring;

/* Result of decoding one datagram. */
enum nl_decode_result {
	NL_DEC_EVENT = 1, /* *ev holds an event (type != PW_EV_NONE) */
	NL_DEC_ACK = 2,   /* *ev holds an ack: a = error, b = cn ack, pid = cn seq */
	NL_DEC_SKIP = 0,  /* not for us (other connector index, NLMSG_NOOP, ...) */
};

/* Decode one datagram of len bytes received from netlink port sender_port
 * (0 = the kernel).  Returns NL_DEC_* or a negative errno: -EPERM when the
 * sender is not the kernel, -EBADMSG when any length or field is malformed.
 * Never reads past len. */
int nl_decode(const void *buf, size_t len, uint32_t sender_port, struct pw_event *ev);

/* Build a classic BPF program that accepts connector messages for
 * CN_IDX_PROC whose event type is in mask (acks always), drops the rest.
 * Writes at most max instructions into prog (struct sock_filter[]); returns
 * the count or -ENOSPC. */
int nl_build_filter(uint32_t mask, void *prog, size_t max);

struct nl_source_opts {
	uint32_t events;         /* PW_EV_* mask the consumer wants (0: all) */
	size_t rcvbuf;           /* SO_RCVBUFFORCE bytes; 0: leave the default */
	unsigned batch;          /* datagrams per recvmmsg (1: recvmsg); 0: 64 */
	size_t ring_capacity;    /* events; 0: 16384 */
	unsigned ack_timeout_ms; /* wait for the subscription ack; 0: 1000 */
	bool no_kernel_filter;   /* do not use struct proc_input (testing) */
	bool no_threads;         /* drop fork and exit events of threads (pid != tid) */
	bool quiet_non_exec;     /* wake the consumer at once for execs only: other
	                          * events wait for the next exec, 10 ms after the
	                          * oldest (the listener looks at least every 25 ms,
	                          * its receive timeout), or 1,024 queued (one
	                          * wake-up a launch instead of three) */
	int nice;                /* the listener thread's nice value (0: inherited) */
};

struct nl_source;
/* Pin each exec'd process's exe file (an O_PATH fd of /proc/PID/exe, in
 * the event's exefd) or not (exefd -1: the consumer learns the exe
 * elsewhere, e.g. from an exec watch).  On by default; any thread, any
 * time (the listener follows from its next event). */
void nl_source_pin_exe(struct nl_source *s, bool pin);
/* With quiet_non_exec: forks wake the consumer too while on (a killed
 * launch's descendants are signalled as they are forked). */
void nl_source_urgent_forks(struct nl_source *s, bool on);
/* Whether the listener pins exes (as nl_source_pin_exe() last set it). */
bool nl_source_pins_exe(const struct nl_source *s);

/* Capture each exec'd process at the pin (pw_event.cap: exe, cmdline,
 * file, ids), read by the listener while the process still runs.  Off by
 * default; any thread, any time.  With the arena full, only the
 * program's identity is read (ev.file, ev.has_file). */
void nl_source_capture(struct nl_source *s, bool on);
/* The text of ev's capture: ev->cap_exe_len bytes of exe, then
 * ev->cap_argv_len of cmdline; valid until nl_source_capture_done(). */
const char *nl_source_capture_text(const struct nl_source *s, const struct pw_event *ev);
/* The consumer is done with ev's capture (and every one before it): its
 * space is free again.  Consumer thread only, in the order popped; an
 * event popped and never passed here is freed with the next one that is. */
void nl_source_capture_done(struct nl_source *s, const struct pw_event *ev);

#define NL_PIN_DELAY_BUCKETS 20
/* Open files kept free of the queued events' pins: the gate's reads (256 at
 * most), hooks, the log, /proc reads. */
#define NL_FD_RESERVE 1024

struct nl_stats {
	uint64_t datagrams;         /* received */
	uint64_t events;            /* decoded and queued */
	uint64_t overruns;          /* ENOBUFS seen */
	uint64_t foreign;           /* messages not from the kernel, ignored */
	uint64_t malformed;         /* bad lengths, ignored */
	uint64_t ring_drops;        /* ring full: events lost (an overrun marker follows) */
	uint64_t pidfd_fail;        /* exec events whose process was gone before pinning */
	uint64_t fd_budget_refused; /* exec events not pinned: the queued events held
	                             * every fd they may (NL_FD_RESERVE) */
	uint64_t exefd_fail;        /* exec events whose exe file could not be pinned */
	uint64_t wakeups;           /* recvmmsg calls that returned data */
	uint64_t recv_errors;       /* receives that failed (not ENOBUFS, EINTR, EAGAIN) */
	uint64_t captures;          /* execs captured at the pin (nl_source_capture()) */
	uint64_t cap_full;          /* execs not captured: the arena was full */
	uint64_t cap_raced;         /* execs caught exiting or exec'ing again at the capture */
	/* execs pinned [2^i, 2^(i+1)) microseconds after the kernel's event
	 * (the last bucket: longer); nl_pin_delay_quantile() */
	uint64_t pin_delay[NL_PIN_DELAY_BUCKETS];
	size_t rcvbuf;      /* effective receive buffer (SO_RCVBUF) */
	bool kernel_filter; /* the connector's own event filter is in use */
	bool socket_filter; /* the BPF socket filter is attached */
};

/* The q-quantile (0..1) of the pin delays in st, in microseconds: the upper
 * bound of the bucket that holds it; 0 with no exec pinned. */
uint64_t nl_pin_delay_quantile(const struct nl_stats *st, double q);

struct nl_source;

/* Open the socket, size the buffer, attach the filter, subscribe and wait
 * for the kernel's acknowledgement.  On failure returns a negative errno
 * and, when why is given, a sentence for people naming the cause (privilege,
 * namespace, CONFIG_PROC_EVENTS).  -ENOTCONN: no acknowledgement. */
int nl_source_open(const struct nl_source_opts *o, struct nl_source **ret, char *why,
                   size_t whylen);
/* Start the listener thread (all signals blocked in it). */
int nl_source_start(struct nl_source *s);
/* The ring the listener fills; owned by the source. */
struct ring *nl_source_ring(struct nl_source *s);
/* Unsubscribe (PROC_CN_MCAST_IGNORE) and stop the thread; idempotent. */
void nl_source_stop(struct nl_source *s);
/* Stop, close every pidfd still queued, free.  Accepts NULL. */
void nl_source_free(struct nl_source *s);
void nl_source_stats(const struct nl_source *s, struct nl_stats *ret);
/* Run fn(arg) once on the listener thread, between two batches (e.g. to
 * stack a narrower seccomp filter on it), and wait up to timeout_ms for it.
 * Returns fn's result, -ETIMEDOUT, or -EINVAL when the thread is not running. */
int nl_source_confine(struct nl_source *s, int (*fn)(void *arg), void *arg, unsigned timeout_ms);
/* Consumer side: wait until the ring has events or one of the caller's fds
 * (at most 8) is ready; never sleeps while the ring holds events.  (Waking
 * on the socket in parallel with the listener and spinning for its push was
 * measured: on 2 cores the spinning consumer took the CPU the listener
 * needed, and capture of short-lived processes fell from 99% to 10-60%.)
 * Returns poll()'s result for fds (revents filled) or a negative errno. */
int nl_source_wait(struct nl_source *s, struct pollfd *fds, unsigned nfds, int timeout_ms);

/*
 * Identity before a signal.  A pidfd opened at pin_ns for pid names the
 * process that the event (at since_ns) was about unless that process had
 * exited before pin_ns and another took its pid.  Its exit event was then
 * sent before pin_ns: once the listener has received everything sent
 * before pin_ns (nl_source_sync()), an exit of pid at or after since_ns
 * that it has not seen never happened before pin_ns.  The listener keeps
 * the last exit time of each pid (direct-mapped by pid) for that check.
 */
/* Wait (at most timeout_us) until the listener has received every message
 * the kernel sent before t_ns.  0, or -ETIMEDOUT. */
int nl_source_sync(struct nl_source *s, uint64_t t_ns, unsigned timeout_us);
/* Did pid exit at or after since_ns, as far as the listener has received?
 * 1 yes, 0 no, -EAGAIN cannot tell (its slot was taken by another pid's
 * exit since then). */
int nl_source_exited(struct nl_source *s, int32_t pid, uint64_t since_ns);
/* Did pid exec again after after_ns (an exec chain: /proc/PID shows the
 * later program)?  Same answers. */
int nl_source_execd(struct nl_source *s, int32_t pid, uint64_t after_ns);

/* Did the process that was pid at since_ns exit before until_ns (its exit,
 * or a fork that made another process of pid, came in between), as far as
 * the listener has received?  1 yes, 0 no, -EAGAIN cannot tell.  Unlike
 * nl_source_exited(), an exit after until_ns does not count: a pidfd
 * opened at until_ns named the process then, whenever it exited later. */
int nl_source_gone_before(struct nl_source *s, int32_t pid, uint64_t since_ns, uint64_t until_ns);

/* How many execs of pid after after_ns the listener has received: 0, 1
 * (its time in *ret_first), 2 (two or more), or -EAGAIN (cannot tell). */
int nl_source_execs_after(struct nl_source *s, int32_t pid, uint64_t after_ns, uint64_t *ret_first);

/* When the listener last lost events (ENOBUFS, or the ring full): a slot
 * says nothing of what was lost.  CLOCK_MONOTONIC ns, 0: never. */
uint64_t nl_source_lost_ns(struct nl_source *s);

/* The socket (for tests and the hardening code). */
int nl_source_fd(const struct nl_source *s);
/* Tid of the listener thread, or 0. */
int nl_source_tid(const struct nl_source *s);

#endif
