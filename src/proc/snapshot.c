/*
 * snapshot.c - read one live process from /proc into a struct proc_info.
 *
 * Overview: proc_snapshot() runs in the listener's consumer right after an
 * exec event, so it reads in the order that keeps most of a process that
 * lives microseconds: the exe link first (it goes when the mm goes, at
 * exit), then cmdline (also gone with the mm), then stat and status (a
 * zombie keeps both).  Then, on request, the parent and the ancestors.
 * Every file is opened with openat() relative to the caller's /proc fd and a
 * small path on the stack; reads go into the caller's proc_info or a
 * bounded stack buffer, never the heap.  It owns no state: the per-field
 * miss counters live in the caller's struct proc_read_stats, and so does
 * the pointer to the caller's parent cache (struct proc_parent_cache, made
 * and freed here, owned by the caller): a bounded table of the parents'
 * exe and comm, each entry with a pidfd that says whether that exact
 * process is still running and an open /proc/PPID/comm re-read on each hit.
 * The caller tells it about execs (proc_parent_cache_forget()); see proc.h
 * for when an entry is valid.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/json.h"
#include "procwarden/proc.h"

#define PROC_PATH_LEN 48   /* "/proc/" + pid + "/cmdline" fits easily */
#define PROC_STAT_BUF 4096 /* stat is ~300 bytes; status Uid/Gid are in the first 1 KiB */

/* Build the path of /proc/PID/NAME for use with at_fd(procfd). */
static int proc_path(char *buf, size_t size, int procfd, pid_t pid, const char *name)
{
	const char *pre = procfd >= 0 ? "" : "/proc/";
	size_t lp = strlen(pre), ln = strlen(name), n;
	char num[24];

	if (pid < 0)
		return -EINVAL;
	n = pw_fmt_u64(num, (uint64_t)pid);
	if (lp + n + 1 + ln + 1 > size)
		return -ENAMETOOLONG;
	memcpy(buf, pre, lp);
	memcpy(buf + lp, num, n);
	buf[lp + n] = '/';
	memcpy(buf + lp + n + 1, name, ln + 1);
	return 0;
}

/* The dirfd to use with proc_path(): procfd, or AT_FDCWD for "/proc/...". */
static int at_fd(int procfd)
{
	return procfd >= 0 ? procfd : AT_FDCWD;
}

/* readlink /proc/PID/exe into buf (size bytes, not NUL-terminated).
 * Returns the length, or a negative errno. */
static ssize_t read_exe(int procfd, pid_t pid, char *buf, size_t size)
{
	char path[PROC_PATH_LEN];
	ssize_t n;
	int r;

	r = proc_path(path, sizeof(path), procfd, pid, "exe");
	if (r < 0)
		return r;
	n = readlinkat(at_fd(procfd), path, buf, size);
	return n < 0 ? -errno : n;
}

/* stat of pid's exe (through /proc/PID/exe: a deleted or renamed file too). */
static int exe_stat(int procfd, pid_t pid, struct stat *st)
{
	char path[PROC_PATH_LEN];
	int r = proc_path(path, sizeof(path), procfd, pid, "exe");

	if (r < 0)
		return r;
	return fstatat(at_fd(procfd), path, st, 0) < 0 ? -errno : 0;
}

int proc_exe_file(int procfd, pid_t pid, struct pw_file_id *ret)
{
	struct stat st;
	int r = exe_stat(procfd, pid, &st);

	if (r == 0)
		pw_file_id_set(ret, &st);
	return r;
}

/* Read up to size bytes of /proc/PID/NAME into buf.  Returns the length and
 * sets *ret_more when the file holds more, or a negative errno. */
