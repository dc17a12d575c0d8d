#!/bin/bash
# The agent as the shipped systemd unit runs it (Type=notify): the built
# binary under the unit's CapabilityBoundingSet and NoNewPrivileges, with a
# NOTIFY_SOCKET and WATCHDOG_USEC that this test reads.  READY=1 comes after
# the subscription (the start record is written), with a STATUS= line;
# WATCHDOG=1 arrives; the gate and the exec watch are on under those
# capabilities (the start record); SIGHUP gives RELOADING=1 with
# MONOTONIC_USEC, then READY=1; SIGTERM gives STOPPING=1 and exit 0.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there, and the deny rule matches only a binary on it.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

UNIT="$PW_BUILD_DIR/contrib/procwarden.service"
[ -f "$UNIT" ] || fail "no configured unit at $UNIT"
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
grep -q '^NoNewPrivileges=yes' "$UNIT" || fail "the unit lost NoNewPrivileges"
G="$T/gate"
gated_tmpfs "$G" 8m
cp "$HELPERS/pw_victim" "$G/evil"
write_policy deny.yaml <<EOF2
version: 1
rules:
  - name: deny-evil
    match:
      exe: "$G/evil"
    actions: [deny]
EOF2
dgram_receiver "$T/notify" "$T/notify.txt"
: >"$T/agent.json"
NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=1000000 \
	setpriv --bounding-set "-all,$CAPS" --no-new-privs -- \
	"$PROCWARDEN" run --policy "$T/deny.yaml" --log "$T/agent.json" --no-scan 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
notified() { # pattern seconds
	for i in $(seq 1 $(($2 * 20))); do
		grep -q -- "$1" "$T/notify.txt" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
notified ' READY=1' 20 || { cat "$T/agent.err"; fail "no READY=1"; }
grep -q '"type":"start"' "$T/agent.json" || fail "READY=1 before the start record"
notified ' STATUS=.*launches' 2 || fail "no STATUS= line"
notified ' WATCHDOG=1' 3 || fail "no WATCHDOG=1"
grep -q '"gate":{"state":"on"' "$T/agent.json" ||
	fail "the gate is not on under the unit's capabilities: $(grep -o '"gate":{[^}]*}' "$T/agent.json")"
grep -q '"watch":{"state":"on"' "$T/agent.json" ||
	fail "the exec watch is not on under the unit's capabilities: $(grep -o '"watch":{[^}]*}' "$T/agent.json")"
"$G/evil" 2>/dev/null && fail "the denied binary ran"
kill -HUP "$AGENT"
notified ' RELOADING=1 MONOTONIC_USEC=[0-9]' 5 || fail "no RELOADING=1 with MONOTONIC_USEC"
python3 - "$T/notify.txt" <<'PY' || fail "no READY=1 after RELOADING=1"
import sys, time
for _ in range(100):
    lines = [l.split(" ", 1)[-1] for l in open(sys.argv[1]).read().split("\n")]
    r = [i for i, l in enumerate(lines) if l.startswith("RELOADING=1")]
    if r and any(l.startswith("READY=1") for l in lines[r[-1]:]):
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PY
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
forget_pid "$AGENT"
[ "$rc" = 0 ] || { cat "$T/agent.err"; fail "the agent exited with $rc"; }
notified ' STOPPING=1' 2 || fail "no STOPPING=1"
echo "unit: READY=1 after the start record, STATUS, WATCHDOG=1, gate and watch on under"
echo "CapabilityBoundingSet=$CAPS; SIGHUP: RELOADING=1 then READY=1; SIGTERM: STOPPING=1, exit 0"
echo PASS
