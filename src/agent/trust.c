/*
 * trust.c - the ownership and mode rule for policy files and hooks.
 *
 * Overview: pure logic over a stat callback, so that unit tests can run it
 * on an invented tree.  The rule is OpenSSH's for its key files: a file
 * anyone but root (or the agent's own uid) could have written or replaced --
 * through its own mode or through any directory above it -- is not trusted.
 * harden.c resolves symlinks and composes the message for people.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/trust.h"

/* "others" (then anyone can) or "group" for a mode, or NULL. */
static const char *writable_by(mode_t m)
{
	if (m & S_IWOTH)
		return "others";
	if (m & S_IWGRP)
		return "group";
	return NULL;
}

/* Check one path's owner and mode; 0 or -EPERM with why filled. */
static int check_one(const char *path, const struct stat *st, uid_t owner, char *why, size_t whylen)
{
	const char *kind = S_ISDIR(st->st_mode) ? "directory" : "file";
	const char *w = writable_by(st->st_mode);

	if (st->st_uid != 0 && st->st_uid != owner) {
		snprintf(why, whylen, "%s '%s' is owned by uid %u, not root", kind, path,
		         (unsigned)st->st_uid);
		return -EPERM;
	}
	if (w) {
		snprintf(why, whylen, "%s '%s' is writable by %s (mode %04o)", kind, path, w,
		         (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int trust_check_chain(const char *path, uid_t owner, trust_stat_fn st_fn, void *arg, char *why,
                      size_t whylen, bool *ret_is_target)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	bool target = true;
	struct stat st;
	int r;

	*ret_is_target = false;
	if (path[0] != '/' || len >= sizeof(buf)) {
		snprintf(why, whylen, "'%s' is not an absolute path", path);
		return -EINVAL;
	}
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (;;) {
		r = st_fn(buf, &st, arg);
		if (r < 0) {
			snprintf(why, whylen, "cannot check '%s': %s", buf, strerror(-r));
			return r;
		}
		r = check_one(buf, &st, owner, why, whylen);
		if (r < 0) {
			*ret_is_target = target;
			return r;
		}
		if (len == 1)
			return 0; /* "/" checked */
		/* up one directory */
		while (len > 1 && buf[len - 1] != '/')
			len--;
		while (len > 1 && buf[len - 1] == '/')
			len--;
		buf[len] = '\0';
		target = false;
	}
}
