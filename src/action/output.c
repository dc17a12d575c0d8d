/*
 * output.c - records to the log file (or stdout) and syslog.
 *
 * Overview: owns a bounded byte ring of lines, the log fd and one writer
 * thread.  Producers (the evaluator, the agent loop) hold the lock only to
 * copy a line into the free part of the ring; a full ring refuses the line
 * and counts it.  The writer owns the used part of the ring between taking a
 * snapshot and releasing it, so it writes straight from the ring without the
 * lock: lines go to the fd with writev() in batches and, when enabled, each
 * line to syslog.  Write errors (disk full, a closed pipe) are counted and the
 * lines dropped, so the ring keeps draining; a line written only in part is
 * cut off a regular file again, so the log holds whole lines only.  Losses
 * (lines refused by a full ring, lines a write error lost) are said: the
 * writer puts a `loss` record before the next batch it writes, at most one
 * per class per second.  The last eighth of the ring is kept for urgent
 * lines (LOG_WARNING and more severe): a flood of info lines cannot crowd
 * out a kill's record.  A reopen request is served at
 * the ring position where it was asked for: lines queued before it go to the
 * old file, lines queued after it to the new one.
 *
 * Wake-ups: a producer signals the writer only when it is needed -- the
 * first line into an idle writer's empty ring, an urgent line (syslog
 * priority LOG_WARNING or more severe), a ring a quarter full, or a flush,
 * reopen or stop request -- and at most once per wait of the writer.
 * Otherwise the writer, once it has lines, sleeps until the oldest of them
 * has waited OUTPUT_FLUSH_INTERVAL_MS and then writes all that is queued: at
 * thousands of lines a second that is one wake-up and one writev() per
 * interval instead of a futex wake, a context switch and a writev() per
 * line.  With nothing queued the writer sleeps without a timeout (an idle
 * agent makes no wake-ups).
 *
 * Ring layout: records of an 8-byte header (length, syslog priority) and the
 * line padded to 8 bytes; a record never wraps (a pad record fills the end).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>

#include "action/syslog.h"
#include <time.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/json.h"
#include "procwarden/output.h"
#include "procwarden/thread.h"

#define RING_DEFAULT (512u << 10) /* about 800 records: a disk stall of that many is counted */
#define RING_MIN 64u
#define REC_PAD UINT32_MAX /* header length of a pad record */
#define BATCH_IOV 256      /* lines per writev(); an interval of a storm is ~100 lines */
#define FLUSH_DEFAULT_MS 5000u
#define WAKE_FRACTION 4                /* wake the writer when this fraction of the ring is used */
#define URGENT_FRACTION 8              /* this fraction of the ring is kept for urgent lines */
#define LOSS_INTERVAL_NS 1000000000ull /* loss records of a class at most this often */
/* Interrupts a writer stuck in writev() on a pipe nobody reads (output_free):
 * a handler without SA_RESTART, installed before any seccomp filter, so no
 * pthread_cancel() -- which needs rt_sigaction at the time -- is needed. */
#define SIG_UNSTICK (SIGRTMIN + 4)

struct rec_hdr {
	uint32_t len; /* line bytes (with '\n'), or REC_PAD */
	int32_t prio; /* syslog priority, -1: none */
};

struct output {
	bool set_nice;
	int nice;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* writer: work or stop (CLOCK_MONOTONIC) */
	pthread_cond_t drained; /* flushers: seq_out advanced */
	pthread_t writer;
	bool writer_started;

	char *ring;
	size_t cap, head, tail, used; /* under lock; [head, head+used) is the writer's */
	size_t wake_bytes;            /* used >= this: wake the writer (cap / WAKE_FRACTION) */
	uint64_t seq_in, seq_out;     /* records queued / handled (written or failed) */
	uint64_t reopen_seq;          /* serve the reopen when seq_out reaches this */
	bool reopen_pending, stop;

	/* wake-ups, under lock */
	uint64_t oldest_ns; /* queue time of the oldest line no drain has taken; 0: none */
	bool urgent;        /* an urgent line no drain has taken */
	unsigned flushers;  /* threads in output_flush() */
	bool waiting;       /* the writer sleeps on wake ... */
	bool timed;         /* ... until the oldest line is due (else: until signalled) */
	bool kicked;        /* ... and has been signalled since it went to sleep */

