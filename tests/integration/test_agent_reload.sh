#!/bin/bash
# SIGHUP with a broken policy keeps the old policy working (and writes an
# `error` record with the loader's messages); SIGHUP with a new valid policy
# switches to it (a `reload` record).  SIGHUP also reopens the log (logrotate).
. "$(dirname "$0")/lib.sh"

private_bin pw_victim alpha
private_bin pw_victim beta
mkdir -m 0755 "$T/policy.d"
pol() { # exe
	cat >"$T/policy.d/p.yaml" <<EOF2
version: 1
rules:
  - name: log-$1
    match:
      exe: "$T/$1"
    actions: [log]
EOF2
	chmod 0644 "$T/policy.d/p.yaml"
}
pol alpha
start_agent --policy "$T/policy.d"
"$T/alpha" --sleep-ms 50 one
wait_for "$T/agent.json" 5 '"one"' || fail "alpha not logged"

# a broken policy: the old one stays
printf 'version: 1\nrules:\n  - name: broken\n    actions: [kil]\n' >"$T/policy.d/p.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 5 '"type":"error"' || fail "no error record for the broken policy"
"$T/alpha" --sleep-ms 50 two
"$T/beta" --sleep-ms 50 ignored
wait_for "$T/agent.json" 5 '"two"' || fail "the old policy stopped working after a failed reload"

# logrotate: move the log away, SIGHUP, new lines go to a new file
mv "$T/agent.json" "$T/agent.json.1"
pol beta
kill -HUP "$AGENT"
wait_for "$T/agent.json" 5 '"type":"reload"' || fail "no reload record in the reopened log"
"$T/beta" --sleep-ms 50 three
"$T/alpha" --sleep-ms 50 four
wait_for "$T/agent.json" 5 '"three"' || fail "the new policy is not in force"

# SIGUSR1 (logrotate's signal) reopens the log and nothing else: a policy
# edited on disk meanwhile stays out until a reload
sleep 0.3
mv "$T/agent.json" "$T/agent.json.2"
pol alpha
kill -USR1 "$AGENT"
for i in $(seq 1 50); do [ -e "$T/agent.json" ] && break; sleep 0.05; done
[ -e "$T/agent.json" ] || fail "SIGUSR1 did not reopen the log"
"$T/beta" --sleep-ms 50 five
wait_for "$T/agent.json" 5 '"five"' || fail "the policy changed on SIGUSR1, or the log was not reopened"
grep -q '"type":"reload"' "$T/agent.json" && fail "SIGUSR1 reloaded the policy"
sleep 0.3
stop_agent
cat "$T/agent.json.1" "$T/agent.json.2" "$T/agent.json" >"$T/all.json"
json_lines_valid "$T/all.json"
python3 - "$T" <<'PY'
import json, os, sys
T = sys.argv[1]
old = [json.loads(l) for l in open(f"{T}/agent.json.1")]
new = [json.loads(l) for l in open(f"{T}/agent.json.2")]
last = [json.loads(l) for l in open(f"{T}/agent.json")]
err = [r for r in old if r["type"] == "error"]
assert len(err) == 1, err
assert any("p.yaml:4:" in m and "kil" in m for m in err[0]["messages"]), err
# (launches elsewhere whose exe went unknown are recorded undecided: not these)
args = lambda recs: [r["argv"][-1] for r in recs if r["type"] == "exec" and r["rules"]]
assert args(old) == ["one", "two"], args(old)
assert args(new) == ["three"], args(new)
assert args(last) == ["five"], args(last)
# for a collector of many machines: every record names its host and boot,
# and counts from 1 without a gap (nothing was lost), across the reopens
allr = old + new + last
boot = open("/proc/sys/kernel/random/boot_id").read().strip()
host = os.uname().nodename
assert all(r["host"] == host and r["boot_id"] == boot for r in allr), allr[0]
assert [r["seq"] for r in allr] == list(range(1, len(allr) + 1)), [r["seq"] for r in allr]
assert [r["schema"] for r in allr if r["type"] == "start"] == [1], "schema"
rl = [r for r in new if r["type"] == "reload"][0]
assert rl["policy"]["rules"] == 1, rl
print("failed reload kept the old policy; valid reload switched; log reopened on SIGHUP "
      "and on SIGUSR1 (which left the policy alone)")
PY
echo PASS
