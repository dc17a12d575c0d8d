#!/bin/bash
# An alert rule on exe + parent + uid logs exactly the matching launch with the
# record's fields; neighbours that differ in one condition are not logged.
. "$(dirname "$0")/lib.sh"

for b in sh zsh nginx apache; do private_bin pw_victim $b; done
U=64021
write_policy alert.yaml <<EOF2
version: 1
rules:
  - name: shell-under-nginx
    severity: critical
    match:
      exe: "$T/sh"
      parent_exe: "$T/nginx"
      uid: $U
    actions: [log]
EOF2
start_agent --policy "$T/alert.yaml"

as() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
as $U "$T/nginx" --fork-exec "$T/sh" --sleep-ms 20 match     # logged
as $((U + 1)) "$T/nginx" --fork-exec "$T/sh" --sleep-ms 20 other-uid
as $U "$T/apache" --fork-exec "$T/sh" --sleep-ms 20 other-parent
as $U "$T/nginx" --fork-exec "$T/zsh" --sleep-ms 20 other-exe
sleep 0.3
stop_agent

python3 - "$T" "$U" <<'PY'
import json, sys
T, U = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
execs = [r for r in recs if r["type"] == "exec"]
assert len(execs) == 1, f"expected exactly one exec record, got {len(execs)}: {execs}"
r = execs[0]
assert r["exe"] == f"{T}/sh" and r["argv"][-1] == "match", r
assert r["uid"] == U and r["euid"] == U and r["gid"] == U, r
assert r["parent_exe"] == f"{T}/nginx", r
assert r["comm"] == "sh", r
assert r["rules"] == ["shell-under-nginx"] and r["severity"] == "critical", r
assert r["actions"] == [{"action": "log", "result": "ok"}], r
assert "latency_us" not in r, r
assert r["source"] == "netlink" and "gone" not in r, r
assert r["time"].endswith("Z") and len(r["time"]) == 27, r["time"]
print("exactly the matching launch was logged, with its fields")
PY
echo PASS