	char *path; /* NULL: stdout */
	int fd;     /* touched by the writer thread only, after output_new */
	bool use_syslog;
	const char *syslog_class; /* its loss class: "syslog" or "journal" */
	int syslog_max_prio;      /* less severe lines: the file only */
	char *prefix;             /* output_opts.record_prefix, or NULL */
	size_t prefix_len;
	uint64_t rec_seq; /* the last "seq" given (under lock) */

	uint64_t lines, drops, errors, reopens, batches; /* __atomic (drops: under lock) */

	/* the writer's: losses said so far, and when */
	uint64_t said_drops, said_errors, said_syslog;
	uint64_t said_drops_ns, said_errors_ns, said_syslog_ns;
	struct pw_syslog sl;  /* the writer's (use_syslog) */
	uint64_t syslog_lost; /* __atomic copy of sl.lost, for output_get_stats() */
	int last_errno;
	bool abandon;         /* __atomic: output_free() gave up waiting: write nothing more */
	bool partial;         /* the file ends in a line written in part (it could not be cut) */
	bool flush_timed_out; /* under lock: a flush gave up (the writer is stuck) */
};

/* Round n up to a multiple of 8. */
static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Open the log file for appending. */
static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	return fd >= 0 ? fd : -errno;
}

/* Add n to one of the counters. */
static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Write iov[0..n) completely (EINTR, partial writes).  0, or -errno when a
 * write failed: then *ret_whole lines were written whole, and a line written
 * in part is cut off a regular file again (start: the file's end before the
 * batch, or -1 when it cannot be cut: a pipe). */
/* writev() that output_free() can interrupt (SIG_UNSTICK let in only
 * here); -1 with errno EPIPE once it gave up. */
static ssize_t writev_unstuck(struct output *o, const struct iovec *iov, int n)
{
	sigset_t un;
	ssize_t w;
	int e;

	if (__atomic_load_n(&o->abandon, __ATOMIC_RELAXED)) {
		errno = EPIPE;
		return -1;
	}
	sigemptyset(&un);
	sigaddset(&un, SIG_UNSTICK);
	pthread_sigmask(SIG_UNBLOCK, &un, NULL);
	w = writev(o->fd, iov, n);
	e = errno;
	pthread_sigmask(SIG_BLOCK, &un, NULL);
	errno = e;
	return w;
}

