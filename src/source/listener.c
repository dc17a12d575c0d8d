/*
 * listener.c - the proc connector listener thread.
 *
 * Overview: struct nl_source owns the netlink socket, the ring and the
 * listener thread.  The thread is the hot path: recvmmsg a batch, check each
 * sender is the kernel (nl_pid 0), decode with every length checked, pin
 * exec'd processes with pidfd_open, push into the SPSC ring, kick the
 * consumer once per batch.  No malloc, no locks, no output; /proc is read
 * only to capture an exec'd process at the pin (nl_source_capture(): its
 * exe link, file, ids and cmdline, a few microseconds before it can exit),
 * the text going into a byte arena that the consumer frees in order.
 * A full ring or an ENOBUFS overrun is counted and followed by a
 * PW_EV_OVERRUN marker so that the consumer rescans /proc; pidfds of events
 * that could not be queued are closed here.  Ownership of a queued pidfd
 * passes to whoever pops the event.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include "procwarden/clock.h"
#include "procwarden/thread.h"
#include "procwarden/nl.h"
#include "procwarden/proc.h"
#include "procwarden/ring.h"
#include "source/cnproc_internal.h"

#define NL_MAX_BATCH 256
#define NL_DGRAM 256 /* one connector datagram is 76 bytes today */
/* The longest a fork, exit or id event waits in the ring unannounced
 * (nl_source_opts.quiet_non_exec); the socket's receive timeout (25 ms)
 * bounds how late the listener looks. */
#define NL_QUIET_MAX_NS 10000000ull
#define NL_QUIET_MAX_QUEUED 1024 /* or once this many wait */
/* Exit times by pid, for nl_source_exited(): a slot is reused only after
 * EXIT_SLOTS more pids have been allocated (pids grow until they wrap), far
 * longer than a kill waits for its check. */
#define EXIT_SLOTS 16384
/* The captures' text: exe link and cmdline of execs queued but not yet
 * taken.  A capture reserves CAP_RESERVE bytes (an exe of PW_PATH_MAX and
 * 16 KiB of cmdline; a longer one is cut and read again by the consumer)
 * and keeps what it used.  At ~200 bytes a launch the arena holds 1,300
 * launches' text; when it is full, launches are queued uncaptured (counted:
 * cap_full) and read from /proc by the consumer as before. */
#define CAP_ARENA (256u << 10)
#define CAP_RESERVE (PW_PATH_MAX + (16u << 10))

struct exit_slot {
	_Atomic uint32_t seq; /* odd while the listener writes */
	_Atomic int32_t pid;
	_Atomic uint64_t ns;           /* its last exit, 0: none */
	_Atomic uint64_t exec_ns;      /* its last exec, 0: none */
	_Atomic uint64_t prev_exec_ns; /* the one before, 0: none */
	_Atomic uint64_t born_ns;      /* the fork that made a process of it, 0: none seen */
};

struct nl_source {
	int fd;
	struct ring *ring;
	struct nl_source_opts o;
	uint64_t quiet_since_ns;  /* the oldest event queued unannounced, 0: none */
	atomic_bool urgent_forks; /* nl_source_urgent_forks() */
	pthread_t thread;
	bool started;
	bool subscribed;
	atomic_bool stop;
	atomic_int tid;
	/* nl_source_confine(): 1 asked, then fn's result (<= 0) */
	int (*confine_fn)(void *arg);
	void *confine_arg;
	atomic_int confine_state;
	uint32_t seq;
	bool kernel_filter;
	bool socket_filter;
	atomic_bool no_pin;          /* nl_source_pin_exe(false) */
	atomic_bool capture;         /* nl_source_capture(true) */
	bool no_pidfd_info;          /* PIDFD_GET_INFO unsupported: no ids in captures */
	char *arena;                 /* CAP_ARENA bytes, SPSC (the listener writes) */
	uint64_t cap_head;           /* listener: the arena's next free byte (monotonic) */
	_Atomic uint64_t cap_tail;   /* consumer: the bytes before it are free */
	_Atomic uint64_t overrun_ns; /* when events were last lost (ENOBUFS, a full ring) */
	size_t rcvbuf;
	/* counters written by the listener, read by anyone */
	atomic_uint_least64_t datagrams, events, overruns, foreign, malformed, ring_drops,
	    pidfd_fail, exefd_fail, wakeups, recv_errors, captures, cap_full, cap_raced;
	_Atomic uint64_t fd_budget_refused; /* pins not made: the fd budget was spent */
	size_t fd_budget;                   /* fds the queued events may hold (raise_nofile) */
	/* how long after its exec each process was pinned: bucket i counts
	 * delays of [2^i, 2^(i+1)) microseconds (the last: longer) */
	atomic_uint_least64_t pin_delay[NL_PIN_DELAY_BUCKETS];
	int procfd; /* /proc, for pinning exe files */
	/* every message the kernel sent before this time has been handled */
	_Atomic uint64_t drained_ns;
	bool pinned;                /* the batch being handled pinned a process */
	unsigned test_pin_delay_ms; /* PW_TEST_HOOKS builds only */
	struct exit_slot exits[EXIT_SLOTS];
	/* an overrun not yet announced in the ring (the ring was full) */
	uint32_t pending_overruns;
	/* receive buffers, allocated once */
	struct mmsghdr msgs[NL_MAX_BATCH];
	struct iovec iov[NL_MAX_BATCH];
	struct sockaddr_nl addrs[NL_MAX_BATCH];
	unsigned char bufs[NL_MAX_BATCH][NL_DGRAM];
};

