#!/bin/bash
# --dry-run kills nothing and records everything: each action has
# "result": "dry-run", and no hook runs.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim victim
cat >"$T/hook" <<'EOF2'
#!/bin/sh
touch "$(dirname "$0")/hook-ran"
EOF2
chmod 0755 "$T/hook"
write_policy dry.yaml <<EOF2
version: 1
rules:
  - name: kill-victim
    match:
      exe: "$T/victim"
    actions:
      - kill
      - log
      - hook: ["$T/hook"]
EOF2
start_agent --policy "$T/dry.yaml" --dry-run
for i in 1 2 3; do
	"$T/victim" --sleep-ms 200 --exit 5 "run-$i" && fail "victim exit 0?" || rc=$?
	[ "$rc" = 5 ] || fail "victim did not run to its end under --dry-run (exit $rc)"
done
sleep 0.5
stop_agent
[ ! -e "$T/hook-ran" ] || fail "a hook ran under --dry-run"
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
start = [r for r in recs if r["type"] == "start"][0]
assert start["dry_run"] is True, start
v = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/victim"]
assert len(v) == 3, v
for r in v:
    acts = {a["action"]: a for a in r["actions"]}
    assert set(acts) == {"kill", "log", "hook"}, r["actions"]
    assert acts["kill"]["result"] == "dry-run" and acts["kill"]["signal"] == "SIGKILL", acts
    assert acts["hook"]["result"] == "dry-run", acts
    assert acts["hook"]["argv"] == [f"{T}/hook"], acts
    assert "latency_us" not in r
assert not [r for r in recs if r["type"] == "hook"]
print("dry run: 3 launches recorded, none killed, no hook run")
PY
echo PASS
