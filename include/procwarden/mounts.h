/*
 * mounts.h - filesystems mounted after the agent started: the mount
 * watcher, a small process that marks them for the gate and the exec watch.
 *
 * Marking a filesystem needs CAP_SYS_ADMIN, which the agent gives up after
 * starting.  The watcher is forked before that and keeps it alone: it holds
 * the fanotify groups' fds and a mount-namespace mark (FAN_MNT_ATTACH,
 * Linux 6.14 and later), marks what a group's options cover as it appears
 * (gate_remark), and tells the agent through a pipe, whose end the agent
 * polls and reads (mount_watch_drain); a reload sends it the new policy's
 * deny directories through another (mount_watch_set_dirs).  It runs with CAP_SYS_ADMIN only and
 * a seccomp list of the few calls it makes (SANDBOX_MOUNTS), and dies with
 * the agent (PR_SET_PDEATHSIG): as long as it lives it holds the gate's
 * group open, so mount_watch_free() comes before gate_free().
 */
#ifndef PROCWARDEN_MOUNTS_H
#define PROCWARDEN_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct gate;
struct mount_watch;

/* Told of each filesystem marked later: its mount point, and which group
 * (0: gates[0], 1: gates[1]); or of what could not be marked (warning). */
typedef void (*mount_watch_fn)(void *arg, size_t group, const char *path, const char *warning);

/* Start watching for the groups gates[0..n) (NULL entries skipped; n <= 2),
 * before the capabilities go; confine: load SANDBOX_MOUNTS in the watcher.
 * 0 and *ret; -EINVAL with why when the kernel has no mount notifications;
 * another negative errno and why. */
int mount_watch_open(struct gate *const *gates, size_t n, bool confine, struct mount_watch **ret,
                     char *why, size_t whylen);
/* The fd to poll (POLLIN: reports to drain; POLLHUP: the watcher died). */
int mount_watch_fd(const struct mount_watch *mw);
/* Read what the watcher reported and adopt each mark into its gate
 * (gate_adopt); tell fn of it, and of what an earlier call without fn (a
 * gate's refresh, which must not write records) adopted.  0; -EPIPE once the
 * watcher is gone. */
int mount_watch_drain(struct mount_watch *mw, mount_watch_fn fn, void *arg);
/* A new policy's deny directories (or everywhere) for the gate, gates[0]:
 * the watcher marks what they cover, now and as it is mounted; this waits
 * up to timeout_ms for it and adopts the marks (told at the next drain).
 * 0, -ETIMEDOUT, -EPIPE (the watcher is gone), or another negative errno. */
int mount_watch_set_dirs(struct mount_watch *mw, const char *const *dirs, size_t n, bool everywhere,
                         unsigned timeout_ms);
/* Filesystems marked later so far. */
size_t mount_watch_marked(const struct mount_watch *mw);
/* Kill and reap the watcher, close the pipe. */
void mount_watch_free(struct mount_watch *mw);

#endif
