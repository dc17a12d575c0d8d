#!/bin/bash
# The shipped unit's SystemCallFilter= lets the agent do its work: every
# system call the agent, its threads, the hook executor and a hook make in a
# run under strace -f that uses every feature (log file and its reopen, the
# journal, metrics, a kill, a hook, a denial by the gate, the exec watch, a
# reload, the stop) is in the set the unit allows -- @system-service and the
# names beside it, expanded by systemd-analyze -- and so is every call in the
# agent's own seccomp lists (src/util/sandbox.c), which the agent may make
# on paths this run did not take.  A call outside the unit's set would fail
# with EPERM under systemd: `deny` or the watch silently off.
#
# Safety: a private mount namespace; the gate marks only a tmpfs mounted
# there; the rules match only the test's private binaries.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "SKIP: no strace"; exit 77; }
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
UNIT="$PW_BUILD_DIR/contrib/procwarden.service"
[ -f "$UNIT" ] || fail "no configured unit at $UNIT"

G="$T/gate"
gated_tmpfs "$G"
cp "$HELPERS/pw_victim" "$G/denied"
cp "$HELPERS/pw_victim" "$T/marker"
cp "$HELPERS/pw_victim" "$T/victim"
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: hook-marker
    match: {exe: "$T/marker"}
    actions: [log, {hook: ["/bin/sh", "-c", "cat >/dev/null; echo hooked"]}]
  - name: kill-victim
    match: {exe: "$T/victim"}
    actions: [kill]
  - name: deny-denied
    match: {exe: "$G/denied"}
    actions: [deny]
EOF2
: >"$T/agent.json"
# the agent as the unit runs it (under strace: the binary itself, not the
# guard, so that strace follows only the agent), with metrics
strace -f -qq -o "$T/strace.txt" "$PROCWARDEN_BIN" run --policy "$T/p.yaml" --log "$T/agent.json" \
	--journal --syslog-min-severity warning --metrics "$T/m.prom" --metrics-interval 1 \
	2>"$T/agent.err" &
AGENT=$!
PIDS+=("$AGENT")
wait_for "$T/agent.json" 30 '"type":"start"' || fail "the agent did not start: $(cat "$T/agent.err")"
grep -q '"gate":{"state":"on"' "$T/agent.json" || fail "no gate: $(grep start "$T/agent.json")"
"$T/marker" --sleep-ms 50 one
"$T/victim" --sleep-ms 3000 && fail "the victim was not killed"
"$G/denied" 2>/dev/null && fail "the denied binary ran"
wait_for "$T/agent.json" 10 '"type":"hook"' || fail "no hook record"
APID=$(pgrep -P "$AGENT" -x procwarden || echo "$AGENT")
kill -HUP "$APID"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "no reload record"
mv "$T/agent.json" "$T/agent.json.1"
kill -USR1 "$APID"
wait_for "$T/agent.json" 10 '"type"' || true
sleep 1.2 # a metrics write
kill -TERM "$APID"
wait "$AGENT" || true
forget_pid "$AGENT"
cat "$T/agent.json.1" "$T/agent.json" >"$T/all.json"
grep -q '"type":"stop"' "$T/all.json" || fail "no stop record: $(cat "$T/agent.err")"

systemd-analyze syscall-filter >"$T/groups.txt" 2>/dev/null
python3 - "$T" "$UNIT" "$PW_SOURCE_DIR/src/util/sandbox.c" <<'PY'
import re, sys
T, unit, sandbox = sys.argv[1:]
groups, cur = {}, None
for l in open(f"{T}/groups.txt"):
    s = l.strip()
    if not s or s.startswith("#"):
        continue
    if l.startswith("@"):
        cur = s.split()[0]
        groups[cur] = set()
    elif cur:
        groups[cur].add(s.split()[0])
def expand(name):
    if not name.startswith("@"):
        return {name}
    out = set()
    for m in groups[name]:
        out |= expand(m)
    return out
allowed = set()
for l in open(unit):
    if l.startswith("SystemCallFilter="):
        v = l.split("=", 1)[1].split()
        assert v and not v[0].startswith("~"), "the unit's filter should be an allow list"
        for n in v:
            allowed |= expand(n)
assert len(allowed) > 300, len(allowed)
used = set()
for l in open(f"{T}/strace.txt"):
    m = re.match(r"\d+\s+([a-z_0-9]+)\(", l)
    if m:
        used.add(m.group(1))
assert {"fanotify_init", "pidfd_send_signal", "execve", "open_by_handle_at"} <= used, sorted(used)
src = open(sandbox).read()
lists = {}
for name in ("agent_calls", "listener_calls", "hookexec_calls", "mounts_calls"):
    m = re.search(r"static const char \*const " + name + r"\[\] = \{(.*?)NULL", src, re.S)
    lists[name] = set(re.findall(r'"([a-z0-9_]+)"', re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)))
bad = {"strace": sorted(used - allowed)}
bad.update({k: sorted(v - allowed) for k, v in lists.items()})
bad = {k: v for k, v in bad.items() if v}
assert not bad, f"calls the unit's SystemCallFilter= refuses: {bad}"
print(f"unit allows {len(allowed)} calls; the run made {len(used)} distinct calls, all allowed; "
      f"the agent's lists ({', '.join(f'{k} {len(v)}' for k, v in lists.items())}) all allowed")
PY
echo PASS
