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
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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

void pw_syslog_init(struct pw_syslog *s, const char *path, const char *ident, int facility)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = path ? path : PW_SYSLOG_PATH;
	s->ident = ident;
	s->facility = facility;
	try_connect(s);
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
	localtime_r(&now, &tm);
	int n = snprintf(head, sizeof(head),
	                 "<%d>%s %2d %02d:%02d:%02d %s[%d]: ", s->facility | (prio & LOG_PRIMASK),
	                 mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, s->ident,
	                 (int)getpid());
	struct iovec iov[2] = {{.iov_base = head, .iov_len = (size_t)n},
	                       {.iov_base = (void *)(uintptr_t)msg, .iov_len = len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	for (int tries = 0;; tries++) {
		if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0) {
			s->sent++;
			return 0;
		}
		r = errno;
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
}
