/*
 * mounts.c - the mount watcher (mounts.h): filesystems mounted after the
 * agent started are marked for the gate and the exec watch as they appear.
 *
 * Overview: mount_watch_open() creates a FAN_REPORT_MNT group with a mark on
 * the agent's mount namespace (FAN_MNT_ATTACH), a pipe, and forks.  The
 * child keeps the fanotify groups' fds, the namespace group and the pipe's
 * write end (every other fd is closed), CAP_SYS_ADMIN alone (bounding set
 * too), no_new_privs and SANDBOX_MOUNTS; it marks once at once (what was
 * mounted between the gate's marks and the namespace's) and again on every
 * notification: gate_remark() on its own copy of each gate, made at the fork,
 * re-reads the mount table and marks what is new.  Each new mark (or what
 * could not be marked) goes to the agent as one pipe write (atomic: at most
 * PIPE_BUF), which the agent adopts into its gate (gate_adopt) on its event
 * loop.  What the notification names is not read: a scan of the mount table
 * is as cheap, covers a queue overflow too, and needs no statmount().
 *
 * Window: an exec in the microseconds between a mount and its mark is not
 * held; a deny rule then kills it after the exec, as on a kernel without
 * mount notifications.  Mounts in other mount namespaces (a container's) are
 * not seen; the propagated copies of mounts made in the host's are.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <linux/types.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/gate.h"
#include "procwarden/mounts.h"
#include "procwarden/sandbox.h"

#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#endif
#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif

#define MW_GROUPS 2
#define MW_TEXT_MAX 2048 /* a report's text; longer mount points are cut */

/* One report, a single pipe write. */
struct mw_report {
	uint32_t len;      /* bytes of text, its NUL included */
	uint8_t group;     /* index into the gates given */
	uint8_t kind;      /* MW_MARKED, MW_WARNING */
	uint8_t whole;     /* the mount shows the filesystem's root */
	uint8_t have_fsid; /* fsid is the filesystem's */
	uint64_t dev;
	__kernel_fsid_t fsid;
	char text[MW_TEXT_MAX];
};
enum { MW_MARKED = 0, MW_WARNING = 1, MW_DONE = 2 /* dev: the request's number */ };

/* A request to the watcher (mount_watch_set_dirs): this head, then len bytes
 * of NUL-terminated directories. */
struct mw_request {
	uint32_t len;
	uint32_t n;
	uint32_t seq;
	uint8_t everywhere;
	uint8_t pad[3];
};
#define MW_REQUEST_MAX (60u << 10) /* within a pipe's capacity: never blocks */
#define MW_HEAD offsetof(struct mw_report, text)

/* A report adopted, not yet told (mount_watch_drain without fn). */
struct mw_told {
	uint8_t group, kind;
	char *text;
};

struct mount_watch {
	pid_t pid;
	int rfd;
	int wfd;       /* requests to the watcher */
	uint32_t seq;  /* requests sent */
	uint32_t done; /* the last request the watcher finished */
	struct gate *gates[MW_GROUPS];
	size_t marked;
	size_t have; /* bytes of a report read so far */
	struct mw_report rep;
	struct mw_told *untold;
	size_t n_untold;
};

/* The child's context for gate_remark's callback. */
struct mw_child {
	int wfd;
	uint8_t group;
};

static void send_report(int wfd, uint8_t group, uint8_t kind, const char *text, uint64_t dev,
                        bool whole, const void *fsid)
{
	struct mw_report r = {.group = group, .kind = kind, .whole = whole, .dev = dev};

	if (fsid) {
		memcpy(&r.fsid, fsid, sizeof(r.fsid));
		r.have_fsid = 1;
	}
	size_t n = strnlen(text, MW_TEXT_MAX - 1);

	if (kind == MW_MARKED && n == MW_TEXT_MAX - 1)
		return; /* a mount point too long to name: marked, but not said */
	memcpy(r.text, text, n);
	r.text[n] = '\0';
	r.len = (uint32_t)n + 1;
	while (write(wfd, &r, MW_HEAD + r.len) < 0)
		if (errno != EINTR)
			_exit(0); /* the agent is gone */
}