/* Relaxed increment of a counter. */
static void bump(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Queue a marker for overruns not yet announced; keep them pending if full. */
static void flush_overrun(struct nl_source *s)
{
	struct pw_event ev;

	if (!s->pending_overruns)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = PW_EV_OVERRUN;
	ev.pidfd = ev.exefd = -1;
	ev.overruns = s->pending_overruns;
	ev.rtime_ns = ev.ktime_ns = pw_now_mono();
	if (ring_push(s->ring, &ev) == 0)
		s->pending_overruns = 0;
}

/* Remember that pid exited, exec'd or was born (a fork made a process of
 * it) at ns (the listener is the only writer). */
enum note_kind { NOTE_EXIT, NOTE_EXEC, NOTE_FORK };
static void note_pid(struct nl_source *s, int32_t pid, uint64_t ns, enum note_kind kind)
{
	struct exit_slot *e = &s->exits[(uint32_t)pid & (EXIT_SLOTS - 1)];
	uint32_t q = atomic_load_explicit(&e->seq, memory_order_relaxed);
	bool same = atomic_load_explicit(&e->pid, memory_order_relaxed) == pid;

	atomic_store_explicit(&e->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->pid, pid, memory_order_relaxed);
	if (!same) {
		atomic_store_explicit(&e->ns, 0, memory_order_relaxed);
		atomic_store_explicit(&e->exec_ns, 0, memory_order_relaxed);
		atomic_store_explicit(&e->prev_exec_ns, 0, memory_order_relaxed);
		atomic_store_explicit(&e->born_ns, 0, memory_order_relaxed);
	}
	switch (kind) {
	case NOTE_EXEC:
		atomic_store_explicit(&e->prev_exec_ns,
		                      atomic_load_explicit(&e->exec_ns, memory_order_relaxed),
		                      memory_order_relaxed);
		atomic_store_explicit(&e->exec_ns, ns, memory_order_relaxed);
		break;
	case NOTE_EXIT:
		atomic_store_explicit(&e->ns, ns, memory_order_relaxed);
		break;
	case NOTE_FORK:
		atomic_store_explicit(&e->born_ns, ns, memory_order_relaxed);
		break;
	}
	atomic_store_explicit(&e->seq, q + 2, memory_order_release);
}

static char *arena_reserve(struct nl_source *s, uint64_t *ret_off)
{
	uint64_t tail = atomic_load_explicit(&s->cap_tail, memory_order_acquire);
	uint64_t head = s->cap_head;
	size_t pos = (size_t)(head % CAP_ARENA);

	if (!s->arena)
		return NULL;
	if (pos + CAP_RESERVE > CAP_ARENA) {
		head += CAP_ARENA - pos;
		pos = 0;
	}
	if (head + CAP_RESERVE - tail > CAP_ARENA)
		return NULL;
	*ret_off = head;
	return s->arena + pos;
}

/* Nothing of ev's process is this exec's: it ran with no memory (exiting,
 * or inside a later exec whose event is not sent yet), or another program
 * replaced it between two reads. */
static void capture_raced(struct nl_source *s, struct pw_event *ev)
{
	ev->cap = PW_CAP_RACED;
	ev->cap_ns = pw_now_mono();
	ev->has_file = 0;
	bump(&s->cap_raced, 1);
}

/* Capture the process ev pinned: exe link, its file, ids, cmdline; kept
 * when the pidfd shows it running after the reads (they were of it; a
 * later exec is the consumer's check).  Advances cap_head; the caller
 * restores it when the event is not queued. */
static void capture_exec(struct nl_source *s, struct pw_event *ev)
{
	struct pollfd pf = {.fd = ev->pidfd, .events = POLLIN};
	char path[32], *buf;
	uint64_t off;
	size_t used = 0;
	struct stat st;
	ssize_t n;
	int fd;

	buf = arena_reserve(s, &off);
	if (!buf) {
		bump(&s->cap_full, 1);
		/* the program's identity at least (exec chains are told by it) */
		snprintf(path, sizeof(path), "%d/exe", ev->pid);
		if (fstatat(s->procfd, path, &st, 0) == 0 && poll(&pf, 1, 0) == 0) {
			pw_file_id_set(&ev->file, &st);
			ev->has_file = 1;
		}
		return;
	}
	/* the memory's first: the cmdline and the exe link go with it at exit
	 * (exit_mm()), the first thing an exiting process loses; then what
	 * lasts until the reap.  The exe link before and after the cmdline: an
	 * exec that replaced the program in between shows as two links */
	size_t argv_len = 0;
	char again[PW_PATH_MAX];
	ssize_t n0;
	snprintf(path, sizeof(path), "%d/exe", ev->pid);
	n0 = readlinkat(s->procfd, path, again, sizeof(again));
	snprintf(path, sizeof(path), "%d/cmdline", ev->pid);
	fd = openat(s->procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf + PW_PATH_MAX, CAP_RESERVE - PW_PATH_MAX);
		/* an exec'd program's cmdline has a byte at least (an empty argv
		 * is given "" since Linux 5.18); none: its memory is gone, it is
		 * exiting (exit_mm() comes before the pidfd says so) */
		if (n > 0) {
			ev->cap |= PW_CAP_ARGV;
			argv_len = (size_t)n;
			if (argv_len == CAP_RESERVE - PW_PATH_MAX)
				ev->cap |= PW_CAP_ARGV_CUT;
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "%d/exe", ev->pid);
	n = readlinkat(s->procfd, path, buf, PW_PATH_MAX);
	if (n > 0 && n < PW_PATH_MAX) {
		ev->cap |= PW_CAP_EXE;
		ev->cap_exe_len = (uint32_t)n;
		used = (size_t)n;
		if (n0 != n || memcmp(again, buf, (size_t)n)) {
			capture_raced(s, ev); /* another program in between */
			return;
		}
	}
	if (argv_len) { /* the arena holds the exe, then the cmdline */
		memmove(buf + used, buf + PW_PATH_MAX, argv_len);
		ev->cap_argv_len = (uint32_t)argv_len;
		used += argv_len;
	}
	if (fstatat(s->procfd, path, &st, 0) == 0) {
		pw_file_id_set(&ev->file, &st);
		ev->has_file = 1;
		if (st.st_nlink > 0)
			ev->cap |= PW_CAP_LINKED;
	}
	if (!s->no_pidfd_info) {
		int r = proc_pidfd_ids(ev->pidfd, ev->cap_ids, &ev->cap_ppid);
		if (r == 0)
			ev->cap |= PW_CAP_IDS;
		else if (r == -ENOTTY)
			s->no_pidfd_info = true;
	}
	/* running after the reads, or exited but not reaped (its pid was its
	 * own all along): the reads were of it; reaped, they may be another's */
	if (poll(&pf, 1, 0) != 0 && (s->no_pidfd_info || proc_pidfd_reaped(ev->pidfd))) {
		ev->cap = 0;
		ev->has_file = 0;
		return;
	}
	if (!(ev->cap & PW_CAP_ARGV)) { /* running, with no memory yet or no more */
		capture_raced(s, ev);
		return;
	}
	ev->cap_ns = pw_now_mono();
	ev->cap_off = off;
	s->cap_head = off + used;
	bump(&s->captures, 1);
}

static void kick(struct nl_source *s, uint64_t now);

static int handle_dgram(struct nl_source *s, const void *buf, size_t len, uint32_t sender,
                        uint64_t now, uint32_t want_ack, int *err)
{
	struct pw_event ev;
	int r;

	bump(&s->datagrams, 1);
	r = nl_decode(buf, len, sender, &ev);
	if (r == -EPERM) {
		bump(&s->foreign, 1);
		return 0;
	}
	if (r < 0) {
		bump(&s->malformed, 1);
		return 0;
	}
	if (r == NL_DEC_ACK) {
		/* the kernel echoes our ack + 1 (the seq it reports is its own) */
		if (want_ack && ev.b == want_ack + 1) {
			*err = (int)ev.a;
			return 1;
		}
		return 0;
	}
	if (r != NL_DEC_EVENT || !(ev.type & s->o.events))
		return 0;
	if (ev.type == PW_EV_EXIT && ev.pid == ev.tid)
		note_pid(s, ev.pid, ev.ktime_ns, NOTE_EXIT);
	else if (ev.type == PW_EV_EXEC)
		note_pid(s, ev.pid, ev.ktime_ns, NOTE_EXEC);
	else if (ev.type == PW_EV_FORK && ev.pid == ev.tid)
		note_pid(s, ev.pid, ev.ktime_ns, NOTE_FORK);
	if (s->o.no_threads && ev.pid != ev.tid && (ev.type & (PW_EV_FORK | PW_EV_EXIT)))
		return 0;
	ev.rtime_ns = now;
	ev.exefd = -1;
	uint64_t cap_head = s->cap_head;
	if (ev.type == PW_EV_EXEC) {
		char path[24];

#ifdef PW_TEST_HOOKS
		/* test-only: let the process exit and its pid be taken first */
		if (s->test_pin_delay_ms)
			usleep(s->test_pin_delay_ms * 1000u);
#endif
		/* two fds a queued exec at most (the ring's count includes
		 * other events: an upper bound) */
		bool refused = 2 * (ring_count(s->ring) + 1) > s->fd_budget;
		ev.pidfd = refused ? -1 : (int32_t)syscall(SYS_pidfd_open, ev.pid, 0);
		if (refused)
			bump(&s->fd_budget_refused, 1);
		ev.pin_ns = pw_now_mono();
		if (ev.pin_ns > ev.ktime_ns) {
			uint64_t us = (ev.pin_ns - ev.ktime_ns) / 1000;
			unsigned b = us ? 63u - (unsigned)__builtin_clzll(us) : 0;
			bump(&s->pin_delay[b < NL_PIN_DELAY_BUCKETS ? b : NL_PIN_DELAY_BUCKETS - 1],
			     1);
		}
		s->pinned |= ev.pidfd >= 0; /* a pidfd to prove: see recv_batch() */
		if (ev.pidfd < 0) {
			if (!refused)
				bump(&s->pidfd_fail, 1);
		} else {
			if (!atomic_load_explicit(&s->no_pin, memory_order_relaxed)) {
				/* pin the program file too: it outlives a process that
				 * exits before the consumer gets to it */
				snprintf(path, sizeof(path), "%d/exe", ev.pid);
				ev.exefd = (int32_t)openat(s->procfd, path, O_PATH | O_CLOEXEC);
				if (ev.exefd < 0)
					bump(&s->exefd_fail, 1);
			}
			if (atomic_load_explicit(&s->capture, memory_order_relaxed))
				capture_exec(s, &ev);
		}
	}
	flush_overrun(s);
	/* only an exec wakes the consumer at once: forks, exits and id changes
	 * wait (in order) for the next exec, or NL_QUIET_MAX_NS (recv_batch) */
	bool urgent =
	    ev.type == PW_EV_EXEC || !s->o.quiet_non_exec ||
	    (ev.type == PW_EV_FORK && atomic_load_explicit(&s->urgent_forks, memory_order_relaxed));
	if (s->pending_overruns ||
	    (urgent ? ring_push(s->ring, &ev) : ring_push_quiet(s->ring, &ev)) < 0) {
		ring_kick(s->ring);     /* a full ring: the consumer must drain it now */
		s->cap_head = cap_head; /* its capture's space is free again */
		if (ev.pidfd >= 0)
			close(ev.pidfd);
		if (ev.exefd >= 0)
			close(ev.exefd);
		bump(&s->ring_drops, 1);
		/* announce the loss so that the consumer rescans */
		if (!s->pending_overruns)
			s->pending_overruns = 1;
		atomic_store_explicit(&s->overrun_ns, pw_now_mono(), memory_order_release);
		return 0;
	}
	bump(&s->events, 1);
	if (urgent)
		s->quiet_since_ns = 0; /* the consumer wakes for all queued so far */
	else if (!s->quiet_since_ns)
		s->quiet_since_ns = now;
	if (!urgent && ring_count(s->ring) >= NL_QUIET_MAX_QUEUED) {
		s->quiet_since_ns = 0; /* a flood of quiet events: drained now */
		ring_kick(s->ring);
	}
	return 0;
}

/* Is the socket's queue empty now?  Then everything sent before is handled
 * (a peek: nothing is taken off the queue). */
static void probe_drained(struct nl_source *s)
{
	struct msghdr mh = {.msg_iov = &s->iov[0], .msg_iovlen = 1};
	uint64_t t = pw_now_mono();

	if (recvmsg(s->fd, &mh, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK))
		atomic_store_explicit(&s->drained_ns, t, memory_order_release);
}

/* Wake the consumer for what the batch queued: an exec woke it already
 * (ring_push); quiet events once the oldest has waited NL_QUIET_MAX_NS. */
static void kick(struct nl_source *s, uint64_t now)
{
	if (s->quiet_since_ns && now - s->quiet_since_ns >= NL_QUIET_MAX_NS) {
		s->quiet_since_ns = 0;
		ring_kick(s->ring);
	} else if (!s->o.quiet_non_exec) {
		ring_kick(s->ring);
	}
}

/* Receive one batch with a blocking recvmmsg (MSG_WAITFORONE).  Returns the
 * number of datagrams, 0 on timeout/EINTR, or a negative errno. */
static int recv_batch(struct nl_source *s, unsigned batch, uint32_t want_ack, int *ack_err,
                      int *got_ack)
{
	uint64_t t0 = pw_now_mono();
	int n;

	for (unsigned i = 0; i < batch; i++) {
		s->iov[i] = (struct iovec){.iov_base = s->bufs[i], .iov_len = NL_DGRAM};
		s->msgs[i].msg_hdr = (struct msghdr){
		    .msg_name = &s->addrs[i],
		    .msg_namelen = sizeof(s->addrs[i]),
		    .msg_iov = &s->iov[i],
		    .msg_iovlen = 1,
		};
		s->msgs[i].msg_len = 0;
	}
	if (batch == 1) {
		ssize_t len = recvmsg(s->fd, &s->msgs[0].msg_hdr, 0);
		if (len >= 0)
			s->msgs[0].msg_len = (unsigned)len;
		n = len < 0 ? -1 : 1;
	} else {
		n = recvmmsg(s->fd, s->msgs, batch, MSG_WAITFORONE, NULL);
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* the queue was empty during the call: all sent before it is in */
			atomic_store_explicit(&s->drained_ns, t0, memory_order_release);
			kick(s, pw_now_mono()); /* what waited quietly, once due */
			return 0;
		}
		if (errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			bump(&s->overruns, 1);
			atomic_store_explicit(&s->overrun_ns, pw_now_mono(), memory_order_release);
			s->pending_overruns++;
			flush_overrun(s);
			ring_kick(s->ring);
			return 0;
		}
		return -errno;
	}
	bump(&s->wakeups, 1);
	uint64_t now = pw_now_mono();
	for (int i = 0; i < n; i++) {
		const struct msghdr *mh = &s->msgs[i].msg_hdr;
		uint32_t sender = s->addrs[i].nl_pid;

		if (mh->msg_namelen < sizeof(struct sockaddr_nl) ||
		    s->addrs[i].nl_family != AF_NETLINK) {
			bump(&s->foreign, 1);
			continue;
		}
		if (mh->msg_flags & MSG_TRUNC) {
			bump(&s->malformed, 1);
			continue;
		}
		if (handle_dgram(s, s->bufs[i], s->msgs[i].msg_len, sender, now, want_ack, ack_err))
			*got_ack = 1;
	}
	/* fewer than asked: the call emptied the queue, after it started */
	if ((unsigned)n < batch)
		atomic_store_explicit(&s->drained_ns, t0, memory_order_release);
	/* a pidfd to prove (nl_source_sync()): say before the consumer wakes
	 * whether anything came since, so that it need not wait for us */
	if (s->pinned) {
		s->pinned = false;
		probe_drained(s);
	}
	kick(s, now);
	return n;
}

