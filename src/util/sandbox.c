/*
 * sandbox.c - seccomp allowlists for the agent, the hook executor and the
 * mount watcher.
 *
 * Overview: four static lists of system call names, each found by running
 * the agent under `strace -f` with every policy feature in use (log file and
 * reopen, syslog, metrics, reload, kills, hooks, rescans after an overrun,
 * stop), and kept to what appeared there.  sandbox_apply() builds a libseccomp
 * filter whose default action is EPERM, adds the list (socket() only for
 * AF_UNIX in the agent: syslog and sd_notify; ioctl() only PIDFD_GET_INFO), sets no_new_privs
 * (libseccomp's default; SANDBOX_STACKED: already set, and prctl is not allowed) and loads it, with
 * TSYNC when asked so that threads already running get the same filter atomically.  It owns nothing
 * after it returns.
 *
 * Why EPERM rather than kill: the agent enforces the policy, so a legitimate
 * but rare path missing here (a libc fallback, a syslog reconnect) must not
 * take enforcement down with it; the call fails, the error is counted and
 * logged, and nothing outside the list ever takes effect -- which is the
 * point of the filter.  A compromised agent gains nothing from an EPERM that
 * it would not have from a kill.
 *
 * Sanitizer builds (PW_SANITIZED) add what the ASan/LSan runtimes call: LSan's
 * leak check at exit stops the world with clone + ptrace + waitpid and reads
 * /proc/self/maps; ASan reports through write on stderr.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>

#include <seccomp.h>

#include "procwarden/sandbox.h"

/* PIDFD_GET_INFO (Linux 6.13+; struct pidfd_info of 64 bytes), the one
 * ioctl the agent makes (src/proc/snapshot.c). */
#define PIDFD_GET_INFO_CMD _IOC(_IOC_READ | _IOC_WRITE, 0xFF, 11, 64)

/* The agent after setup, every thread (the listener stacks a narrower one). */
/* clang-format off */
static const char *const agent_calls[] = {
	/* files: log reopen, metrics (temp file + rename), /proc (pread64: a cached parent's
	 * comm), policy reload and its trust check (realpath, stat) */
	"read", "pread64", "write", "writev", "close", "openat", "newfstatat", "lseek", "readlink",
	"readlinkat", "getdents64", "rename", "renameat", "unlink", "unlinkat", "getcwd", "geteuid",
	/* the log: cut a line a full disk left half written */
	"ftruncate",
	/* memory: malloc, PCRE2's JIT */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
	/* threads, time, exit */
	"futex", "clock_gettime", "clock_nanosleep", "gettimeofday", "restart_syscall", "getpid",
	/* waiting for the listener before a signal (nl_source_sync) */
	"sched_yield",
	"exit", "exit_group", "rt_sigprocmask", "rt_sigreturn", "tgkill",
	/* a thread started just before the filter may not have run glibc's start-up yet (rseq
	 * failing there is fatal) */
	"rseq", "set_robust_list",
	/* the event loop: signalfd, timerfd, eventfd, the hook executor's socket */
	"poll", "ppoll", "recvfrom",
	/* netlink (events, unsubscribe); syslog and sd_notify (socket: AF_UNIX only) */
	"recvmmsg", "recvmsg", "sendto", "connect",
	/* user and group names at a reload through NSS modules over AF_UNIX
	 * sockets (nscd, sss, systemd-userdb): else they read as "unknown" */
	"sendmsg", "getsockopt", "fcntl",
	/* a journal entry too large for a datagram: a sealed memfd (fcntl above) */
	"memfd_create",
	/* acting on processes: pin, signal; stop the hook executor */
	"pidfd_open", "pidfd_send_signal", "kill", "wait4",
	/* the exec watch by names: a directory's path from its handle (the mount
	 * point checked with fstatfs); an exe's filesystem (statx) */
	"open_by_handle_at", "fstatfs", "statx",
	/* the gate: a file whose verdict cannot change is not held again (an
	 * inode ignore mark; the gate's filesystem marks were made before) */
	"fanotify_mark",
	/* the listener stacks its own filter on itself (filters only narrow) */
	"seccomp", NULL,
};
/* clang-format on */

