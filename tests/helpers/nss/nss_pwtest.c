/*
 * nss_pwtest.c - an NSS passwd module for tests (libnss_pwtest.so.2) that
 * resolves users the way network providers do (sss, systemd-userdb): over
 * a Unix socket to a daemon, with the calls they make -- socket, fcntl
 * (O_NONBLOCK), connect, getsockopt (SO_PEERCRED), sendmsg, poll, recvmsg.
 * The daemon is the test's own ($PWTEST_NSS_SOCKET): it answers
 * "getpwnam NAME" with a passwd line or "notfound".  Used with an
 * nsswitch.conf of "passwd: files pwtest" bind-mounted in a private mount
 * namespace, so nothing else on the machine sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <nss.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Ask the daemon; the answer line into ans.  0 or -1. */
static int ask(char *req, char *ans, size_t cap)
{
	const char *path = getenv("PWTEST_NSS_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r = -1;

	if (!path)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto out;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto out;
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0)
		goto out;
	struct iovec iov = {.iov_base = req, .iov_len = strlen(req)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		goto out;
	size_t got = 0;
	while (got + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 2000) <= 0)
			goto out;
		iov = (struct iovec){.iov_base = ans + got, .iov_len = cap - 1 - got};
		mh = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &mh, 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(ans, '\n', got))
			break;
	}
	ans[got] = 0;
	r = got ? 0 : -1;
out:
	close(fd);
	return r;
}

enum nss_status _nss_pwtest_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                       size_t buflen, int *errnop);
enum nss_status _nss_pwtest_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                       size_t buflen, int *errnop)
{
	char req[300], ans[512];
	unsigned uid, gid;
	int n = 0;

	snprintf(req, sizeof(req), "getpwnam %s\n", name);
	if (ask(req, ans, sizeof(ans)) < 0) {
		*errnop = EAGAIN;
		return NSS_STATUS_UNAVAIL;
	}
	if (sscanf(ans, "%*[^:]:%*[^:]:%u:%u:%n", &uid, &gid, &n) != 2 || !n)
		return NSS_STATUS_NOTFOUND;
	size_t nl = strlen(name) + 1;
	if (buflen < nl + 16) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	memcpy(buf, name, nl);
	memcpy(buf + nl, "x\0/\0/bin/false", 15);
	pw->pw_name = buf;
	pw->pw_passwd = buf + nl;
	pw->pw_uid = uid;
	pw->pw_gid = gid;
	pw->pw_gecos = buf + nl + 1;
	pw->pw_dir = buf + nl + 2;
	pw->pw_shell = buf + nl + 4;
	return NSS_STATUS_SUCCESS;
}