static ssize_t read_file(int procfd, pid_t pid, const char *name, char *buf, size_t size,
                         int *ret_more)
{
	char path[PROC_PATH_LEN];
	size_t len = 0;
	ssize_t n = 0;
	int fd, r;

	r = proc_path(path, sizeof(path), procfd, pid, name);
	if (r < 0)
		return r;
	fd = openat(at_fd(procfd), path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if (ret_more) {
		char c;

		*ret_more = 0;
		if (len == size) {
			do
				n = read(fd, &c, 1);
			while (n < 0 && errno == EINTR);
			*ret_more = n > 0;
		}
	}
	r = 0;
out:
	close(fd);
	return r < 0 ? r : (ssize_t)len;
}

int proc_read_stat(int procfd, pid_t pid, struct proc_stat *ret)
{
	char buf[PROC_STAT_BUF];
	ssize_t n;

	n = read_file(procfd, pid, "stat", buf, sizeof(buf), NULL);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ESRCH; /* an empty stat: the task is being torn down */
	return proc_parse_stat(buf, (size_t)n, ret);
}

/* Read the uids and gids from /proc/PID/status into pi. */
static int read_ids(int procfd, pid_t pid, struct proc_info *pi)
{
	char buf[PROC_STAT_BUF];
	ssize_t n;

	n = read_file(procfd, pid, "status", buf, sizeof(buf), NULL);
	if (n < 0)
		return (int)n;
	return proc_parse_status_ids(buf, (size_t)n, &pi->uid, &pi->euid, &pi->gid, &pi->egid);
}

/* Does this error mean that the process is gone (or going)? */
static int is_gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/* Copy a readlink result into dst (size bytes), NUL-terminated and cut. */
static void copy_link(char *dst, size_t size, const char *src, size_t len)
{
	if (len > size - 1)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- the parent cache ---- */

struct parent_entry {
	pid_t pid;     /* 0: free */
	int pidfd;     /* pins the process: has it exited? */
	int commfd;    /* /proc/PID/comm, re-read on each hit */
	uint64_t used; /* last use, for LRU eviction */
	char exe[PW_PATH_MAX];
};

struct proc_parent_cache {
	uint64_t clock; /* ticks once per use */
	struct parent_entry e[PROC_PARENT_CACHE_SLOTS];
};

int proc_parent_cache_new(struct proc_parent_cache **ret)
{
	struct proc_parent_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < PROC_PARENT_CACHE_SLOTS; i++)
		c->e[i].pidfd = c->e[i].commfd = -1;
	*ret = c;
	return 0;
}

/* Empty one entry, closing its fds. */
static void entry_drop(struct parent_entry *e)
{
	if (e->pidfd >= 0)
		close(e->pidfd);
	if (e->commfd >= 0)
		close(e->commfd);
	e->pid = 0;
	e->pidfd = e->commfd = -1;
}

/* The entry of pid, or NULL. */
static struct parent_entry *entry_find(struct proc_parent_cache *c, pid_t pid)
{
	for (size_t i = 0; i < PROC_PARENT_CACHE_SLOTS; i++)
		if (c->e[i].pid == pid)
			return &c->e[i];
	return NULL;
}

void proc_parent_cache_forget(struct proc_parent_cache *c, pid_t pid)
{
	struct parent_entry *e;

	if (c && pid > 0 && (e = entry_find(c, pid)))
		entry_drop(e);
}

void proc_parent_cache_clear(struct proc_parent_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < PROC_PARENT_CACHE_SLOTS; i++)
		if (c->e[i].pid)
			entry_drop(&c->e[i]);
}

void proc_parent_cache_free(struct proc_parent_cache *c)
{
	proc_parent_cache_clear(c);
	free(c);
}

/* Has the process pinned by pidfd not exited?  (A pidfd polls readable once
 * the process has exited; an error counts as exited.) */
static bool pidfd_running(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) == 0;
}

/* Read the comm from an open /proc/PID/comm into comm (PW_COMM_MAX,
 * NUL-terminated, cut like proc_parse_stat() cuts it).  0, or a negative
 * errno (-ESRCH once the process was reaped). */
