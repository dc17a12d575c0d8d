#!/bin/bash
# A `fileless` deny at the gate: a program whose file was unlinked and that
# is exec'd through an fd (fexecve) is denied before it runs, and the record
# says fileless.  The gate judged "deleted" from /proc/PID/exe -- the
# caller's program before this exec, still linked -- so the deny never fired
# there, and the program ran until the kill after the exec.  A deleted name
# of a file still linked elsewhere is not fileless: it runs.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there; the rule matches only files on it.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

G="$T/gate"
gated_tmpfs "$G"
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: deny-fileless
    match: {exe: "$G/*", fileless: true}
    actions: [deny, log]
EOF2
start_agent --policy "$T/p.yaml" --no-scan
fexec() { # copy NAME [LINK]: exec a copy of pw_victim through an fd after unlinking it
	cp "$HELPERS/pw_victim" "$G/$1"
	[ -n "${2:-}" ] && ln "$G/$1" "$G/$2"
	python3 - "$G/$1" "$T/ran.$1" <<'PY'
import os, sys
p, out = sys.argv[1:]
fd = os.open(p, os.O_RDONLY)
os.unlink(p)
try:
    os.execve(fd, [p, "--touch", out, "--exit", "0"], {})
except PermissionError:
    sys.exit(126)
PY
}
rc=0
fexec gone || rc=$?
[ "$rc" = 126 ] || fail "an exec of an unlinked file through its fd was not denied (exit $rc)"
[ ! -e "$T/ran.gone" ] || fail "the fileless program ran its first instruction"
rc=0
fexec linked elsewhere || rc=$?
[ "$rc" = 0 ] && [ -e "$T/ran.linked" ] || fail "a file still linked elsewhere was denied as fileless (exit $rc)"
stop_agent
python3 - "$T" "$G" <<'PY'
import json, sys
T, G = sys.argv[1:]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
d = [r for r in recs if r["type"] == "exec" and r["source"] == "gate"]
assert len(d) == 1 and d[0]["rules"] == ["deny-fileless"] and d[0].get("fileless") is True, d
assert d[0]["actions"][0] == {"action": "deny", "result": "ok"}, d
print(f"unlinked + fexecve: denied at the gate, record fileless; still linked elsewhere: ran")
PY
echo PASS
