/*
 * journal.h - a record as an entry of the systemd journal's native protocol
 * (systemd.journal-fields(7), "Native Journal Protocol"): the JSON line in
 * MESSAGE, with PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER and SYSLOG_PID,
 * and the record's main fields as PROCWARDEN_* fields a journalctl match can
 * select (PROCWARDEN_RULE=kill-tmp).  No libsystemd: the protocol is a
 * datagram of KEY=VALUE lines, and the agent's writer thread already owns a
 * datagram socket and its loss accounting (syslog.c).
 */
#ifndef PROCWARDEN_ACTION_JOURNAL_H
#define PROCWARDEN_ACTION_JOURNAL_H

#include <stddef.h>

#define PW_JOURNAL_PATH "/run/systemd/journal/socket"

/* Encode the record line (len bytes, no trailing newline) into out (cap
 * bytes) with syslog priority prio and facility (LOG_AUTHPRIV, ...), ident
 * and pid.  Top-level members of the line become fields: type, rule (and
 * each string of rules: the field repeated), pid, uid, exe, severity and seq
 * as PROCWARDEN_TYPE, PROCWARDEN_RULE, PROCWARDEN_PID, PROCWARDEN_UID,
 * PROCWARDEN_EXE, PROCWARDEN_SEVERITY, PROCWARDEN_SEQ, strings decoded; a
 * null or absent one is left out, a value that holds a newline is sent in
 * the protocol's binary form.  Returns the payload's length, or the
 * length it needs when that is more than cap (nothing usable written then). */
size_t pw_journal_encode(char *out, size_t cap, const char *line, size_t len, int prio,
                         int facility, const char *ident, int pid);

#endif
