/*
 * sandbox.h - seccomp allowlists (libseccomp) for the agent's threads and
 * for the hook executor.
 *
 * A profile is a list of system calls (a few with argument checks); anything
 * else fails with EPERM.  sandbox_apply() sets no_new_privs and loads the
 * profile on the calling thread, or with SANDBOX_TSYNC on every thread of the
 * process at once.  Filters stack: a thread that already runs under the agent
 * profile can add the narrower listener profile on itself.
 */
#ifndef PROCWARDEN_SANDBOX_H
#define PROCWARDEN_SANDBOX_H

enum sandbox_profile {
	SANDBOX_AGENT,    /* the agent after setup: evaluator, output writer, listener */
	SANDBOX_LISTENER, /* stacked on the listener thread: receive, pin, queue */
	SANDBOX_HOOKEXEC, /* the hook executor and, inherited, the hooks it runs */
	SANDBOX_MOUNTS,   /* the mount watcher (mounts.h) */
};

#define SANDBOX_TSYNC 1u   /* every thread of the process, atomically */
#define SANDBOX_STACKED 2u /* on top of a filter: no_new_privs is already set */

/* Load profile p (flags: SANDBOX_TSYNC, SANDBOX_STACKED).  0, or negative errno (-ESRCH:
 * a thread could not be synchronised).  Nothing is loaded on failure. */
int sandbox_apply(enum sandbox_profile p, unsigned flags);
/* The system call names of profile p, NULL-terminated (static; the build's
 * extras for the sanitizer runtimes included). */
const char *const *sandbox_syscalls(enum sandbox_profile p);

#endif