/* Subscribe and wait for our acknowledgement (events received meanwhile are
 * queued).  On Linux 6.6+ the first message is a struct proc_input for every
 * event type: the kernel's own filter also applies to its acknowledgement
 * (an ack is event type NONE), so a narrower mask would hide it.  Once the
 * ack proves the kernel took a proc_input, a second message narrows the mask
 * (its ack is filtered away, as expected).  Kernels before 6.6 ignore a
 * proc_input without an ack; then the plain 4-byte operation is sent.
 * 0, or negative errno with why filled. */
static int subscribe(struct nl_source *s, char *why, size_t whylen)
{
	unsigned timeout = s->o.ack_timeout_ms ? s->o.ack_timeout_ms : 1000;
	bool try_filter = !s->o.no_kernel_filter && nl_kernel_has_filter();

	for (int attempt = 0; attempt < 2; attempt++) {
		bool with_filter = try_filter && attempt == 0;
		uint32_t ack = (uint32_t)getpid() * 2654435761u + (uint32_t)attempt * 7 + 1;
		uint64_t deadline;
		int r, err = 0, got = 0;

		if (attempt == 0 && !try_filter)
			continue;
		s->seq++;
		r = nl_send_op(s->fd, PROC_CN_MCAST_LISTEN, NL_KERNEL_EVENT_ALL, with_filter,
		               s->seq, ack);
		if (r < 0) {
			snprintf(why, whylen,
			         "cannot send the subscription to the proc connector: %s",
			         strerror(-r));
			return r;
		}
		deadline =
		    pw_now_mono() + (uint64_t)(with_filter ? timeout / 2 : timeout) * 1000000ull;
		while (!got && pw_now_mono() < deadline) {
			r = recv_batch(s, s->o.batch, ack, &err, &got);
			if (r < 0) {
				snprintf(why, whylen, "cannot receive from the proc connector: %s",
				         strerror(-r));
				return r;
			}
		}
		if (!got)
			continue;
		if (err) {
			if (err == EPERM)
				snprintf(why, whylen,
				         "the proc connector refused the subscription (EPERM): "
				         "before Linux 6.6 it needs CAP_NET_ADMIN (run as root)");
			else
				snprintf(why, whylen,
				         "the proc connector refused the subscription: %s",
				         strerror(err));
			return -err;
		}
		s->subscribed = true;
		if (with_filter && (s->o.events & PW_EV_ALL_KERNEL) != PW_EV_ALL_KERNEL) {
			r = nl_send_op(s->fd, PROC_CN_MCAST_LISTEN, s->o.events, true, ++s->seq, 0);
			s->kernel_filter = r == 0;
		}
		return 0;
	}
	nl_explain_no_ack(why, whylen);
	return -ENOTCONN;
}

