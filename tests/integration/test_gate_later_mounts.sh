#!/bin/bash
# Filesystems mounted after the agent started are gated (Linux 6.14 and
# later: mount notifications): a tmpfs mounted below a deny rule's
# directory while the agent runs, holding the denied binary, is marked by
# the mount watcher (a `mount` record), and the binary's exec is denied
# before it runs (its first act, a write, never happens) and recorded.  A
# filesystem mounted below a deny rule's directory before the start is
# marked too, and so is one that a reload's new deny rule covers.  The
# watcher holds the gate's group: the agent's stop still
# releases what it held, and SIGKILL of the agent takes the watcher with it.
# On an older kernel the start record says that later mounts fall back to
# kill-after-exec (and the test skips).
#
# Safety: a private mount namespace; the gate marks only tmpfs mounted
# there; the rules match only the test's binaries on them.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

G="$T/gate"
gated_tmpfs "$G"
mkdir -p "$G/usb" "$G/opt/early"
gated_tmpfs "$G/opt/early" # mounted below a deny directory before the start
gated_tmpfs "$T/other"     # covered by no deny rule until a reload
cp "$HELPERS/pw_victim" "$G/opt/early/denied"
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-usb
    match: {exe: ["$G/usb/**", "$G/opt/**"]}
    actions: [deny]
  - name: log-free
    match: {exe: "$G/free/**"}
    actions: [log]
EOF2

start_agent --policy "$T/p.yaml" --no-scan
start=$(grep '"type":"start"' "$T/agent.json")
later=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gate"]["later_mounts"])' "$start")
echo "start record: gate.later_mounts = $later"
if [ "$later" != "marked as they are mounted" ]; then
	# only a kernel without mount notifications is a reason to skip
	echo "$later" | grep -q "the kernel has no mount notifications" || fail "no mount watcher: $later"
	stop_agent
	echo "SKIP: $later"
	exit 77
fi
watcher=$(pgrep -P "$AGENT" -x pw-mounts | head -n1 || true)
[ -n "$watcher" ] || fail "no mount watcher process under the agent"
caps=$(sed -n 's/^CapEff:\t//p' "/proc/$watcher/status")
echo "mount watcher pid $watcher, CapEff $caps, $(grep ^Seccomp: /proc/$watcher/status)"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
	v=$(sed -n "s/^$set:\t//p" "/proc/$watcher/status")
	want=0000000000200000
	[ "$set" = CapInh ] || [ "$set" = CapAmb ] && want=0000000000000000
	[ "$v" = "$want" ] || fail "the watcher's $set is $v, not $want (CAP_SYS_ADMIN alone)"
done
grep -q '^NoNewPrivs:.1' "/proc/$watcher/status" || fail "the watcher runs without no_new_privs"
grep -q '^Seccomp:.2' "/proc/$watcher/status" || fail "the watcher runs without its seccomp filter"

denied_run() { # path: the exec must fail with EPERM (bash: 126), the victim never writes
	local rc=0
	rm -f "$T/wrote"
	"$1" --touch "$T/wrote" --exit 0 2>/dev/null || rc=$?
	[ "$rc" = 126 ] || fail "$1 ran (exit $rc): not denied before the exec"
	[ ! -e "$T/wrote" ] || fail "$1 wrote its byte: it ran"
}
# mounted before the start, below a deny directory
denied_run "$G/opt/early/denied"

# mounted while the agent runs
gated_tmpfs "$G/usb"
wait_for "$T/agent.json" 10 "\"type\":\"mount\",.*\"path\":\"$G/usb\"" ||
	fail "no mount record for $G/usb"
cp "$HELPERS/pw_victim" "$G/usb/denied"
denied_run "$G/usb/denied"
cp "$HELPERS/pw_victim" "$G/fine"
"$G/fine" --exit 0 || fail "an allowed binary did not run"
# the exec watch names what runs from a later mount no deny covers
mkdir "$G/free"
gated_tmpfs "$G/free"
wait_for "$T/agent.json" 10 "\"type\":\"mount\",.*\"path\":\"$G/free\",\"marked_for\":\"watch\"" ||
	fail "no mount record of the watch for $G/free"
cp "$HELPERS/pw_victim" "$G/free/fine"
"$G/free/fine" --exit 0 named-on-usb || fail "an allowed binary on a later mount did not run"

