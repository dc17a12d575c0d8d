#!/bin/bash
# The agent judges a launch as the kernel reported it (the process table):
#  - a kill takes every process the victim forked before it landed: a fork
#    first, a double fork with setsid (0 survivors in 100 each);
#  - parent_exe is the forking parent's exe, even once it has exited and
#    the launch was reparented to init;
#  - ids of short-lived launches are the ones they ran with, never 0.
# Victims run as the test uid 64123 from the private directory.
. "$(dirname "$0")/lib.sh"

U=64123
N=${PW_LINEAGE_N:-100}
private_bin pw_forker victim
private_bin pw_victim server
private_bin pw_victim sh
private_bin pw_victim quick
private_bin pw_storm storm
cp /usr/bin/true "$T/dyn" # dynamically linked: lives as long as its loader
mkdir -p "$T/surv"
chmod 1777 "$T/surv"
write_policy lineage.yaml <<EOF2
version: 1
rules:
  - name: kill-victim
    match: {exe: "$T/victim", uid: $U}
    actions: [kill]
  - name: shell-under-server
    match: {exe: "$T/sh", parent_exe: "$T/server", uid: $U}
    actions: [kill]
  - name: log-quick
    match: {exe: "$T/quick"}
    actions: [log]
  - name: log-dyn
    match: {exe: "$T/dyn"}
    actions: [log]
EOF2
start_agent --policy "$T/lineage.yaml"
as() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
for i in $(seq 1 "$N"); do
	as "$T/victim" fork "$T/surv" 400 || true
done
for i in $(seq 1 "$N"); do
	as "$T/victim" double "$T/surv" 400 || true
done
# the server (up 20 ms) forks the shell and exits: the shell is reparented
for i in $(seq 1 20); do
	as "$T/server" --sleep-ms 20 --bg-exec "$T/sh" --sleep-ms 300 web
done
as "$T/storm" -n 500 -w 2 "$T/quick" | grep -q "failed 0\$" || fail "the storm failed"
as "$T/storm" -n 500 -w 2 -r 500 "$T/dyn" | grep -q "failed 0\$" || fail "the dyn storm failed"
sleep 1
stop_agent
python3 - "$T" "$N" "$U" <<'PY'
import json, os, sys
T, N, U = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
surv = os.listdir(f"{T}/surv")
assert not surv, f"{len(surv)} children survived their parent's kill"
v = [r for r in recs if r["type"] == "exec" and r["rules"] == ["kill-victim"]]
assert len(v) == 2 * N, f"{len(v)} victim records, want {2 * N}"
ok = [r for r in v if r["actions"][0]["result"] == "ok"]
assert len(ok) == 2 * N, [r["actions"] for r in v if r not in ok][:3]
assert all(r["uid"] == U for r in ok), ok[:2]
# a victim killed before its fork has no descendant to take, but across 200
# some forked first (about half here), and the records add up to the count
d = sum(r["descendants_signalled"] for r in ok)
assert d > 0, "no victim's descendant was signalled"
sh = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/sh"]
assert len(sh) == 20, f"{len(sh)} shell records"
assert all(r["rules"] == ["shell-under-server"] and r["parent_exe"] == f"{T}/server" and
           r["actions"][0]["result"] == "ok" for r in sh), [r for r in sh if
                                                        r["parent_exe"] != f"{T}/server"][:2]
q = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/quick"]
# named, or (gone unnamed) said unknown; never another uid
unk = [r for r in recs if r["type"] == "exec" and r["exe"] is None and
       r["parent_exe"] == f"{T}/storm" and "log-quick" in r.get("undecided", [])]
# (3%: under ASan, 6 of 500 went unnamed in CI)
assert len(q) + len(unk) >= 500 and len(unk) <= 15, \
    f"{len(q)} records of 500 short launches, {len(unk)} said unknown"
assert all(r["uid"] in (U, None) for r in unk), unk
assert all(r["uid"] == U and r["gid"] == U for r in q), [r for r in q if r["uid"] != U][:3]
assert all(r["ppid"] and r["parent_exe"] == f"{T}/storm" for r in q), \
    [r for r in q if r["parent_exe"] != f"{T}/storm"][:3]
# the command line and the effective ids, read by the listener at the pin:
# never another's
argv = [r for r in q if r["argv"] is not None]
assert all(r["argv"] == [f"{T}/quick"] for r in argv), [r["argv"] for r in argv if r["argv"] != [f"{T}/quick"]][:3]
dyn = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/dyn"]
dargv = [r for r in dyn if r["argv"] is not None]
assert all(r["argv"] == [f"{T}/dyn"] for r in dargv), [r["argv"] for r in dargv if r["argv"] != [f"{T}/dyn"]][:3]
assert all(r["uid"] == U and r["euid"] in (U, None) for r in dyn), [r for r in dyn if r["euid"] not in (U, None)][:3]
assert len(dyn) >= 475, f"{len(dyn)} named records of 500 launches of a dynamic program"
# (before the capture and the check that a process gone after its pin was
# still the pinned one: 200-313 of 500; now 484-496, 400 under ASan at least)
assert len(dargv) >= 400, f"argv known for {len(dargv)} of 500 launches of a dynamic program"
assert all(r["euid"] in (U, None) for r in q), [r for r in q if r["euid"] not in (U, None)][:3]
stop = [r for r in recs if r["type"] == "stop"][0]
assert stop["signals_unverified"] == 0, stop
assert stop["descendants_signalled"] == d, (stop["descendants_signalled"], d)
print(f"{2 * N} victims killed with {d} descendants, 0 survivors; 20 reparented shells "
      f"killed by their forking parent; 500 short launches all with uid {U}, "
      f"{len(argv)} with their argv (of a dynamic program: {len(dargv)}); "
      f"table peak {stop['table']['peak']} entries, {stop['table']['bytes']} bytes")
PY
echo PASS