static int write_all(struct output *o, struct iovec *iov, int n, int *ret_whole)
{
	off_t start = lseek(o->fd, 0, SEEK_END);
	size_t done = 0, whole = 0;
	int i = 0, r = 0;

	*ret_whole = 0;
	/* a line left in part before: end it, so that what follows is whole */
	if (o->partial) {
		struct iovec nl = {.iov_base = (void *)(uintptr_t) "\n", .iov_len = 1};
		if (writev_unstuck(o, &nl, 1) != 1)
			return -(errno && errno != EINTR ? errno : EIO);
		o->partial = false;
	}

	while (i < n) {
		ssize_t w;

		w = writev_unstuck(o, iov + i, n - i);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		done += (size_t)w;
		while (i < n && (size_t)w >= iov[i].iov_len) {
			w -= (ssize_t)iov[i].iov_len;
			i++;
		}
		whole = done - (size_t)w;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	*ret_whole = i;
	/* cannot cut (a pipe): the next write ends the line first */
	if (r < 0 && done > whole && (start < 0 || ftruncate(o->fd, start + (off_t)whole) < 0))
		o->partial = true;
	return r;
}

/* The head put before the rest of a JSON line: "{" + prefix + "seq":N, --
 * into buf (at least prefix_len + 32 bytes); its length, 0 for none. */
static size_t line_head(struct output *o, const char *line, size_t len, uint64_t seq, char *buf)
{
	if (!o->prefix || len < 2 || line[0] != '{')
		return 0;
	buf[0] = '{';
	memcpy(buf + 1, o->prefix, o->prefix_len);
	return 1 + o->prefix_len +
	       (size_t)sprintf(buf + 1 + o->prefix_len, "\"seq\":%llu,", (unsigned long long)seq);
}

/* Write one line of the writer's own (a loss record); 0 or -errno. */
static int write_own(struct output *o, char *line, size_t len, int prio)
{
	struct iovec iov = {.iov_base = line, .iov_len = len};
	char buf[1024]; /* one line: write_all() keeps lines whole by iovec */
	int whole;

	if (o->prefix && o->prefix_len + 32 + len <= sizeof(buf)) {
		pthread_mutex_lock(&o->lock);
		uint64_t seq = ++o->rec_seq;
		pthread_mutex_unlock(&o->lock);
		size_t hl = line_head(o, line, len, seq, buf);
		if (hl) {
			memcpy(buf + hl, line + 1, len - 1);
			iov = (struct iovec){.iov_base = buf, .iov_len = hl + len - 1};
		}
	}
	if (o->use_syslog && prio >= 0 && prio <= o->syslog_max_prio)
		(void)pw_syslog_send(&o->sl, prio, line, len - 1);
	return write_all(o, &iov, 1, &whole);
}

/* Say one class of loss when there is news and the last record of it is a
 * second old: {"type":"loss","class":...,"count":since the last,"total":...}. */
static void say_loss(struct output *o, const char *cls, uint64_t total, uint64_t *said,
                     uint64_t *said_ns, uint64_t now, const char *why)
{
	char line[512], t[40];
	int n;

	if (total <= *said || (*said_ns && now - *said_ns < LOSS_INTERVAL_NS))
		return;
	pw_time_rfc3339(pw_mono_to_real(now), t, sizeof(t));
	n = snprintf(line, sizeof(line),
	             "{\"type\":\"loss\",\"time\":\"%s\",\"class\":\"%s\",\"count\":%llu,"
	             "\"total\":%llu%s%s%s}\n",
	             t, cls, (unsigned long long)(total - *said), (unsigned long long)total,
	             why ? ",\"error\":\"" : "", why ? why : "", why ? "\"" : "");
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	/* syslog's (the journal's) own losses are not sent to it (each would be
	 * one more) */
	if (write_own(o, line, (size_t)n, cls != o->syslog_class ? LOG_WARNING : -1) == 0) {
		*said = total;
		*said_ns = now;
	}
}

/* Write one batch of lines and send them to syslog; counts lines and
 * errors.  Losses not said yet go first. */
static void write_batch(struct output *o, struct iovec *iov, const int *prio, int n)
{
	uint64_t now = pw_now_mono();
	int whole = 0, r;

	count(&o->batches, 1);
	uint64_t drops = __atomic_load_n(&o->drops, __ATOMIC_RELAXED);
	uint64_t errors = __atomic_load_n(&o->errors, __ATOMIC_RELAXED);
	say_loss(o, "output_full", drops, &o->said_drops, &o->said_drops_ns, now, NULL);
	say_loss(o, "output_error", errors, &o->said_errors, &o->said_errors_ns, now,
	         o->last_errno ? strerrorname_np(o->last_errno) : NULL);
	if (o->use_syslog) {
		say_loss(o, o->syslog_class, o->sl.lost, &o->said_syslog, &o->said_syslog_ns, now,
		         o->sl.last_errno ? strerrorname_np(o->sl.last_errno) : NULL);
		for (int i = 0; i < n; i++)
			if (prio[i] >= 0 && prio[i] <= o->syslog_max_prio)
				(void)pw_syslog_send(&o->sl, prio[i], iov[i].iov_base,
				                     iov[i].iov_len - 1);
		__atomic_store_n(&o->syslog_lost, o->sl.lost, __ATOMIC_RELAXED);
	}
	r = write_all(o, iov, n, &whole);
	count(&o->lines, (uint64_t)whole);
	if (r < 0) {
		o->last_errno = -r;
		count(&o->errors, (uint64_t)(n - whole));
	}
}

/* Serve a reopen request: swap in a new fd, keep the old one on failure. */
static void do_reopen(struct output *o)
{
	int fd;

	if (!o->path)
		return;
	fd = open_log(o->path);
	if (fd < 0) {
		count(&o->errors, 1);
		return;
	}
	close(o->fd);
	o->fd = fd;
	count(&o->reopens, 1);
}

/* Handle up to max records from the snapshot [head, head+used); returns the
 * ring bytes consumed and sets *nrec to the records handled. */
static size_t drain(struct output *o, size_t head, size_t used, uint64_t max, uint64_t *nrec)
{
	struct iovec iov[BATCH_IOV];
	int prio[BATCH_IOV];
	size_t off = 0;
	int n = 0;

	*nrec = 0;
	while (off < used && *nrec < max) {
		struct rec_hdr h;
		size_t pos = (head + off) % o->cap;

		memcpy(&h, o->ring + pos, sizeof(h));
		if (h.len == REC_PAD) {
			off += o->cap - pos;
			continue;
		}
		iov[n].iov_base = o->ring + pos + sizeof(h);
		iov[n].iov_len = h.len;
		prio[n] = h.prio;
		n++;
		off += sizeof(h) + align8(h.len);
		(*nrec)++;
		if (n == BATCH_IOV) {
			write_batch(o, iov, prio, n);
			n = 0;
		}
	}
	if (n)
		write_batch(o, iov, prio, n);
	return off;
}

/* Must the queued lines be written now?  If not, *ret_due gets the time
 * (CLOCK_MONOTONIC ns) at which the oldest of them is due.  Under lock. */
static bool write_now(const struct output *o, uint64_t *ret_due)
{
	if (o->stop || o->flushers || o->reopen_pending || o->urgent || o->used >= o->wake_bytes ||
	    !o->oldest_ns)
		return true;
	*ret_due = o->oldest_ns + OUTPUT_FLUSH_INTERVAL_MS * 1000000ull;
	return pw_now_mono() >= *ret_due;
}

/* Sleep on o->wake until signalled or, when due is not 0, until then
 * (CLOCK_MONOTONIC ns).  Under lock; producers see the state and signal
 * only when needed (wake_writer()). */
static void writer_sleep(struct output *o, uint64_t due)
{
	o->waiting = true;
	o->timed = due != 0;
	o->kicked = false;
	if (due) {
		struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
		                      .tv_nsec = (long)(due % 1000000000u)};

		pthread_cond_timedwait(&o->wake, &o->lock, &ts);
	} else {
		pthread_cond_wait(&o->wake, &o->lock);
	}
	o->waiting = false;
}