/* Stacked on the listener thread: receive, decode, pin, queue, kick the
 * evaluator (eventfd write); close a pidfd the full ring refused; exit. */
/* clang-format off */
static const char *const listener_calls[] = {
	"recvmmsg", "recvmsg", "pidfd_open", "openat", "close", "write", "clock_gettime",
	"restart_syscall", "newfstatat", "poll", "ppoll",
	/* the capture of an exec'd process: exe link, cmdline (ioctl: below) */
	"readlinkat", "read",
	"madvise", "rt_sigprocmask", "exit",
	"clock_nanosleep", "nanosleep", /* a pause after a failed receive; PROCWARDEN_TEST_PIN_DELAY_MS */
	NULL,
};
/* clang-format on */

/* The hook executor and the hooks it runs (they inherit it across execve):
 * what ordinary programs -- shells, coreutils, curl, logger -- need, without
 * the calls that change the system below them (modules, kexec, mounts, bpf,
 * ptrace, keyrings, clocks, reboot, swap, namespaces, io_uring) or reach into
 * other processes (pidfd_getfd); within the unit's SystemCallFilter=. */
/* clang-format off */
static const char *const hookexec_calls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2",
	"dup3", "pipe", "pipe2", "lseek", "sendfile", "splice", "tee", "copy_file_range", "fcntl",
	"ioctl", "flock", "fsync", "fdatasync", "sync_file_range", "stat", "fstat", "lstat",
	"newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat",
	"rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
	"symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
	"fchownat", "truncate", "ftruncate", "fallocate", "fadvise64", "utimensat", "futimesat",
	"utimes", "utime", "umask", "mknod", "mknodat", "getxattr", "lgetxattr", "fgetxattr",
	"listxattr", "llistxattr", "flistxattr", "setxattr", "fsetxattr", "lsetxattr",
	"removexattr", "fremovexattr", "lremovexattr", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "memfd_create",
	/* memory */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mlock", "munlock", "msync",
	"mincore", "membarrier",
	/* processes */
	"fork", "vfork", "clone", "clone3", "execve", "execveat", "exit", "exit_group", "wait4",
	"waitid", "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid",
	"getpgrp", "getsid", "setsid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	"getresgid", "getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setgroups", "setfsuid", "setfsgid", "capget", "capset", "prctl", "arch_prctl",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq", "getrlimit", "setrlimit",
	"prlimit64", "getrusage", "times", "getpriority", "setpriority", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler",
	"sched_get_priority_max", "sched_get_priority_min", "uname", "sysinfo", "getrandom",
	"pidfd_open", "pidfd_send_signal", "seccomp",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigqueueinfo", "sigaltstack", "pause", "alarm", "signalfd4",
	"restart_syscall",
	/* time and waiting */
	"futex", "futex_waitv", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "getitimer", "setitimer", "timer_create", "timer_settime",
	"timer_gettime", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"eventfd2", "poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2",
	/* network and local IPC */
	"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "getsockname",
	"getpeername", "getsockopt", "setsockopt", "shutdown", "sendto", "sendmsg", "sendmmsg",
	"recvfrom", "recvmsg", "recvmmsg", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", NULL,
};
/* clang-format on */

/* The mount watcher (src/source/mounts.c): wait for a mount notification,
 * read the mount table, stat and mark a filesystem, report it on a pipe. */
/* clang-format off */
static const char *const mounts_calls[] = {
	"read", "write", "close", "newfstatat", "fstat", "lseek", "statfs", "fstatfs", "poll",
	"ppoll", "brk", "mmap", "munmap", "mremap", "madvise", "restart_syscall", "rt_sigreturn",
	"exit", "exit_group",
	/* with argument checks (sandbox_apply): openat read-only, fanotify_mark adding marks */
	NULL,
};
/* clang-format on */

