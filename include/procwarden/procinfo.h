/*
 * procinfo.h - a snapshot of one process, read from /proc at exec time.
 *
 * struct proc_info is a fixed-size value type (no pointers): it is filled by
 * proc_snapshot() in the consumer thread, read by the policy evaluator and
 * formatted into records.  Strings are NUL-terminated and always bounded.
 */
#ifndef PROCWARDEN_PROCINFO_H
#define PROCWARDEN_PROCINFO_H

#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PW_PATH_MAX 4096      /* exe and parent_exe, including the NUL */
#define PW_ARGV_MAX 32768     /* bytes of NUL-separated argv kept */
#define PW_COMM_MAX 16        /* TASK_COMM_LEN */
#define PW_ANCESTORS_MAX 64   /* ancestors kept above the parent */
#define PW_ANCESTOR_BUF 32768 /* NUL-separated ancestor exes */

/* Which fields were read (bits of proc_info.have). */
enum {
	PI_HAVE_EXE = 1u << 0,
	PI_HAVE_ARGV = 1u << 1,
	PI_HAVE_COMM = 1u << 2,
	PI_HAVE_UID = 1u << 3,
	PI_HAVE_STAT = 1u << 4, /* ppid, start_time (stat) */
	PI_HAVE_PARENT_EXE = 1u << 5,
	PI_HAVE_PARENT_COMM = 1u << 6,
	PI_HAVE_ANCESTORS = 1u << 7,
	PI_HAVE_PPID = 1u << 8, /* ppid known (the table, or the pidfd) without stat */
	PI_HAVE_EUID = 1u << 9,
	PI_HAVE_GID = 1u << 10,
	PI_HAVE_EGID = 1u << 11,
	PI_HAVE_EXE_FILE = 1u << 12,    /* exe_file: the identity of the exe */
	PI_HAVE_PARENT_FILE = 1u << 13, /* parent_file */
	/* all four ids (a read of status or of the pidfd gives them together) */
	PI_HAVE_IDS = PI_HAVE_UID | PI_HAVE_EUID | PI_HAVE_GID | PI_HAVE_EGID,
};

/* Facts about the process (bits of proc_info.flags). */
enum {
	PI_GONE = 1u << 0,           /* exited before everything could be read */
	PI_EXE_DELETED = 1u << 1,    /* exe link ends in " (deleted)" and no link to it is left */
	PI_EXE_MEMFD = 1u << 2,      /* exe is "/memfd:NAME (deleted)" */
	PI_ARGV_TRUNCATED = 1u << 3, /* argv longer than PW_ARGV_MAX */
	PI_KTHREAD = 1u << 4,        /* empty cmdline and no exe: kernel thread */
	PI_EXE_TRUNCATED = 1u << 5,
	/* the ancestors are not all known: one's exe was never learnt, or the
	 * lineage was cut (a parent not seen, or deeper than PW_ANCESTORS_MAX) */
	PI_ANCESTORS_CUT = 1u << 6,
};

/* A file's identity: the same inode, unchanged since it was seen (a file
 * written in place, or an inode number reused by another file, differs in
 * mtime).  A hardlink, a rename, an unlink or a bind mount keep it. */
struct pw_file_id {
	uint64_t dev, ino;
	int64_t mtime_ns;
};

static inline void pw_file_id_set(struct pw_file_id *id, const struct stat *st)
{
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static inline int pw_file_id_equal(const struct pw_file_id *a, const struct pw_file_id *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->mtime_ns == b->mtime_ns;
}

struct proc_info {
	int32_t pid;
	int32_t ppid;
	uint32_t uid, euid, gid, egid;
	uint64_t start_time; /* stat field 22: clock ticks since boot */
	uint32_t have;       /* PI_HAVE_* */
	uint32_t flags;      /* PI_* */
	uint32_t argc;
	uint32_t argv_len;             /* bytes used in argv, NULs included */
	uint32_t n_ancestors;          /* entries in ancestors (grandparent upwards) */
	uint32_t ancestors_len;        /* bytes used in ancestors */
	struct pw_file_id exe_file;    /* PI_HAVE_EXE_FILE */
	struct pw_file_id parent_file; /* PI_HAVE_PARENT_FILE */
	uint64_t anc_file_known;       /* bit i: anc_file[i] is known */
	char comm[PW_COMM_MAX];
	char parent_comm[PW_COMM_MAX];
	char exe[PW_PATH_MAX]; /* as readlink shows it, " (deleted)" kept */
	char parent_exe[PW_PATH_MAX];
	char argv[PW_ARGV_MAX];          /* argc NUL-terminated strings back to back */
	char ancestors[PW_ANCESTOR_BUF]; /* exes of grandparent .. pid 1, NUL-separated */
	struct pw_file_id anc_file[PW_ANCESTORS_MAX]; /* their files, where known */
};

/* True when exe is a memfd or a deleted file. */
static inline int proc_info_fileless(const struct proc_info *pi)
{
	return (pi->flags & (PI_EXE_DELETED | PI_EXE_MEMFD)) != 0;
}

#endif
