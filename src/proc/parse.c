/*
 * parse.c - pure parsers for the text of /proc/PID/{stat,status,cmdline,exe}.
 *
 * Overview: every function here works on a caller's buffer of known length
 * (never assumed NUL-terminated), validates what it reads, and touches no
 * file, global or heap: the unit tests feed it fixtures, proc_snapshot() feeds
 * it what it just read.  Output goes into the caller's struct proc_stat or
 * struct proc_info; on -EINVAL the outputs are left untouched.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "procwarden/proc.h"

#define DELETED_SUFFIX " (deleted)"
#define MEMFD_PREFIX "/memfd:"

/* Parse an unsigned decimal at [*p, end) up to a space or end; 0 or -EINVAL. */
static int parse_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Parse an optionally negative decimal that fits in int64 (stat fields). */
static int parse_i64(const char **p, const char *end, int64_t *ret)
{
	const char *s = *p;
	uint64_t v;
	int neg = 0;
	int r;

	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	r = parse_u64(&s, end, &v);
	if (r < 0)
		return r;
	if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -EINVAL;
	*p = s;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Expect exactly one space at *p; 0 or -EINVAL. */
static int expect_space(const char **p, const char *end)
{
	if (*p >= end || **p != ' ')
		return -EINVAL;
	(*p)++;
	return 0;
}

/* Find the last occurrence of c in [buf, buf + len), or NULL. */
static const char *last_char(const char *buf, size_t len, char c)
{
	while (len > 0) {
		len--;
		if (buf[len] == c)
			return buf + len;
	}
	return NULL;
}

int proc_parse_stat(const char *buf, size_t len, struct proc_stat *ret)
{
	const char *end = buf + len, *p = buf, *open, *close;
	struct proc_stat st = {0};
	uint64_t u;
	int64_t v;
	size_t n;

	/* "PID (COMM) S PPID ..." where COMM runs to the LAST ')'. */
	open = memchr(buf, '(', len);
	close = last_char(buf, len, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	if (parse_u64(&p, open, &u) < 0 || u == 0 || u > INT32_MAX)
		return -EINVAL;
	st.pid = (int32_t)u;
	if (p + 1 != open || *p != ' ')
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (n > sizeof(st.comm) - 1)
		n = sizeof(st.comm) - 1;
	memcpy(st.comm, open + 1, n);
	st.comm[n] = '\0';

	/* Field 3: state, one letter. */
	p = close + 1;
	if (expect_space(&p, end) < 0 || p >= end)
		return -EINVAL;
	st.state = *p++;
	if (!((st.state >= 'A' && st.state <= 'Z') || (st.state >= 'a' && st.state <= 'z')))
		return -EINVAL;
	if (p < end && *p != ' ')
		return -EINVAL;

	/* Fields 4..22: all integers; keep 4 (ppid), 9 (flags), 22 (start). */
	for (int field = 4; field <= 22; field++) {
		if (expect_space(&p, end) < 0 || parse_i64(&p, end, &v) < 0)
			return -EINVAL;
		if (p < end && *p != ' ' && *p != '\n')
			return -EINVAL;
		switch (field) {
		case 4:
			if (v < 0 || v > INT32_MAX)
				return -EINVAL;
			st.ppid = (int32_t)v;
			break;
		case 9:
			if (v < 0 || v > UINT32_MAX)
				return -EINVAL;
			st.flags = (uint32_t)v;
			break;
		case 22:
			if (v < 0)
				return -EINVAL;
			st.start_time = (uint64_t)v;
			break;
		default:
			break;
		}
	}
	*ret = st;
	return 0;
}

/* Find "NAME:" at the start of a line; return the text after it or NULL. */
static const char *find_line(const char *buf, size_t len, const char *name, const char **ret_eol)
{
	const char *end = buf + len, *p = buf;
	size_t n = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) >= n && memcmp(p, name, n) == 0) {
			*ret_eol = eol;
			return p + n;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Parse "Uid:\tR\tE\tS\tF" (or Gid:): the real and effective ids. */
static int parse_id_line(const char *buf, size_t len, const char *name, uint32_t *real,
                         uint32_t *eff)
{
	const char *eol, *p = find_line(buf, len, name, &eol);
	uint64_t ids[4];

	if (!p)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (p >= eol || (*p != '\t' && *p != ' '))
			return -EINVAL;
		while (p < eol && (*p == '\t' || *p == ' '))
			p++;
		if (parse_u64(&p, eol, &ids[i]) < 0 || ids[i] > UINT32_MAX)
			return -EINVAL;
	}
	while (p < eol && (*p == '\t' || *p == ' '))
		p++;
	if (p != eol)
		return -EINVAL;
	*real = (uint32_t)ids[0];
	*eff = (uint32_t)ids[1];
	return 0;
}

int proc_parse_status_ids(const char *buf, size_t len, uint32_t *uid, uint32_t *euid, uint32_t *gid,
                          uint32_t *egid)
{
	uint32_t u, eu, g, eg;

	if (parse_id_line(buf, len, "Uid:", &u, &eu) < 0 ||
	    parse_id_line(buf, len, "Gid:", &g, &eg) < 0)
		return -EINVAL;
	*uid = u;
	*euid = eu;
	*gid = g;
	*egid = eg;
	return 0;
}

void proc_set_argv(struct proc_info *pi, const char *buf, size_t len, int truncated)
{
	size_t n = len;
	uint32_t argc = 0;

	if (n > PW_ARGV_MAX) {
		n = PW_ARGV_MAX;
		truncated = 1;
	}
	memmove(pi->argv, buf, n);
	if (n > 0 && pi->argv[n - 1] != '\0') {
		/* No final NUL: a rewritten title, or a cut read. */
		if (n < PW_ARGV_MAX) {
			pi->argv[n++] = '\0';
		} else {
			pi->argv[n - 1] = '\0';
			truncated = 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pi->argv[i] == '\0')
			argc++;
	if (n < PW_ARGV_MAX)
		pi->argv[n] = '\0';
	pi->argc = argc;
	pi->argv_len = (uint32_t)n;
	if (truncated)
		pi->flags |= PI_ARGV_TRUNCATED;
	else
		pi->flags &= ~(uint32_t)PI_ARGV_TRUNCATED;
	pi->have |= PI_HAVE_ARGV;
}

/* Does [s, s + len) end with suffix? */
static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

void proc_set_exe(struct proc_info *pi, const char *link, size_t len)
{
	const size_t max = sizeof(pi->exe) - 1;
	const size_t slen = sizeof(DELETED_SUFFIX) - 1;
	int deleted = ends_with(link, len, DELETED_SUFFIX);
	int memfd = len >= sizeof(MEMFD_PREFIX) - 1 &&
	            memcmp(link, MEMFD_PREFIX, sizeof(MEMFD_PREFIX) - 1) == 0;

	pi->flags &= ~(uint32_t)(PI_EXE_DELETED | PI_EXE_MEMFD | PI_EXE_TRUNCATED);
	pi->have &= ~(uint32_t)PI_HAVE_EXE;
	if (len <= max) {
		memcpy(pi->exe, link, len);
		pi->exe[len] = '\0';
	} else if (deleted) {
		/* Cut the path, keep the suffix that says what it is. */
		memcpy(pi->exe, link, max - slen);
		memcpy(pi->exe + max - slen, DELETED_SUFFIX, slen);
		pi->exe[max] = '\0';
		pi->flags |= PI_EXE_TRUNCATED;
	} else {
		memcpy(pi->exe, link, max);
		pi->exe[max] = '\0';
		pi->flags |= PI_EXE_TRUNCATED;
	}
	if (deleted)
		pi->flags |= PI_EXE_DELETED;
	if (memfd)
		pi->flags |= PI_EXE_MEMFD;
	if (len > 0)
		pi->have |= PI_HAVE_EXE;
}

size_t proc_cmdline(const struct proc_info *pi, char *buf, size_t size)
{
	size_t n = 0, len = pi->argv_len;

	if (size == 0)
		return 0;
	if (len > sizeof(pi->argv))
		len = sizeof(pi->argv);
	/* Drop the final NUL, turn the others into spaces. */
	if (len > 0 && pi->argv[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len && n < size - 1; i++)
		buf[n++] = pi->argv[i] == '\0' ? ' ' : pi->argv[i];
	buf[n] = '\0';
	return n;
}
