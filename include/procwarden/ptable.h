/*
 * ptable.h - the process table: the agent's memory of the machine, built
 * from the kernel's events.
 *
 * One entry per process (a reused pid is a new entry), holding what the
 * proc connector reported as it happened: the parent that forked it (kept
 * when it is reparented) and the exe and comm that parent had at the fork,
 * real and effective ids as inherited and as changed by uid/gid events, and
 * per exec the program, its file identity and the time.  /proc only fills
 * what events do not carry and confirms what is live; a value never learnt
 * stays unknown (its PT_K_* bit clear), never 0 or "".
 *
 * Lineage survives exits: an exited entry stays while a child that it
 * forked still lives (children hold a reference), and for PT_LINGER_NS
 * after its exit so that late events can still be named.  Bounded: at most
 * `capacity` entries; when full, the oldest exited entries go first (a
 * child's parent link is then cut, which a walk reports), and a fork or
 * exec with no room is counted (pt_stats.full) and left unknown.
 *
 * Not thread-safe: one thread (the pipeline's consumer) owns a table.
 * Pointers to entries are valid until the next call that changes the table.
 */
#ifndef PROCWARDEN_PTABLE_H
#define PROCWARDEN_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procwarden/procinfo.h"

#define PT_CAPACITY_DEFAULT 32768
#define PT_LINGER_NS 1000000000ull /* exited entries kept at least this long */
#define PT_DEPTH_MAX 64            /* ancestor walks stop here (then: cut) */
#define PT_COMM_MAX 16

/* What an entry knows (bits of pt_proc.known). */
enum {
	PT_K_UID = 1u << 0,
	PT_K_EUID = 1u << 1,
	PT_K_GID = 1u << 2,
	PT_K_EGID = 1u << 3,
	PT_K_EXE = 1u << 4,
	PT_K_COMM = 1u << 5,
	PT_K_FILE = 1u << 6,         /* dev and ino of the exe */
	PT_K_PARENT_EXE = 1u << 7,   /* the exe the parent had at the fork */
	PT_K_PARENT_COMM = 1u << 8,  /* the comm the parent had at the fork */
	PT_K_PPID = 1u << 9,         /* the forking parent's pid */
	PT_K_PARENT_FILE = 1u << 10, /* the identity of the parent's exe at the fork */
};
#define PT_K_IDS (PT_K_UID | PT_K_EUID | PT_K_GID | PT_K_EGID)

/* How an entry came to be (pt_proc.origin). */
enum pt_origin {
	PT_FORKED = 0,    /* a fork event */
	PT_SCANNED = 1,   /* the start scan or a rescan of /proc: ppid is the current one */
	PT_EXEC_ONLY = 2, /* an exec event of a pid whose fork was not seen */
};

/* A reference to an entry that detects reuse of its slot. */
struct pt_ref {
	uint32_t slot;
	uint32_t gen;
};

/* One process, as read by consumers (fields valid where `known` says). */
struct pt_proc {
	int32_t pid;
	int32_t ppid; /* the forking parent (PT_K_PPID) */
	uint32_t uid, euid, gid, egid;
	uint32_t known;                /* PT_K_* */
	uint32_t origin;               /* enum pt_origin */
	uint32_t execs;                /* exec events seen for it */
	struct pw_file_id file;        /* PT_K_FILE: the exe's identity */
	struct pw_file_id parent_file; /* PT_K_PARENT_FILE */
	uint64_t fork_ns;              /* CLOCK_MONOTONIC of its fork (or when scanned) */
	uint64_t exec_ns;              /* of its last exec, 0: none seen */
	uint64_t prev_exec_ns;         /* of the exec before that, 0: none seen */
	uint64_t exit_ns;              /* of its exit, 0: alive */
	uint64_t kill_ns;              /* when procwarden signalled it, 0: never */
	struct pt_ref kill_root;       /* the killed launch this kill descends from */
	int kill_signal;
	uint32_t descendants_signalled; /* as a kill root: its descendants signalled */
	char comm[PT_COMM_MAX];
	char parent_comm[PT_COMM_MAX];
	const char *exe;        /* PT_K_EXE; owned by the table */
	const char *parent_exe; /* PT_K_PARENT_EXE; owned by the table */
};

struct pt_stats {
	uint64_t entries; /* in use now */
	uint64_t live;    /* of which not exited */
	uint64_t capacity;
	uint64_t peak;           /* most entries in use at once */
	uint64_t full;           /* forks and execs that found no room */
	uint64_t evicted_linked; /* exited entries evicted while children still named them */
	uint64_t reused;         /* forks of a pid whose old entry had not exited (exit lost) */
	uint64_t strings;        /* distinct exe strings held */
	uint64_t bytes;          /* memory held (entries, index, strings) */
};

