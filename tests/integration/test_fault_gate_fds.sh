#!/bin/bash
# The gate never loses an exec to the agent's own open-file limit.  The
# kernel gives the gate an fd of each file it holds an exec of, and when it
# cannot (EMFILE) it denies that exec.  The listener pins each queued exec
# with two fds, so a backed-up evaluator with a small limit used to spend
# them all: execs of an allowed program on the gated filesystem then failed.
# Here the agent runs with an open-file limit of 1,200, its evaluator held
# up by slow kills (a test-only knob), while 2,000 launches of an allowed
# program run on the gated tmpfs: every one must run (the listener stops
# pinning at its budget, counted in pins_refused_fd_budget), no
# gate_fd_denials.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there; the kill rule matches only the test's victim on it.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"
need_test_hooks

G="$T/gate"
gated_tmpfs "$G"
for b in fine victim never; do cp "$HELPERS/pw_victim" "$G/$b"; done
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-never
    match: {exe: "$G/never"}
    actions: [deny]
  - name: kill-victim
    match: {exe: "$G/victim"}
    actions: [kill]
EOF2
: >"$T/agent.json"
PROCWARDEN_TEST_KILL_DELAY_MS=500 prlimit --nofile=1200:1200 "$PROCWARDEN" run --policy "$T/p.yaml" \
	--log "$T/agent.json" --no-scan 2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for "$T/agent.json" 20 '"type":"start"' || fail "the agent did not start: $(cat "$T/agent.err")"
# hold the evaluator: 6 kills of 500 ms each
VICTIMS=()
for i in 1 2 3 4 5 6; do
	"$G/victim" --sleep-ms 8000 2>/dev/null &
	VICTIMS+=($!)
done
sleep 0.2
out=$("$HELPERS/pw_storm" -n 2000 -w 2 -t 60 "$G/fine" || true)
echo "$out"
for p in "${VICTIMS[@]}"; do wait "$p" 2>/dev/null || true; done
stop_agent
python3 - "$T" "$out" <<'PY'
import json, sys
T, out = sys.argv[1:]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
stop = [r for r in recs if r["type"] == "stop"][0]
failed = int(out.rsplit("failed ", 1)[1])
assert failed == 0, f"{failed} of 2000 allowed execs failed (the kernel denied them): {stop.get('gate_fd_denials')} gate_fd_denials"
assert stop["gate_fd_denials"] == 0, stop
assert stop["pins_refused_fd_budget"] > 0, ("the budget was never reached: the test proves nothing", stop)
assert not [r for r in recs if r["type"] == "loss" and r["class"] == "gate_fd_denials"]
print(f"2000 allowed execs ran; pins refused at the fd budget: {stop['pins_refused_fd_budget']}; gate_fd_denials 0")
PY
echo PASS
