#!/bin/bash
# Trusted policy and hooks: running as root, the agent refuses (exit 2, a
# message naming the path and the fix) a group-writable policy, a policy
# owned by another uid, a world-writable hook, a missing hook, a policy under
# a sticky world-writable directory and a directory holding a writable
# policy; --insecure-permissions lets it start and the start record says so;
# a SIGHUP reload of a policy that became writable is refused and the running
# policy stays.
. "$(dirname "$0")/lib.sh"

FOREIGN_UID=64050
mkdir -m 0755 "$T/hooks" "$T/pd" "$T/sticky"
chmod 1777 "$T/sticky"
mkdir -m 0755 "$T/sticky/sub"
printf '#!/bin/sh\nexit 0\n' >"$T/hooks/ok"
chmod 0755 "$T/hooks/ok"
cp "$T/hooks/ok" "$T/hooks/ww"
chmod 0777 "$T/hooks/ww"

policy() { # file [hook]
	cat >"$1" <<EOF2
version: 1
rules:
  - name: r-$(basename "$1" .yaml)
    match:
      exe: "$T/nothing"
    actions: [log${2:+, {hook: ["$2"]\}}]
EOF2
	chmod 0644 "$1"
}

# Expect a refusal: exit 2 and every further argument in the message.
refused() { # policy-args... -- expected-substrings...
	local args=() rc=0
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	timeout 20 "$PROCWARDEN" run "${args[@]}" --log "$T/refused.json" --no-scan \
		2>"$T/refused.err" || rc=$?
	[ "$rc" = 2 ] || { cat "$T/refused.err"; fail "${args[*]}: exit $rc, expected 2"; }
	for s in "$@"; do
		grep -qF -- "$s" "$T/refused.err" || { cat "$T/refused.err"; fail "message lacks '$s'"; }
	done
	echo "refused: $(head -1 "$T/refused.err")"
}

policy "$T/gw.yaml"
chmod 0664 "$T/gw.yaml"
refused --policy "$T/gw.yaml" -- "refusing policy '$T/gw.yaml'" \
	"file '$T/gw.yaml' is writable by group (mode 0664)" "--insecure-permissions"

policy "$T/theirs.yaml"
chown "$FOREIGN_UID" "$T/theirs.yaml"
refused --policy "$T/theirs.yaml" -- "refusing policy '$T/theirs.yaml'" \
	"is owned by uid $FOREIGN_UID, not root"

policy "$T/wwhook.yaml" "$T/hooks/ww"
refused --policy "$T/wwhook.yaml" -- "refusing hook '$T/hooks/ww'" \
	"file '$T/hooks/ww' is writable by others (mode 0777)"

policy "$T/nohook.yaml" "$T/hooks/missing"
refused --policy "$T/nohook.yaml" -- "hook '$T/hooks/missing' of rule 'r-nohook'" \
	"No such file or directory"

policy "$T/sticky/sub/p.yaml"
refused --policy "$T/sticky/sub/p.yaml" -- "refusing policy '$T/sticky/sub/p.yaml'" \
	"directory '$T/sticky' is writable by others (mode 1777)" \
	"move the policy to a root-owned directory that only root can write"

policy "$T/pd/a.yaml"
policy "$T/pd/b.yaml"
chmod 0666 "$T/pd/b.yaml"
refused --policy "$T/pd" -- "refusing policy '$T/pd/b.yaml'" "writable by others"
chmod 0644 "$T/pd/b.yaml"

# the metrics file is replaced by a rename in its directory: one that others
# can write is refused, and one that cannot be written is said at the start
# (it was ignored without a word)
policy "$T/ok.yaml"
refused --policy "$T/ok.yaml" --metrics "$T/sticky/m.prom" -- \
	"refusing metrics directory '$T/sticky'" "writable by others (mode 1777)"
refused --policy "$T/ok.yaml" --metrics "$T/missing/m.prom" -- \
	"metrics directory '$T/missing'"
mkdir -m 0555 "$T/ro"
chattr +i "$T/ro" 2>/dev/null || true # root writes through modes: an immutable dir
if ! touch "$T/ro/probe" 2>/dev/null; then
	refused --policy "$T/ok.yaml" --metrics "$T/ro/m.prom" -- \
		"cannot write the metrics file '$T/ro/m.prom'"
fi
chattr -i "$T/ro" 2>/dev/null || true
rm -f "$T/ro/probe"

# `check` judges what `run` judges before it starts: exit 1 with the reason
checked() { # want-rc substring path...
	local want=$1 sub=$2 rc=0
	shift 2
	"$PROCWARDEN" check "$@" >/dev/null 2>"$T/check.err" || rc=$?
	[ "$rc" = "$want" ] || { cat "$T/check.err"; fail "check $*: exit $rc, expected $want"; }
	grep -qF -- "$sub" "$T/check.err" || { cat "$T/check.err"; fail "check $*: no '$sub'"; }
}
checked 1 "directory '$T/sticky' is writable by others" "$T/sticky/sub/p.yaml"
policy "$T/nohook.yaml" "$T/hooks/missing"
checked 1 "cannot use hook '$T/hooks/missing'" "$T/nohook.yaml"
mkdir -m 0755 "$T/empty"
checked 0 "0 rules" "$T/empty"
"$PROCWARDEN" check --insecure-permissions "$T/sticky/sub/p.yaml" >/dev/null 2>&1 ||
	fail "check --insecure-permissions refused a policy run would take with it"

# --insecure-permissions: starts, and says so
start_agent --policy "$T/gw.yaml" --insecure-permissions --no-scan
grep -q '"insecure_permissions":true' "$T/agent.json" || fail "start record lacks the override"
stop_agent

# a reload whose file became writable is refused; the old policy stays
policy "$T/live.yaml" "$T/hooks/ok"
start_agent --policy "$T/live.yaml" --no-scan
grep -q '"insecure_permissions":false' "$T/agent.json" || fail "start record"
chmod 0664 "$T/live.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"error"' || fail "no error record after the refused reload"
grep -q '"type":"reload"' "$T/agent.json" && fail "a refused reload was applied"
grep -F '"type":"error"' "$T/agent.json" | grep -qF "refusing policy '$T/live.yaml'" ||
	fail "the error record does not name the policy"
chmod 0644 "$T/live.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "a trusted reload was not applied"
stop_agent
echo PASS
