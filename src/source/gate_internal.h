/*
 * gate_internal.h - the gate's mount-table parsing, shared with its unit
 * tests (tests/unit/test_source_mounts.c).
 */
#ifndef PROCWARDEN_GATE_INTERNAL_H
#define PROCWARDEN_GATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One line of a mount table. */
struct gate_mount {
	char *mp, *root, *type; /* mount point (unescaped), root, type */
	dev_t dev;              /* MAJ:MIN */
	bool noexec;
	size_t idx; /* its place in the table: a later mount on the same point
	             * hides an earlier one */
};

/* The lines of the mount table at path (a /proc/PID/mountinfo), sorted by
 * mount point and then by their place (the strings point into *text; free
 * both).  Unparsable lines are left out.  Number, or negative errno. */
ssize_t gate_read_mounts(const char *path, char **text, struct gate_mount **ret);
/* True when the mount point mp is strictly below one of dirs[0..n) ("/"
 * covers every other point). */
bool gate_below_dirs(const char *const *dirs, size_t n, const char *mp);

#endif
