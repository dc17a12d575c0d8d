#!/bin/bash
# The shipped deny-list policy (policies/10-kill-disallowed.yaml), its paths
# moved under a private directory and every rule pinned to a test uid: network
# tools, miners (by command line and by name) and programs run from
# world-writable directories are killed; a neighbour that matches no rule and
# the same tool under another uid run normally.
. "$(dirname "$0")/lib.sh"

U=64041
mkdir -p "$T/usr/bin" "$T/opt" "$T/tmp" "$T/var/tmp" "$T/dev/shm"
for b in usr/bin/nc usr/bin/socat usr/bin/nmap usr/bin/ls opt/worker opt/xmrig tmp/dropper \
	var/tmp/x dev/shm/y; do
	private_bin pw_victim "$b"
done
rewrite_policy "$PW_SOURCE_DIR/policies/10-kill-disallowed.yaml" "$T/kill.yaml" $U --pin-uid
[ "$(grep -c "uid: $U" "$T/kill.yaml")" = 4 ] || fail "every rule must be pinned to the test uid"
"$PROCWARDEN" check "$T/kill.yaml" >/dev/null || fail "the rewritten policy does not load"
start_agent --policy "$T/kill.yaml" --no-scan

as() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
status() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; echo $rc; }
expect() { # status command...
	local want=$1 got
	shift
	got=$(status "$@")
	[ "$got" = "$want" ] || fail "expected exit $want, got $got: $*"
}
expect 137 as $U "$T/usr/bin/nc" --sleep-ms 3000 -l 4444
expect 137 as $U "$T/usr/bin/socat" --sleep-ms 3000 tcp-listen
expect 137 as $U "$T/usr/bin/nmap" --sleep-ms 3000 10.0.0.0/8
expect 137 as $U "$T/opt/worker" --sleep-ms 3000 -o stratum+tcp://pool.example:3333
expect 137 as $U "$T/opt/xmrig" --sleep-ms 3000
expect 137 as $U "$T/tmp/dropper" --sleep-ms 3000
expect 137 as $U "$T/var/tmp/x" --sleep-ms 3000
expect 137 as $U "$T/dev/shm/y" --sleep-ms 3000
expect 0 as $U "$T/usr/bin/ls" --sleep-ms 100 fine
expect 0 as $U "$T/opt/worker" --sleep-ms 100 -o https://example.org
expect 0 as $((U + 1)) "$T/usr/bin/nc" --sleep-ms 100 other-uid
sleep 0.3
stop_agent
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
names = ["/usr/bin/nc", "/usr/bin/socat", "/usr/bin/nmap", "/opt/worker", "/opt/xmrig",
         "/tmp/dropper", "/var/tmp/x", "/dev/shm/y"]
got = {}
for r in recs:
    if r["type"] != "exec":
        continue
    exe = r["exe"] or ""  # null: not known (an exec chain read too late)
    if not exe.startswith(T):
        # setpriv's own exec event, read after it became the test uid and
        # perhaps already in the middle of exec'ing the program (exe then
        # setpriv, or unreadable, "" ): its command line names the program,
        # and the kill lands before or as the program starts.  Count it for
        # that program; the program's own event is then often "gone".
        assert exe in ("/usr/bin/setpriv", ""), r
        exe = next((a for a in (r["argv"] or []) if a.startswith(T)), None)
        if exe is None and r["comm"]:
            # caught mid-exec: the command line read empty, the name was
            # already the program's (the rule that matched is a name rule)
            exe = next((T + p for p in names if p.rsplit("/", 1)[1] == r["comm"]), None)
        if exe is None or not r["rules"]:
            continue  # nothing left to attribute it by, or only undecided
    assert r["actions"][0]["result"] in ("ok", "gone"), r
    got.setdefault(exe.replace(T, ""), set()).update(r["rules"])
want = {
    "/usr/bin/nc": {"kill-network-tools"}, "/usr/bin/socat": {"kill-network-tools"},
    "/usr/bin/nmap": {"kill-network-tools"}, "/opt/worker": {"kill-miners-by-cmdline"},
    "/opt/xmrig": {"kill-miners-by-name"}, "/tmp/dropper": {"kill-exec-from-world-writable"},
    "/var/tmp/x": {"kill-exec-from-world-writable"}, "/dev/shm/y": {"kill-exec-from-world-writable"},
}
assert got == want, got
print("deny list: every listed launch killed and recorded, the rest untouched")
PY
echo PASS