static int read_comm_fd(int fd, char *comm)
{
	char buf[64];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	if (buf[n - 1] == '\n') /* the file is the comm and a newline */
		n--;
	if (n > PW_COMM_MAX - 1)
		n = PW_COMM_MAX - 1;
	memcpy(comm, buf, (size_t)n);
	comm[n] = '\0';
	return 0;
}

/* Store the parent's exe and comm in pi. */
static void set_parent(struct proc_info *pi, const char *exe, size_t exe_len, const char *comm)
{
	copy_link(pi->parent_exe, sizeof(pi->parent_exe), exe, exe_len);
	memcpy(pi->parent_comm, comm, sizeof(pi->parent_comm));
	pi->have |= PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM;
}

/* Serve pi's parent from the cache: true on a hit (exe from the entry, comm
 * read now); on a miss an entry of a parent that exited is dropped. */
static bool parent_cache_get(struct proc_parent_cache *c, struct proc_info *pi)
{
	struct parent_entry *e = entry_find(c, pi->ppid);
	char comm[PW_COMM_MAX];

	if (!e)
		return false;
	if (!pidfd_running(e->pidfd) || read_comm_fd(e->commfd, comm) < 0) {
		entry_drop(e);
		return false;
	}
	e->used = ++c->clock;
	set_parent(pi, e->exe, strlen(e->exe), comm);
	return true;
}

/* On a miss: read pi's parent (pidfd first, then exe and comm, then check
 * that the pinned process still runs, so that all three are of that one
 * process) and keep it in the least recently used entry.  True when pi got both
 * the exe and the comm (cached or not); false leaves pi untouched, for the
 * reads without the cache (kernel threads, exited parents, errors). */
