/*
 * gate.c - pre-exec enforcement through fanotify (FAN_OPEN_EXEC_PERM).
 *
 * Overview: gate_open() creates a FAN_CLASS_CONTENT group and marks whole
 * filesystems (FAN_MARK_FILESYSTEM, so that every bind mount of them is
 * covered too; FAN_MARK_MOUNT where a filesystem refuses that): the ones
 * holding the deny rules' directories, or every filesystem mounted where
 * programs can run from.  The gate thread owns the group's fd: it reads a
 * batch of requests, and for each one resolves the file's path from the
 * event's fd, calls the decision function, writes the answer and closes the
 * fds -- one request at a time, nothing in between that can block (the exec
 * waits for the answer).  The event's fd and pidfd are owned by the thread
 * from the read until the answer; the decision function only borrows them.
 *
 * Failing open: every path that cannot decide (a bad event, an unreadable
 * path) answers allow and counts an error; the kernel allows what is pending
 * when the group is closed (gate_free, or the process dying), and allows an
 * exec whose request would overflow the queue (counted when the kernel
 * reports the overflow).  What the gate lets through is still seen by the
 * proc connector after the exec, where a deny rule that matches kills it.
 *
 * A watch (gate_opts.watch_only) is the same without the permission: a
 * FAN_CLASS_NOTIF group with FAN_OPEN_EXEC marks, which holds nothing up;
 * each event keeps the file open until it is read, so the decision function
 * learns what every process executed even when the process is gone by then
 * (its answer is ignored).  Overflows are counted.  A reader that needs an
 * exec's note before the thread got to it reads the group itself
 * (gate_catch_up_once), under the lock the thread holds while it reads: one
 * reader at a time, so the decision function has one caller at a time.
 *
 * A watch by names (gate_opts.names) reports each exec as its directory's
 * file handle and the file's name (FAN_REPORT_DFID_NAME) instead of an open
 * fd: nothing is opened per exec.  The directory's path comes from a cache of
 * handles (open_by_handle_at on the filesystem's mount fd and a readlink on
 * a miss; an entry lives DIR_TTL_NS, so a renamed directory is named by its
 * new path within that).  It has no thread: its reader drains it on demand
 * (gate_catch_up_once), which the exec's order makes sufficient -- the kernel
 * queues the notification during execve, before the proc connector's event
 * for the same exec is sent.
 *
 * Bounded answers (gate.h): the gate thread publishes each batch it read
 * (g->ifl, under ifl_lock) and marks each request answered under that lock;
 * the supervisor thread looks every GATE_SUPERVISE_MS and answers, with the
 * fail mode's answer, every request of a batch read more than
 * GATE_ANSWER_BOUND_MS ago, then reads and answers what is queued behind it
 * for as long as the batch stays stuck.  The kernel ignores a second answer
 * for a request (ENOENT), and the gate thread, which alone closes a batch's
 * fds, skips what the supervisor answered.  A gate's read is small
 * (GATE_PERM_READ: at most 128 requests, 256 fds) so that the agent's fd
 * budget (listener.c) keeps room for it: a read the kernel cannot give an
 * fd to (EMFILE) makes it deny that exec, which is counted (fd_denials).
 *
 * What it does not see: execs of files on filesystems it did not mark
 * (mounted later, or memfds, which live on an internal mount), and programs
 * that a marked interpreter or the dynamic loader runs as data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/thread.h"
#include "procwarden/gate.h"
#include "source/gate_internal.h"

#define GATE_MAX_MARKS 256
#define GATE_MAX_MARKS_S "256"
#define GATE_MAX_WARNINGS 64
#define GATE_READ_BUF 16384
#define GATE_PERM_READ 4096 /* a gate's read (see above) */
#define GATE_PERM_MAX (GATE_PERM_READ / FAN_EVENT_METADATA_LEN)
#define GATE_BOUND_NS ((uint64_t)GATE_ANSWER_BOUND_MS * 1000000u)
/* Ignore marks kept at most (the kernel's per-user mark limit is 8,192 or
 * more); at the limit they are all dropped and made again as execs come. */
#define GATE_IGNORE_MAX 4096
/* The largest event: metadata, then a pidfd record, or a directory-handle
 * record with its handle and a name (NAME_MAX and its NUL). */
#define GATE_MAX_EVENT                                                                             \
	(FAN_EVENT_METADATA_LEN + sizeof(struct fanotify_event_info_fid) +                         \
	 sizeof(struct file_handle) + MAX_HANDLE_SZ + NAME_MAX + 1 + 8)
#define DIR_SLOTS 256            /* directories a names watch remembers */
#define DIR_HANDLE_MAX 64        /* longer handles are resolved every time */
#define DIR_TTL_NS 1000000000ull /* 1 s */

/* A names watch's cached directory: its handle and its path. */
struct dir_slot {
	uint64_t key;     /* hash of fsid and handle; 0 = empty */
	uint64_t expires; /* CLOCK_MONOTONIC */
	uint32_t fh_len;  /* bytes in fh: the struct file_handle's head and body */
	unsigned char fh[sizeof(struct file_handle) + DIR_HANDLE_MAX];
	__kernel_fsid_t fsid;
	char *path;
};

/* A request of the batch being handled (gate.ifl). */
struct inflight {
	int fd, pidfd;
	int32_t pid;
	bool answered; /* under ifl_lock */
};

struct gate {
	int fd;     /* the fanotify group */
	int procfd; /* /proc, for self/fd/N */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	gate_decide_fn fn;
	void *arg;

