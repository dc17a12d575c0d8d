#!/bin/bash
# The gate does not ask twice about a file whose answer cannot change: with a
# policy whose denies rest on the file alone, an allowed file's later execs
# are not held (an ignore mark; procwarden_gate_requests_total stays put)
# while every launch is still recorded; writing to the file makes its next
# exec come to the gate again; a reload that denies it denies its next exec;
# and under a policy whose deny depends on the caller (a uid), every exec is
# held and decided.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there; the rules match only the test's binaries on it.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

G="$T/gate"
gated_tmpfs "$G"
for b in fine never; do cp "$HELPERS/pw_victim" "$G/$b"; done
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-never
    match: {exe: "$G/never"}
    actions: [deny]
  - name: log-fine
    match: {exe: "$G/fine"}
    actions: [log]
EOF2
requests() { # the gate's requests so far, once the metrics file is new
	sleep 1.2
	sed -n 's/^procwarden_gate_requests_total \([0-9]*\)$/\1/p' "$T/m.prom"
}
runs() { for i in $(seq 1 "$1"); do "$G/fine" --exit 0 || fail "fine did not run"; done; }

start_agent --policy "$T/p.yaml" --no-scan --metrics "$T/m.prom" --metrics-interval 1
r0=$(requests)
runs 1
r1=$(requests)
runs 20
r2=$(requests)
echo "requests: start $r0, after 1 exec $r1, after 20 more $r2"
[ "$r1" -gt "$r0" ] || fail "the first exec did not reach the gate"
[ "$r2" = "$r1" ] || fail "$((r2 - r1)) of 20 execs of an allowed file were held again"
grep -q '^procwarden_gate_files_allowed_total [1-9]' "$T/m.prom" || fail "no ignore mark counted"
# written to: asked again (once), then not again
printf 'x' >>"$G/fine"
runs 1
r3=$(requests)
runs 5
r4=$(requests)
echo "after a write: $r3, 5 more: $r4"
[ "$r3" = $((r2 + 1)) ] || fail "the exec after a write did not reach the gate ($r2 -> $r3)"
[ "$r4" = "$r3" ] || fail "the file was held again after its new verdict"
# a reload that denies it: its next exec is denied
sed -i "s|exe: \"$G/never\"|exe: \"$G/fine\"|" "$T/p.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "no reload record"
rc=0
"$G/fine" --exit 0 2>/dev/null || rc=$?
[ "$rc" = 126 ] || fail "after the reload that denies it, the allowed-before file ran (exit $rc)"
# a deny on the caller: every exec is decided
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-never-uid
    match: {exe: "$G/never", uid: 64123}
    actions: [deny]
  - name: log-fine
    match: {exe: "$G/fine"}
    actions: [log]
EOF2
kill -HUP "$AGENT"
sleep 0.5
runs 1
r5=$(requests)
runs 5
r6=$(requests)
echo "caller-dependent policy: $r5, 5 more: $r6"
[ "$r6" = $((r5 + 5)) ] || fail "under a deny on the caller, $((r6 - r5)) of 5 execs reached the gate"
stop_agent
python3 - "$T" "$G" <<'PY'
import json, sys
T, G = sys.argv[1:]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
fine = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{G}/fine" and r["source"] == "netlink"]
assert len(fine) == 1 + 20 + 1 + 5 + 1 + 5, len(fine)  # every run recorded, held or not
stop = [r for r in recs if r["type"] == "stop"][0]
assert stop["gate_files_allowed"] >= 2 and stop["gate_files_forgets"] >= 2 and stop["gate_files_errors"] == 0, stop
print(f"{len(fine)} launches recorded; ignore marks made {stop['gate_files_allowed']}, dropped {stop['gate_files_forgets']} times")
PY
echo PASS