# unmounted and mounted again (the new filesystem may get the old device
# number): still denied
umount "$G/usb"
gated_tmpfs "$G/usb"
wait_for "$T/agent.json" 10 "\"type\":\"mount\",.*\"path\":\"$G/usb\".*\"type\":\"mount\",.*\"path\":\"$G/usb\"" ||
	echo "(the new filesystem has its old device number: no new mount record)"
sleep 0.2
cp "$HELPERS/pw_victim" "$G/usb/denied"
denied_run "$G/usb/denied"
kill -TERM "$watcher" # systemd signals the whole unit: the watcher stays
sleep 0.2
[ -d "/proc/$watcher" ] || fail "SIGTERM ended the mount watcher"

# how soon after a mount: 20 fresh mounts, each exec'd right after the copy
early=0
for i in $(seq 1 20); do
	gated_tmpfs "$G/usb/m$i"
	cp "$HELPERS/pw_victim" "$G/usb/m$i/denied"
	rc=0
	"$G/usb/m$i/denied" --exit 0 2>/dev/null || rc=$?
	[ "$rc" = 126 ] || early=$((early + 1))
done
echo "execs right after a mount and a copy that ran before the mark: $early of 20"

# a reload that denies on a filesystem the start's policy did not cover:
# the watcher marks it before the new policy decides
cp "$HELPERS/pw_victim" "$T/other/denied"
"$T/other/denied" --exit 0 || fail "before the reload, $T/other/denied did not run"
sed -i "s|exe: \[|exe: [\"$T/other/**\", |" "$T/p.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "no reload record"
grep -q "\"type\":\"mount\",.*\"path\":\"$T/other\"" "$T/agent.json" ||
	fail "the reload's new deny directory was not marked: $(grep '"type":"error"' "$T/agent.json")"
denied_run "$T/other/denied"
! grep -q 'denies where the gate does not watch' "$T/agent.json" ||
	fail "the reload said the gate does not watch the new deny directory"
stop_agent
python3 - "$T" "$G" "$early" <<'PY'
import json, sys
T, G, early = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
mounts = [r["path"] for r in recs if r["type"] == "mount"]
denials = [r for r in recs if r["type"] == "exec" and "deny" in [a["action"] for a in r.get("actions", [])]]
stop = [r for r in recs if r["type"] == "stop"][0]
print(f"mount records: {len(mounts)}; denials recorded: {len(denials)}; "
      f"stop mounts_marked {stop.get('mounts_marked')}, watch_errors {stop.get('watch_errors')}")
named = [r for r in recs if r["type"] == "exec" and "named-on-usb" in (r.get("argv") or [])]
assert len(named) == 1 and named[0]["exe"] == f"{G}/free/fine", named
# no error record -- but the one an exec from another mount namespace's
# filesystem makes (another test's, a container's): the watch cannot see it
errs = [r for r in recs if r["type"] == "error"]
foreign = [r for r in errs if "does not mark" in r["error"] and not r.get("detail", "").startswith(T)]
assert [r for r in errs if r not in foreign] == [], errs
assert stop["watch_errors"] == 0, stop
assert stop["watch_pins_resumed"] == (1 if foreign else 0), (stop, foreign)
assert f"{G}/usb" in mounts, mounts
assert stop["mounts_marked"] == len(mounts), (stop.get("mounts_marked"), len(mounts))
exes = [d.get("exe") for d in denials]
for p in (f"{G}/opt/early/denied", f"{G}/usb/denied", f"{T}/other/denied"):
    assert p in exes, (p, exes)
# each of the 20 quick ones was denied, or (before its mount's mark) killed
# after the exec by the deny rule: nothing ran unrecorded
assert len(denials) >= 4 + 20, (len(denials), early)
PY

# SIGKILL of the agent: the watcher goes with it, held execs proceed
start_agent --policy "$T/p.yaml" --no-scan
watcher=$(pgrep -P "$AGENT" -x pw-mounts | head -n1 || true)
[ -n "$watcher" ] || fail "no mount watcher process under the second agent"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null || true
forget_pid "$AGENT"
for i in $(seq 1 50); do [ -d "/proc/$watcher" ] || break; sleep 0.1; done
[ ! -d "/proc/$watcher" ] || { kill -KILL "$watcher"; fail "the watcher outlived the agent"; }
"$G/fine" --exit 0 || fail "an exec after the agent died did not run"
echo PASS