/* Every queued exec holds two fds (pidfd, exefd): raise the soft limit on
 * open files to the hard one (bounded), and return how many fds the queued
 * events may hold -- all but NL_FD_RESERVE, kept for the rest of the agent
 * and above all for the gate's reads: the kernel denies an exec whose
 * request it cannot give an fd to, and a full ring must not cause that. */
static size_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < 65536 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > NL_FD_RESERVE ? (size_t)(rl.rlim_cur - NL_FD_RESERVE) : 0;
}

/* Set a receive timeout so that the thread notices stop requests. */
static int set_rcvtimeo(int fd, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int nl_source_open(const struct nl_source_opts *o, struct nl_source **ret, char *why, size_t whylen)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
	struct sock_filter prog[16];
	struct sock_fprog fprog;
	struct nl_source *s;
	char dummy[8];
	int r, n, val;
	socklen_t sl;

	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	why[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->arena = malloc(CAP_ARENA); /* touched only as captures use it; NULL: none */
	s->fd_budget = raise_nofile();
	if (o)
		s->o = *o;
	if (!s->o.events)
		s->o.events = PW_EV_ALL_KERNEL;
	if (!s->o.batch)
		s->o.batch = 64;
	if (s->o.batch > NL_MAX_BATCH)
		s->o.batch = NL_MAX_BATCH;
	if (!s->o.ring_capacity)
		s->o.ring_capacity = 4096;
	s->seq = (uint32_t)getpid() << 8;
#ifdef PW_TEST_HOOKS
	if (getenv("PROCWARDEN_TEST_PIN_DELAY_MS"))
		s->test_pin_delay_ms = (unsigned)atoi(getenv("PROCWARDEN_TEST_PIN_DELAY_MS"));
#endif

	r = ring_new(sizeof(struct pw_event), s->o.ring_capacity, &s->ring);
	if (r < 0) {
		snprintf(why, whylen, "cannot allocate the event ring: %s", strerror(-r));
		goto fail;
	}
	s->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (s->fd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot open a NETLINK_CONNECTOR socket: %s%s",
		         strerror(errno),
		         errno == EPROTONOSUPPORT ? " (the kernel lacks CONFIG_CONNECTOR)" : "");
		goto fail;
	}
	if (s->o.rcvbuf) {
		val = (int)(s->o.rcvbuf > (size_t)(1 << 30) ? (1 << 30) : s->o.rcvbuf);
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &val, sizeof(val)) < 0)
			(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val));
	}
	sl = sizeof(val);
	if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &val, &sl) == 0)
		s->rcvbuf = (size_t)val;

	n = nl_build_filter(s->o.events, prog, sizeof(prog) / sizeof(prog[0]));
	if (n > 0) {
		fprog.len = (unsigned short)n;
		fprog.filter = prog;
		if (setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) == 0)
			s->socket_filter = true;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot bind to the proc connector group: %s%s",
		         strerror(errno), errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
		goto fail;
	}
	/* the thread notices a stop, and nl_source_sync() sees the queue empty,
	 * within two of these even when no event comes */
	r = set_rcvtimeo(s->fd, 25);
	if (r < 0)
		goto fail;
	r = subscribe(s, why, whylen);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	nl_source_free(s);
	return r;
}