#ifdef PW_SANITIZED
/* What the ASan/LSan runtimes call in the agent's threads (leak check at
 * exit: StopTheWorld clones a tracer that ptraces every thread). */
/* clang-format off */
static const char *const sanitizer_calls[] = {
	"clone", "ptrace", "wait4", "waitid", "prctl", "sigaltstack", "rt_sigaction", "open",
	"openat", "read", "close", "getdents", "getdents64", "stat", "lstat", "access",
	"sched_yield", "sched_getaffinity", "getpid", "gettid", "tgkill", "mmap", "munmap",
	"mprotect", "madvise", "write", "exit", "exit_group", "readlink", "readlinkat", "getrlimit",
	"prlimit64", "newfstatat", "fstat", "pipe2", "nanosleep", "clock_nanosleep", "uname", "dup",
	"dup2", "dup3", "lseek", "getppid", NULL,
};
/* clang-format on */
#endif

/* The lists of profile p (the second one only in sanitizer builds). */
static void profile_lists(enum sandbox_profile p, const char *const **l1, const char *const **l2)
{
	*l1 = p == SANDBOX_AGENT      ? agent_calls
	      : p == SANDBOX_LISTENER ? listener_calls
	      : p == SANDBOX_MOUNTS   ? mounts_calls
	                              : hookexec_calls;
	*l2 = NULL;
#ifdef PW_SANITIZED
	if (p != SANDBOX_HOOKEXEC)
		*l2 = sanitizer_calls;
#endif
}

const char *const *sandbox_syscalls(enum sandbox_profile p)
{
	const char *const *l1, *const *l2;

	profile_lists(p, &l1, &l2);
	return l1;
}

/* Allow every call of a NULL-terminated list (names this architecture or
 * libseccomp does not know are skipped). */
static int add_list(scmp_filter_ctx ctx, const char *const *names)
{
	for (size_t i = 0; names && names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

int sandbox_apply(enum sandbox_profile p, unsigned flags)
{
	const char *const *l1, *const *l2;
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	profile_lists(p, &l1, &l2);
	r = add_list(ctx, l1);
	if (r == 0)
		r = add_list(ctx, l2);
	if (r == 0 && p == SANDBOX_AGENT) { /* syslog's /dev/log and sd_notify */
		struct scmp_arg_cmp c = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX};

		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &c);
	}
	if (r == 0 && p != SANDBOX_HOOKEXEC && p != SANDBOX_MOUNTS) { /* a pinned process's ids */
		struct scmp_arg_cmp c = {.arg = 1,
		                         .op = SCMP_CMP_MASKED_EQ,
		                         .datum_a = 0xffffffffu,
		                         .datum_b = PIDFD_GET_INFO_CMD};

		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &c);
	}
	if (r == 0 && p == SANDBOX_MOUNTS) { /* reads files, adds marks: nothing else */
		struct scmp_arg_cmp ro = {.arg = 2,
		                          .op = SCMP_CMP_MASKED_EQ,
		                          .datum_a = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND,
		                          .datum_b = O_RDONLY};
		struct scmp_arg_cmp add = {.arg = 1,
		                           .op = SCMP_CMP_MASKED_EQ,
		                           .datum_a = FAN_MARK_ADD | FAN_MARK_REMOVE |
		                                      FAN_MARK_FLUSH | FAN_MARK_IGNORED_MASK |
		                                      0x400 /* IGNORE */,
		                           .datum_b = FAN_MARK_ADD};

		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &ro);
		if (r == 0)
			r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fanotify_mark), 1,
			                           &add);
	}
	if (r == 0 && (flags & SANDBOX_STACKED)) /* no_new_privs is set: no prctl */
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0 && (flags & SANDBOX_TSYNC))
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r > 0 ? -ESRCH : r;
}
