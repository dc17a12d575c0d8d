/* Internal to src/agent: is a path safe from everyone but its owner? */
#ifndef PROCWARDEN_AGENT_TRUST_H
#define PROCWARDEN_AGENT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* stat(2) as the checker sees it (a test passes a fake tree).  0 or -errno. */
typedef int (*trust_stat_fn)(const char *path, struct stat *st, void *arg);

/* Check path (absolute and canonical: no symlink, "." or ".." inside) and
 * every directory above it up to "/": each must be owned by root or by uid
 * owner, and writable by neither group nor others (a sticky world-writable
 * directory such as /tmp included).  Returns 0; -EPERM with why filled (the
 * offending path and why, e.g. "directory '/tmp' is writable by others (mode
 * 1777)") and *ret_is_target set when path itself, not a directory above it,
 * is at fault; or the negative errno of st with why filled. */
int trust_check_chain(const char *path, uid_t owner, trust_stat_fn st, void *arg, char *why,
                      size_t whylen, bool *ret_is_target);

#endif
