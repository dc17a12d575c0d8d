#!/bin/bash
# Fault injection: the hook executor's worker killed with SIGKILL.  The
# agent says so (an `error` record from the executor), the worker is
# restarted and hooks run again; after more than 5 deaths in a minute the
# executor gives up, the agent says that too, does not spin on the closed
# socket (before: a whole CPU), skips later hooks with a reason, and stops
# on SIGTERM with exit 0.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim trigger
mkdir -m 0755 "$T/hooks" "$T/out"
cat >"$T/hooks/note" <<EOF2
#!/bin/sh
cat >"$T/out/\$PROCWARDEN_PID.json"
EOF2
chmod 0755 "$T/hooks/note"
write_policy hook.yaml <<EOF2
version: 1
rules:
  - name: note
    match: {exe: "$T/trigger"}
    actions:
      - hook: ["$T/hooks/note"]
EOF2
start_agent --policy "$T/hook.yaml" --no-scan
sup=$(pgrep -P "$AGENT" | head -1 || true)
[ -n "$sup" ] || fail "no hook executor under the agent"
worker() { pgrep -P "$sup" 2>/dev/null | head -1 || true; }
hook_runs() { # launches; waits for that many hook results in out/
	local want=$(($(ls "$T/out" | wc -l) + $1)) i
	for i in $(seq 1 "$1"); do "$T/trigger" --exit 0; done
	for i in $(seq 1 100); do
		[ "$(ls "$T/out" | wc -l)" -ge "$want" ] && return 0
		sleep 0.05
	done
	return 1
}
hook_runs 1 || fail "the hook did not run at all"

w=$(worker)
[ -n "$w" ] || fail "no worker under the executor $sup"
kill -KILL "$w"
wait_for "$T/agent.json" 10 'hook executor died (SIGKILL)' || fail "no error record for the killed worker"
for i in $(seq 1 40); do
	w2=$(worker)
	[ -n "$w2" ] && [ "$w2" != "$w" ] && break
	sleep 0.05
done
[ -n "$w2" ] && [ "$w2" != "$w" ] || fail "the worker was not restarted"
hook_runs 3 || fail "hooks do not run after the restart"

# more than 5 deaths within a minute: the executor gives up
for k in 1 2 3 4 5 6; do
	w=$(worker)
	[ -n "$w" ] || break
	kill -KILL "$w"
	for i in $(seq 1 40); do
		w2=$(worker)
		{ [ -z "$w2" ] || [ "$w2" != "$w" ]; } && break
		sleep 0.05
	done
	sleep 0.15
done
wait_for "$T/agent.json" 10 'hooks are not run any more' || fail "no record that the executor gave up"
wait_for "$T/agent.json" 10 'the hook executor is gone' || fail "the agent did not say the executor is gone"
"$T/trigger" --exit 0
wait_for "$T/agent.json" 10 'skipped: no hook executor' || fail "a later hook was not skipped with a reason"
# no busy loop: the agent's CPU time over one idle second
t0=$(awk '{print $14 + $15}' "/proc/$AGENT/stat")
sleep 1
t1=$(awk '{print $14 + $15}' "/proc/$AGENT/stat")
[ $((t1 - t0)) -lt 20 ] || fail "the agent used $((t1 - t0)) ticks of CPU in an idle second (spinning)"
! kill -0 "$sup" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$sup/stat")" != Z ] ||
	fail "the executor is left a zombie"
stop_agent
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
died = [r for r in recs if r["type"] == "error" and "died (SIGKILL)" in r.get("message", "")]
assert len(died) >= 5, len(died)
stop = [r for r in recs if r["type"] == "stop"][0]
assert stop["hook_executor_lost"] == 1, stop
ok = [r for r in recs if r["type"] == "hook" and r["result"] == "ok"]
assert len(ok) >= 4, len(ok)
print(f"{len(died)} worker deaths reported, {len(ok)} hooks ok, the executor gave up once")
PY
echo PASS
