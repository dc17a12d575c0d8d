/*
 * syslog.c - see syslog.h.
 *
 * A message is "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG" on a datagram socket
 * connected to /dev/log (what journald and rsyslog read).  The socket is
 * non-blocking: a full one is waited for at most PW_SYSLOG_WAIT_MS, so a
 * stuck syslog daemon delays the log file by that much per batch, never
 * forever.  A socket that is gone or refuses (ENOENT, ECONNREFUSED,
 * ENOTCONN) is closed and connected again on a later message, at most once
 * a second; every message that did not get through is counted with its
 * errno for the writer's `loss` record.
 *
 * The journal (journal.h): one datagram per entry; one too large for a
 * datagram (EMSGSIZE, ENOBUFS) goes as journald's own clients send it -- the
 * entry in a sealed memfd whose descriptor is passed with SCM_RIGHTS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "action/journal.h"
#include "action/syslog.h"
#include "procwarden/clock.h"

static void try_connect(struct pw_syslog *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t now = pw_now_mono();

	if (s->fd >= 0 || now < s->next_try_ns)
		return;
	s->next_try_ns = now + PW_SYSLOG_RETRY_NS;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		s->last_errno = errno;
		return;
	}
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		s->last_errno = errno;
		close(s->fd);
		s->fd = -1;
	}
}

void pw_syslog_init(struct pw_syslog *s, const char *path, const char *ident, int facility,
                    bool journal)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->journal = journal;
	s->path = path ? path : journal ? PW_JOURNAL_PATH : PW_SYSLOG_PATH;
	s->ident = ident;
	s->facility = facility;
	try_connect(s);
}

/* The journal entry of msg in s->buf; its length, or 0 (no memory, too large). */
static size_t journal_entry(struct pw_syslog *s, int prio, const char *msg, size_t len)
{
	size_t need = pw_journal_encode(s->buf, s->buf_cap, msg, len, prio, s->facility, s->ident,
	                                (int)getpid());
	if (need <= s->buf_cap)
		return need;
	if (need > PW_JOURNAL_MAX_ENTRY)
		return 0;
	size_t cap = s->buf_cap ? s->buf_cap : 4096;
	while (cap < need)
		cap *= 2;
	char *b = realloc(s->buf, cap);
	if (!b)
		return 0;
	s->buf = b;
	s->buf_cap = cap;
	return pw_journal_encode(s->buf, s->buf_cap, msg, len, prio, s->facility, s->ident,
	                         (int)getpid());
}

/* An entry too large for a datagram: in a sealed memfd, passed by
 * descriptor.  0 or an errno. */
static int journal_send_fd(struct pw_syslog *s, size_t len)
{
	int r = 0, fd = memfd_create("procwarden-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, s->buf + off, len - off);
		if (w < 0) {
			r = errno;
			goto out;
		}
		off += (size_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		r = errno;
		goto out;
	}
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c = {0};
	struct msghdr mh = {.msg_control = c.b, .msg_controllen = sizeof(c.b)};
	struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
	ch->cmsg_level = SOL_SOCKET;
	ch->cmsg_type = SCM_RIGHTS;
	ch->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(ch), &fd, sizeof(int));
	if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) < 0)
		r = errno;
out:
	close(fd);
	return r;
}

int pw_syslog_send(struct pw_syslog *s, int prio, const char *msg, size_t len)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char head[96];
	struct tm tm;
	time_t now = time(NULL);
	int r;

	try_connect(s);
	if (s->fd < 0) {
		s->lost++;
		return -(s->last_errno ? s->last_errno : ENOTCONN);
	}
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov};
	if (s->journal) {
		size_t n = journal_entry(s, prio, msg, len);
		if (!n) {
			s->last_errno = EMSGSIZE;
			s->lost++;
			return -EMSGSIZE;
		}
		iov[0] = (struct iovec){.iov_base = s->buf, .iov_len = n};
		mh.msg_iovlen = 1;
	} else {
		localtime_r(&now, &tm);
		int n = snprintf(head, sizeof(head), "<%d>%s %2d %02d:%02d:%02d %s[%d]: ",
		                 s->facility | (prio & LOG_PRIMASK), mon[tm.tm_mon], tm.tm_mday,
		                 tm.tm_hour, tm.tm_min, tm.tm_sec, s->ident, (int)getpid());
		iov[0] = (struct iovec){.iov_base = head, .iov_len = (size_t)n};
		iov[1] = (struct iovec){.iov_base = (void *)(uintptr_t)msg, .iov_len = len};
		mh.msg_iovlen = 2;
	}
	for (int tries = 0;; tries++) {
		if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0) {
			s->sent++;
			return 0;
		}
		r = errno;
		if (s->journal && (r == EMSGSIZE || r == ENOBUFS)) {
			r = journal_send_fd(s, iov[0].iov_len);
			if (!r) {
				s->sent++;
				return 0;
			}
		}
		if ((r == EAGAIN || r == EWOULDBLOCK) && tries == 0 &&
		    pw_now_mono() >= s->full_until) {
			/* once per second at most: a stuck daemon must not hold the
			 * writer 50 ms for every line of a batch */
			struct pollfd p = {.fd = s->fd, .events = POLLOUT};
			if (poll(&p, 1, PW_SYSLOG_WAIT_MS) > 0)
				continue;
			s->full_until = pw_now_mono() + PW_SYSLOG_RETRY_NS;
		}
		if (r != EAGAIN && r != EWOULDBLOCK && r != EMSGSIZE && r != ENOBUFS) {
			/* gone or refused (a daemon restarted: its socket is a new
			 * one): connect again at once, and send this one again */
			close(s->fd);
			s->fd = -1;
			s->next_try_ns = 0;
			if (tries == 0) {
				try_connect(s);
				if (s->fd >= 0)
					continue;
			}
		}
		break;
	}
	s->last_errno = r;
	s->lost++;
	return -r;
}

void pw_syslog_close(struct pw_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	s->buf_cap = 0;
}