static bool parent_cache_fill(struct proc_parent_cache *c, int procfd, struct proc_info *pi)
{
	char link[PW_PATH_MAX], path[PROC_PATH_LEN], comm[PW_COMM_MAX];
	struct parent_entry *e = &c->e[0];
	int pidfd, commfd = -1;
	ssize_t n;

	pidfd = (int)syscall(SYS_pidfd_open, pi->ppid, 0);
	if (pidfd < 0)
		return false;
	n = read_exe(procfd, pi->ppid, link, sizeof(link));
	if (n <= 0 || proc_path(path, sizeof(path), procfd, pi->ppid, "comm") < 0)
		goto fail;
	commfd = openat(at_fd(procfd), path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (commfd < 0 || read_comm_fd(commfd, comm) < 0)
		goto fail;
	set_parent(pi, link, (size_t)n, comm);
	if (!pidfd_running(pidfd)) {
		/* it exited during the reads (they may even be of a process that
		 * reused the pid, as without the cache): reported, not cached */
		close(commfd);
		close(pidfd);
		return true;
	}
	for (size_t i = 1; i < PROC_PARENT_CACHE_SLOTS && e->pid; i++)
		if (!c->e[i].pid || c->e[i].used < e->used)
			e = &c->e[i];
	entry_drop(e);
	e->pid = pi->ppid;
	e->pidfd = pidfd;
	e->commfd = commfd;
	e->used = ++c->clock;
	memcpy(e->exe, pi->parent_exe, sizeof(e->exe));
	return true;
fail:
	if (commfd >= 0)
		close(commfd);
	close(pidfd);
	return false;
}

/* Read the parent's exe and comm (if want_parent), through st->parents when
 * there is one and ret_ppid is NULL; *ret_ppid (when not NULL) gets the
 * grandparent's pid, or -1 when the parent's stat could not be read.
 * Returns 1 when the parent is a kernel thread (it has no exe), else 0. */
static int read_parent(int procfd, struct proc_info *pi, int want_parent, pid_t *ret_ppid,
                       struct proc_read_stats *st)
{
	char link[PW_PATH_MAX];
	struct proc_stat ps;
	ssize_t n;

	if (ret_ppid)
		*ret_ppid = -1;
	else if (want_parent && st->parents) {
		if (parent_cache_get(st->parents, pi)) {
			st->parent_cached++;
			return 0;
		}
		if (parent_cache_fill(st->parents, procfd, pi))
			return 0;
	}
	if (want_parent) {
		n = read_exe(procfd, pi->ppid, link, sizeof(link));
		if (n > 0) {
			copy_link(pi->parent_exe, sizeof(pi->parent_exe), link, (size_t)n);
			pi->have |= PI_HAVE_PARENT_EXE;
		}
	}
	if (proc_read_stat(procfd, pi->ppid, &ps) < 0)
		return 0;
	if (want_parent) {
		memcpy(pi->parent_comm, ps.comm, sizeof(pi->parent_comm));
		pi->have |= PI_HAVE_PARENT_COMM;
	}
	if (ret_ppid)
		*ret_ppid = ps.ppid;
	return (ps.flags & PW_PF_KTHREAD) != 0;
}

/* Walk from pid (the grandparent) up to pid 1, storing each exe in
 * pi->ancestors; an exe that cannot be read is stored as "". */
static void read_ancestors(int procfd, struct proc_info *pi, pid_t pid)
{
	char link[PW_PATH_MAX];
	struct proc_stat ps;
	size_t used = 0;

	for (;;) {
		if (pi->n_ancestors >= PW_ANCESTORS_MAX) {
			pi->flags |= PI_ANCESTORS_CUT;
			break;
		}
		ssize_t n = read_exe(procfd, pid, link, sizeof(link));
		size_t len = n > 0 ? (size_t)n : 0;

		if (len > sizeof(pi->ancestors) - 1 - used) {
			pi->flags |= PI_ANCESTORS_CUT; /* full: keep whole paths only */
			break;
		}
		if (n <= 0)
			pi->flags |= PI_ANCESTORS_CUT; /* stored as "": not known */
		memcpy(pi->ancestors + used, link, len);
		used += len;
		pi->ancestors[used++] = '\0';
		pi->n_ancestors++;
		if (pid == 1)
			break;
		if (proc_read_stat(procfd, pid, &ps) < 0) {
			pi->flags |= PI_ANCESTORS_CUT;
			break;
		}
		pid = ps.ppid;
		if (pid <= 0)
			break;
	}
	pi->ancestors_len = (uint32_t)used;
	if (pi->n_ancestors > 0)
		pi->have |= PI_HAVE_ANCESTORS;
}

/* Zero pi, and read exe and cmdline, the parts that vanish first (the exe
 * link before anything else, even the memset); fills *ret_*. */
static void read_early(int procfd, pid_t pid, struct proc_info *pi, int *ret_exe_err,
                       int *ret_argv_err, size_t *ret_argv_len)
{
	char link[PW_PATH_MAX];
	ssize_t n;
	int more = 0;

	n = read_exe(procfd, pid, link, sizeof(link));
	*ret_exe_err = n < 0 ? (int)n : 0;
	memset(pi, 0, sizeof(*pi));
	pi->pid = (int32_t)pid;
	if (n > 0)
		proc_set_exe(pi, link, (size_t)n);

	/* Straight into pi->argv; proc_set_argv() fixes it up in place. */
	n = read_file(procfd, pid, "cmdline", pi->argv, sizeof(pi->argv), &more);
	*ret_argv_err = n < 0 ? (int)n : 0;
	*ret_argv_len = n > 0 ? (size_t)n : 0;
	if (n > 0)
		proc_set_argv(pi, pi->argv, (size_t)n, more);
}

int proc_snapshot(int procfd, pid_t pid, unsigned opts, struct proc_info *pi,
                  struct proc_read_stats *st)
{
	struct proc_read_stats dummy = {0};
	struct proc_stat ps;
	int exe_err, argv_err, stat_err, ids_err, gone = 0, r;
	size_t argv_len;
	pid_t gppid = -1;

	if (!st)
		st = &dummy;
	st->snapshots++;

	read_early(procfd, pid, pi, &exe_err, &argv_err, &argv_len);

	stat_err = proc_read_stat(procfd, pid, &ps);
	if (stat_err == 0) {
		pi->ppid = ps.ppid;
		pi->start_time = ps.start_time;
		memcpy(pi->comm, ps.comm, sizeof(pi->comm));
		pi->have |= PI_HAVE_STAT | PI_HAVE_COMM;
		if (ps.state == 'Z' || ps.state == 'X')
			gone = 1;
	} else {
		st->miss_stat++;
		st->miss_comm++;
		gone |= is_gone(stat_err);
	}

	ids_err = read_ids(procfd, pid, pi);
	if (ids_err == 0) {
		pi->have |= PI_HAVE_IDS;
	} else {
		st->miss_ids++;
		gone |= is_gone(ids_err);
	}

	/* No exe and no argv: a kernel thread (PF_KTHREAD) has neither; for
	 * anything else it means the mm is gone already (exiting, zombie). */
	if (exe_err == -ENOENT && argv_err == 0 && argv_len == 0 && stat_err == 0 &&
	    (ps.flags & PW_PF_KTHREAD)) {
		pi->flags |= PI_KTHREAD;
		proc_set_argv(pi, "", 0, 0);
	} else {
		if (exe_err < 0) {
			st->miss_exe++;
			gone |= is_gone(exe_err);
		}
		/* An empty cmdline with the exe still there is a process in the
		 * middle of execve (the args are set after the exe); a gone one
		 * shows in exe or stat. */
		if (argv_len == 0) {
			st->miss_argv++;
			gone |= is_gone(argv_err);
		}
	}

	if (pi->have == 0) {
		/* Nothing at all: gone, unless something else stopped us. */
		const int errs[] = {exe_err, argv_err, stat_err, ids_err};

		r = -ESRCH;
		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
			if (errs[i] < 0 && !is_gone(errs[i])) {
				r = errs[i];
				break;
			}
		if (r == -ESRCH) {
			pi->flags |= PI_GONE;
			st->gone++;
		}
		return r;
	}

	if ((opts & (PROC_SNAP_PARENT | PROC_SNAP_ANCESTORS)) && pi->ppid > 0) {
		const uint32_t both = PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM;
		int want = (opts & PROC_SNAP_PARENT) != 0;
		int kparent =
		    read_parent(procfd, pi, want, (opts & PROC_SNAP_ANCESTORS) ? &gppid : NULL, st);

		if (want && !kparent && (pi->have & both) != both)
			st->miss_parent++;
		if ((opts & PROC_SNAP_ANCESTORS) && gppid > 0)
			read_ancestors(procfd, pi, gppid);
	}

	if (gone) {
		pi->flags |= PI_GONE;
		st->gone++;
	}
	return 0;
}

/* PIDFD_GET_INFO (Linux 6.13+; older uapi headers lack it). */
struct pw_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PW_PIDFD_INFO_PID (1ull << 0)
#define PW_PIDFD_INFO_CREDS (1ull << 1)
#define PW_PIDFD_GET_INFO _IOWR(0xFF, 11, struct pw_pidfd_info)

int proc_pidfd_ids(int pidfd, uint32_t ret_ids[4], int32_t *ret_ppid)
{
	struct pw_pidfd_info info = {.mask = PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS};

	if (pidfd < 0)
		return -EBADF;
	if (ioctl(pidfd, PW_PIDFD_GET_INFO, &info) < 0)
		return errno == ESRCH ? -ESRCH : -ENOTTY;
	if ((info.mask & (PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS)) !=
	    (PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS))
		return -ENOTTY;
	ret_ids[0] = info.ruid;
	ret_ids[1] = info.euid;
	ret_ids[2] = info.rgid;
	ret_ids[3] = info.egid;
	if (ret_ppid)
		*ret_ppid = (int32_t)info.ppid;
	return 0;
}

/* Ids and ppid of the pinned process.  0, -ESRCH when it was reaped,
 * -ENOTTY when the kernel lacks the ioctl. */
static int read_ids_pidfd(int pidfd, struct proc_info *pi)
{
	struct pw_pidfd_info info = {.mask = PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS};

	if (ioctl(pidfd, PW_PIDFD_GET_INFO, &info) < 0)
		return errno == ESRCH ? -ESRCH : -ENOTTY;
	if ((info.mask & (PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS)) !=
	    (PW_PIDFD_INFO_PID | PW_PIDFD_INFO_CREDS))
		return -ENOTTY;
	pi->uid = info.ruid;
	pi->euid = info.euid;
	pi->gid = info.rgid;
	pi->egid = info.egid;
	pi->ppid = (int32_t)info.ppid;
	return 0;
}

/* Drop what the reads through /proc/PID gave (the fields of keep excepted,
 * and the ids when they came from the pidfd). */
static void forget_late(struct proc_info *pi, unsigned keep, bool ids_by_pidfd)
{
	unsigned drop = (PI_HAVE_STAT | PI_HAVE_COMM | PI_HAVE_ARGV | PI_HAVE_PARENT_EXE |
	                 PI_HAVE_PARENT_COMM | PI_HAVE_EXE | PI_HAVE_EXE_FILE |
	                 PI_HAVE_PARENT_FILE | (ids_by_pidfd ? 0u : PI_HAVE_IDS | PI_HAVE_PPID)) &
	                ~keep;

	pi->have &= ~drop;
	if (drop & PI_HAVE_EXE) {
		pi->exe[0] = '\0';
		pi->flags &= ~(PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED);
	}
	if (drop & PI_HAVE_COMM)
		pi->comm[0] = '\0';
	if (drop & PI_HAVE_PARENT_EXE)
		pi->parent_exe[0] = '\0';
	if (drop & PI_HAVE_PARENT_COMM)
		pi->parent_comm[0] = '\0';
	if (drop & PI_HAVE_ARGV)
		pi->argc = pi->argv_len = 0;
}

bool proc_read_exec(int procfd, int pidfd, pid_t pid, uint64_t event_ns, unsigned what,
                    struct proc_info *pi, struct proc_read_stats *st)
{
	unsigned had = pi->have;
	bool by_pidfd;

	if ((what & PROC_READ_IDS) && (pi->have & PI_HAVE_IDS) != PI_HAVE_IDS)
		proc_read(procfd, pidfd, pid, PROC_READ_IDS, pi, st);
	by_pidfd = pidfd >= 0 && (pi->have & PI_HAVE_PPID);
	if (!by_pidfd && (what & PROC_READ_COMM))
		what = (what & ~(unsigned)PROC_READ_COMM) | PROC_READ_STAT;
	proc_read(procfd, pidfd, pid, what, pi, st);
	if (!by_pidfd) {
		if (proc_info_is_event_process(pi, event_ns))
			return true;
		forget_late(pi, had & (PI_HAVE_EXE | PI_HAVE_EXE_FILE),
		            false); /* a pinned exe stays */
		pi->flags |= PI_GONE;
		return false;
	}
	if (!proc_pidfd_reaped(pidfd))
		return true; /* alive (or a zombie) after the reads: they were of it */
	uint64_t start = proc_start_time(procfd, pid);
	if (!start || start <= pw_mono_to_ticks(event_ns) + 2)
		return true;
	forget_late(pi, had, true);
	pi->flags |= PI_GONE;
	return false;
}

bool proc_pidfd_reaped(int pidfd)
{
	struct pw_pidfd_info info = {.mask = PW_PIDFD_INFO_PID};

	return ioctl(pidfd, PW_PIDFD_GET_INFO, &info) < 0 && errno == ESRCH;
}

int proc_exe_from_fd(int procfd, int exefd, struct proc_info *pi)
{
	char path[40], link[PW_PATH_MAX];
	ssize_t n;

	if (exefd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "%sself/fd/%d", procfd >= 0 ? "" : "/proc/", exefd);
	n = readlinkat(at_fd(procfd), path, link, sizeof(link));
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	pi->flags &= ~(PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED);
	proc_set_exe(pi, link, (size_t)n);
	struct stat st;
	pi->have &= ~(uint32_t)PI_HAVE_EXE_FILE;
	if (fstat(exefd, &st) == 0) {
		pw_file_id_set(&pi->exe_file, &st);
		pi->have |= PI_HAVE_EXE_FILE;
		if ((pi->flags & PI_EXE_MEMFD) == 0 && st.st_nlink > 0)
			pi->flags &= ~(uint32_t)PI_EXE_DELETED; /* still linked: not fileless */
	}
	return 0;
}

void proc_info_reset(struct proc_info *pi, pid_t pid)
{
	memset(pi, 0, offsetof(struct proc_info, comm));
	pi->pid = (int32_t)pid;
	pi->comm[0] = pi->parent_comm[0] = pi->exe[0] = pi->parent_exe[0] = '\0';
	pi->argv[0] = pi->ancestors[0] = '\0';
}

/* True when the process pinned by pidfd has exited (a zombie too). */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

int proc_read(int procfd, int pidfd, pid_t pid, unsigned what, struct proc_info *pi,
              struct proc_read_stats *st)
{
	struct proc_read_stats dummy = {0};
	char link[PW_PATH_MAX];
	struct proc_stat ps;
	bool reaped = false, any = false;
	ssize_t n;
	int r;
	/* something to read at all: a call with nothing left to read found
	 * nothing, which says nothing about the process */
	static const struct {
		unsigned what, have;
	} asks[] = {{PROC_READ_EXE, PI_HAVE_EXE},   {PROC_READ_IDS, PI_HAVE_IDS},
	            {PROC_READ_ARGV, PI_HAVE_ARGV}, {PROC_READ_STAT, PI_HAVE_STAT},
	            {PROC_READ_COMM, PI_HAVE_COMM}, {PROC_READ_PARENT, PI_HAVE_PARENT_EXE}};
	bool tried = false;
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++)
		tried |= (what & asks[i].what) && (pi->have & asks[i].have) != asks[i].have;

	if (!st)
		st = &dummy;
	if ((what & PROC_READ_EXE) && !(pi->have & PI_HAVE_EXE)) {
		n = read_exe(procfd, pid, link, sizeof(link));
		if (n > 0) {
			proc_set_exe(pi, link, (size_t)n);
			any = true;
		} else {
			st->miss_exe++;
		}
	}
	/* the file after its name (a later exec between the two is caught by
	 * the caller's check for one, as for the name), in one stat: its
	 * identity, and whether a " (deleted)" name -- a file's real name, or a
	 * name of a file still linked elsewhere -- leaves it fileless */
	bool deleted = (pi->flags & (PI_EXE_DELETED | PI_EXE_MEMFD)) == PI_EXE_DELETED;
	if (((what & PROC_READ_EXE_FILE) && !(pi->have & PI_HAVE_EXE_FILE)) || deleted) {
		struct stat sb;
		if (exe_stat(procfd, pid, &sb) == 0) {
			if (deleted && sb.st_nlink > 0)
				pi->flags &= ~(uint32_t)PI_EXE_DELETED;
			if ((what & PROC_READ_EXE_FILE) && !(pi->have & PI_HAVE_EXE_FILE)) {
				pw_file_id_set(&pi->exe_file, &sb);
				pi->have |= PI_HAVE_EXE_FILE;
			}
		}
	}
	if ((what & PROC_READ_IDS) && (pi->have & PI_HAVE_IDS) != PI_HAVE_IDS) {
		/* from the pinned task itself: if it still exists, the pid was not
		 * recycled, so what /proc/PID gave above was this process */
		bool by_pidfd;
		r = pidfd >= 0 ? read_ids_pidfd(pidfd, pi) : -ENOTTY;
		by_pidfd = r != -ENOTTY;
		if (r == -ENOTTY)
			r = read_ids(procfd, pid, pi);
		if (r == 0) {
			pi->have |= PI_HAVE_IDS;
			if (by_pidfd && !(pi->have & PI_HAVE_STAT))
				pi->have |= PI_HAVE_PPID;
			any = true;
		} else {
			st->miss_ids++;
			reaped = r == -ESRCH && pidfd >= 0;
		}
	}
	if ((what & PROC_READ_ARGV) && !(pi->have & PI_HAVE_ARGV)) {
		int more = 0;
		n = read_file(procfd, pid, "cmdline", pi->argv, sizeof(pi->argv), &more);
		if (n > 0) {
			proc_set_argv(pi, pi->argv, (size_t)n, more);
			any = true;
		} else {
			st->miss_argv++;
		}
	}
	if ((what & PROC_READ_STAT) && !(pi->have & PI_HAVE_STAT)) {
		if (proc_read_stat(procfd, pid, &ps) == 0) {
			pi->ppid = ps.ppid;
			pi->start_time = ps.start_time;
			memcpy(pi->comm, ps.comm, sizeof(pi->comm));
			pi->have |= PI_HAVE_STAT | PI_HAVE_COMM;
			if ((ps.flags & PW_PF_KTHREAD) && !(pi->have & PI_HAVE_EXE))
				pi->flags |= PI_KTHREAD;
			any = true;
		} else {
			st->miss_stat++;
			st->miss_comm++;
		}
	}
	if ((what & PROC_READ_COMM) && !(pi->have & PI_HAVE_COMM)) {
		char buf[64];
		n = read_file(procfd, pid, "comm", buf, sizeof(buf), NULL);
		if (n > 0 && buf[n - 1] == '\n') /* the comm and a newline */
			n--;
		if (n > 0) {
			if (n > PW_COMM_MAX - 1)
				n = PW_COMM_MAX - 1;
			memcpy(pi->comm, buf, (size_t)n);
			pi->comm[n] = '\0';
			pi->have |= PI_HAVE_COMM;
			any = true;
		} else {
			st->miss_comm++;
		}
	}
	if ((what & (PROC_READ_PARENT | PROC_READ_ANCESTORS)) && pi->ppid > 0 &&
	    !(pi->have & PI_HAVE_PARENT_EXE)) {
		pid_t gppid = -1;
		int want = (what & PROC_READ_PARENT) != 0;
		int kparent =
		    read_parent(procfd, pi, want, (what & PROC_READ_ANCESTORS) ? &gppid : NULL, st);

		if (want && !kparent &&
		    (pi->have & (PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM)) !=
		        (PI_HAVE_PARENT_EXE | PI_HAVE_PARENT_COMM))
			st->miss_parent++;
		if ((what & PROC_READ_ANCESTORS) && gppid > 0)
			read_ancestors(procfd, pi, gppid);
	}
	/* gone: reaped, or nothing could be read and the process has exited
	 * (a pinned one still running is not gone: its reads failed otherwise) */
	if (reaped || (tried && !any && (pidfd < 0 || pidfd_exited(pidfd)))) {
		if (!(pi->flags & PI_GONE))
			st->gone++;
		pi->flags |= PI_GONE;
	}
	return any || !tried ? 0 : -ESRCH;
}

bool proc_info_is_event_process(const struct proc_info *pi, uint64_t event_mono_ns)
{
	if (!(pi->have & PI_HAVE_STAT))
		return true;
	/* two ticks of slack: start times are in clock ticks */
	return pi->start_time <= pw_mono_to_ticks(event_mono_ns) + 2;
}

uint64_t proc_start_time(int procfd, pid_t pid)
{
	struct proc_stat ps;

	return proc_read_stat(procfd, pid, &ps) < 0 ? 0 : ps.start_time;
}

long proc_clk_tck(void)
{
	/* Cached: a constant of the running kernel; racing first callers agree. */
	static _Atomic long tck;
	long v = atomic_load_explicit(&tck, memory_order_relaxed);

	if (v <= 0) {
		v = sysconf(_SC_CLK_TCK);
		if (v <= 0)
			v = 100;
		atomic_store_explicit(&tck, v, memory_order_relaxed);
	}
	return v;
}