/* Wake the writer if it sleeps and this is a reason it would not wake for by
 * itself: any, when it sleeps with an empty ring; for a timed sleep only an
 * urgent one (urgent true).  At most one signal per sleep.  Under lock. */
static void wake_writer(struct output *o, bool urgent)
{
	if (!o->waiting || o->kicked || (o->timed && !urgent))
		return;
	o->kicked = true;
	pthread_cond_signal(&o->wake);
}

/* The writer thread: wait for lines or a reopen, write them when due,
 * repeat until stopped with the ring empty. */
static void *writer_main(void *arg)
{
	struct output *o = arg;
	sigset_t all;

	/* already blocked by pw_thread_start(); SIG_UNSTICK is let in only
	 * around writev() (write_all) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (o->set_nice) /* this thread only (Linux: per-thread nice values) */
		(void)setpriority(PRIO_PROCESS, 0, o->nice);
	pthread_mutex_lock(&o->lock);
	for (;;) {
		size_t head, used, done;
		uint64_t max = UINT64_MAX, nrec, due = 0;

		if (o->reopen_pending && o->seq_out >= o->reopen_seq) {
			o->reopen_pending = false;
			pthread_mutex_unlock(&o->lock);
			do_reopen(o);
			pthread_mutex_lock(&o->lock);
			continue;
		}
		if (!o->used) {
			if (o->stop)
				break;
			writer_sleep(o, 0);
			continue;
		}
		if (!write_now(o, &due)) {
			writer_sleep(o, due);
			continue;
		}
		head = o->head;
		used = o->used;
		if (o->reopen_pending)
			max = o->reopen_seq - o->seq_out;
		if (max >= o->seq_in - o->seq_out) {
			/* this drain takes every line: the next one queued starts
			 * a new interval */
			o->oldest_ns = 0;
			o->urgent = false;
		}
		pthread_mutex_unlock(&o->lock);

		done = drain(o, head, used, max, &nrec);

		pthread_mutex_lock(&o->lock);
		o->head = (o->head + done) % o->cap;
		o->used -= done;
		if (!o->used)
			o->head = o->tail = 0; /* keep records contiguous: fewer pads */
		o->seq_out += nrec;
		pthread_cond_broadcast(&o->drained);
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

/* SIG_UNSTICK's handler: nothing; the signal only interrupts writev(). */
static void unstick_handler(int sig)
{
	(void)sig;
}

/* Initialise a condition variable on CLOCK_MONOTONIC. */
static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int r;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	r = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return -r;
}

int output_new(const struct output_opts *opts, struct output **ret)
{
	struct output *o;
	int r;

	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->fd = -1;
	/* no SA_RESTART: a writev() it interrupts returns (see SIG_UNSTICK) */
	struct sigaction sa = {.sa_handler = unstick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_UNSTICK, &sa, NULL);
	o->cap = opts->ring_bytes ? align8(opts->ring_bytes) : RING_DEFAULT;
	if (o->cap < RING_MIN)
		o->cap = RING_MIN;
	o->use_syslog = opts->syslog;
	o->syslog_class = opts->journal ? "journal" : "syslog";
	if (opts->record_prefix) {
		o->prefix = strdup(opts->record_prefix);
		if (!o->prefix) {
			r = -ENOMEM;
			goto fail;
		}
		o->prefix_len = strlen(o->prefix);
	}
	o->syslog_max_prio = opts->syslog_max_prio ? opts->syslog_max_prio : LOG_DEBUG;
	o->set_nice = opts->set_nice;
	o->nice = opts->nice;
	o->wake_bytes = o->cap / WAKE_FRACTION;
	pthread_mutex_init(&o->lock, NULL);
	r = cond_init_mono(&o->wake);
	if (r == 0)
		r = cond_init_mono(&o->drained);
	if (r < 0)
		goto fail;
	o->ring = malloc(o->cap);
	if (!o->ring) {
		r = -ENOMEM;
		goto fail;
	}
	if (opts->log_path && strcmp(opts->log_path, "-") != 0) {
		o->path = strdup(opts->log_path);
		if (!o->path) {
			r = -ENOMEM;
			goto fail;
		}
		o->fd = open_log(o->path);
	} else {
		o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (o->fd < 0)
			o->fd = -errno;
	}
	if (o->fd < 0) {
		r = o->fd;
		o->fd = -1;
		goto fail;
	}
	if (o->use_syslog)
		pw_syslog_init(&o->sl, NULL, "procwarden",
		               opts->syslog_facility ? opts->syslog_facility : LOG_AUTHPRIV,
		               opts->journal);

	r = pw_thread_start(&o->writer, writer_main, o);
	if (r < 0) {
		if (o->use_syslog)
			pw_syslog_close(&o->sl);
		goto fail;
	}
	o->writer_started = true;
	*ret = o;
	return 0;
fail:
	output_free(o);
	return r;
}

int output_write(struct output *o, const char *line, size_t len, int syslog_prio)
{
	struct rec_hdr h;
	bool add_nl, urgent;
	size_t need, contig, pad = 0, head_len;
	char head_stack[256], *head = head_stack;

	if (!len)
		return -EINVAL;
	add_nl = line[len - 1] != '\n';
	h.prio = syslog_prio < 0 ? -1 : syslog_prio;
	urgent = h.prio >= 0 && (h.prio & LOG_PRIMASK) <= LOG_WARNING;
	if (o->prefix_len + 32 > sizeof(head_stack)) {
		head = malloc(o->prefix_len + 32);
		if (!head)
			return -ENOMEM;
	}

	pthread_mutex_lock(&o->lock);
	/* the number is taken even when the line is refused: a gap says so */
	head_len = line_head(o, line, len, ++o->rec_seq, head);
	if (head_len) { /* the line's own "{" is replaced by the head's */
		line++;
		len--;
	}
	h.len = (uint32_t)(head_len + len + add_nl);
	need = sizeof(h) + align8(head_len + len + add_nl);
	contig = o->cap - o->tail;
	if (need > contig)
		pad = contig;
	/* the last eighth of the ring is for urgent lines */
	size_t room = o->cap - o->used;
	if (!urgent)
		room = room > o->cap / URGENT_FRACTION ? room - o->cap / URGENT_FRACTION : 0;
	if (len >= UINT32_MAX || need + pad > room) {
		__atomic_fetch_add(&o->drops, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&o->lock);
		if (head != head_stack)
			free(head);
		return -ENOBUFS;
	}
	if (pad) {
		struct rec_hdr p = {.len = REC_PAD, .prio = -1};

		memcpy(o->ring + o->tail, &p, sizeof(p));
		o->tail = 0;
		o->used += pad;
	}
	memcpy(o->ring + o->tail, &h, sizeof(h));
	memcpy(o->ring + o->tail + sizeof(h), head, head_len);
	memcpy(o->ring + o->tail + sizeof(h) + head_len, line, len);
	if (add_nl)
		o->ring[o->tail + sizeof(h) + head_len + len] = '\n';
	o->tail = (o->tail + need) % o->cap;
	o->used += need;
	o->seq_in++;
	if (!o->oldest_ns)
		o->oldest_ns = pw_now_mono();
	o->urgent |= urgent;
	wake_writer(o, urgent || o->used >= o->wake_bytes);
	pthread_mutex_unlock(&o->lock);
	if (head != head_stack)
		free(head);
	return 0;
}

void output_reopen(struct output *o)
{
	pthread_mutex_lock(&o->lock);
	o->reopen_pending = true;
	o->reopen_seq = o->seq_in;
	wake_writer(o, true);
	pthread_mutex_unlock(&o->lock);
}

int output_flush(struct output *o, unsigned timeout_ms)
{
	struct timespec dl;
	uint64_t target;
	int r = 0;

	if (!timeout_ms)
		timeout_ms = FLUSH_DEFAULT_MS;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->lock);
	target = o->seq_in;
	o->flushers++; /* the writer writes at once while we wait */
	if (o->seq_out < target)
		wake_writer(o, true);
	while (o->seq_out < target && r == 0)
		if (pthread_cond_timedwait(&o->drained, &o->lock, &dl) == ETIMEDOUT)
			r = o->seq_out < target ? -ETIMEDOUT : 0;
	if (r < 0)
		o->flush_timed_out = true;
	o->flushers--;
	pthread_mutex_unlock(&o->lock);
	return r;
}