	/* the marks: appended only (a slot is filled, then n_marks published),
	 * so that other threads read them while filesystems mounted later are
	 * added (gate_adopt) */
	char *marks[GATE_MAX_MARKS];
	dev_t mark_dev[GATE_MAX_MARKS];
	_Atomic size_t n_marks;
	char **cfg_dirs; /* gate_opts.dirs, copied: what later mounts are marked for */
	size_t n_cfg_dirs;
	gate_mark_fn on_mark; /* gate_remark()'s: told of each new mark */
	void *on_mark_arg;
	void (*refresh)(void *); /* a names watch: adopt marks made since */
	void *refresh_arg;
	char **warnings;
	size_t n_warnings;
	bool everywhere;
	bool watch_only;
	bool names;    /* FAN_REPORT_DFID_NAME: no fd per event, no thread */
	uint64_t mask; /* FAN_OPEN_EXEC_PERM, or FAN_OPEN_EXEC for a watch */
	/* names: each marked filesystem's fsid (its mount point is opened only
	 * to resolve a directory the cache lacks: no fd keeps it from being
	 * unmounted), and whether that mount shows the filesystem's root */
	__kernel_fsid_t mark_fsid[GATE_MAX_MARKS];
	bool mark_fsid_ok[GATE_MAX_MARKS];
	bool mark_whole[GATE_MAX_MARKS];
	struct dir_slot *dirs; /* DIR_SLOTS */

	_Atomic uint64_t requests, allowed, denied, errors, overflows, ns_max, ns_sum;
	_Atomic uint64_t dir_lookups; /* names: directory handles resolved (cache misses) */
	_Atomic uint64_t drained_ns;  /* every event queued before this was handled */
	uint64_t since_ns;            /* CLOCK_MONOTONIC when the marks were made */
	pthread_mutex_t lock;         /* one reader of the group at a time: the thread,
	                               * or gate_catch_up_once() */

	/* a gate's bounded answers (see above) */
	bool fail_closed;
	gate_undecided_fn undecided;
	pthread_t sup;
	bool sup_started;
	pthread_mutex_t ifl_lock;
	struct inflight ifl[GATE_PERM_MAX];
	size_t n_ifl;
	uint64_t ifl_t;   /* when that batch was read */
	uint64_t ifl_seq; /* batches published */
	_Atomic uint64_t undecided_n, fd_denials;

	/* ignore marks (GATE_ALLOW_FILE): made under ign_lock when ign_gen is
	 * still what it was before the decision */
	pthread_mutex_t ign_lock;
	_Atomic uint64_t ign_gen;
	uint64_t n_ign;
	_Atomic uint64_t ign_added, ign_forgets, ign_errors;
};

/* Filesystems no program runs from: never marked when watching everywhere. */
static const char *const skip_types[] = {
    "proc",        "sysfs",      "cgroup",     "cgroup2", "devpts",    "mqueue",    "debugfs",
    "tracefs",     "securityfs", "pstore",     "bpf",     "configfs",  "fusectl",   "autofs",
    "binfmt_misc", "efivarfs",   "rpc_pipefs", "nsfs",    "selinuxfs", "hugetlbfs",
};

static void bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Remember "cannot watch 'PATH': ERROR" (best effort: dropped when out of
 * memory). */
static void warn(struct gate *g, const char *path, int err)
{
	char **v, *s = NULL;

	if (err == E2BIG) /* one warning, however many more are mounted */
		path = "(more than " GATE_MAX_MARKS_S " filesystems)";
	if (err == EPROTONOSUPPORT ? asprintf(&s,
	                                      "not gated '%s': a FUSE filesystem (its server "
	                                      "could hold every exec); deny rules kill after the "
	                                      "exec there",
	                                      path) < 0
	                           : asprintf(&s, "cannot watch '%s': %s", path, strerror(err)) < 0)
		return;
	for (size_t i = 0; i < g->n_warnings; i++)
		if (!strcmp(g->warnings[i], s)) { /* said (a mount watcher marks again) */
			free(s);
			return;
		}
	if (g->n_warnings >= GATE_MAX_WARNINGS) { /* a flood of mounts: said once */
		free(s);
		if (g->n_warnings > GATE_MAX_WARNINGS ||
		    asprintf(&s,
		             "more than %d filesystems could not be watched; the rest are not "
		             "named",
		             GATE_MAX_WARNINGS) < 0)
			return;
	}
	v = realloc(g->warnings, (g->n_warnings + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return;
	}
	g->warnings = v;
	v[g->n_warnings++] = s;
}

/* stat path, or its nearest existing ancestor (a directory not created
 * yet: its future files land on its parent's filesystem, unless something
 * is mounted there later); that path in p (PATH_MAX).  0 or negative errno. */
static int stat_existing(const char *path, char *p, struct stat *st)
{
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(p, path);
	while (stat(p, st) < 0) {
		char *sl = strrchr(p, '/');
		if (!sl || !strcmp(p, "/"))
			return -ENOENT;
		if (sl == p)
			sl[1] = '\0';
		else
			*sl = '\0';
	}
	return 0;
}

/* Append a mark made (by this process, or by the mount watcher's: see
 * gate_adopt) to the table.  0 or negative errno. */
static int remember(struct gate *g, const char *p, dev_t dev, bool whole,
                    const __kernel_fsid_t *fsid)
{
	size_t n = atomic_load_explicit(&g->n_marks, memory_order_relaxed);

	if (n >= GATE_MAX_MARKS)
		return -E2BIG;
	g->marks[n] = strdup(p);
	if (!g->marks[n])
		return -ENOMEM;
	g->mark_whole[n] = whole;
	if (g->names && fsid) { /* the mount watcher's (the agent may not statfs) */
		g->mark_fsid_ok[n] = true;
		g->mark_fsid[n] = *fsid;
	} else if (g->names) {
		struct statfs sf;

		g->mark_fsid_ok[n] = statfs(p, &sf) == 0;
		if (g->mark_fsid_ok[n])
			memcpy(&g->mark_fsid[n], &sf.f_fsid, sizeof(sf.f_fsid));
		else if (!g->on_mark)
			warn(g, p, errno); /* marked, but its names cannot be resolved */
	}
	g->mark_dev[n] = dev;
	atomic_store_explicit(&g->n_marks, n + 1, memory_order_release);
	return 0;
}

/* Mark the filesystem holding path (or its nearest existing ancestor);
 * whole: the mount there shows the filesystem's root (mountinfo ROOT "/"),
 * the one a watch by names resolves directory handles through.  0, 1 when
 * already marked, or negative errno. */
static int mark_fs(struct gate *g, const char *path, bool whole, dev_t known_dev)
{
	char p[PATH_MAX];
	struct stat st;
	int r;

	if (known_dev) { /* a mount point from the mount table: not touched */
		if (strlen(path) >= PATH_MAX)
			return -ENAMETOOLONG;
		strcpy(p, path);
		st.st_dev = known_dev;
	} else if ((r = stat_existing(path, p, &st)) < 0) {
		return r;
	}
	for (size_t i = 0; i < g->n_marks; i++) {
		if (g->mark_dev[i] != st.st_dev)
			continue;
		/* the mount watcher marks again: the filesystem of that device
		 * may be a new one (unmounted, mounted again: device numbers are
		 * reused), and adding a mark that exists changes nothing */
		if (g->on_mark && fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, g->mask,
		                                AT_FDCWD, p) < 0)
			(void)fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_MOUNT, g->mask, AT_FDCWD,
			                    p);
		if (whole && !g->mark_whole[i]) { /* a bind mount came first */
			char *dup = strdup(p);
			if (dup) {
				free(g->marks[i]);
				g->marks[i] = dup;
				g->mark_whole[i] = true;
			}
		}
		return 1;
	}
	if (g->n_marks >= GATE_MAX_MARKS)
		return -E2BIG;
	/* not a FUSE filesystem for the gate: the kernel opens the file of each
	 * held exec inside the gate's read, and a server that never answers
	 * that open would hold the gate -- and every exec on the machine */
	struct statfs fs;
	bool have_fs = !known_dev && statfs(p, &fs) == 0;
	if (!g->watch_only && have_fs && fs.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */)
		return -EPROTONOSUPPORT;
	if (fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, g->mask, AT_FDCWD, p) < 0 &&
	    fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_MOUNT, g->mask, AT_FDCWD, p) < 0)
		return -errno;
	/* the watcher learns the fsid for the agent (whose seccomp list has no
	 * statfs): after the mark, so from a filesystem that is not FUSE */
	if (!have_fs && g->on_mark && g->names)
		have_fs = statfs(p, &fs) == 0;
	r = remember(g, p, st.st_dev, whole, have_fs ? (const __kernel_fsid_t *)&fs.f_fsid : NULL);
	if (r < 0)
		return r;
	if (g->on_mark)
		g->on_mark(g->on_mark_arg, p, st.st_dev, whole,
		           have_fs ? (const void *)&fs.f_fsid : NULL);
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* True when the mount point mp is below one of the configured directories
 * (a deny rule's files there live on that filesystem, not on the one that
 * holds the directory). */
