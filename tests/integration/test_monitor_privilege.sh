#!/bin/bash
# Privilege and namespaces: since Linux 6.6 an ordinary user may subscribe to
# the proc connector, so `monitor` as a test uid works there; a subscription
# from outside the initial pid and user namespaces is ignored by the kernel
# (no acknowledgement), and monitor must fail with exit code 2 and a message
# naming the cause, never listen silently.
. "$(dirname "$0")/lib.sh"

U=64061
install -m 0755 "$PROCWARDEN_BIN" "$T/procwarden"
private_bin pw_victim marker
kver=$(uname -r | awk -F. '{print $1 * 1000 + $2}')

# 1. an ordinary user
if [ "$kver" -ge 6006 ]; then
	setpriv --reuid=$U --regid=$U --clear-groups --inh-caps=-all \
		"$T/procwarden" monitor --json --events exec >"$T/user.json" 2>"$T/user.err" &
	MON=$!
	PIDS+=("$MON")
	# the marker lives 200 ms so that an unprivileged (and, under ASan, slow)
	# monitor reads it; wait for its own record (argv[0] is the marker)
	for i in $(seq 1 50); do
		"$T/marker" --sleep-ms 200 user-marker
		grep -q "\"argv\":\[\"$T/marker\"" "$T/user.json" 2>/dev/null && break
		sleep 0.1
	done
	kill -INT "$MON"
	rc=0
	wait "$MON" || rc=$?
	PIDS=()
	[ "$rc" = 0 ] || fail "monitor as uid $U exited with $rc: $(cat "$T/user.err")"
	python3 - "$T" <<'PY' || fail "monitor as uid $U did not report the marker with its uid"
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/user.json")]
m = [r for r in recs if r["type"] == "exec" and (r["argv"] or [])[:1] == [f"{T}/marker"]]
assert m and all(r.get("uid") == 0 for r in m), m
PY
	echo "monitor as uid $U: $(grep -c . "$T/user.json") events seen"
else
	echo "kernel older than 6.6: an ordinary user cannot subscribe (not tested)"
fi

# 2. outside the initial namespaces, while another subscriber (a monitor in the
# initial namespaces) keeps events flowing to every socket of the group
"$T/procwarden" monitor --events exec >/dev/null 2>&1 &
OUT=$!
PIDS+=("$OUT")
sleep 0.5
rc=0
timeout 20 unshare --user --map-root-user --pid --fork --mount-proc \
	"$T/procwarden" monitor --json >"$T/ns.json" 2>"$T/ns.err" || rc=$?
kill -INT "$OUT"
wait "$OUT" || true
PIDS=()
cat "$T/ns.err"
[ "$rc" = 2 ] || fail "monitor in a user+pid namespace exited with $rc, expected 2"
grep -q "namespace" "$T/ns.err" || fail "the message does not name the namespace cause"
[ ! -s "$T/ns.json" ] || fail "monitor printed events although its subscription did not take"
echo PASS
