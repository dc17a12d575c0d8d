/*
 * syslog.h - procwarden's own syslog client (RFC 3164 datagrams to
 * /dev/log, as glibc's syslog(3) sends them), which, unlike syslog(3), says
 * when a message did not get through: the socket gone (no syslog daemon,
 * journald restarting), refused, or full.  With journal set, the same
 * socket handling sends native journal entries (journal.h) to
 * /run/systemd/journal/socket instead.  Used by the output writer thread
 * only (not thread-safe).
 */
#ifndef PROCWARDEN_ACTION_SYSLOG_H
#define PROCWARDEN_ACTION_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_SYSLOG_PATH "/dev/log"
/* A send waits at most this long for room in a full socket. */
#define PW_SYSLOG_WAIT_MS 50
/* With the socket gone, a connect is tried again at most this often. */
#define PW_SYSLOG_RETRY_NS 1000000000ull
/* A journal entry larger than this is lost (counted): records are 64 KiB at
 * most, an entry repeats some of their fields. */
#define PW_JOURNAL_MAX_ENTRY (4u << 20)

struct pw_syslog {
	int fd; /* connected datagram socket, or -1 */
	const char *path;
	const char *ident;
	int facility;         /* LOG_AUTHPRIV, ... */
	uint64_t next_try_ns; /* no connect before this (socket gone) */
	uint64_t full_until;  /* a full socket was waited for in vain: no wait before this */
	uint64_t sent, lost;  /* messages */
	int last_errno;       /* why the last one was lost */
	bool journal;         /* native journal entries, not RFC 3164 */
	char *buf;            /* the journal's entry being built */
	size_t buf_cap;
};

/* Set up (connects at once, best effort); path NULL: the default of the
 * kind (/dev/log, or the journal's socket). */
void pw_syslog_init(struct pw_syslog *s, const char *path, const char *ident, int facility,
                    bool journal);
/* Send one message (len bytes, no trailing newline needed) with priority
 * prio (LOG_*).  0, or a negative errno: the message is lost (counted). */
int pw_syslog_send(struct pw_syslog *s, int prio, const char *msg, size_t len);
void pw_syslog_close(struct pw_syslog *s);

#endif