bool gate_below_dirs(const char *const *dirs, size_t n_dirs, const char *mp)
{
	for (size_t i = 0; i < n_dirs; i++) {
		const char *d = dirs[i];
		size_t n = strlen(d);

		while (n > 1 && d[n - 1] == '/')
			n--;
		if (n == 1 && d[0] == '/')
			return true;
		if (!strncmp(mp, d, n) && mp[n] == '/')
			return true;
	}
	return false;
}

static int cmp_mnt(const void *a, const void *b)
{
	const struct gate_mount *x = a, *y = b;
	int c = strcmp(x->mp, y->mp);

	return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

ssize_t gate_read_mounts(const char *path, char **text, struct gate_mount **ret)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *all = NULL;
	size_t cap = 0, len = 0, n = 0, ncap = 0;
	struct gate_mount *v = NULL;
	ssize_t got;

	if (!f)
		return -errno;
	while ((got = getline(&line, &cap, f)) > 0) {
		char *a = realloc(all, len + (size_t)got + 1);
		if (!a)
			goto nomem;
		all = a;
		memcpy(all + len, line, (size_t)got + 1);
		len += (size_t)got + 1;
		n++;
	}
	free(line);
	fclose(f);
	line = NULL;
	f = NULL;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		goto nomem;
	for (size_t off = 0, k = 0; k < n; k++) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
		char *l = all + off, *save = NULL, *fields[6], *type = NULL, *tok;
		int i = 0;
		unsigned maj, min;

		off += strlen(l) + 1;
		while (i < 6 && (tok = strtok_r(i ? NULL : l, " \n", &save)))
			fields[i++] = tok;
		if (i < 6)
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)))
			if (!strcmp(tok, "-")) {
				type = strtok_r(NULL, " \n", &save);
				break;
			}
		if (!type || sscanf(fields[2], "%u:%u", &maj, &min) != 2)
			continue;
		char opts[256];
		snprintf(opts, sizeof(opts), ",%s,", fields[5]);
		unescape(fields[4]);
		v[ncap] = (struct gate_mount){.mp = fields[4],
		                              .root = fields[3],
		                              .type = type,
		                              .dev = makedev(maj, min),
		                              .noexec = strstr(opts, ",noexec,") != NULL,
		                              .idx = ncap};
		ncap++;
	}
	qsort(v, ncap, sizeof(*v), cmp_mnt);
	*text = all;
	*ret = v;
	return (ssize_t)ncap;
nomem:
	free(line);
	free(all);
	free(v);
	if (f)
		fclose(f);
	return -ENOMEM;
}

/* Mark the filesystems mounted where programs can run from (not noexec,
 * not a pseudo filesystem, not hidden under a later mount on the same
 * point): every one (everywhere), or those mounted below a configured
 * directory.  Number newly marked, or negative errno. */
