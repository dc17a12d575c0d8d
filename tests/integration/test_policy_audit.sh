#!/bin/bash
# `mode: audit` on a rule: the rule is evaluated and recorded as usual, but
# its kill, deny and hook are not carried out -- each is recorded with
# "result": "audit" (and the rule's name) -- while the rest of the policy
# enforces: a kill rule without the mode still kills.  `test` shows the
# mode; `check` refuses an unknown mode with FILE:LINE:COL.
#
# Safety: the rules match only the test's private binaries.
. "$(dirname "$0")/lib.sh"

for b in staged denied hooked enforced; do private_bin pw_victim "$b"; done
printf '#!/bin/sh\ntouch "%s/hook-ran"\n' "$T" >"$T/hook.sh"
chmod 0755 "$T/hook.sh"
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: staged-kill
    mode: audit
    match: {exe: "$T/staged"}
    actions: [kill]
  - name: staged-deny
    mode: audit
    match: {exe: "$T/denied"}
    actions: [deny]
  - name: staged-hook
    mode: audit
    match: {exe: "$T/hooked"}
    actions: [{hook: ["$T/hook.sh"]}]
  - name: enforced-kill
    mode: enforce
    match: {exe: "$T/enforced"}
    actions: [kill]
EOF2
out=$("$PROCWARDEN" test --policy "$T/p.yaml" --exe "$T/staged")
echo "$out" | grep -q "staged-kill (notice, mode audit)" || fail "test does not show the mode: $out"
echo "$out" | grep -q "audit (staged.*: kill" || fail "test does not say the kill is staged: $out"
write_policy bad.yaml <<EOF2
version: 1
rules:
  - name: x
    mode: enforcing
    match: {exe: "$T/staged"}
    actions: [kill]
EOF2
rc=0
msg=$("$PROCWARDEN" check "$T/bad.yaml" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "check accepted mode: enforcing"
echo "$msg" | grep -q "bad.yaml:4:11: .*unknown mode 'enforcing'" || fail "check's message: $msg"

write_policy allow.yaml <<EOF2
version: 1
rules:
  - name: staged-allow
    mode: audit
    match: {exe: "$T/staged"}
    actions: [allow]
EOF2
! "$PROCWARDEN" check "$T/allow.yaml" >/dev/null 2>&1 || fail "check accepted a staged allow"

start_agent --policy "$T/p.yaml" --no-scan
for b in staged denied hooked; do
	rm -f "$T/ran-$b"
	"$T/$b" --touch "$T/ran-$b" --sleep-ms 300 --exit 0 || fail "$b did not run to its end"
	[ -e "$T/ran-$b" ] || fail "$b did not run"
done
rc=0
"$T/enforced" --sleep-ms 2000 --exit 0 || rc=$?
[ "$rc" = 137 ] || fail "the enforcing kill rule did not kill (exit $rc)"
sleep 0.5
[ ! -e "$T/hook-ran" ] || fail "a staged hook ran"
stop_agent
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
ex = {r["exe"]: r for r in recs if r["type"] == "exec" and r.get("exe", "").startswith(T)}
want = {"staged": ("staged-kill", "kill"), "denied": ("staged-deny", "deny"),
        "hooked": ("staged-hook", "hook")}
for b, (rule, act) in want.items():
    r = ex[f"{T}/{b}"]
    assert r["rules"] == [rule], r
    acts = r["actions"]
    assert len(acts) == 1 and acts[0]["action"] == act and acts[0]["result"] == "audit" \
        and acts[0]["rule"] == rule, acts
e = ex[f"{T}/enforced"]
assert e["actions"][0]["action"] == "kill" and e["actions"][0]["result"] == "ok", e
stop = [r for r in recs if r["type"] == "stop"][0]
assert stop["signals_sent"] == 1, stop
print("staged kill, deny and hook recorded with result audit, not carried out; the enforcing kill killed")
PY
echo PASS
