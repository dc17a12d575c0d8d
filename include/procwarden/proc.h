/*
 * proc.h - reading processes from /proc: parsers, snapshots and scans.
 *
 * The parsers work on buffers (unit-tested from fixtures); proc_snapshot()
 * reads a live process in the order that keeps most of a short-lived one
 * (exe link first: it is gone at exit, while a zombie keeps stat and status).
 * Nothing here prints or allocates per call beyond the caller's buffers.
 */
#ifndef PROCWARDEN_PROC_H
#define PROCWARDEN_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procwarden/procinfo.h"

/* What /proc/PID/stat gives us. */
struct proc_stat {
	int32_t pid;
	char state;
	int32_t ppid;
	uint64_t start_time;    /* field 22, clock ticks since boot */
	uint32_t flags;         /* field 9, the task's PF_* flags */
	char comm[PW_COMM_MAX]; /* cut to PW_COMM_MAX - 1 bytes if longer */
};

/* PF_KTHREAD in proc_stat.flags: the task is a kernel thread. */
#define PW_PF_KTHREAD 0x00200000u

/* Parse the text of /proc/PID/stat (comm may hold spaces and ')': the comm
 * ends at the LAST ')').  Returns 0, or -EINVAL on malformed text (then
 * *ret is untouched). */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *ret);

/* Parse Uid:/Gid: lines of /proc/PID/status: real and effective ids.
 * Returns 0, or -EINVAL when a line is missing or malformed (then the
 * outputs are untouched). */
int proc_parse_status_ids(const char *buf, size_t len, uint32_t *uid, uint32_t *euid, uint32_t *gid,
                          uint32_t *egid);

/* Copy a raw /proc/PID/cmdline buffer into pi->argv/argc/argv_len, making
 * sure every string is NUL-terminated and bounded by PW_ARGV_MAX (sets
 * PI_ARGV_TRUNCATED when cut, or when truncated says the read was cut).  An
 * empty buffer gives argc 0.  Sets PI_HAVE_ARGV.  buf may point into
 * pi->argv itself (the copy is a memmove). */
void proc_set_argv(struct proc_info *pi, const char *buf, size_t len, int truncated);

/* Store a readlink() result of /proc/PID/exe in pi->exe and classify it:
 * " (deleted)" suffix sets PI_EXE_DELETED, "/memfd:" prefix sets PI_EXE_MEMFD
 * (the text is kept as the kernel shows it).  A link longer than PW_PATH_MAX-1
 * is cut (PI_EXE_TRUNCATED), keeping a " (deleted)" suffix visible.  Sets
 * PI_HAVE_EXE when len > 0. */
void proc_set_exe(struct proc_info *pi, const char *link, size_t len);

/* Join argv with single spaces into buf (NUL-terminated, truncated to size).
 * Returns the length written. */
size_t proc_cmdline(const struct proc_info *pi, char *buf, size_t size);

/* Options for proc_snapshot(). */
enum {
	PROC_SNAP_PARENT = 1u << 0,    /* read parent exe and comm */
	PROC_SNAP_ANCESTORS = 1u << 1, /* walk ancestors up to pid 1 */
};

struct proc_parent_cache;

/* Per-field failure counters, kept by the caller across snapshots, and the
 * caller's parent cache. */
struct proc_read_stats {
	uint64_t snapshots;
	uint64_t gone; /* processes gone before everything could be read */
	uint64_t miss_exe, miss_argv, miss_comm, miss_ids, miss_stat, miss_parent;
	uint64_t parent_cached; /* parent exe and comm served by the parent cache */
	/* Not a counter: the parent cache to read parents through (NULL: none,
	 * every parent is read from /proc).  Owned by the caller. */
	struct proc_parent_cache *parents;
};

/*
 * The parent cache: a storm's launches share few parents, so the parent's
 * exe and comm are kept for up to PROC_PARENT_CACHE_SLOTS parents (keyed by
 * ppid, least recently used evicted) with a pidfd and an open
 * /proc/PPID/comm of each.  A hit costs a poll() of the pidfd (the process
 * has not exited: a pidfd pins that exact process, so a reused pid cannot
 * pass) and a pread() of the comm, which is re-read on every hit (a
 * prctl(PR_SET_NAME) shows at once); the exe is served from the cache.  The
 * exe changes only at exec: the caller must call proc_parent_cache_forget()
 * for the pid of every exec event it handles, before handling it, and
 * proc_parent_cache_clear() when events were lost (an overrun): an entry is
 * valid from when it was read until the exec event of its pid.  Only the
 * parent is cached (PROC_READ_PARENT / PROC_SNAP_PARENT without ancestors;
 * the ancestors walk reads /proc as before); kernel threads and parents whose
 * exe cannot be read are not cached.  Not for several threads at once.
 */
#define PROC_PARENT_CACHE_SLOTS 64

/* A new, empty cache (two fds per entry once filled).  0 and *ret, or
 * -ENOMEM. */
int proc_parent_cache_new(struct proc_parent_cache **ret);
/* Drop the entry of pid, if any: call it for every exec event's pid.
 * Accepts NULL. */
void proc_parent_cache_forget(struct proc_parent_cache *c, pid_t pid);
/* Drop every entry (events were lost: an exec may have gone unseen).
 * Accepts NULL. */
void proc_parent_cache_clear(struct proc_parent_cache *c);
/* Close every fd and free.  Accepts NULL. */
void proc_parent_cache_free(struct proc_parent_cache *c);