static void on_mark(void *arg, const char *path, dev_t dev, bool whole, const void *fsid)
{
	struct mw_child *c = arg;

	send_report(c->wfd, c->group, MW_MARKED, path, (uint64_t)dev, whole, fsid);
}

/* Mark what is new for every group, say what could not be marked. */
static void remark_all(struct gate *const *gates, size_t *said, int wfd)
{
	for (uint8_t i = 0; i < MW_GROUPS; i++) {
		const char *const *w;
		size_t nw;
		struct mw_child c = {.wfd = wfd, .group = i};

		if (!gates[i])
			continue;
		(void)gate_remark(gates[i], on_mark, &c);
		nw = gate_warnings(gates[i], &w);
		for (; said[i] < nw; said[i]++)
			send_report(wfd, i, MW_WARNING, w[said[i]], 0, false, NULL);
	}
}

/* CAP_SYS_ADMIN alone, in every set (best effort for the bounding set:
 * without CAP_SETPCAP the agent runs with less already). */
static int keep_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	for (int cap = 0; cap < 64; cap++)
		if (cap != CAP_SYS_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	data[CAP_SYS_ADMIN / 32].effective = data[CAP_SYS_ADMIN / 32].permitted =
	    1u << (CAP_SYS_ADMIN % 32);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd but those in keep (n of them). */
static void close_others(int *keep, size_t n)
{
	unsigned lo = 3;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* Read exactly n bytes (blocking), or exit: the agent is gone. */
static void read_all(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0);
		got += (size_t)r;
	}
}

/* A request: the gate's new directories, marked at once, then MW_DONE. */
static void handle_request(struct gate *const *gates, size_t *said, int cfd, int wfd)
{
	struct mw_request rq;
	char *buf;
	const char **dirs;

	read_all(cfd, &rq, sizeof(rq));
	if (rq.len > MW_REQUEST_MAX || rq.n > rq.len)
		_exit(1);
	buf = malloc(rq.len + 1);
	dirs = calloc(rq.n ? rq.n : 1, sizeof(*dirs));
	if (!buf || !dirs)
		_exit(1);
	read_all(cfd, buf, rq.len);
	buf[rq.len] = '\0';
	for (size_t i = 0, off = 0; i < rq.n; i++) {
		if (off >= rq.len)
			_exit(1);
		dirs[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (gates[0])
		(void)gate_set_dirs(gates[0], dirs, rq.n, rq.everywhere);
	free(dirs);
	free(buf);
	remark_all(gates, said, wfd);
	send_report(wfd, 0, MW_DONE, "", rq.seq, false, NULL);
}

static _Noreturn void child_main(struct gate *const *gates, int mntfd, int wfd, int cfd,
                                 pid_t agent, bool confine)
{
	int keep[3 + MW_GROUPS];
	size_t nk = 0, said[MW_GROUPS] = {0};
	sigset_t none;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)prctl(PR_SET_NAME, "pw-mounts");
	if (getppid() != agent)
		_exit(0);
	/* dies by SIGKILL (the agent's, or its death), or when the agent's end
	 * of a pipe closes: a SIGTERM meant for the agent (systemd signals the
	 * whole unit) is not for it */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) { /* it writes nothing but its reports */
		for (int fd = 0; fd < 3; fd++)
			if (null != fd)
				dup2(null, fd);
		if (null > 2)
			close(null);
	}
	keep[nk++] = mntfd;
	keep[nk++] = wfd;
	keep[nk++] = cfd;
	for (size_t i = 0; i < MW_GROUPS; i++)
		if (gates[i])
			keep[nk++] = gate_fd(gates[i]);
	close_others(keep, nk);
	for (size_t i = 0; i < MW_GROUPS; i++) /* said in the start record */
		if (gates[i]) {
			const char *const *w;
			said[i] = gate_warnings(gates[i], &w);
		}
	if (keep_sys_admin() < 0)
		_exit(1);
	if (confine && sandbox_apply(SANDBOX_MOUNTS, 0) < 0)
		_exit(1);
	remark_all(gates, said, wfd);
	for (;;) {
		struct pollfd p[3] = {{.fd = mntfd, .events = POLLIN},
		                      {.fd = wfd, .events = 0},
		                      {.fd = cfd, .events = POLLIN}};
		char buf[4096];

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[1].revents & (POLLERR | POLLHUP))
			_exit(0); /* the agent closed its end */
		if (p[2].revents & POLLIN)
			handle_request(gates, said, cfd, wfd);
		else if (p[2].revents & (POLLERR | POLLHUP))
			_exit(0);
		if (!(p[0].revents & POLLIN))
			continue;
		while (read(mntfd, buf, sizeof(buf)) > 0)
			; /* what changed is read from the mount table */
		remark_all(gates, said, wfd);
	}
}

