#!/bin/bash
# `run --watch-exec`: fanotify FAN_OPEN_EXEC notifications (they hold no exec
# up) name the program of every launch, including launches gone before the
# listener could pin them from /proc: a storm of 3,000 launches of a private
# static binary that exits at once, by 2 workers at full speed, gets 3,000
# records from a rule on its exe (without the watch a share of them is gone
# unnamed, counted in gone_before_read).
. "$(dirname "$0")/lib.sh"

private_bin pw_victim stormbin
write_policy watch.yaml <<EOF2
version: 1
rules:
  - name: log-storm
    match:
      exe: "$T/stormbin"
    actions: [log]
EOF2
start_agent --policy "$T/watch.yaml" --no-scan --watch-exec
grep -q '"watch":{"state":"on","watching":\[' "$T/agent.json" ||
	fail "the start record does not show the watch on: $(head -1 "$T/agent.json")"
N=3000
out=$("$HELPERS/pw_storm" -n $N -w 2 "$T/stormbin")
echo "$out"
echo "$out" | grep -q "failed 0\$" || fail "the storm failed: $out"
sleep 0.5
stop_agent
python3 - "$T" "$N" <<'PY'
import json, sys
T, N = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
ex = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/stormbin"]
stop = [r for r in recs if r["type"] == "stop"][0]
print(f"watch: {len(ex)} of {N} launches logged; {stop['exe_from_gate']} exes from the watch, "
      f"{stop['gone_before_read']} gone before read, {stop['watch_events']} notifications, "
      f"{stop['watch_overflows']} overflows")
assert stop["watch_overflows"] == 0, stop
assert stop["watch_events"] >= N, stop
assert len(ex) == N, f"{len(ex)} records of {N} launches"
assert len({r["pid"] for r in ex}) == N, "duplicate records"
PY
