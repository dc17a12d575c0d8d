#!/bin/bash
# --gate-fail: the gate answers every exec within its bound (250 ms after
# reading it; its supervisor looks every 50 ms), whatever the decision does.
# A test-only knob holds each decision on a "/slow*" file for 2 s.  Closed:
# the slow exec is denied within the bound, and an allowed exec queued behind
# the stuck decision is denied too, each with an exec record that says
# "fail-closed"; a decision that is not stuck still allows.  Open (the
# default): the slow exec runs within the bound, recorded "fail-open"; a
# denied binary whose decision is stuck runs, and the deny rule then kills
# it after the exec.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there; the rules match only the test's binaries on it.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"
need_test_hooks

G="$T/gate"
gated_tmpfs "$G"
for b in fine slow-fine slow-denied; do cp "$HELPERS/pw_victim" "$G/$b"; done
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-slow-denied
    match: {exe: "$G/slow-denied"}
    actions: [deny]
  # a deny on the caller: every exec is decided (no file is allowed for good)
  - name: deny-never-uid
    match: {exe: "$G/never", uid: 64123}
    actions: [deny]
  - name: log-fine
    match: {exe: "$G/*fine"}
    actions: [log]
EOF2

ms_of() { # run CMD...; prints "RC MS"
	local t0 t1 rc=0
	t0=$(date +%s%N)
	"$@" 2>/dev/null || rc=$?
	t1=$(date +%s%N)
	echo "$rc $(((t1 - t0) / 1000000))"
}

export PROCWARDEN_TEST_GATE_DELAY_MS=2000
start_agent --policy "$T/p.yaml" --gate-fail closed --no-scan
grep -q '"gate":{"state":"on","fail":"closed","answer_bound_ms":250' "$T/agent.json" ||
	fail "the start record does not say the gate fails closed: $(head -1 "$T/agent.json")"
read -r rc ms < <(ms_of "$G/fine" --exit 3)
[ "$rc" = 3 ] || fail "closed: an allowed, decided exec did not run (exit $rc)"
read -r rc ms < <(ms_of "$G/slow-fine" --exit 0)
echo "closed: slow exec: exit $rc after $ms ms"
[ "$rc" = 126 ] || fail "closed: the undecided exec was not denied (exit $rc)"
[ "$ms" -ge 200 ] && [ "$ms" -lt 1000 ] || fail "closed: denied after $ms ms, not within the bound"
# an exec queued behind a stuck decision is answered by the bound too
"$G/slow-fine" --exit 0 2>/dev/null &
SLOW=$!
sleep 0.1
read -r rc ms < <(ms_of "$G/fine" --exit 3)
wait "$SLOW" || true
echo "closed: exec queued behind it: exit $rc after $ms ms"
[ "$rc" = 126 ] || fail "closed: an exec queued behind the stuck decision was not denied (exit $rc)"
[ "$ms" -lt 1000 ] || fail "closed: the queued exec waited $ms ms"
sleep 2.2 # the stuck decisions end
read -r rc ms < <(ms_of "$G/fine" --exit 3)
[ "$rc" = 3 ] || fail "closed: after the stuck decisions an allowed exec did not run (exit $rc)"
stop_agent
mv "$T/agent.json" "$T/closed.json"

start_agent --policy "$T/p.yaml" --no-scan
grep -q '"gate":{"state":"on","fail":"open"' "$T/agent.json" ||
	fail "the start record does not say the gate fails open: $(head -1 "$T/agent.json")"
read -r rc ms < <(ms_of "$G/slow-fine" --exit 4)
echo "open: slow exec: exit $rc after $ms ms"
[ "$rc" = 4 ] || fail "open: the undecided exec did not run (exit $rc)"
[ "$ms" -ge 200 ] && [ "$ms" -lt 1000 ] || fail "open: allowed after $ms ms, not within the bound"
read -r rc ms < <(ms_of "$G/slow-denied" --sleep-ms 3000)
echo "open: slow denied exec: exit $rc after $ms ms"
[ "$rc" = 137 ] || fail "open: the denied binary the gate let through was not killed (exit $rc)"
sleep 2.2
stop_agent
mv "$T/agent.json" "$T/open.json"

python3 - "$T" "$G" <<'PY'
import json, sys
T, G = sys.argv[1:]
def recs(name):
    return [json.loads(l) for l in open(f"{T}/{name}.json")]
closed, opened = recs("closed"), recs("open")
und = [r for r in closed if r["type"] == "exec" and r["source"] == "gate"]
want = {f"{G}/slow-fine": 2, f"{G}/fine": 1}
got = {}
for r in und:
    assert r["actions"] == [{"action": "deny", "result": "fail-closed: no decision within the gate's bound"}], r
    assert r["rules"] == [] and r["severity"] == "warning", r
    assert r["uid"] is None and "uid" in r["unknown"], r  # the request carries no ids
    got[r["exe"]] = got.get(r["exe"], 0) + 1
assert got == want, (got, want)
stop = [r for r in closed if r["type"] == "stop"][0]
assert stop["gate_undecided"] == 3 and stop["denied"] == 3, stop
fine_ok = [r for r in closed if r["type"] == "exec" and r["source"] == "netlink" and r["exe"] == f"{G}/fine"]
assert len(fine_ok) == 2, fine_ok  # the two decided runs
ou = [r for r in opened if r["type"] == "exec" and r["source"] == "gate"]
assert sorted(r["exe"] for r in ou) == [f"{G}/slow-denied", f"{G}/slow-fine"], ou
assert all(r["actions"] == [{"action": "allow", "result": "fail-open: no decision within the gate's bound"}] for r in ou), ou
killed = [r for r in opened if r["type"] == "exec" and r["source"] == "netlink" and r["exe"] == f"{G}/slow-denied"]
assert killed and any(a["action"] == "kill" and a["result"] == "ok" for a in killed[0]["actions"]), killed
stop = [r for r in opened if r["type"] == "stop"][0]
assert stop["gate_undecided"] == 2, stop
print(f"closed: 3 undecided execs denied and recorded; open: 2 allowed and recorded, the denied one killed after the exec")
PY
echo PASS
