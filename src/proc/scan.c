/*
 * scan.c - visit the processes in /proc started since a given time.
 *
 * Overview: proc_scan() is the rescan after a proc connector overrun: it
 * lists the numeric entries of /proc with getdents64(), then reads each one's
 * start time and hands those at or after min_start to the caller's callback,
 * in ascending pid order.  The pid list is one heap array per scan (4 bytes a
 * process, at most PW_SCAN_MAX entries: the kernel's PID_MAX_LIMIT), freed
 * before return; the directory is closed before the first callback, so the
 * callback may do what it likes with /proc.  No state survives a call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procwarden/proc.h"

#define PW_SCAN_MAX (4u * 1024 * 1024) /* PID_MAX_LIMIT on 64-bit */
#define DENTS_BUF 16384

/* A /proc entry name as a pid, or 0 when it is not all digits. */
static pid_t name_to_pid(const char *name)
{
	long v = 0;

	if (!*name)
		return 0;
	for (; *name; name++) {
		if (*name < '0' || *name > '9')
			return 0;
		v = v * 10 + (*name - '0');
		if (v > 0x7fffffffL)
			return 0;
	}
	return (pid_t)v;
}

/* qsort comparator for pids. */
static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* List the pids in /proc into a new array *ret (caller frees), *ret_n
 * entries, sorted ascending.  Returns 0 or a negative errno. */
static int list_pids(int procfd, pid_t **ret, size_t *ret_n)
{
	char buf[DENTS_BUF] __attribute__((aligned(8)));
	pid_t *v = NULL, *nv, last = 0;
	size_t n = 0, cap = 0;
	int fd, r, sorted = 1;
	ssize_t len;

	fd = procfd >= 0 ? openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	                 : open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((len = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < len;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);
			pid_t pid = name_to_pid(d->d_name);

			off += d->d_reclen;
			if (pid <= 0)
				continue;
			if (n == cap) {
				if (cap >= PW_SCAN_MAX) {
					r = -E2BIG;
					goto out;
				}
				cap = cap ? cap * 2 : 1024;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					r = -ENOMEM;
					goto out;
				}
				v = nv;
			}
			if (pid <= last)
				sorted = 0;
			last = pid;
			v[n++] = pid;
		}
	}
	if (len < 0) {
		r = -errno;
		goto out;
	}
	/* The kernel lists pids in ascending order; sort only if it did not. */
	if (!sorted)
		qsort(v, n, sizeof(*v), cmp_pid);
	*ret = v;
	*ret_n = n;
	v = NULL;
	r = 0;
out:
	free(v);
	close(fd);
	return r;
}

int proc_scan(int procfd, uint64_t min_start, proc_scan_fn fn, void *arg)
{
	pid_t *pids = NULL;
	size_t n = 0;
	int r, visited = 0;

	r = list_pids(procfd, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct proc_stat ps;

		if (i > 0 && pids[i] == pids[i - 1])
			continue;
		if (proc_read_stat(procfd, pids[i], &ps) < 0)
			continue; /* gone since the listing */
		if (ps.start_time < min_start)
			continue;
		visited++;
		if (fn(pids[i], ps.start_time, arg))
			break;
	}
	free(pids);
	return visited;
}