void output_free(struct output *o)
{
	if (!o)
		return;
	if (o->writer_started) {
		/* a writer found stuck before gets a moment, not 5 s more */
		pthread_mutex_lock(&o->lock);
		bool stuck = o->flush_timed_out;
		pthread_mutex_unlock(&o->lock);
		int r = output_flush(o, stuck ? 200 : 0);

		pthread_mutex_lock(&o->lock);
		o->stop = true;
		o->kicked = true;
		pthread_cond_signal(&o->wake);
		pthread_mutex_unlock(&o->lock);
		if (r < 0) {
			/* stuck on a pipe nobody reads: what is left is lost; the
			 * writer is interrupted out of writev() until it is out */
			struct timespec tick = {.tv_nsec = 10 * 1000000L};
			__atomic_store_n(&o->abandon, true, __ATOMIC_RELAXED);
			while (pthread_kill(o->writer, SIG_UNSTICK) == 0 &&
			       pthread_tryjoin_np(o->writer, NULL) == EBUSY)
				nanosleep(&tick, NULL);
		}
		pthread_join(o->writer, NULL);
		if (o->use_syslog)
			pw_syslog_close(&o->sl);
	}
	if (o->fd >= 0)
		close(o->fd);
	pthread_cond_destroy(&o->drained);
	pthread_cond_destroy(&o->wake);
	pthread_mutex_destroy(&o->lock);
	free(o->ring);
	free(o->path);
	free(o->prefix);
	free(o);
}

void output_get_stats(const struct output *o, struct output_stats *ret)
{
	struct output *w = (struct output *)(uintptr_t)o; /* the lock is not part of the value */

	pthread_mutex_lock(&w->lock);
	ret->drops = w->drops;
	pthread_mutex_unlock(&w->lock);
	ret->lines = __atomic_load_n(&o->lines, __ATOMIC_RELAXED);
	ret->errors = __atomic_load_n(&o->errors, __ATOMIC_RELAXED);
	ret->reopens = __atomic_load_n(&o->reopens, __ATOMIC_RELAXED);
	ret->batches = __atomic_load_n(&o->batches, __ATOMIC_RELAXED);
	ret->syslog_lost = __atomic_load_n(&o->syslog_lost, __ATOMIC_RELAXED);
}
