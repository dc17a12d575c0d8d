/*
 * launch.c - what the table and the listener's capture know of a launch,
 * for every consumer of the pipeline (the agent's evaluator, `monitor`).
 * See launch.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procwarden/clock.h"
#include "procwarden/exehint.h"
#include "procwarden/launch.h"
#include "procwarden/nl.h"
#include "procwarden/proc.h"
#include "procwarden/ptable.h"

int launch_pinned(struct nl_source *src, int32_t pid, uint64_t since_ns, uint64_t pin_ns)
{
	int r;

	if (!pin_ns)
		return -EAGAIN;
	r = nl_source_sync(src, pin_ns, LAUNCH_VERIFY_WAIT_US);
	if (r < 0)
		return r;
	r = nl_source_exited(src, pid, since_ns);
	return r == 1 ? -ESRCH : r;
}

bool launch_capture_proven(struct nl_source *src, const struct pw_event *ev)
{
	uint64_t next = 0;

	/* the pidfd named it (it had not exited before the pin; it may have
	 * since: the capture's reads were made before, it was running or
	 * unreaped after them) */
	if (!ev->cap || (ev->cap & PW_CAP_RACED) || ev->pidfd < 0 ||
	    nl_source_sync(src, ev->cap_ns, LAUNCH_VERIFY_WAIT_US) < 0 ||
	    nl_source_gone_before(src, ev->pid, ev->ktime_ns, ev->pin_ns) != 0)
		return false;
	/* events lost since the exec (an exit, a fork, a later exec among
	 * them?): the slots cannot prove it */
	if (nl_source_lost_ns(src) >= ev->ktime_ns)
		return false;
	switch (nl_source_execs_after(src, ev->pid, ev->ktime_ns, &next)) {
	case 0:
		return true;
	case 1:
		/* a later exec, whose argv the capture could not have shown
		 * more than LAUNCH_EXEC_TAIL_NS before its event */
		return next > ev->cap_ns + LAUNCH_EXEC_TAIL_NS;
	default:
		return false;
	}
}

/* Ancestors from the table: the exes each ancestor above the parent had
 * when it forked the next one down (walk callback). */
struct lineage {
	struct proc_info *pi;
	size_t used;
};
static int lineage_add(const char *exe, const struct pw_file_id *file, unsigned depth, void *arg)
{
	struct lineage *l = arg;
	struct proc_info *pi = l->pi;
	size_t len = exe ? strlen(exe) : 0;

	if (depth == 1)
		return 0; /* the parent: parent_exe */
	if (!exe)
		pi->flags |= PI_ANCESTORS_CUT;
	if (pi->n_ancestors >= PW_ANCESTORS_MAX || len + 1 > sizeof(pi->ancestors) - l->used) {
		pi->flags |= PI_ANCESTORS_CUT;
		return 1;
	}
	memcpy(pi->ancestors + l->used, exe ? exe : "", len + 1);
	l->used += len + 1;
	if (file) {
		pi->anc_file[pi->n_ancestors] = *file;
		pi->anc_file_known |= 1ull << pi->n_ancestors;
	}
	pi->n_ancestors++;
	return 0;
}

/* What the table knew of e when its exec event came: the forking parent,
 * its exe and comm then, the ids as inherited and changed by events. */
void launch_from_table(struct ptable *t, const struct pt_proc *e, struct proc_info *pi,
                       bool ancestors)
{
	static const struct {
		uint32_t k, h;
	} ids[] = {{PT_K_UID, PI_HAVE_UID},
	           {PT_K_EUID, PI_HAVE_EUID},
	           {PT_K_GID, PI_HAVE_GID},
	           {PT_K_EGID, PI_HAVE_EGID}};

	if (e->known & PT_K_PPID) {
		pi->ppid = e->ppid;
		pi->have |= PI_HAVE_PPID;
	}
	pi->uid = e->uid;
	pi->euid = e->euid;
	pi->gid = e->gid;
	pi->egid = e->egid;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (e->known & ids[i].k)
			pi->have |= ids[i].h;
	if (e->known & PT_K_PARENT_EXE) {
		snprintf(pi->parent_exe, sizeof(pi->parent_exe), "%s", e->parent_exe);
		pi->have |= PI_HAVE_PARENT_EXE;
	}
	if (e->known & PT_K_PARENT_FILE) {
		pi->parent_file = e->parent_file;
		pi->have |= PI_HAVE_PARENT_FILE;
	}
	if (e->known & PT_K_PARENT_COMM) {
		memcpy(pi->parent_comm, e->parent_comm, sizeof(pi->parent_comm));
		pi->have |= PI_HAVE_PARENT_COMM;
	}
	if (ancestors) {
		struct lineage l = {.pi = pi};
		if (pt_walk_ancestors(t, e, lineage_add, &l) == PT_WALK_CUT)
			pi->flags |= PI_ANCESTORS_CUT;
		pi->ancestors_len = (uint32_t)l.used;
		pi->have |= PI_HAVE_ANCESTORS;
	}
}

