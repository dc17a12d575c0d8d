#!/bin/bash
# Fault injection on syslog: its socket (/dev/log) goes away while the agent
# runs with --syslog, and comes back.  Records must keep going to the log
# file, the ones syslog missed must be said (a `loss` record of class
# "syslog", the stop record's syslog_lost), and once the socket is back the
# agent must send to it again.  (glibc's syslog(3) lost them without a word.)
#
# Safety: the test re-runs itself in a private mount namespace with an
# overlay on /dev, where its own receiver owns /dev/log (nothing on the
# machine's /dev changes); the rule only logs the test's private binary.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/dev-up" "$T/dev-work"
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$T/dev-up,workdir=$T/dev-work" /dev ||
	{ echo "SKIP: no overlayfs for a private /dev"; exit 77; }
MOUNTS+=(/dev)
private_bin pw_victim marker
write_policy log.yaml <<EOF2
version: 1
rules:
  - name: log-marker
    match: {exe: "$T/marker"}
    actions: [log]
EOF2
RECV=
receiver() { # a syslog daemon: datagrams appended to $T/syslog.txt
	dgram_receiver /dev/log "$T/syslog.txt"
	RECV=$DGRAM
}
stop_receiver() {
	kill "$RECV"
	wait "$RECV" 2>/dev/null || true
	forget_pid "$RECV"
	rm -f /dev/log
}
seen_in_syslog() { # word: a record of the marker run with that argument
	for i in $(seq 1 60); do
		grep -q "procwarden\[[0-9]*\]: .*$T/marker.*\"$1\"" "$T/syslog.txt" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

receiver
start_agent --policy "$T/log.yaml" --syslog --no-scan
"$T/marker" --sleep-ms 100 one
seen_in_syslog one || fail "no syslog message for the first launch"
grep -qv '^[0-9.]* <8[0-7]>' "$T/syslog.txt" && fail "not all of facility authpriv: $(head -c 200 "$T/syslog.txt")"

# the socket gone: records still in the file, syslog's loss said
stop_receiver
for i in 1 2 3; do "$T/marker" --sleep-ms 100 two; done
wait_for "$T/agent.json" 10 '"two"' || fail "no file record while syslog was gone"
sleep 1.2 # the next batch says the loss (at most one loss record a second)
"$T/marker" --sleep-ms 100 two-after
wait_for "$T/agent.json" 10 '"class":"syslog"' || fail "no loss record for syslog"

# back: the agent connects again (at most a second later) and sends
receiver
sleep 1.1
"$T/marker" --sleep-ms 100 three
seen_in_syslog three || fail "no syslog message after the socket came back: $(tail -c 300 "$T/syslog.txt"; grep -c . "$T/agent.json"; tail -c 600 "$T/agent.json")"
stop_agent

# --syslog-facility and --syslog-min-severity: only warning and above reach
# syslog, under facility local3; everything is in the file
mv "$T/agent.json" "$T/agent.json.1"
write_policy sev.yaml <<EOF2
version: 1
rules:
  - name: note-marker
    match: {exe: "$T/marker", cmdline: "re: quiet\$"}
    actions: [log]
  - name: warn-marker
    severity: warning
    match: {exe: "$T/marker", cmdline: "re: loud\$"}
    actions: [log]
EOF2
start_agent --policy "$T/sev.yaml" --syslog --syslog-facility local3 --syslog-min-severity warning --no-scan
"$T/marker" --sleep-ms 100 quiet
"$T/marker" --sleep-ms 100 loud
seen_in_syslog loud || fail "no syslog message for a warning record"
wait_for "$T/agent.json" 10 '"quiet"' || fail "no file record of the notice launch"
sleep 0.3
grep -q '"quiet"' "$T/syslog.txt" && fail "a notice record went to syslog under --syslog-min-severity warning"
grep -q '^[0-9.]* <156>' "$T/syslog.txt" || fail "not local3.warning (<156>): $(head -c 200 "$T/syslog.txt")"
stop_agent
cp "$T/agent.json.1" "$T/agent.json"
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
two = [r for r in recs if r["type"] == "exec" and r.get("argv") and r["argv"][-1] == "two"]
assert len(two) == 3, f"{len(two)} file records of the 3 launches while syslog was gone"
loss = [r for r in recs if r["type"] == "loss" and r["class"] == "syslog"]
assert sum(r["count"] for r in loss) >= 3, loss
assert all(r["error"] in ("ENOENT", "ECONNREFUSED") for r in loss), loss
assert loss[-1]["total"] == sum(r["count"] for r in loss), loss
stop = [r for r in recs if r["type"] == "stop"][0]
assert stop["syslog_lost"] >= 3, stop
got = open(f"{T}/syslog.txt", "rb").read().decode(errors="replace")
assert '"two"' not in got, "a message sent while the socket was gone arrived"
print(f"syslog gone: 3 file records kept, loss said ({loss[-1]['total']} messages in "
      f"{len(loss)} records, {loss[-1]['error']}); back: sent again; stop: syslog_lost "
      f"{stop['syslog_lost']}")
PY
echo PASS