/* The listener thread. */
static void *listener_main(void *arg)
{
	struct nl_source *s = arg;
	int dummy_err, dummy_got;

	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	/* ahead of the programs it watches, so that a launch is captured
	 * before it exits; best effort (needs CAP_SYS_NICE to go below the
	 * nice value it inherited) */
	if (s->o.nice)
		(void)setpriority(PRIO_PROCESS, (id_t)atomic_load(&s->tid), s->o.nice);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (atomic_load(&s->confine_state) == 1)
			atomic_store(&s->confine_state, s->confine_fn(s->confine_arg));
		int r = recv_batch(s, s->o.batch, 0, &dummy_err, &dummy_got);
		if (r == -EBADF)
			break;
		if (r < 0) {
			/* counted (the agent says so); a persistent error must not
			 * make a busy loop: 10 ms before the next try */
			struct timespec pause = {.tv_nsec = 10 * 1000000L};
			bump(&s->recv_errors, 1);
			kick(s, pw_now_mono());
			nanosleep(&pause, NULL);
			continue;
		}
		flush_overrun(s);
	}
	return NULL;
}

int nl_source_start(struct nl_source *s)
{
	int r;

	r = pw_thread_start(&s->thread, listener_main, s);
	if (r < 0)
		return r;
	s->started = true;
	return 0;
}