static int mark_mounts(struct gate *g, bool everywhere)
{
	struct gate_mount *v;
	char *text;
	ssize_t nl = gate_read_mounts("/proc/self/mountinfo", &text, &v);
	int n = 0;

	if (nl < 0)
		return (int)nl;
	for (ssize_t k = 0; k < nl; k++) {
		struct gate_mount *m = &v[k];

		if (k + 1 < nl && !strcmp(v[k + 1].mp, m->mp))
			continue; /* overmounted: what the path reaches is the later one */
		bool skip = m->noexec;
		for (size_t t = 0; t < sizeof(skip_types) / sizeof(skip_types[0]); t++)
			skip |= !strcmp(m->type, skip_types[t]);
		if (skip || (!everywhere && !gate_below_dirs((const char *const *)g->cfg_dirs,
		                                             g->n_cfg_dirs, m->mp)))
			continue;
		/* FUSE: never touched by the mount watcher (a server that does
		 * not answer would hang it), never gated (see mark_fs) */
		if (!strncmp(m->type, "fuse", 4) && (g->on_mark || !g->watch_only)) {
			if (!g->watch_only)
				warn(g, m->mp, EPROTONOSUPPORT);
			continue;
		}
		int r = mark_fs(g, m->mp, !strcmp(m->root, "/"), g->on_mark ? m->dev : 0);
		if (r == 0)
			n++;
		else if (r < 0)
			warn(g, m->mp, -r);
	}
	free(v);
	free(text);
	return n;
}

int gate_open(const struct gate_opts *o, struct gate **ret, char *why, size_t whylen)
{
	struct gate *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->ifl_lock, NULL);
	pthread_mutex_init(&g->ign_lock, NULL);
	g->fail_closed = o->fail_closed && !o->watch_only;
	g->fd = -1;
	g->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->watch_only = o->watch_only;
	g->names = o->watch_only && o->names;
	g->mask = o->watch_only ? FAN_OPEN_EXEC : FAN_OPEN_EXEC_PERM;
	/* a watch needs no pidfd: it reads nothing of the process */
	unsigned class = o->watch_only ? FAN_CLASS_NOTIF : FAN_CLASS_CONTENT | FAN_REPORT_PIDFD;
	/* failing closed: no queue overflow, which the kernel would allow */
	unsigned unlimited = g->fail_closed ? FAN_UNLIMITED_QUEUE : 0;
	class |= unlimited;
	if (g->names) {
		g->dirs = calloc(DIR_SLOTS, sizeof(*g->dirs));
		if (!g->dirs) {
			r = -ENOMEM;
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
		class |= FAN_REPORT_DFID_NAME;
	}
	g->fd =
	    fanotify_init(class | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fd < 0 && errno == EINVAL && g->names) { /* before 5.9: an fd per event */
		g->names = false;
		free(g->dirs);
		g->dirs = NULL;
		class &= ~(unsigned)FAN_REPORT_DFID_NAME;
		g->fd = fanotify_init(class | FAN_CLOEXEC | FAN_NONBLOCK,
		                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	}
	if (g->fd < 0 && errno == EINVAL && !o->watch_only) /* before 5.15: no pidfd in events */
		g->fd = fanotify_init(FAN_CLASS_CONTENT | unlimited | FAN_CLOEXEC | FAN_NONBLOCK,
		                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot create the fanotify %s: %s%s",
		         o->watch_only ? "watch" : "gate", strerror(errno),
		         errno == EPERM    ? " (needs CAP_SYS_ADMIN)"
		         : errno == ENOSYS ? " (the kernel lacks CONFIG_FANOTIFY)"
		                           : "");
		goto fail;
	}
	if (g->procfd < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot open /proc: %s", strerror(errno));
		goto fail;
	}
	g->everywhere = o->everywhere;
	if (o->everywhere) {
		r = mark_mounts(g, true);
		if (r < 0) {
			snprintf(why, whylen, "cannot read the mount table: %s", strerror(-r));
			goto fail;
		}
	} else {
		g->cfg_dirs = calloc(o->n_dirs ? o->n_dirs : 1, sizeof(*g->cfg_dirs));
		if (!g->cfg_dirs) {
			r = -ENOMEM;
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < o->n_dirs; i++) {
			g->cfg_dirs[i] = strdup(o->dirs[i]);
			if (!g->cfg_dirs[i]) {
				r = -ENOMEM;
				snprintf(why, whylen, "out of memory");
				goto fail;
			}
			g->n_cfg_dirs++;
		}
		for (size_t i = 0; i < o->n_dirs; i++) {
			r = mark_fs(g, o->dirs[i], false, 0);
			if (r < 0 && (r == -EINVAL || r == -EPERM) && !g->n_marks) {
				snprintf(why, whylen, "cannot watch '%s' for execs: %s%s",
				         o->dirs[i], strerror(-r),
				         r == -EINVAL ? " (the kernel lacks "
				                        "CONFIG_FANOTIFY_ACCESS_PERMISSIONS)"
				                      : "");
				goto fail;
			}
			if (r < 0)
				warn(g, o->dirs[i], -r);
		}
	}
	/* and what is mounted below those directories */
	if (!o->everywhere && g->n_marks && (r = mark_mounts(g, false)) < 0)
		warn(g, "/proc/self/mountinfo", -r);
	if (!g->n_marks) {
		r = -ENOENT;
		snprintf(why, whylen, "the gate has no filesystem to watch");
		goto fail;
	}
	g->since_ns = pw_now_mono();
	*ret = g;
	return 0;
fail:
	gate_free(g);
	return r;
}

/* Answer one request; the fd is closed by the caller. */
static void answer(struct gate *g, int fd, bool deny)
{
	struct fanotify_response resp = {.fd = fd, .response = deny ? FAN_DENY : FAN_ALLOW};

	/* ENOENT: the process was killed while it waited; nothing to answer */
	if (write(g->fd, &resp, sizeof(resp)) != sizeof(resp) && errno != ENOENT)
		bump(&g->errors, 1);
	bump(deny ? &g->denied : &g->allowed, 1);
}

/* The offset in raw (an event of m->event_len bytes) of its first info
 * record of type, with its header in *h, or 0.  Events are only 4-byte
 * aligned in the buffer (FID records make their lengths so): everything is
 * copied out, never accessed in place. */
static size_t event_info(const char *raw, const struct fanotify_event_metadata *m, uint8_t type,
                         struct fanotify_event_info_header *h)
{
	size_t off = m->metadata_len;

