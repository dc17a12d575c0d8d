/*
 * event.h - the fixed-size value types that cross the queues.
 *
 * struct pw_event is what the listener thread pushes into the ring: one
 * decoded proc connector event, plus the pidfd it pinned for exec events.
 * No pointers inside; the ring copies it by value.  The pidfd and exefd (if
 * >= 0) are owned by the event: whoever pops it must close them.  The exefd
 * pins the program file the moment the event is received, so that a process
 * gone before it could be read still has its exe known.
 *
 * The capture (nl_source_capture()): what the listener read of an exec'd
 * process right after pinning it -- its exe link and cmdline (text in the
 * listener's arena, read with nl_source_capture_text()), the identity and
 * ids of its program and of itself -- kept only when the pidfd shows the
 * process still running after the reads (so they were of it).  A consumer
 * trusts it as far as it trusts the pidfd (nl.h: identity before a signal)
 * and after checking that no later exec of the pid came before cap_ns.
 */
#ifndef PROCWARDEN_EVENT_H
#define PROCWARDEN_EVENT_H

#include <stdint.h>
#include <sys/types.h>

#include "procwarden/procinfo.h"

/* Event kinds: the kernel's PROC_EVENT_* bit values, plus our own markers. */
enum pw_event_type {
	PW_EV_NONE = 0x00000000,
	PW_EV_FORK = 0x00000001,
	PW_EV_EXEC = 0x00000002,
	PW_EV_UID = 0x00000004,
	PW_EV_GID = 0x00000040,
	PW_EV_SID = 0x00000080,
	PW_EV_PTRACE = 0x00000100,
	PW_EV_COMM = 0x00000200,
	PW_EV_NONZERO_EXIT = 0x20000000, /* filter-only bit (Linux 6.6+) */
	PW_EV_COREDUMP = 0x40000000,
	PW_EV_EXIT = 0x80000000,
	/* Not from the kernel: a marker the listener queues after ENOBUFS. */
	PW_EV_OVERRUN = 0x00010000,
};

#define PW_EV_ALL_KERNEL                                                                           \
	(PW_EV_FORK | PW_EV_EXEC | PW_EV_UID | PW_EV_GID | PW_EV_SID | PW_EV_PTRACE | PW_EV_COMM | \
	 PW_EV_COREDUMP | PW_EV_EXIT)

/* What a capture holds (bits of pw_event.cap). */
enum {
	PW_CAP_EXE = 1u << 0,      /* cap_exe_len bytes of the exe link (no NUL) */
	PW_CAP_ARGV = 1u << 1,     /* cap_argv_len bytes of cmdline after it */
	PW_CAP_ARGV_CUT = 1u << 2, /* the cmdline filled the space: read it again */
	PW_CAP_IDS = 1u << 3,      /* cap_ids (real, effective uid and gid), cap_ppid */
	PW_CAP_LINKED = 1u << 4,   /* the program file has a link left (st_nlink > 0) */
	/* nothing else: the process ran on with no memory (exiting, or in a
	 * later exec whose program /proc already shows): /proc is no witness */
	PW_CAP_RACED = 1u << 5,
};

/* One decoded connector event. */
struct pw_event {
	uint32_t type;     /* enum pw_event_type */
	uint32_t cpu;      /* CPU the kernel reported it on */
	uint64_t ktime_ns; /* kernel timestamp: CLOCK_MONOTONIC ns */
	uint64_t rtime_ns; /* CLOCK_MONOTONIC ns when the listener received it */
	int32_t pid;       /* process (tgid) the event is about */
	int32_t tid;       /* thread id the event is about */
	int32_t ppid;      /* fork: parent tgid; exit/coredump: parent tgid; ptrace: tracer tgid */
	int32_t ptid;      /* fork: parent thread; ptrace: tracer thread */
	uint32_t a;        /* exit: exit code (wait status); uid/gid: real id; */
	uint32_t b;        /* exit: exit signal; uid/gid: effective id; ptrace: 0 */
	int32_t pidfd;     /* exec: pidfd pinned by the listener, or -1 */
	int32_t exefd;     /* exec: O_PATH fd of the program file pinned with it, or -1 */
	uint32_t overruns; /* PW_EV_OVERRUN: how many ENOBUFS this marker stands for */
	uint64_t pin_ns;   /* exec: CLOCK_MONOTONIC ns just after the pidfd was opened */
	uint32_t has_file; /* exec: file is the identity of its program (the capture) */
	struct pw_file_id file;
	uint32_t cap;          /* exec: PW_CAP_* (0: nothing captured) */
	uint32_t cap_exe_len;  /* PW_CAP_EXE */
	uint32_t cap_argv_len; /* PW_CAP_ARGV */
	int32_t cap_ppid;      /* PW_CAP_IDS: the parent at the capture */
	uint32_t cap_ids[4];   /* PW_CAP_IDS: uid, euid, gid, egid */
	uint64_t cap_off;      /* where its text is in the arena */
	uint64_t cap_ns;       /* CLOCK_MONOTONIC ns after the reads */
	char comm[16];         /* comm event: the new comm, NUL-terminated */
};

/* Name of an event type for people and JSON ("fork", "exec", ...), or "?". */
const char *pw_event_name(uint32_t type);

/* Parse a comma-separated list of event names into a mask.  Returns 0 and
 * stores the mask, or -EINVAL (bad name copied into bad, if given). */
int pw_event_parse_list(const char *list, uint32_t *ret_mask, char *bad, size_t badlen);

#endif