int nl_source_confine(struct nl_source *s, int (*fn)(void *arg), void *arg, unsigned timeout_ms)
{
	struct timespec tick = {.tv_nsec = 1000000L};
	int r;

	if (!s->started)
		return -EINVAL;
	s->confine_fn = fn;
	s->confine_arg = arg;
	atomic_store(&s->confine_state, 1); /* the thread wakes at least every 100 ms */
	for (unsigned ms = 0; (r = atomic_load(&s->confine_state)) == 1; ms++) {
		if (ms >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	return r > 0 ? 0 : r;
}

void nl_source_capture(struct nl_source *s, bool on)
{
	atomic_store_explicit(&s->capture, on, memory_order_relaxed);
}

const char *nl_source_capture_text(const struct nl_source *s, const struct pw_event *ev)
{
	return s->arena + ev->cap_off % CAP_ARENA;
}

void nl_source_capture_done(struct nl_source *s, const struct pw_event *ev)
{
	uint64_t end = ev->cap_off + ev->cap_exe_len + ev->cap_argv_len;

	if ((ev->cap & ~(uint32_t)PW_CAP_RACED) &&
	    end > atomic_load_explicit(&s->cap_tail, memory_order_relaxed))
		atomic_store_explicit(&s->cap_tail, end, memory_order_release);
}

void nl_source_urgent_forks(struct nl_source *s, bool on)
{
	if (atomic_load_explicit(&s->urgent_forks, memory_order_relaxed) != on)
		atomic_store_explicit(&s->urgent_forks, on, memory_order_relaxed);
}

void nl_source_pin_exe(struct nl_source *s, bool pin)
{
	atomic_store_explicit(&s->no_pin, !pin, memory_order_relaxed);
}

bool nl_source_pins_exe(const struct nl_source *s)
{
	return !atomic_load_explicit(&((struct nl_source *)(uintptr_t)s)->no_pin,
	                             memory_order_relaxed);
}

struct ring *nl_source_ring(struct nl_source *s)
{
	return s->ring;
}

void nl_source_stop(struct nl_source *s)
{
	if (!s)
		return;
	if (s->subscribed && s->fd >= 0) {
		(void)nl_send_op(s->fd, PROC_CN_MCAST_IGNORE, s->o.events, s->kernel_filter,
		                 ++s->seq, 0);
		s->subscribed = false;
	}
	if (s->started) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
}

void nl_source_free(struct nl_source *s)
{
	struct pw_event ev;

	if (!s)
		return;
	nl_source_stop(s);
	if (s->ring) {
		while (ring_pop(s->ring, &ev) == 0) {
			if (ev.pidfd >= 0)
				close(ev.pidfd);
			if (ev.exefd >= 0)
				close(ev.exefd);
		}
		ring_free(s->ring);
	}
	free(s->arena);
	if (s->fd >= 0)
		close(s->fd);
	if (s->procfd >= 0)
		close(s->procfd);
	free(s);
}

void nl_source_stats(const struct nl_source *s, struct nl_stats *r)
{
	memset(r, 0, sizeof(*r));
	r->datagrams = atomic_load(&s->datagrams);
	r->events = atomic_load(&s->events);
	r->overruns = atomic_load(&s->overruns);
	r->foreign = atomic_load(&s->foreign);
	r->malformed = atomic_load(&s->malformed);
	r->ring_drops = atomic_load(&s->ring_drops);
	r->pidfd_fail = atomic_load(&s->pidfd_fail);
	r->fd_budget_refused = atomic_load(&s->fd_budget_refused);
	r->exefd_fail = atomic_load(&s->exefd_fail);
	r->wakeups = atomic_load(&s->wakeups);
	r->recv_errors = atomic_load(&s->recv_errors);
	r->captures = atomic_load(&s->captures);
	r->cap_full = atomic_load(&s->cap_full);
	r->cap_raced = atomic_load(&s->cap_raced);
	for (unsigned i = 0; i < NL_PIN_DELAY_BUCKETS; i++)
		r->pin_delay[i] = atomic_load(&s->pin_delay[i]);
	r->rcvbuf = s->rcvbuf;
	r->kernel_filter = s->kernel_filter;
	r->socket_filter = s->socket_filter;
}

int nl_source_wait(struct nl_source *s, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
	struct pollfd p[8 + 1];
	unsigned n = nfds;
	bool waiting;
	int r;

	if (nfds > 8)
		return -EINVAL;
	memcpy(p, fds, nfds * sizeof(*p));
	waiting = ring_prepare_wait(s->ring);
	if (waiting)
		p[n++] = (struct pollfd){.fd = ring_fd(s->ring), .events = POLLIN};
	r = poll(p, n, waiting ? timeout_ms : 0);
	if (waiting)
		ring_finish_wait(s->ring);
	if (r < 0)
		return -errno;
	r = 0;
	for (unsigned i = 0; i < nfds; i++) {
		fds[i].revents = p[i].revents;
		r += p[i].revents != 0;
	}
	return r;
}

int nl_source_sync(struct nl_source *s, uint64_t t_ns, unsigned timeout_us)
{
	struct timespec tick = {.tv_nsec = 20000};
	uint64_t start = 0;

	/* the listener is usually there already (it looks again at once after
	 * a pin); yield to it first, sleep if it takes longer */
	for (unsigned i = 0; atomic_load_explicit(&s->drained_ns, memory_order_acquire) < t_ns;
	     i++) {
		uint64_t now = pw_now_mono();
		if (!timeout_us)
			return -ETIMEDOUT;
		if (!start)
			start = now;
		else if (now - start >= (uint64_t)timeout_us * 1000u)
			return -ETIMEDOUT;
		if (i < 64)
			sched_yield();
		else
			nanosleep(&tick, NULL);
	}
	return 0;
}

/* A consistent copy of pid's slot (under its sequence lock). */
struct slot_view {
	uint32_t seq; /* 0: never written */
	int32_t pid;
	uint64_t exit_ns, exec_ns, prev_exec_ns, born_ns;
};
static int slot_read(struct nl_source *s, int32_t pid, struct slot_view *v)
{
	struct exit_slot *e = &s->exits[(uint32_t)pid & (EXIT_SLOTS - 1)];

	for (int tries = 0; tries < 100; tries++) {
		v->seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		v->pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
		v->exit_ns = atomic_load_explicit(&e->ns, memory_order_relaxed);
		v->exec_ns = atomic_load_explicit(&e->exec_ns, memory_order_relaxed);
		v->prev_exec_ns = atomic_load_explicit(&e->prev_exec_ns, memory_order_relaxed);
		v->born_ns = atomic_load_explicit(&e->born_ns, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (!(v->seq & 1) && v->seq == atomic_load_explicit(&e->seq, memory_order_relaxed))
			return 0;
	}
	return -EAGAIN;
}

/* Another pid's slot: -EAGAIN when it took the slot at or after since_ns
 * (pid's own times are gone), else 0 (nothing of pid since then). */
static int slot_taken(const struct slot_view *v, uint64_t since_ns)
{
	return v->seq &&
	               (v->exit_ns >= since_ns || v->exec_ns >= since_ns || v->born_ns >= since_ns)
	           ? -EAGAIN
	           : 0;
}

/* 1 when the time pid's slot keeps (exit, or exec) is at or after since_ns,
 * 0 when not, -EAGAIN when another pid's event took the slot since then. */
static int slot_after(struct nl_source *s, int32_t pid, uint64_t since_ns, bool exec)
{
	struct slot_view v;

	if (slot_read(s, pid, &v) < 0)
		return -EAGAIN;
	if (v.pid != pid)
		return slot_taken(&v, since_ns);
	return (exec ? v.exec_ns : v.exit_ns) >= since_ns;
}

int nl_source_exited(struct nl_source *s, int32_t pid, uint64_t since_ns)
{
	return slot_after(s, pid, since_ns, false);
}

int nl_source_execd(struct nl_source *s, int32_t pid, uint64_t after_ns)
{
	return slot_after(s, pid, after_ns + 1, true);
}

uint64_t nl_source_lost_ns(struct nl_source *s)
{
	return atomic_load_explicit(&s->overrun_ns, memory_order_acquire);
}

int nl_source_fd(const struct nl_source *s)
{
	return s->fd;
}

int nl_source_tid(const struct nl_source *s)
{
	return atomic_load(&s->tid);
}

uint64_t nl_pin_delay_quantile(const struct nl_stats *st, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < NL_PIN_DELAY_BUCKETS; i++)
		total += st->pin_delay[i];
	if (!total)
		return 0;
	for (unsigned i = 0; i < NL_PIN_DELAY_BUCKETS; i++) {
		seen += st->pin_delay[i];
		if ((double)seen >= q * (double)total)
			return 2ull << i;
	}
	return 2ull << (NL_PIN_DELAY_BUCKETS - 1);
}

int nl_source_execs_after(struct nl_source *s, int32_t pid, uint64_t after_ns, uint64_t *ret_first)
{
	struct slot_view v;

	if (slot_read(s, pid, &v) < 0)
		return -EAGAIN;
	if (v.pid != pid)
		return slot_taken(&v, after_ns + 1);
	if (v.exec_ns <= after_ns)
		return 0;
	if (v.prev_exec_ns > after_ns)
		return 2;
	*ret_first = v.exec_ns;
	return 1;
}

int nl_source_gone_before(struct nl_source *s, int32_t pid, uint64_t since_ns, uint64_t until_ns)
{
	struct slot_view v;

	if (slot_read(s, pid, &v) < 0)
		return -EAGAIN;
	if (v.pid != pid)
		return slot_taken(&v, since_ns);
	/* its exit, or another process made at its pid, before until */
	return (v.exit_ns >= since_ns && v.exit_ns < until_ns) ||
	       (v.born_ns > since_ns && v.born_ns < until_ns);
}
