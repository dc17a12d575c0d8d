#!/bin/bash
# Fault injection on the output:
#  - the log's filesystem full (a tiny private tmpfs): the log holds valid
#    JSON lines only (a write cut short used to leave half a record with
#    the next appended to it), the loss is said in a `loss` record once
#    space returns, and records flow again;
#  - standard output stuck (a pipe nobody reads) at shutdown: the agent
#    still exits 0 under its seccomp filter (it used to die by SIGSYS in
#    pthread_cancel, exit 159/160).
#
# Safety: the test re-runs itself in a private mount namespace; the tmpfs
# lives only there; the rule only logs the test's private binary.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

private_bin pw_victim quick
write_policy out.yaml <<EOF2
version: 1
rules:
  - name: log-quick
    match: {exe: "$T/quick"}
    actions: [log]
EOF2

# 1. the disk fills up
L="$T/logfs"
mkdir -p "$L"
mount -t tmpfs -o size=256k,mode=0755 pwlog "$L"
MOUNTS+=("$L")
: >"$T/agent.json"
"$PROCWARDEN" run --policy "$T/out.yaml" --log "$L/agent.json" 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for "$L/agent.json" 20 '"type":"start"' || { cat "$T/agent.err" >&2; fail "no start"; }
# leave a little room, then a storm of records that cannot all fit
dd if=/dev/zero of="$L/filler" bs=4k count=40 2>/dev/null || true
"$HELPERS/pw_storm" -n 3000 -w 2 "$T/quick" >/dev/null
sleep 0.5
full=$(df --output=avail -B1 "$L" | tail -1)
# space returns; later records are written, the loss is said first
rm -f "$L/filler"
"$HELPERS/pw_storm" -n 20 -w 1 "$T/quick" >/dev/null
sleep 0.5
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
forget_pid "$AGENT"
[ "$rc" = 0 ] || { cat "$T/agent.err" >&2; fail "the agent exited with $rc after a full disk"; }
json_lines_valid "$L/agent.json"
python3 - "$L/agent.json" "$full" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
loss = [r for r in recs if r["type"] == "loss" and r["class"] == "output_error"]
assert loss, "no loss record for the lines the full disk lost"
assert loss[0]["error"] == "ENOSPC", loss[0]
lost = sum(r["count"] for r in loss)
stop = [r for r in recs if r["type"] == "stop"]
assert stop, "no stop record after space returned"
first = [i for i, r in enumerate(recs) if r is loss[0]][0]
assert any(r["type"] == "exec" for r in recs[first:]), "no exec record after the loss record"
assert loss[-1]["total"] == lost, (loss[-1], lost)
n = sum(1 for r in recs if r["type"] == "exec")
print(f"disk full ({sys.argv[2]} bytes free): {n} exec records kept, {lost} lines lost "
      f"and said in {len(loss)} loss record(s); only whole JSON lines")
PY

# 2. standard output stuck at shutdown (a reader that never reads)
mkfifo "$T/pipe"
sleep 60 <"$T/pipe" &
READER=$!
PIDS+=("$READER")
"$PROCWARDEN" run --policy "$T/out.yaml" --log - >"$T/pipe" 2>"$T/agent2.err" &
AGENT=$!
PIDS+=("$AGENT")
sleep 1
"$HELPERS/pw_storm" -n 2000 -w 2 "$T/quick" >/dev/null
sleep 0.5
kill -TERM "$AGENT"
rc=0
t0=$(date +%s)
wait "$AGENT" || rc=$?
forget_pid "$AGENT"
took=$(($(date +%s) - t0))
kill "$READER" 2>/dev/null || true
[ "$rc" = 0 ] || { cat "$T/agent2.err" >&2; fail "stuck stdout at shutdown: exit $rc (want 0)"; }
[ "$took" -le 15 ] || fail "stuck stdout: the agent took $took s to stop"
echo "stuck stdout: exit 0 in $took s"

# 3. losses elsewhere are said too: a tiny event ring drops events
start_agent --policy "$T/out.yaml" --ring 4
"$HELPERS/pw_storm" -n 3000 -w 2 "$T/quick" >/dev/null
sleep 0.5
stop_agent
python3 - "$T/agent.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
stop = [r for r in recs if r["type"] == "stop"][0]
loss = [r for r in recs if r["type"] == "loss" and r["class"] == "ring"]
if stop["ring_drops"]:
    assert loss and loss[-1]["total"] == stop["ring_drops"], (loss, stop["ring_drops"])
    assert sum(r["count"] for r in loss) == stop["ring_drops"]
print(f"ring: {stop['ring_drops']} events dropped, said in {len(loss)} loss record(s)")
PY

# 4. a flood of records from one uid is a counted summary beyond its
# budget; kills are never held back
private_bin pw_victim victim
write_policy budget.yaml <<EOF2
version: 1
rules:
  - name: log-quick
    match: {exe: "$T/quick"}
    actions: [log]
  - name: kill-victim
    match: {exe: "$T/victim", uid: 64123}
    actions: [kill]
EOF2
start_agent --policy "$T/budget.yaml" --uid-record-budget 20K
setpriv --reuid=64123 --regid=64123 --clear-groups "$HELPERS/pw_storm" -n 300 -w 2 "$T/quick" >/dev/null
setpriv --reuid=64123 --regid=64123 --clear-groups "$HELPERS/pw_storm" -n 80 -w 1 "$T/victim" \
	--sleep-ms 2000 >/dev/null || true
sleep 1.2
stop_agent
python3 - "$T/agent.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines(keepends=True)
recs = [json.loads(l) for l in lines]
q = [i for i, r in enumerate(recs)
     if r["type"] == "exec" and r["rules"] == ["log-quick"] and r["uid"] == 64123]
k = [r for r in recs if r["type"] == "exec" and r["rules"] == ["kill-victim"]]
b = [r for r in recs if r["type"] == "loss" and r["class"] == "uid_budget" and r["uid"] == 64123]
held = sum(r["count"] for r in b)
size = sum(len(lines[i].encode()) for i in q)
assert held > 0 and len(q) + held == 300, (len(q), held, b)
assert size <= 20 * 1024, size
assert len(k) == 80 and all(r["actions"][0]["result"] == "ok" for r in k), len(k)
print(f"uid budget 20 KiB/min: {len(q)} of 300 log records written ({size} bytes), {held} said "
      f"in {len(b)} loss record(s); 80 of 80 kills recorded")
PY
echo PASS
