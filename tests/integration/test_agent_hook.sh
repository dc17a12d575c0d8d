#!/bin/bash
# A hook receives the PROCWARDEN_* environment and the exec record as JSON on
# standard input; twenty launches killed by a rule whose hook sleeps are all
# killed within a second; the hook is killed at its timeout.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim victim
private_bin pw_victim sleeper
mkdir -m 0755 "$T/hooks" "$T/out"
cat >"$T/hooks/record" <<EOF2
#!/bin/sh
env | grep '^PROCWARDEN_' | sort >"$T/out/\$PROCWARDEN_PID.env"
cat >"$T/out/\$PROCWARDEN_PID.json"
exec "$T/sleeper" --sleep-ms 30000 hook
EOF2
chmod 0755 "$T/hooks/record"
write_policy hook.yaml <<EOF2
version: 1
rules:
  - name: kill-and-page
    severity: critical
    match:
      exe: "$T/victim"
    actions:
      - kill
      - hook: {run: ["$T/hooks/record", "--severity", "high"], timeout: 2}
EOF2
start_agent --policy "$T/hook.yaml" --no-scan

N=20
start=$(date +%s%N)
vp=()
for i in $(seq 1 $N); do
	"$T/victim" --sleep-ms 10000 "launch-$i" &
	vp+=($!)
done
killed=0
for p in "${vp[@]}"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 137 ] && killed=$((killed + 1))
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "$killed of $N killed, all dead after $elapsed_ms ms"
[ "$killed" = "$N" ] || fail "only $killed of $N killed"
[ "$elapsed_ms" -lt 1000 ] || fail "killing $N launches took $elapsed_ms ms (hooks delayed the kills?)"

# hooks time out after 2 s; wait for their records
for i in $(seq 1 80); do
	n=$(grep -c '"type":"hook"' "$T/agent.json" || true)
	[ "$n" -ge "$N" ] && break
	sleep 0.1
done
stop_agent
python3 - "$T" "$N" <<'PY'
import json, sys, os
T, N = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
ex = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/victim"]
assert len(ex) == N, len(ex)
hooks = [r for r in recs if r["type"] == "hook"]
assert len(hooks) == N, f"{len(hooks)} hook records for {N} requests"
ran = [h for h in hooks if h["result"] != "skipped"]
skipped = [h for h in hooks if h["result"] == "skipped"]
assert ran, "no hook ran"
for h in ran:
    assert h["result"] == "timeout", h
    assert h["rule"] == "kill-and-page", h
    assert h["argv"] == [f"{T}/hooks/record", "--severity", "high"], h
    assert 1900 <= h["duration_ms"] <= 4000, h
for h in skipped:
    assert h["reason"] in ("rate-limit", "concurrency"), h
# what one hook saw
h = ran[0]
pid = h["pid"]
env = dict(l.rstrip("\n").split("=", 1) for l in open(f"{T}/out/{pid}.env"))
rec = json.load(open(f"{T}/out/{pid}.json"))
assert env["PROCWARDEN_PID"] == str(pid), env
assert env["PROCWARDEN_RULE"] == "kill-and-page", env
assert env["PROCWARDEN_EXE"] == f"{T}/victim", env
assert env["PROCWARDEN_UID"] == "0", env
assert env["PROCWARDEN_CMDLINE"].startswith(f"{T}/victim --sleep-ms 10000 launch-"), env
assert "PROCWARDEN_PPID" in env, env
assert rec["type"] == "exec" and rec["pid"] == pid and rec["exe"] == f"{T}/victim", rec
assert rec["rules"] == ["kill-and-page"], rec
print(f"{len(ran)} hooks ran and were killed at their 2 s timeout, {len(skipped)} skipped "
      f"(rate limit); environment and JSON received")
PY
# no hook process may survive its timeout
if pgrep -f "$T/sleeper" >/dev/null; then
	fail "a hook process outlived its timeout"
fi
echo PASS
