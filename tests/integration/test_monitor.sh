#!/bin/bash
# procwarden monitor against the real kernel: a private static binary
# launched by a private parent under a test uid is seen with the right exe,
# argv, uid, ppid and parent exe; its fork and its exit code are seen.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim parent-bin
private_bin pw_victim child-bin
TUID=64011

start_monitor "$T/child-bin" "$PROCWARDEN" monitor --json

setpriv --reuid=$TUID --regid=$TUID --clear-groups \
	"$T/parent-bin" --fork-exec "$T/child-bin" --sleep-ms 300 --exit 7 'arg with space' "quote\"d" || true

wait_for "$T/mon.json" 5 '"exe":"'"$T"'/child-bin".*arg with space' || fail "exec of child-bin not seen"
sleep 0.5
kill -INT "$MON"
wait "$MON" || fail "monitor exited with $?"
PIDS=()
grep -q "procwarden monitor: events:" "$T/mon.err" || fail "no summary on Ctrl-C"
grep -q "overruns" "$T/mon.err" || fail "summary lacks overruns"

json_lines_valid "$T/mon.json"
python3 - "$T" "$TUID" <<'PY'
import json, sys
T, uid = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{T}/mon.json")]
def one(pred, what):
    m = [r for r in recs if pred(r)]
    if not m:
        sys.exit(f"FAIL: no record for {what}")
    return m[0]
parent = one(lambda r: r["type"] == "exec" and r.get("exe") == f"{T}/parent-bin", "parent exec")
child = one(lambda r: r["type"] == "exec" and r.get("exe") == f"{T}/child-bin"
            and "arg with space" in (r.get("argv") or []), "child exec")
assert child["argv"] == [f"{T}/child-bin", "--sleep-ms", "300", "--exit", "7", "arg with space",
                         'quote"d'], child["argv"]
assert child["uid"] == uid, child
assert child["euid"] == uid, child
assert child["ppid"] == parent["pid"], (child, parent)
assert child["parent_exe"] == f"{T}/parent-bin", child
assert child["source"] == "netlink", child
assert parent["uid"] == uid, parent
for k in ("type", "time", "pid", "ppid", "uid", "exe", "argv"):
    assert k in child, k
fork = one(lambda r: r["type"] == "fork" and r["pid"] == child["pid"], "fork of the child")
assert fork["ppid"] == parent["pid"], fork
ex = one(lambda r: r["type"] == "exit" and r["pid"] == child["pid"], "exit of the child")
assert ex["exit_code"] == 7, ex
# named from the process table: the exec's program and the ids it ran with
assert ex["exe"] == f"{T}/child-bin" and ex["uid"] == uid, ex
assert fork["exe"] == f"{T}/parent-bin", fork
# a value not learnt is null and named, never 0 or ""
for r in recs:
    for k in r.get("unknown", []):
        assert r[k] is None, (k, r)
    for k in ("exe", "comm", "uid", "ppid"):
        if k in r and k not in r.get("unknown", []):
            assert r[k] not in (None, ""), (k, r)
pex = one(lambda r: r["type"] == "exit" and r["pid"] == parent["pid"], "exit of the parent")
assert pex["exit_code"] == 7, pex
print("monitor: exec, fork and exit of the private child seen with the right fields")
PY

# text mode: an exe name and a comm set to terminal escapes reach the
# terminal as '?', not as escapes
esc=$(printf '\033]0;pwned\007')
private_bin pw_victim "esc$esc"
"$PROCWARDEN" monitor --events exec,comm >"$T/mon.txt" 2>"$T/mon2.err" &
MON=$!
PIDS+=("$MON")
sleep 1
"$T/esc$esc" --sleep-ms 100
python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(15, b"\x1b]0;pw\x07", 0, 0, 0); time.sleep(0.3)'
sleep 0.5
kill -INT "$MON"
wait "$MON" || fail "monitor (text) exited with $?"
forget_pid "$MON"
grep -q "esc?]0;pwned?" "$T/mon.txt" || fail "the escaped exe name is not in the text output"
grep -q "comm='?]0;pw?'" "$T/mon.txt" || fail "the escaped comm is not in the text output"
! grep -q "$(printf '\033')" "$T/mon.txt" || fail "an escape byte reached the text output"
echo PASS
