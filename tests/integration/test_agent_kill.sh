#!/bin/bash
# A private binary matched by a kill rule is killed 100 times out of 100 (exit
# by SIGKILL), each with its `exec` record; a binary that matches nothing runs
# normally and produces no record.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim victim
private_bin pw_victim innocent
write_policy kill.yaml <<EOF2
version: 1
rules:
  - name: kill-victim
    severity: error
    match:
      exe: "$T/victim"
    actions: [kill]
EOF2
start_agent --policy "$T/kill.yaml" --metrics "$T/metrics.prom" --metrics-interval 1

N=100
killed=0
for i in $(seq 1 $N); do
	rc=0
	"$T/victim" --sleep-ms 3000 "run-$i" || rc=$?
	[ "$rc" = 137 ] && killed=$((killed + 1))
done
rc=0
"$T/innocent" --sleep-ms 20 --exit 3 || rc=$?
[ "$rc" = 3 ] || fail "the innocent binary did not run normally (exit $rc)"
sleep 1.2 # one metrics interval
cp "$T/metrics.prom" "$T/metrics.mid"
stop_agent

echo "killed $killed of $N"
[ "$killed" = "$N" ] || fail "only $killed of $N launches were killed"
python3 - "$T" "$N" <<'PY'
import json, sys
T, N = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
execs = [r for r in recs if r["type"] == "exec"]
victims = [r for r in execs if r["exe"] == f"{T}/victim"]
runs = sorted(int(r["argv"][-1].split("-")[1]) for r in victims)
assert runs == list(range(1, N + 1)), f"exec records for runs {runs[:10]}... ({len(runs)})"
for r in victims:
    assert r["rules"] == ["kill-victim"], r
    assert r["severity"] == "error", r
    assert r["actions"] == [{"action": "kill", "signal": "SIGKILL", "rule": "kill-victim",
                             "result": "ok"}], r["actions"]
    assert r["source"] == "netlink", r
    assert isinstance(r["latency_us"], int) and r["latency_us"] >= 0, r
    for k in ("type", "time", "pid", "ppid", "uid", "euid", "gid", "exe", "argv", "comm",
              "parent_exe", "rules", "severity", "actions", "latency_us", "source"):
        assert k in r, (k, r)
assert not [r for r in execs if r["exe"] == f"{T}/innocent"], "the innocent launch was logged"
lat = sorted(r["latency_us"] for r in victims)
# the Prometheus textfile: rewritten atomically, counters consistent
m = {}
for line in open(f"{T}/metrics.prom"):
    if line.startswith("#"):
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
assert m['procwarden_rule_matches_total{rule="kill-victim"}'] == N, m
assert m["procwarden_signals_sent_total"] == N, m
assert m["procwarden_launches_total"] >= N + 1, m
assert m['procwarden_queue_drops_total{queue="events"}'] == 0, m
assert any(l.startswith("procwarden_signals_sent_total ") for l in open(f"{T}/metrics.mid"))
print(f"{len(victims)} exec records; kill latency median {lat[len(lat)//2]} us, "
      f"max {lat[-1]} us")
PY
echo PASS