	while (off + sizeof(*h) <= m->event_len) {
		memcpy(h, raw + off, sizeof(*h));
		if (h->len < sizeof(*h) || off + h->len > m->event_len)
			break;
		if (h->info_type == type)
			return off;
		off += h->len;
	}
	return 0;
}

/* The pidfd of an event's info records, or -1. */
static int event_pidfd(const char *raw, const struct fanotify_event_metadata *m)
{
	struct fanotify_event_info_header h;
	struct fanotify_event_info_pidfd p;
	size_t off = event_info(raw, m, FAN_EVENT_INFO_TYPE_PIDFD, &h);

	if (!off || h.len < sizeof(p))
		return -1;
	memcpy(&p, raw + off, sizeof(p));
	return p.pidfd >= 0 ? p.pidfd : -1;
}

/* FNV-1a over the fsid and the handle. */
static uint64_t dir_key(const __kernel_fsid_t *fsid, const void *fh, size_t len)
{
	const unsigned char *b = fh;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*fsid); i++)
		h = (h ^ ((const unsigned char *)fsid)[i]) * 1099511628211ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* The path of a directory given by its handle, into buf (PATH_MAX): from
 * the cache, or open_by_handle_at on the filesystem's mount fd and a
 * readlink of that fd.  Its length, or a negative errno. */