int mount_watch_open(struct gate *const *gates, size_t n, bool confine, struct mount_watch **ret,
                     char *why, size_t whylen)
{
	struct mount_watch *mw;
	int mntfd, p[2], c[2], r;
	pid_t agent = getpid();

	if (n > MW_GROUPS)
		return -EINVAL;
	mntfd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT | FAN_CLOEXEC | FAN_NONBLOCK, 0);
	if (mntfd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s",
		         errno == EINVAL ? "the kernel has no mount notifications (Linux 6.14 "
		                           "and later have them)"
		                         : strerror(errno));
		return r;
	}
	if (fanotify_mark(mntfd, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH, AT_FDCWD,
	                  "/proc/self/ns/mnt") < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot watch the mount namespace: %s", strerror(errno));
		close(mntfd);
		return r;
	}
	mw = calloc(1, sizeof(*mw));
	if (!mw || pipe2(p, O_CLOEXEC) < 0) {
		r = mw ? -errno : -ENOMEM;
		snprintf(why, whylen, "%s", strerror(-r));
		free(mw);
		close(mntfd);
		return r;
	}
	if (pipe2(c, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s", strerror(-r));
		close(p[0]);
		close(p[1]);
		free(mw);
		close(mntfd);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		mw->gates[i] = gates[i];
	mw->pid = fork();
	if (mw->pid == 0)
		child_main(mw->gates, mntfd, p[1], c[0], agent, confine);
	r = mw->pid < 0 ? -errno : 0;
	close(mntfd);
	close(p[1]);
	close(c[0]);
	if (r < 0) {
		snprintf(why, whylen, "cannot fork the mount watcher: %s", strerror(-r));
		close(p[0]);
		close(c[1]);
		free(mw);
		return r;
	}
	mw->rfd = p[0];
	mw->wfd = c[1];
	(void)fcntl(mw->wfd, F_SETFL, O_NONBLOCK);
	(void)fcntl(mw->rfd, F_SETFL, O_NONBLOCK);
	*ret = mw;
	return 0;
}

int mount_watch_fd(const struct mount_watch *mw)
{
	return mw ? mw->rfd : -1;
}

size_t mount_watch_marked(const struct mount_watch *mw)
{
	return mw ? mw->marked : 0;
}

/* Keep a report to tell later (best effort: dropped when out of memory). */
static void keep_untold(struct mount_watch *mw, const struct mw_report *r)
{
	struct mw_told *v = realloc(mw->untold, (mw->n_untold + 1) * sizeof(*v));
	char *t = strdup(r->text);

	if (!v || !t) {
		free(t);
		if (v)
			mw->untold = v;
		return;
	}
	mw->untold = v;
	v[mw->n_untold++] = (struct mw_told){.group = r->group, .kind = r->kind, .text = t};
}

/* Read every report queued: adopt the marks, keep what to tell. */
static int read_reports(struct mount_watch *mw)
{
	for (;;) {
		char *dst = (char *)&mw->rep + mw->have;
		size_t want =
		    mw->have < MW_HEAD ? MW_HEAD - mw->have : MW_HEAD + mw->rep.len - mw->have;
		ssize_t n;

		if (mw->have >= MW_HEAD && (mw->rep.len == 0 || mw->rep.len > MW_TEXT_MAX))
			return -EPROTO;
		n = read(mw->rfd, dst, want);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		mw->have += (size_t)n;
		if (mw->have < MW_HEAD)
			continue;
		if (mw->rep.len == 0 || mw->rep.len > MW_TEXT_MAX)
			return -EPROTO;
		if (mw->have < MW_HEAD + mw->rep.len)
			continue;
		struct mw_report *r = &mw->rep;
		mw->have = 0;
		r->text[r->len - 1] = '\0';
		if (r->group >= MW_GROUPS || !mw->gates[r->group])
			continue;
		if (r->kind == MW_DONE) {
			mw->done = (uint32_t)r->dev;
		} else if (r->kind == MW_WARNING) {
			keep_untold(mw, r);
		} else if (gate_adopt(mw->gates[r->group], r->text, (dev_t)r->dev, r->whole,
		                      r->have_fsid ? (const void *)&r->fsid : NULL) == 0) {
			mw->marked++;
			keep_untold(mw, r);
		}
	}
}

int mount_watch_set_dirs(struct mount_watch *mw, const char *const *dirs, size_t n, bool everywhere,
                         unsigned timeout_ms)
{
	struct mw_request rq = {.n = (uint32_t)n, .seq = ++mw->seq, .everywhere = everywhere};
	size_t len = 0, off = 0;
	char *msg;
	int r;

	for (size_t i = 0; i < n; i++)
		len += strlen(dirs[i]) + 1;
	if (len > MW_REQUEST_MAX)
		return -E2BIG;
	rq.len = (uint32_t)len;
	msg = malloc(sizeof(rq) + len);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, &rq, sizeof(rq));
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(dirs[i]) + 1;
		memcpy(msg + sizeof(rq) + off, dirs[i], l);
		off += l;
	}
	ssize_t w;
	do
		w = write(mw->wfd, msg, sizeof(rq) + len);
	while (w < 0 && errno == EINTR);
	free(msg);
	if (w != (ssize_t)(sizeof(rq) + len)) {
		/* not taken whole (the watcher stopped reading): a request cut
		 * in two would leave it waiting for the rest; it is ended */
		kill(mw->pid, SIGKILL);
		return -EPIPE;
	}
	uint64_t until = pw_now_mono() + (uint64_t)timeout_ms * 1000000u;
	while (mw->done != rq.seq) {
		uint64_t now = pw_now_mono();
		struct pollfd p = {.fd = mw->rfd, .events = POLLIN};
		if (now >= until)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((until - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -errno;
		r = read_reports(mw);
		if (r < 0)
			return r;
	}
	return 0;
}

int mount_watch_drain(struct mount_watch *mw, mount_watch_fn fn, void *arg)
{
	int r = read_reports(mw);

	for (size_t i = 0; fn && i < mw->n_untold; i++) {
		struct mw_told *t = &mw->untold[i];
		fn(arg, t->group, t->kind == MW_WARNING ? NULL : t->text,
		   t->kind == MW_WARNING ? t->text : NULL);
		free(t->text);
	}
	if (fn)
		mw->n_untold = 0;
	return r;
}

void mount_watch_free(struct mount_watch *mw)
{
	if (!mw)
		return;
	if (mw->pid > 0) {
		/* reaped within a second; one stuck in the kernel (an unanswered
		 * NFS server) is left: the agent does not hang on it */
		kill(mw->pid, SIGKILL);
		for (int i = 0; i < 100; i++) {
			pid_t w = waitpid(mw->pid, NULL, WNOHANG);
			if (w == mw->pid || (w < 0 && errno != EINTR))
				break;
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	if (mw->rfd >= 0)
		close(mw->rfd);
	if (mw->wfd >= 0)
		close(mw->wfd);
	for (size_t i = 0; i < mw->n_untold; i++)
		free(mw->untold[i].text);
	free(mw->untold);
	free(mw);
}