/* What the listener read of the process right after pinning it (proven:
 * the pidfd names the launch, no later exec came before the reads): exe,
 * its file, argv, and the ids the table did not know (the effective ids
 * after an exec: a set-id program changes them silently). */
void launch_from_capture(const struct nl_source *src, const struct pw_event *ev,
                         struct proc_info *pi, int32_t *ret_ppid_now)
{
	static const uint32_t bit[4] = {PI_HAVE_UID, PI_HAVE_EUID, PI_HAVE_GID, PI_HAVE_EGID};
	uint32_t *dst[4] = {&pi->uid, &pi->euid, &pi->gid, &pi->egid};
	const char *text = nl_source_capture_text(src, ev);

	if (ev->cap & PW_CAP_EXE) {
		pi->flags &= ~(PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED);
		proc_set_exe(pi, text, ev->cap_exe_len);
		if ((ev->cap & PW_CAP_LINKED) && !(pi->flags & PI_EXE_MEMFD))
			pi->flags &= ~(uint32_t)PI_EXE_DELETED; /* still linked: not fileless */
	}
	if (ev->has_file) {
		pi->exe_file = ev->file;
		pi->have |= PI_HAVE_EXE_FILE;
	}
	if ((ev->cap & (PW_CAP_ARGV | PW_CAP_ARGV_CUT)) == PW_CAP_ARGV)
		proc_set_argv(pi, text + ev->cap_exe_len, ev->cap_argv_len, 0);
	if (ev->cap & PW_CAP_IDS) {
		for (int i = 0; i < 4; i++)
			if (!(pi->have & bit[i])) {
				*dst[i] = ev->cap_ids[i];
				pi->have |= bit[i];
			}
		if (!(pi->have & PI_HAVE_PPID)) {
			pi->ppid = ev->cap_ppid;
			pi->have |= PI_HAVE_PPID;
		}
		*ret_ppid_now = ev->cap_ppid;
	}
}

/* The table learns what /proc, the capture and the watch told of e's
 * program. */
void launch_learn(struct ptable *t, struct pt_proc *e, const struct proc_info *pi)
{
	if ((pi->have & PI_HAVE_EXE) && !(e->known & PT_K_EXE))
		pt_set_exe(t, e, pi->exe, NULL);
	if (pi->have & PI_HAVE_EXE_FILE)
		pt_set_exe(t, e, NULL, &pi->exe_file);
	if ((pi->have & PI_HAVE_COMM) && !(e->known & PT_K_COMM))
		pt_set_comm(e, pi->comm);
	if ((pi->have & PI_HAVE_EUID) && !(e->known & PT_K_EUID)) {
		e->euid = pi->euid;
		e->known |= PT_K_EUID;
	}
	if ((pi->have & PI_HAVE_EGID) && !(e->known & PT_K_EGID)) {
		e->egid = pi->egid;
		e->known |= PT_K_EGID;
	}
}