static ssize_t dir_path(struct gate *g, const __kernel_fsid_t *fsid, struct file_handle *fh,
                        uint64_t now, char *buf)
{
	size_t len = sizeof(*fh) + fh->handle_bytes;
	uint64_t key = dir_key(fsid, fh, len);
	struct dir_slot *d = &g->dirs[key % DIR_SLOTS];
	char link[32];
	ssize_t n;
	int mfd = -1, fd;

	if (d->key == key && d->expires > now && d->fh_len == len && !memcmp(d->fh, fh, len) &&
	    !memcmp(&d->fsid, fsid, sizeof(*fsid))) {
		n = (ssize_t)strlen(d->path);
		memcpy(buf, d->path, (size_t)n + 1);
		return n;
	}
	bool refreshed = false;
again:
	for (size_t i = 0; i < g->n_marks && mfd < 0; i++) {
		struct statfs sf;
		if (!g->mark_fsid_ok[i] || memcmp(&g->mark_fsid[i], fsid, sizeof(*fsid)))
			continue;
		/* its mount point, for this lookup only (a directory: opening
		 * it has no side effect), checked to be that filesystem still */
		mfd = open(g->marks[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (mfd >= 0 &&
		    (fstatfs(mfd, &sf) < 0 || memcmp(&sf.f_fsid, fsid, sizeof(*fsid)))) {
			close(mfd);
			mfd = -1;
		}
	}
	if (mfd < 0 && g->refresh && !refreshed) {
		/* a filesystem mounted later, whose mark may be told but not
		 * adopted yet (mounts.h) */
		g->refresh(g->refresh_arg);
		refreshed = true;
		goto again;
	}
	if (mfd < 0)
		return -ENODEV;
	bump(&g->dir_lookups, 1);
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	n = fd < 0 ? -errno : 0;
	close(mfd);
	if (fd < 0)
		return n;
	snprintf(link, sizeof(link), "self/fd/%d", fd);
	n = readlinkat(g->procfd, link, buf, PATH_MAX - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	/* a directory removed since: no path names the file any more */
	if ((size_t)n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		return -ENOENT;
	if (len <= sizeof(d->fh)) {
		char *copy = strdup(buf);
		if (copy) {
			free(d->path);
			*d = (struct dir_slot){.key = key,
			                       .expires = now + DIR_TTL_NS,
			                       .fh_len = (uint32_t)len,
			                       .fsid = *fsid,
			                       .path = copy};
			memcpy(d->fh, fh, len);
		}
	}
	return n;
}

/* A names watch's event: directory handle and name to a path, then the
 * decision function (its answer is ignored). */
static void handle_name(struct gate *g, const char *raw, const struct fanotify_event_metadata *m,
                        uint64_t t)
{
	struct fanotify_event_info_header h;
	struct fanotify_event_info_fid fi;
	union {
		struct file_handle fh;
		char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	char path[PATH_MAX];
	size_t off, fixed = sizeof(fi) + sizeof(u.fh);

	if (m->mask & FAN_Q_OVERFLOW) {
		bump(&g->overflows, 1);
		return;
	}
	if (!(m->mask & g->mask))
		return;
	bump(&g->requests, 1);
	bump(&g->allowed, 1);
	off = event_info(raw, m, FAN_EVENT_INFO_TYPE_DFID_NAME, &h);
	if (off && h.len > fixed) {
		/* header, fsid, struct file_handle, its bytes, the name and a NUL */
		const char *rec = raw + off;
		memcpy(&fi, rec, sizeof(fi));
		memcpy(&u.fh, rec + sizeof(fi), sizeof(u.fh));
		size_t hb = u.fh.handle_bytes;
		if (hb <= MAX_HANDLE_SZ && fixed + hb < h.len) {
			memcpy(u.fh.f_handle, rec + fixed, hb);
			const char *name = rec + fixed + hb;
			size_t name_max = h.len - fixed - hb;
			size_t nl = strnlen(name, name_max);
			ssize_t n = nl < name_max ? dir_path(g, &fi.fsid, &u.fh, t, path) : -EINVAL;
			if (n > 0 && (size_t)n + 1 + nl < sizeof(path)) {
				if (n > 1 || path[0] != '/')
					path[n++] = '/';
				memcpy(path + n, name, nl + 1);
				struct gate_request rq = {
				    .pid = m->pid, .pidfd = -1, .path = path, .fd = -1, .t_ns = t};
				(void)g->fn(g->arg, &rq);
				return;
			}
		}
	}
	bump(&g->errors, 1);
}

/* The read-to-answer time of a request read at t. */
static void note_time(struct gate *g, uint64_t t)
{
	uint64_t ns = pw_now_mono() - t;

	bump(&g->ns_sum, ns);
	if (ns > atomic_load_explicit(&g->ns_max, memory_order_relaxed))
		atomic_store_explicit(&g->ns_max, ns, memory_order_relaxed);
}

/* A watch's event with an fd (kernels without names): note it, close. */
static void handle(struct gate *g, const char *raw, const struct fanotify_event_metadata *m,
                   uint64_t t)
{
	char link[32], path[PATH_MAX];
	int pidfd = event_pidfd(raw, m);
	ssize_t n;

	if (m->mask & FAN_Q_OVERFLOW)
		bump(&g->overflows, 1);
	if (m->fd < 0)
		goto out;
	if (!(m->mask & g->mask)) {
		close(m->fd);
		goto out;
	}
	bump(&g->requests, 1);
	snprintf(link, sizeof(link), "self/fd/%d", m->fd);
	n = readlinkat(g->procfd, link, path, sizeof(path) - 1);
	if (n <= 0) {
		bump(&g->errors, 1); /* fail open */
	} else {
		struct gate_request rq = {
		    .pid = m->pid, .pidfd = pidfd, .path = path, .fd = m->fd, .t_ns = t};
		path[n] = '\0';
		(void)g->fn(g->arg, &rq);
	}
	bump(&g->allowed, 1);
	note_time(g, t);
	close(m->fd);
out:
	if (pidfd >= 0)
		close(pidfd);
}

/* Answer a request that was not decided in time with the fail mode's
 * answer, and hand it to the undecided function (supervisor thread). */
static void answer_undecided(struct gate *g, int fd, int pidfd, int32_t pid, uint64_t t)
{
	char link[32], path[PATH_MAX];

	snprintf(link, sizeof(link), "self/fd/%d", fd);
	ssize_t n = readlinkat(g->procfd, link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	answer(g, fd, g->fail_closed);
	bump(&g->undecided_n, 1);
	if (g->undecided) {
		struct gate_request rq = {
		    .pid = pid, .pidfd = pidfd, .path = n > 0 ? path : NULL, .fd = fd, .t_ns = t};
		g->undecided(g->arg, &rq, g->fail_closed);
	}
}

/* Drop every ignore mark (g->ign_lock held). */
static void flush_ignores(struct gate *g)
{
	atomic_fetch_add(&g->ign_gen, 1);
	if (g->n_ign && fanotify_mark(g->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
		bump(&g->ign_errors, 1);
	g->n_ign = 0;
	bump(&g->ign_forgets, 1);
}

/* Tell the kernel not to hold execs of fd's file again, unless the policy
 * changed since the decision began (generation gen). */
static void ignore_file(struct gate *g, int fd, uint64_t gen)
{
	pthread_mutex_lock(&g->ign_lock);
	if (atomic_load(&g->ign_gen) == gen) {
		if (g->n_ign >= GATE_IGNORE_MAX)
			flush_ignores(g);
		if (fanotify_mark(g->fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM,
		                  fd, NULL) == 0) {
			g->n_ign++;
			bump(&g->ign_added, 1);
		} else {
			bump(&g->ign_errors, 1);
		}
	}
	pthread_mutex_unlock(&g->ign_lock);
}

void gate_forget(struct gate *g)
{
	pthread_mutex_lock(&g->ign_lock);
	flush_ignores(g);
	pthread_mutex_unlock(&g->ign_lock);
}

/* A gate's request of the published batch: decide and answer, unless the
 * supervisor answered it already; then close its fds. */
static void handle_perm(struct gate *g, struct inflight *it, uint64_t t)
{
	char link[32], path[PATH_MAX];
	bool deny, done;
	int ans = GATE_ALLOW;

	pthread_mutex_lock(&g->ifl_lock);
	done = it->answered;
	pthread_mutex_unlock(&g->ifl_lock);
	if (!done) {
		bump(&g->requests, 1);
		snprintf(link, sizeof(link), "self/fd/%d", it->fd);
		ssize_t n = readlinkat(g->procfd, link, path, sizeof(path) - 1);
		uint64_t gen = atomic_load(&g->ign_gen);
		if (n <= 0) {
			bump(&g->errors, 1);
			deny = g->fail_closed;
		} else {
			struct gate_request rq = {.pid = it->pid,
			                          .pidfd = it->pidfd,
			                          .path = path,
			                          .fd = it->fd,
			                          .t_ns = t};
			path[n] = '\0';
			ans = g->fn(g->arg, &rq);
			deny = ans == GATE_DENY;
		}
		pthread_mutex_lock(&g->ifl_lock);
		bool mine = !it->answered;
		if (mine) {
			answer(g, it->fd, deny);
			it->answered = true;
		}
		pthread_mutex_unlock(&g->ifl_lock);
		/* after the answer: the exec need not wait for the mark */
		if (mine && ans == GATE_ALLOW_FILE)
			ignore_file(g, it->fd, gen);
		note_time(g, t);
	}
	close(it->fd);
	if (it->pidfd >= 0)
		close(it->pidfd);
}

/* Read events into buf; a read the kernel could not give an fd to made it
 * deny that exec (counted). */
static ssize_t read_events(struct gate *g, char *buf, size_t cap)
{
	ssize_t n = read(g->fd, buf, cap);

	if (n < 0 && (errno == EMFILE || errno == ENFILE))
		bump(&g->fd_denials, 1);
	return n;
}

/* The next whole event of buf[0, n) at *off, copied into *m (events are only
 * 4-byte aligned: see event_info()); its start, or NULL at the end. */
static const char *next_event(const char *buf, size_t n, size_t *off,
                              struct fanotify_event_metadata *m)
{
	const char *raw = buf + *off;

	if (*off + FAN_EVENT_METADATA_LEN > n)
		return NULL;
	memcpy(m, raw, sizeof(*m));
	if (m->event_len < FAN_EVENT_METADATA_LEN || m->event_len > n - *off)
		return NULL;
	*off += m->event_len;
	return raw;
}

/* A gate's batch of n bytes read at t: published for the supervisor, then
 * each request handled in order. */
static void gate_batch(struct gate *g, const char *buf, size_t n, uint64_t t)
{
	size_t off = 0, k = 0;

	struct fanotify_event_metadata m;
	const char *raw;

	pthread_mutex_lock(&g->ifl_lock);
	while (k < GATE_PERM_MAX && (raw = next_event(buf, n, &off, &m))) {
		if (m.mask & FAN_Q_OVERFLOW)
			bump(&g->overflows, 1);
		if (m.fd < 0)
			continue;
		int pidfd = m.vers == FANOTIFY_METADATA_VERSION ? event_pidfd(raw, &m) : -1;
		if (m.vers != FANOTIFY_METADATA_VERSION || !(m.mask & g->mask)) {
			/* cannot parse, or not an exec: the fail mode's answer */
			if (m.vers != FANOTIFY_METADATA_VERSION)
				bump(&g->errors, 1);
			answer(g, m.fd, m.vers != FANOTIFY_METADATA_VERSION && g->fail_closed);
			close(m.fd);
			if (pidfd >= 0)
				close(pidfd);
			continue;
		}
		g->ifl[k++] = (struct inflight){.fd = m.fd, .pidfd = pidfd, .pid = m.pid};
	}
	g->n_ifl = k;
	g->ifl_t = t;
	g->ifl_seq++;
	pthread_mutex_unlock(&g->ifl_lock);
	for (size_t i = 0; i < k; i++)
		handle_perm(g, &g->ifl[i], t);
	pthread_mutex_lock(&g->ifl_lock);
	g->n_ifl = 0;
	pthread_mutex_unlock(&g->ifl_lock);
}

/* Read one batch and handle it.  Returns 1 when the batch took everything
 * queued before it was read (drained_ns then advances), 0 when more may be
 * queued, negative errno (-EAGAIN: nothing queued).  Callers hold g->lock. */
static int read_batch(struct gate *g)
{
	union {
		struct fanotify_event_metadata m;
		char b[GATE_READ_BUF];
	} u;
	size_t off = 0, want = g->watch_only ? sizeof(u) : GATE_PERM_READ;
	uint64_t t = pw_now_mono();
	ssize_t n = read_events(g, u.b, want);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			atomic_store_explicit(&g->drained_ns, t, memory_order_release);
		return n < 0 ? -errno : -EAGAIN;
	}
	/* a read that left room for the largest event took everything queued
	 * before it (the kernel stops at the first event that does not fit) */
	bool drained = (size_t)n + GATE_MAX_EVENT < want;
	if (!g->watch_only) {
		gate_batch(g, u.b, (size_t)n, t);
		if (drained)
			atomic_store_explicit(&g->drained_ns, t, memory_order_release);
		return drained;
	}
	struct fanotify_event_metadata m;
	const char *raw;
	while ((raw = next_event(u.b, (size_t)n, &off, &m))) {
		if (m.vers != FANOTIFY_METADATA_VERSION) {
			/* cannot parse: allow it and whatever follows */
			bump(&g->errors, 1);
			if (m.fd >= 0) {
				answer(g, m.fd, false);
				close(m.fd);
			}
			continue;
		}
		if (g->names)
			handle_name(g, raw, &m, t);
		else
			handle(g, raw, &m, t);
	}
	if (drained)
		atomic_store_explicit(&g->drained_ns, t, memory_order_release);
	return drained;
}

/* The gate thread: read, decide, answer, until stopped. */
static void *gate_main(void *arg)
{
	struct gate *g = arg;

	while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
		struct pollfd p = {.fd = g->fd, .events = POLLIN};
		uint64_t t = pw_now_mono();
		int r = poll(&p, 1, 100);
		if (r == 0) /* nothing was queued since t */
			atomic_store_explicit(&g->drained_ns, t, memory_order_release);
		if (r <= 0)
			continue;
		pthread_mutex_lock(&g->lock);
		read_batch(g);
		pthread_mutex_unlock(&g->lock);
	}
	return NULL;
}

/* The supervisor: every GATE_SUPERVISE_MS, answer what the gate thread has
 * not answered GATE_ANSWER_BOUND_MS after reading it, and while it stays
 * stuck, what is queued behind it. */
static void *gate_supervise(void *arg)
{
	struct gate *g = arg;
	char buf[GATE_PERM_READ];

	while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
		struct timespec ts = {0, GATE_SUPERVISE_MS * 1000000L};
		nanosleep(&ts, NULL);
		bool stuck = false;
		uint64_t seq = 0;
		pthread_mutex_lock(&g->ifl_lock);
		/* the clock read under the lock: a batch published while it was
		 * taken must not look older than the clock (it would underflow) */
		uint64_t now = pw_now_mono();
		if (g->n_ifl && now > g->ifl_t && now - g->ifl_t > GATE_BOUND_NS) {
			stuck = true;
			seq = g->ifl_seq;
			for (size_t i = 0; i < g->n_ifl; i++) {
				struct inflight *it = &g->ifl[i];
				if (it->answered)
					continue;
				answer_undecided(g, it->fd, it->pidfd, it->pid, g->ifl_t);
				it->answered = true;
			}
		}
		pthread_mutex_unlock(&g->ifl_lock);
		for (int reads = 0; stuck && reads < 64; reads++) {
			/* only while that same batch is still being handled: once the
			 * gate thread is back, the queue is its again */
			pthread_mutex_lock(&g->ifl_lock);
			stuck = g->n_ifl && g->ifl_seq == seq;
			pthread_mutex_unlock(&g->ifl_lock);
			if (!stuck)
				break;
			ssize_t n = read_events(g, buf, sizeof(buf));
			if (n <= 0)
				break;
			struct fanotify_event_metadata m;
			const char *raw;
			for (size_t off = 0; (raw = next_event(buf, (size_t)n, &off, &m));) {
				int pidfd =
				    m.vers == FANOTIFY_METADATA_VERSION ? event_pidfd(raw, &m) : -1;
				if (m.mask & FAN_Q_OVERFLOW)
					bump(&g->overflows, 1);
				if (m.fd >= 0) {
					answer_undecided(g, m.fd, pidfd, m.pid, now);
					close(m.fd);
				}
				if (pidfd >= 0)
					close(pidfd);
			}
		}
	}
	return NULL;
}

int gate_catch_up_once(struct gate *g)
{
	int r;

	pthread_mutex_lock(&g->lock);
	r = read_batch(g);
	pthread_mutex_unlock(&g->lock);
	return r;
}

int gate_start(struct gate *g, gate_decide_fn fn, gate_undecided_fn undecided, void *arg)
{
	int r;

	g->fn = fn;
	g->undecided = undecided;
	g->arg = arg;
	if (g->names)
		return 0; /* no thread: drained by gate_catch_up_once() */
	r = pw_thread_start(&g->thread, gate_main, g);
	if (r < 0)
		return r;
	g->started = true;
	if (!g->watch_only) {
		r = pw_thread_start(&g->sup, gate_supervise, g);
		if (r < 0)
			return r;
		g->sup_started = true;
	}
	return 0;
}

size_t gate_marks(const struct gate *g, const char *const **ret)
{
	*ret = (const char *const *)g->marks;
	return g->n_marks;
}

size_t gate_warnings(const struct gate *g, const char *const **ret)
{
	*ret = (const char *const *)g->warnings;
	return g->n_warnings;
}

uint64_t gate_drained_ns(const struct gate *g)
{
	return atomic_load_explicit(&((struct gate *)(uintptr_t)g)->drained_ns,
	                            memory_order_acquire);
}

bool gate_fail_closed(const struct gate *g)
{
	return g->fail_closed;
}

bool gate_names(const struct gate *g)
{
	return g->names;
}

bool gate_names_all(const struct gate *g)
{
	return g->names && g->everywhere && !g->n_warnings;
}

uint64_t gate_since_ns(const struct gate *g)
{
	return g->since_ns;
}

bool gate_everywhere(const struct gate *g)
{
	return g->everywhere;
}

bool gate_covers(const struct gate *g, const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	return stat_existing(dir, p, &st) == 0 && gate_covers_dev(g, st.st_dev);
}

bool gate_covers_dev(const struct gate *g, dev_t dev)
{
	size_t n =
	    atomic_load_explicit(&((struct gate *)(uintptr_t)g)->n_marks, memory_order_acquire);

	for (size_t i = 0; i < n; i++)
		if (g->mark_dev[i] == dev)
			return true;
	return false;
}

uint64_t gate_overflows(const struct gate *g)
{
	return atomic_load_explicit(&((struct gate *)(uintptr_t)g)->overflows,
	                            memory_order_relaxed);
}

void gate_get_stats(const struct gate *g, struct gate_stats *ret)
{
	struct gate *m = (struct gate *)(uintptr_t)g; /* atomics are read, not changed */

	ret->requests = atomic_load(&m->requests);
	ret->allowed = atomic_load(&m->allowed);
	ret->denied = atomic_load(&m->denied);
	ret->errors = atomic_load(&m->errors);
	ret->overflows = atomic_load(&m->overflows);
	ret->answer_ns_max = atomic_load(&m->ns_max);
	ret->answer_ns_sum = atomic_load(&m->ns_sum);
	ret->dir_lookups = atomic_load(&m->dir_lookups);
	ret->undecided = atomic_load(&m->undecided_n);
	ret->fd_denials = atomic_load(&m->fd_denials);
	ret->files_allowed = atomic_load(&m->ign_added);
	ret->files_forgets = atomic_load(&m->ign_forgets);
	ret->files_errors = atomic_load(&m->ign_errors);
}

void gate_set_refresh(struct gate *g, void (*fn)(void *arg), void *arg)
{
	g->refresh = fn;
	g->refresh_arg = arg;
}

int gate_set_dirs(struct gate *g, const char *const *dirs, size_t n, bool everywhere)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(dirs[i]))) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	for (size_t i = 0; i < g->n_cfg_dirs; i++)
		free(g->cfg_dirs[i]);
	free(g->cfg_dirs);
	g->cfg_dirs = v;
	g->n_cfg_dirs = n;
	g->everywhere = everywhere;
	return 0;
}

int gate_fd(const struct gate *g)
{
	return g->fd;
}

int gate_remark(struct gate *g, gate_mark_fn fn, void *arg)
{
	int n = 0, r;

	g->on_mark = fn;
	g->on_mark_arg = arg;
	if (g->everywhere) {
		n = mark_mounts(g, true);
	} else {
		for (size_t i = 0; i < g->n_cfg_dirs; i++)
			n += mark_fs(g, g->cfg_dirs[i], false, 0) == 0;
		r = mark_mounts(g, false);
		n = r < 0 ? r : n + r;
	}
	g->on_mark = NULL;
	return n;
}

int gate_adopt(struct gate *g, const char *path, dev_t dev, bool whole, const void *fsid)
{
	if (gate_covers_dev(g, dev))
		return 1;
	return remember(g, path, dev, whole, fsid);
}

void gate_free(struct gate *g)
{
	if (!g)
		return;
	if (g->started || g->sup_started)
		atomic_store(&g->stop, true);
	if (g->started)
		pthread_join(g->thread, NULL);
	if (g->sup_started)
		pthread_join(g->sup, NULL);
	if (g->fd >= 0)
		close(g->fd); /* the kernel allows what is still pending */
	if (g->procfd >= 0)
		close(g->procfd);
	for (size_t i = 0; i < g->n_marks; i++)
		free(g->marks[i]);
	for (size_t i = 0; i < g->n_cfg_dirs; i++)
		free(g->cfg_dirs[i]);
	free(g->cfg_dirs);
	for (size_t i = 0; g->dirs && i < DIR_SLOTS; i++)
		free(g->dirs[i].path);
	free(g->dirs);
	for (size_t i = 0; i < g->n_warnings; i++)
		free(g->warnings[i]);
	free(g->warnings);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->ifl_lock);
	pthread_mutex_destroy(&g->ign_lock);
	free(g);
}