/* Read process pid into *pi (zeroed first).  procfd is an open O_PATH or
 * O_DIRECTORY fd of /proc (or -1 to use the path "/proc").  Fields that
 * could not be read are left empty and counted in *st (may be NULL); a
 * process that vanished (or is a zombie) gets PI_GONE.  The parent is read
 * through st->parents when st has one.  Returns 0 when anything was read
 * (normally stat or status), -ESRCH when nothing at all could be read (pi
 * still holds the pid and PI_GONE), or another negative errno when nothing
 * could be read for another reason (EACCES, EMFILE...).  Not
 * async-signal-safe; safe to call from several threads at once when they do
 * not share a parent cache. */
int proc_snapshot(int procfd, pid_t pid, unsigned opts, struct proc_info *pi,
                  struct proc_read_stats *st);

/* What proc_read() reads (it skips what pi already has). */
enum {
	PROC_READ_EXE = 1u << 0,       /* readlink exe (fileless flags) */
	PROC_READ_IDS = 1u << 1,       /* ids and ppid: pidfd ioctl, else status */
	PROC_READ_ARGV = 1u << 2,      /* cmdline */
	PROC_READ_STAT = 1u << 3,      /* ppid, start time, comm */
	PROC_READ_PARENT = 1u << 4,    /* parent exe and comm */
	PROC_READ_ANCESTORS = 1u << 5, /* ancestors' exes up to pid 1 */
	PROC_READ_COMM = 1u << 6,      /* comm alone (/proc/PID/comm: lighter than stat) */
	PROC_READ_EXE_FILE = 1u << 7,  /* the exe's identity (stat of /proc/PID/exe) */
};

/* The identity of pid's exe (stat through /proc/PID/exe: a deleted or
 * renamed file too).  0 or a negative errno. */
int proc_exe_file(int procfd, pid_t pid, struct pw_file_id *ret);

/* proc_read() for the process an exec event (at CLOCK_MONOTONIC event_ns)
 * is about, then a check that what it read was of that process and not of
 * a newer one that took its pid: with ids from the pinned process (the
 * pidfd and PIDFD_GET_INFO), PROC_READ_COMM is read as asked and the pidfd
 * tells afterwards whether the process was reaped (only then is the start
 * time read, to see whether the pid changed hands); without, PROC_READ_COMM
 * reads stat, whose start time tells.  What may be another's is dropped,
 * the exe included (what pi had before the call is kept when the pidfd
 * vouched for it; a pinned exe always), and the process marked gone: then
 * false. */
bool proc_read_exec(int procfd, int pidfd, pid_t pid, uint64_t event_ns, unsigned what,
                    struct proc_info *pi, struct proc_read_stats *st);

/* Real uid, effective uid, real gid, effective gid (in that order) and
 * the current ppid of the process pinned by pidfd (PIDFD_GET_INFO, Linux
 * 6.13+).  0, -ESRCH when it was reaped, -ENOTTY when the kernel cannot
 * tell, -EBADF for pidfd < 0. */
int proc_pidfd_ids(int pidfd, uint32_t ret_ids[4], int32_t *ret_ppid);

/* True when the process pinned by pidfd has been reaped, so that its pid may
 * name another process now (PIDFD_GET_INFO, Linux 6.13+); false while it
 * exists (a zombie too), or when the kernel cannot tell. */
bool proc_pidfd_reaped(int pidfd);

/* Clear pi for pid without touching its large buffers (cheap: strings are
 * emptied, counts zeroed). */
void proc_info_reset(struct proc_info *pi, pid_t pid);

/* Read what is asked and not yet in pi->have, in the order that loses least
 * (exe, then ids from the pinned process itself through PIDFD_GET_INFO when
 * pidfd >= 0 and the kernel has it (Linux 6.13+), cmdline, stat, parent --
 * through st->parents when st has one --, ancestors).  Misses are counted
 * per field in *st (may be NULL).  Sets
 * PI_GONE only when pidfd shows that the process was reaped, or nothing at
 * all could be read.  Returns 0 when something was read, -ESRCH when
 * nothing could be, or another negative errno. */
int proc_read(int procfd, int pidfd, pid_t pid, unsigned what, struct proc_info *pi,
              struct proc_read_stats *st);

/* Fill pi->exe from an O_PATH fd of the program file pinned at exec time
 * (the listener's exefd): the path as /proc/PID/exe showed it, " (deleted)"
 * and "/memfd:" included, even when the process is gone.  procfd as above.
 * 0, or negative errno (pi untouched). */
int proc_exe_from_fd(int procfd, int exefd, struct proc_info *pi);

/* A process cannot have started after its own exec: false when pi's start
 * time (if stat was read) is later than the event's CLOCK_MONOTONIC time,
 * i.e. /proc/PID now shows a newer process that reuses the pid. */
bool proc_info_is_event_process(const struct proc_info *pi, uint64_t event_mono_ns);

/* Start time (stat field 22) of pid, or 0 on failure. */
uint64_t proc_start_time(int procfd, pid_t pid);

/* Read and parse /proc/PID/stat.  Returns 0 and *ret, or a negative errno
 * (-ENOENT/-ESRCH: gone, -EINVAL: malformed). */
int proc_read_stat(int procfd, pid_t pid, struct proc_stat *ret);

/* Called by proc_scan() for each process; return non-zero to stop. */
typedef int (*proc_scan_fn)(pid_t pid, uint64_t start_time, void *arg);

/* Visit every process in /proc whose start time is >= min_start (0: all),
 * in ascending pid order.  Returns the number visited or a negative errno. */
int proc_scan(int procfd, uint64_t min_start, proc_scan_fn fn, void *arg);

/* Clock ticks per second (sysconf(_SC_CLK_TCK)), cached. */
long proc_clk_tck(void);

#endif