struct ptable;

/* A table of at most capacity entries (0: PT_CAPACITY_DEFAULT).  0 and
 * *ret, or -ENOMEM. */
int pt_new(size_t capacity, struct ptable **ret);
/* Free everything.  Accepts NULL. */
void pt_free(struct ptable *t);

/* The newest entry of pid (alive, or exited and still kept), or NULL. */
struct pt_proc *pt_get(struct ptable *t, pid_t pid);
/* The entry a reference names, or NULL when its slot was reused. */
struct pt_proc *pt_deref(struct ptable *t, struct pt_ref r);
/* A reference to e. */
struct pt_ref pt_ref_of(const struct ptable *t, const struct pt_proc *e);

/* Events, in the order the kernel reported them (ns: the event's
 * CLOCK_MONOTONIC time).  Each returns the entry concerned, or NULL when
 * there was no room (pt_fork, pt_exec) or no entry (the others). */
/* A new process (pid == tid): inherits ids, exe, comm from ppid's entry. */
struct pt_proc *pt_fork(struct ptable *t, pid_t ppid, pid_t pid, uint64_t ns);
/* An exec: the program is unknown until pt_set_exe(); euid/egid become
 * unconfirmed (a set-id program changes them without a uid event) and comm
 * unknown.  A pid with no entry gets one of origin PT_EXEC_ONLY. */
struct pt_proc *pt_exec(struct ptable *t, pid_t pid, uint64_t ns);
/* The process exited (pid == tid). */
struct pt_proc *pt_exit(struct ptable *t, pid_t pid, uint64_t ns);
/* uid/gid events: real and effective ids as changed. */
struct pt_proc *pt_uid(struct ptable *t, pid_t pid, uint32_t ruid, uint32_t euid);
struct pt_proc *pt_gid(struct ptable *t, pid_t pid, uint32_t rgid, uint32_t egid);
/* A comm event (prctl(PR_SET_NAME) or an exec's). */
struct pt_proc *pt_comm(struct ptable *t, pid_t pid, const char *comm);

/* A process found in /proc (start scan, rescan): its current parent, ids,
 * exe, comm as read (NULL / 0: unknown; known says which ids).  An existing
 * live entry of the same start is refreshed, not replaced.  NULL: no room. */
struct pt_proc *pt_scanned(struct ptable *t, pid_t pid, pid_t ppid, uint64_t start_ns,
                           uint32_t known, uint32_t uid, uint32_t euid, uint32_t gid, uint32_t egid,
                           const char *exe, const char *comm);

/* What the consumer learnt of e's current program.  exe NULL leaves it;
 * file NULL: its identity stays as it is.  0, or -ENOMEM (exe unknown). */
int pt_set_exe(struct ptable *t, struct pt_proc *e, const char *exe, const struct pw_file_id *file);
/* A comm read from /proc. */
void pt_set_comm(struct pt_proc *e, const char *comm);

/* The parent entry that forked e (still kept), or NULL. */
struct pt_proc *pt_parent(struct ptable *t, const struct pt_proc *e);

/* Visit e's ancestors' exes as they were when each forked the next one
 * down: e's parent's exe at e's fork first, then the grandparent's at the
 * parent's fork, ..., up to PT_DEPTH_MAX.  fn gets each exe and the
 * identity of its file (NULL: unknown) and its depth (1: parent); a non-zero return stops the walk
 * and is returned.  Otherwise returns 0 when the walk reached the root (pid 1, a kernel thread, or
 * a process with no parent), or PT_WALK_CUT when the lineage was cut (a parent evicted or never
 * seen, or PT_DEPTH_MAX). */
#define PT_WALK_CUT (-1)
int pt_walk_ancestors(struct ptable *t, const struct pt_proc *e,
                      int (*fn)(const char *exe, const struct pw_file_id *file, unsigned depth,
                                void *arg),
                      void *arg);

/* Free entries that exited more than PT_LINGER_NS before now_ns and that
 * no child names any more.  Cheap when there is nothing to do. */
void pt_expire(struct ptable *t, uint64_t now_ns);
/* Every live entry is marked unconfirmed after an overrun (events lost):
 * entries not refreshed by the rescan (pt_scanned) before the next call to
 * pt_resync_end() are taken as exited at now_ns. */
void pt_resync_begin(struct ptable *t);
/* During a resync: pid, started at start_ns, is in /proc (its live entry,
 * if of the same start, stays). */
void pt_confirm(struct ptable *t, pid_t pid, uint64_t start_ns);
void pt_resync_end(struct ptable *t, uint64_t now_ns);

void pt_get_stats(const struct ptable *t, struct pt_stats *ret);

#endif
