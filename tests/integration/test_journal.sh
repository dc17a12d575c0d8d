#!/bin/bash
# --journal: records reach a real systemd-journald as native entries --
# MESSAGE the JSON line as the log file has it, PRIORITY from the severity,
# SYSLOG_IDENTIFIER, and PROCWARDEN_RULE/_PID/_EXE/_TYPE/_SEQ a journalctl
# match selects by; a record too large for a datagram (an argv of 64 KiB of
# control bytes, escaped) goes through a sealed memfd; records below
# --syslog-min-severity stay in the file; journald gone is a `loss` record of
# class "journal" and the stop record's journal_lost, and once it is back the
# agent sends again.
#
# Safety: the test re-runs itself in a private mount namespace with a tmpfs
# on /run and /var/log, where its own journald runs (the machine's journal,
# if any, is not touched; the test's directory is in that /run too); the
# rules only log the test's private binary.
if [ -z "${PW_JOURNAL_NS:-}" ]; then
	export PW_JOURNAL_NS=1
	exec unshare -m --propagation private bash -c \
		'mount -t tmpfs -o mode=0755 tmpfs /run && mount -t tmpfs -o mode=0755 tmpfs /var/log &&
		exec bash "$0" "$@"' "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

JOURNALD=
for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
	[ -x "$j" ] && JOURNALD=$j && break
done
[ -n "$JOURNALD" ] || { echo "SKIP: no systemd-journald"; exit 77; }
command -v journalctl >/dev/null || { echo "SKIP: no journalctl"; exit 77; }
mountpoint -q /run && mountpoint -q /var/log || fail "not in the test's own /run and /var/log"

JPID=
journald_up() {
	rm -f /run/systemd/journal/socket
	"$JOURNALD" >"$T/journald.out" 2>&1 &
	JPID=$!
	PIDS+=("$JPID")
	for i in $(seq 1 100); do
		[ -S /run/systemd/journal/socket ] && return 0
		sleep 0.05
	done
	fail "journald did not start: $(cat "$T/journald.out")"
}
journald_down() {
	kill "$JPID"
	wait "$JPID" 2>/dev/null || true
	forget_pid "$JPID"
	rm -f /run/systemd/journal/socket
}
journal_json() { # all entries of procwarden, every field whole
	journalctl -D /run/log/journal --all -o json --no-pager SYSLOG_IDENTIFIER=procwarden \
		>"$T/journal.json" 2>"$T/journalctl.err" || true
}
in_journal() { # python condition on entry e, within 5 s
	for i in $(seq 1 50); do
		journal_json
		python3 - "$T/journal.json" "$1" <<'PY' && return 0
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(eval(sys.argv[2], {}, {"e": e}) for e in es) else 1)
PY
		sleep 0.1
	done
	return 1
}

private_bin pw_victim marker
write_policy log.yaml <<EOF2
version: 1
rules:
  - name: note-marker
    match: {exe: "$T/marker", cmdline: "re: quiet\$"}
    actions: [log]
  - name: log-marker
    severity: warning
    match: {exe: "$T/marker"}
    unless: {cmdline: "re: quiet\$"}
    actions: [log]
EOF2

journald_up
start_agent --policy "$T/log.yaml" --journal --syslog-min-severity warning --no-scan
"$T/marker" --sleep-ms 50 one
# an argv of 64 KiB of control bytes: the record holds as much of it as its
# 64 KiB allow, escaped (a datagram of some 66 KiB)
python3 -c "import os; os.execv('$T/marker', ['$T/marker', '--sleep-ms', '50', '\x01' * 65000, 'big'])"
"$T/marker" --sleep-ms 50 quiet
in_journal "e.get('PROCWARDEN_EXE') == '$T/marker' and '\"one\"' in e['MESSAGE']" ||
	fail "no journal entry for the launch: $(head -c 600 "$T/journal.json"; cat "$T/journalctl.err")"
