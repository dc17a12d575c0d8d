/*
 * launch.h - the launch pipeline's shared step between the source and a
 * consumer: what the process table and the listener's capture know of a
 * launch, as a struct proc_info, for the agent's evaluator and for
 * `monitor`'s printer alike.
 *
 * A consumer pops events from the listener's ring, keeps its table with
 * launch_table_event() (fork, exit, uid, gid, comm), and for an exec fills
 * a proc_info from the table (launch_from_table()), from the capture once
 * it is proven (launch_capture_proven(), launch_from_capture()), and from
 * /proc for what neither holds; then it tells the table what it learnt
 * (launch_learn()) and frees the capture (nl_source_capture_done()).
 */
#ifndef PROCWARDEN_LAUNCH_H
#define PROCWARDEN_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>

#include "procwarden/event.h"
#include "procwarden/procinfo.h"

struct nl_source;
struct ptable;
struct pt_proc;

/* How long a consumer waits for the listener before trusting a pidfd. */
#define LAUNCH_VERIFY_WAIT_US 100000

/* Is the process behind a pidfd opened at pin_ns for pid the one that
 * existed at since_ns?  0 yes; -ESRCH it has exited since; -ETIMEDOUT or
 * -EAGAIN the listener cannot tell.  See nl.h: identity before a signal. */
int launch_pinned(struct nl_source *src, int32_t pid, uint64_t since_ns, uint64_t pin_ns);

/* A capture that shows a command line (PW_CAP_ARGV) was read after the
 * kernel wrote the argv of the program that the process then ran
 * (create_elf_tables(); before it, cmdline reads empty: PW_CAP_RACED).
 * From there to that exec's event the kernel only finishes the exec: a few
 * microseconds, unless it is preempted in between.  An exec whose event
 * came more than this after the capture was not what it read. */
#define LAUNCH_EXEC_TAIL_NS 1000000ull

/* May ev's capture be taken as this exec's?  Its pidfd names the launch and
 * no later exec of the pid came before the capture (nor within
 * LAUNCH_EXEC_TAIL_NS after it: a capture in an exec chain is kept when the
 * next exec came later than that). */
bool launch_capture_proven(struct nl_source *src, const struct pw_event *ev);

/* What the table knew of e when its exec event came: the forking parent,
 * its exe, file and comm then, the ids as inherited and changed by events;
 * the ancestors above the parent when asked (PI_ANCESTORS_CUT when the
 * walk was cut or an exe was never learnt). */
void launch_from_table(struct ptable *t, const struct pt_proc *e, struct proc_info *pi,
                       bool ancestors);

/* The proven capture: exe, its file, argv, and the ids the table did not
 * know (the effective ids after an exec: a set-id program changes them
 * silently); *ret_ppid_now the parent at the capture. */
void launch_from_capture(const struct nl_source *src, const struct pw_event *ev,
                         struct proc_info *pi, int32_t *ret_ppid_now);

/* The table learns what /proc, the capture and the watch told of e. */
void launch_learn(struct ptable *t, struct pt_proc *e, const struct proc_info *pi);

/* A fork from a parent the table does not know: read the parent from /proc
 * (pinned, proven, and started before the fork) into the table.  pi is
 * scratch space. */
void launch_seed(struct ptable *t, struct nl_source *src, int procfd, int32_t pid, uint64_t fork_ns,
                 struct proc_info *pi);

struct exe_hints;
struct gate;
struct proc_read_stats;

/* What a consumer's pipeline shares between launches. */
struct launch_ctx {
	struct ptable *pt;
	struct nl_source *src;
	int procfd;
	struct exe_hints *hints; /* the exec watch's notes, or NULL */
	struct gate *watch;      /* the exec watch, or NULL */
	struct proc_read_stats *rs;
	/* counters */
	uint64_t captured;        /* launches read from the listener's capture */
	uint64_t capture_refused; /* captures not taken: a later exec, or gone before the pin */
	uint64_t chains_by_file;  /* exec chains told by the file the listener saw */
	uint64_t exe_from_watch;  /* exes named by the exec watch's notes */
	uint64_t exe_pins;        /* exes pinned by the listener (an O_PATH fd) */
};

/* How a delivered exec was resolved. */
struct launch_view {
	bool same;        /* what /proc showed was this exec's: the process ran it on */
	bool pinned;      /* the pidfd names the launch (it had not exited) */
	bool chained;     /* the process exec'd again since (an exec chain) */
	int32_t ppid_now; /* its parent now, 0: not read */
};

/* Resolve a delivered exec (e: its table entry, from pt_exec()) into pi:
 * the table (ancestors when asked), the pinned exe, the proven capture, the
 * reads of what (PROC_READ_*) from /proc for the rest -- all of them
 * dropped again unless the pidfd shows they were of this process and no
 * later exec replaced it (then the launch is the table's view, gone) --
 * and, for an exe still unknown, the exec watch's note. */
void launch_resolve(struct launch_ctx *c, const struct pw_event *ev, const struct pt_proc *e,
                    unsigned what, bool ancestors, struct proc_info *pi, struct launch_view *v);

/* The table follows an event other than an exec (fork, exit, uid, gid,
 * comm); returns the entry it is about, or NULL. */
struct pt_proc *launch_table_event(struct ptable *t, const struct pw_event *ev);

#endif