void launch_seed(struct ptable *t, struct nl_source *src, int procfd, int32_t pid, uint64_t fork_ns,
                 struct proc_info *pi)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t pin_ns = pw_now_mono();

	if (pidfd < 0)
		return;
	proc_info_reset(pi, pid);
	proc_read(procfd, pidfd, pid,
	          PROC_READ_EXE | PROC_READ_EXE_FILE | PROC_READ_STAT | PROC_READ_IDS, pi, NULL);
	if (launch_pinned(src, pid, fork_ns, pin_ns) == 0 && !proc_pidfd_reaped(pidfd) &&
	    (pi->have & PI_HAVE_STAT) && proc_info_is_event_process(pi, fork_ns)) {
		struct pt_proc *e = pt_scanned(
		    t, pid, pi->ppid, pw_ticks_to_mono(pi->start_time),
		    (pi->have & PI_HAVE_IDS) == PI_HAVE_IDS ? PT_K_IDS : 0, pi->uid, pi->euid,
		    pi->gid, pi->egid, pi->have & PI_HAVE_EXE ? pi->exe : NULL, pi->comm);
		if (e && (pi->have & PI_HAVE_EXE_FILE))
			pt_set_exe(t, e, NULL, &pi->exe_file);
	}
	close(pidfd);
}

struct pt_proc *launch_table_event(struct ptable *t, const struct pw_event *ev)
{
	switch (ev->type) {
	case PW_EV_FORK:
		return pt_fork(t, ev->ppid, ev->pid, ev->ktime_ns);
	case PW_EV_EXIT:
		return pt_exit(t, ev->pid, ev->ktime_ns);
	case PW_EV_UID:
		return pt_uid(t, ev->pid, ev->a, ev->b);
	case PW_EV_GID:
		return pt_gid(t, ev->pid, ev->a, ev->b);
	case PW_EV_COMM:
		return ev->pid == ev->tid ? pt_comm(t, ev->pid, ev->comm) : pt_get(t, ev->pid);
	default:
		return pt_get(t, ev->pid);
	}
}

/* What /proc showed may be another's (or a later exec's): the launch as
 * the table knew it, with the exe pinned with it (exefd, or -1), and the
 * listener's capture when it was proven (cap), gone. */
static void table_view(struct launch_ctx *c, const struct pt_proc *e, struct proc_info *pi,
                       bool ancestors, int exefd, const struct pw_event *cap)
{
	int32_t ppid_now;

	proc_info_reset(pi, pi->pid);
	launch_from_table(c->pt, e, pi, ancestors);
	proc_exe_from_fd(c->procfd, exefd, pi);
	if (cap)
		launch_from_capture(c->src, cap, pi, &ppid_now);
	pi->flags |= PI_GONE;
}

/* Ids of the pinned process fill what the table did not know (the
 * effective ids after an exec: a set-id program changes them silently). */
static void ids_from_pidfd(int pidfd, struct proc_info *pi, int32_t *ret_ppid_now)
{
	static const uint32_t bit[4] = {PI_HAVE_UID, PI_HAVE_EUID, PI_HAVE_GID, PI_HAVE_EGID};
	uint32_t ids[4], *dst[4] = {&pi->uid, &pi->euid, &pi->gid, &pi->egid};
	int32_t ppid;

	if (proc_pidfd_ids(pidfd, ids, &ppid) < 0)
		return;
	for (int i = 0; i < 4; i++)
		if (!(pi->have & bit[i])) {
			*dst[i] = ids[i];
			pi->have |= bit[i];
		}
	if (!(pi->have & PI_HAVE_PPID)) {
		pi->ppid = ppid;
		pi->have |= PI_HAVE_PPID;
	}
	*ret_ppid_now = ppid;
}