in_journal "'\"argv_truncated\":true' in (e.get('MESSAGE') or '')" || fail "no journal entry for the large record: $(grep -v '"exec"' "$T/agent.json" | tail -c 800; cat "$T/journald.out"; wc -c "$T/journal.json")"

# journald gone: the file keeps every record, the loss is said
journald_down
"$T/marker" --sleep-ms 50 two
wait_for "$T/agent.json" 10 '"two"' || fail "no file record while the journal was gone"
sleep 1.2 # the next batch says the loss (at most one loss record a second)
"$T/marker" --sleep-ms 50 two-after
wait_for "$T/agent.json" 10 '"class":"journal"' || fail "no loss record of class journal"
# back: sent again (the agent connects again at most a second later)
journald_up
sleep 1.1
"$T/marker" --sleep-ms 50 three
in_journal "'\"three\"' in e['MESSAGE']" || fail "no journal entry after journald came back"
stop_agent

journal_json
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = {}
for l in open(f"{T}/agent.json"):
    r = json.loads(l)
    recs[r["seq"]] = (l.rstrip("\n"), r)
es = [json.loads(l) for l in open(f"{T}/journal.json") if l.strip()]
marker = [e for e in es if e.get("PROCWARDEN_TYPE") == "exec"]
for e in es:
    line, r = recs[int(e["PROCWARDEN_SEQ"])]
    assert e["MESSAGE"] == line, ("MESSAGE differs from the log line", e["MESSAGE"][:200], line[:200])
    assert e["SYSLOG_IDENTIFIER"] == "procwarden" and e["SYSLOG_FACILITY"] == "10", e
    prio = {"warning": "4", "error": "3", "critical": "2"}
    if "severity" in r:
        assert e["PRIORITY"] == prio[r["severity"]], (e["PRIORITY"], r["severity"])
    assert e["PROCWARDEN_TYPE"] == r["type"]
    if r["type"] == "exec":
        assert e["PROCWARDEN_PID"] == str(r["pid"]) and e["PROCWARDEN_EXE"] == r["exe"], e
        assert e["PROCWARDEN_UID"] == str(r["uid"]), e
        rules = e["PROCWARDEN_RULE"]
        rules = rules if isinstance(rules, list) else [rules]
        assert sorted(rules) == sorted(r["rules"]), (rules, r["rules"])  # the journal keeps no order among equal names
big = [e for e in marker if json.loads(e["MESSAGE"]).get("argv_truncated")]
assert len(big) == 1, len(big)
words = [json.loads(e["MESSAGE"])["argv"][-1] for e in marker if e not in big]
assert "quiet" not in words, "a notice record went to the journal under --syslog-min-severity warning"
for w in ("one", "three"):
    assert words.count(w) == 1, (w, words)
assert "two" not in words, "an entry sent while journald was gone arrived"
big = big[0]
file_exec = [r for _, r in recs.values() if r["type"] == "exec" and r["rules"] and not r.get("argv_truncated")]
assert sorted(r["argv"][-1] for r in file_exec) == sorted(["one", "quiet", "two", "two-after", "three"]), file_exec
loss = [r for _, r in recs.values() if r["type"] == "loss" and r["class"] == "journal"]
assert sum(r["count"] for r in loss) >= 1 and all(r["error"] in ("ENOENT", "ECONNREFUSED") for r in loss), loss
stop = [r for _, r in recs.values() if r["type"] == "stop"][0]
assert stop["journal_lost"] >= 1 and "syslog_lost" not in stop, stop
print(f"journal: {len(es)} entries, MESSAGE = the log line for each; the large one {len(big['MESSAGE'])} bytes; "
      f"gone: loss said ({loss[-1]['total']}, {loss[-1]['error']}); back: sent again")
PY
"$PROCWARDEN" run --syslog --journal --no-scan 2>"$T/both.err" && fail "--syslog with --journal accepted"
[ $? = 2 ] || true
grep -q 'choose one' "$T/both.err" || fail "no clear error for --syslog with --journal: $(cat "$T/both.err")"
echo PASS
