#!/bin/bash
# The kill path never signals a process that is not the one the event was
# about.  A test-only knob (PW_TEST_HOOKS builds) delays the kill by 400 ms
# after the snapshot; the victim exits after 50 ms and is reaped, so the
# pinned pidfd refers to a dead process: the kill must be refused and
# recorded as "gone".  A bystander started meanwhile must be untouched.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim victim
private_bin pw_victim bystander
write_policy kill.yaml <<EOF2
version: 1
rules:
  - name: kill-victim
    match:
      exe: "$T/victim"
    actions: [kill]
EOF2
need_test_hooks
PROCWARDEN_TEST_KILL_DELAY_MS=400 start_agent --policy "$T/kill.yaml" --no-scan
rc=0
"$T/victim" --sleep-ms 50 --exit 4 quick || rc=$?
[ "$rc" = 4 ] || fail "the victim should have run to its end (exit $rc)"
"$T/bystander" --sleep-ms 3000 &
BY=$!
PIDS+=("$BY")
wait_for "$T/agent.json" 10 "$T/victim" || fail "no record of the victim"
sleep 0.3
kill -0 "$BY" 2>/dev/null || fail "the bystander died"
stop_agent
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
v = [r for r in recs if r["type"] == "exec" and r["rules"] == ["kill-victim"]]
assert len(v) == 1, v
r = v[0]
assert r.get("gone") is True, r
assert r["actions"] == [{"action": "kill", "signal": "SIGKILL", "rule": "kill-victim",
                         "result": "gone"}], r["actions"]
stop = [x for x in recs if x["type"] == "stop"][0]
assert stop["signals_sent"] == 0 and stop["signals_gone"] == 1, stop
print("the kill of a vanished process was refused and recorded as gone")
PY

# pid reuse before the pin: the listener (test knob) opens the pidfd 300 ms
# after the exec; by then the victim has exited, been reaped, and a child
# placed at its pid by clone3(set_tid).  The rule is on the parent (a
# "server" -> anything), which the child shares: judged by what /proc shows
# at the pin, the child matches and is killed (it was, with the check off:
# record "ok", exe the reuser's).  Judged by the table, the victim matches,
# and no signal may reach the child.
private_bin pw_forker reuser
write_policy reuse.yaml <<EOF2
version: 1
rules:
  - name: kill-under-reuser
    match:
      parent_exe: "$T/reuser"
    actions: [kill]
EOF2
PROCWARDEN_TEST_PIN_DELAY_MS=300 start_agent --policy "$T/reuse.yaml" --no-scan
out=$("$T/reuser" reuse "$T/victim" 1500)
echo "$out"
case "$out" in
survived*) ;;
*) fail "the process that took the victim's pid was signalled: $out" ;;
esac
wait_for "$T/agent.json" 10 "\"exe\":\"$T/victim\"" || fail "no record of the victim"
stop_agent
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
v = [r for r in recs if r["type"] == "exec" and "kill-under-reuser" in r["rules"]]
assert len(v) == 1, v
assert v[0]["exe"] == f"{T}/victim" and v[0]["parent_exe"] == f"{T}/reuser", v[0]
assert v[0]["actions"][0]["result"] == "gone", v[0]
stop = [x for x in recs if x["type"] == "stop"][0]
assert stop["signals_sent"] == 0, stop
print("pid reuse before the pin: the victim's record says gone, the new process lived")
PY
echo PASS