void launch_resolve(struct launch_ctx *c, const struct pw_event *ev, const struct pt_proc *e,
                    unsigned what, bool ancestors, struct proc_info *pi, struct launch_view *v)
{
	bool cap_ok = false;

	*v = (struct launch_view){.same = true};
	proc_info_reset(pi, ev->pid);
	launch_from_table(c->pt, e, pi, ancestors);
	unsigned keep = pi->have;
	int32_t tppid = pi->ppid;
	/* pinned by the listener with the process: known even if it is gone */
	proc_exe_from_fd(c->procfd, ev->exefd, pi);
	if (ev->exefd >= 0)
		c->exe_pins++;
	if (ev->cap) {
		/* the listener's capture, of this process (the pidfd names it)
		 * and of this exec (none followed before the reads): /proc is
		 * read below only for what it lacks */
		cap_ok = launch_capture_proven(c->src, ev);
		v->pinned =
		    ev->pidfd >= 0 && launch_pinned(c->src, ev->pid, ev->ktime_ns, ev->cap_ns) == 0;
		if (!cap_ok && !(ev->cap & PW_CAP_RACED))
			c->capture_refused++; /* a later exec may be what it read, or gone before
			                         the pin */
		if (cap_ok) {
			launch_from_capture(c->src, ev, pi, &v->ppid_now);
			c->captured++;
		}
	} else {
		v->pinned =
		    ev->pidfd >= 0 && launch_pinned(c->src, ev->pid, ev->ktime_ns, ev->pin_ns) == 0;
	}
	/* caught exiting or in a later exec: /proc shows nothing of this one */
	if (ev->cap & PW_CAP_RACED)
		what &= ~(unsigned)(PROC_READ_EXE | PROC_READ_EXE_FILE | PROC_READ_ARGV);
	/* /proc (a short-lived launch goes fast); then whether the pidfd names
	 * the launch (it did not exit before the pidfd was opened) and the
	 * reads were of it (it was not reaped before they ended) */
	proc_read(c->procfd, -1, ev->pid, what, pi, c->rs);
	if (v->pinned)
		ids_from_pidfd(ev->pidfd, pi, &v->ppid_now);
	if (pi->have & PI_HAVE_STAT)
		v->ppid_now = pi->ppid;
	if (keep & PI_HAVE_PPID)
		pi->ppid = tppid; /* the forking parent, not the current one */
	/* reads of /proc/PID after the process was reaped may be of another,
	 * and after a later exec are of that program (an exec chain): only the
	 * table, the pinned exe and a proven capture are sure then */
	v->chained = nl_source_execd(c->src, ev->pid, ev->ktime_ns) != 0;
	/* a later exec whose event is still on its way: its program replaced
	 * this one before the kernel sent that event; the listener's stat,
	 * right after this exec's event, shows which program this exec ran --
	 * another file now is another exec */
	struct pw_file_id now = pi->exe_file;
	bool have_now = (pi->have & PI_HAVE_EXE_FILE) != 0;
	if (cap_ok) /* pi has the capture's file: what /proc read after it shows now */
		have_now = proc_exe_file(c->procfd, ev->pid, &now) == 0;
	if (!v->chained && ev->has_file && have_now && !pw_file_id_equal(&ev->file, &now)) {
		v->chained = true;
		c->chains_by_file++;
	}
	if (ev->pidfd < 0 && !v->chained) {
		/* no pidfd (gone before the pin, or a kernel or valgrind without
		 * pidfd_open): the start time tells a newer process */
		v->same = proc_info_is_event_process(pi, ev->ktime_ns);
		if (!v->same)
			table_view(c, e, pi, ancestors, -1, NULL);
	} else if (!v->pinned || v->chained || proc_pidfd_reaped(ev->pidfd)) {
		/* a proven capture was of this exec, even in a chain */
		table_view(c, e, pi, ancestors, v->pinned ? ev->exefd : -1, cap_ok ? ev : NULL);
		v->same = false;
	}
	/* the listener's stat of the program, proven by its pidfd (the process
	 * ran on after it): of this exec unless another one followed */
	if (v->pinned && !v->chained && ev->has_file && !(pi->have & PI_HAVE_EXE_FILE)) {
		pi->exe_file = ev->file;
		pi->have |= PI_HAVE_EXE_FILE;
	}
	/* gone before /proc showed it: the watch saw what it ran (it keeps one
	 * note per pid: in an exec chain it may be the other exec's, so it
	 * names no exec of a chain; and it is counted: a note is given only to
	 * the exec whose number among the process's execs it has -- not to an
	 * earlier one whose later exec's event is still on its way) */
	if (pi->have & PI_HAVE_EXE)
		return;
	if (!v->chained && nl_source_execd(c->src, ev->pid, ev->ktime_ns) != 0)
		v->chained = true;
	if (c->hints && !v->chained &&
	    exe_hint_name(c->hints, c->watch, ev->pid, ev->ktime_ns, e->prev_exec_ns,
	                  e->origin == PT_FORKED ? e->execs : 0, e->fork_ns, pw_now_mono(), pi))
		c->exe_from_watch++;
}
