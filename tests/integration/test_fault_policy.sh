#!/bin/bash
# Fault injection on the policy source: with no --policy the agent reads
# /etc/procwarden/policy.d.  A reload (SIGHUP) must not switch enforcement
# off when that directory is removed (the built-in default would replace
# it), emptied, left with only *.dpkg-old files, holds a FIFO named *.yaml
# (the reload used to block forever), or is made group-writable: each is
# refused with an `error` record, and the running kill rule still kills.
# With --allow-empty-policy an empty directory is accepted.
#
# Safety: the test re-runs itself in a private mount namespace with an
# overlay on /etc (nothing on the machine's /etc changes); the rule kills
# only the test's private binary run by the test uid 64123.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

U=64123
mkdir -p "$T/etc-up" "$T/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-up,workdir=$T/etc-work" /etc ||
	{ echo "SKIP: no overlayfs for a private /etc"; exit 77; }
MOUNTS+=(/etc)
D=/etc/procwarden/policy.d
private_bin pw_victim victim
install_policy() {
	mkdir -p "$D"
	chmod 0755 /etc/procwarden "$D"
	cat >"$D/10-test.yaml" <<EOF2
version: 1
rules:
  - name: kill-victim
    match: {exe: "$T/victim", uid: $U}
    actions: [kill]
EOF2
	chmod 0644 "$D/10-test.yaml"
}
killed() { # the victim, run by the test uid, dies by SIGKILL
	local rc=0
	setpriv --reuid=$U --regid=$U --clear-groups "$T/victim" --sleep-ms 3000 2>/dev/null || rc=$?
	[ "$rc" = 137 ]
}
n_err=0
hup_refused() { # what
	kill -HUP "$AGENT"
	n_err=$((n_err + 1))
	for i in $(seq 1 100); do
		[ "$(grep -c '"policy reload failed' "$T/agent.json" || true)" -ge "$n_err" ] && break
		sleep 0.05
	done
	[ "$(grep -c '"policy reload failed' "$T/agent.json" || true)" -ge "$n_err" ] ||
		fail "$1: no error record for the refused reload within 5 s"
	grep '"policy reload failed' "$T/agent.json" | tail -1 | grep -q "$2" ||
		fail "$1: the error record does not say '$2': $(tail -1 "$T/agent.json")"
	killed || fail "$1: the victim was not killed after the refused reload"
}

install_policy
start_agent
grep -q '"files":\["'"$D"'/10-test.yaml"\]' "$T/agent.json" || fail "the agent did not load $D"
killed || fail "the victim was not killed at all"

rm -rf "$D"
hup_refused "directory removed" "is gone (the built-in default would replace it)"
mkdir -p "$D"
hup_refused "directory empty" "the new policy has no rules"
install_policy
mv "$D/10-test.yaml" "$D/10-test.yaml.dpkg-old"
hup_refused "only a .dpkg-old file" "the new policy has no rules"
mv "$D/10-test.yaml.dpkg-old" "$D/10-test.yaml"
mkfifo -m 0644 "$D/50-fifo.yaml"
hup_refused "a FIFO named *.yaml" "not a regular file"
rm -f "$D/50-fifo.yaml"
chmod 0775 "$D"
hup_refused "a group-writable directory" "writable"
chmod 0755 "$D"
# and a good reload still works
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "a good reload was not accepted"
killed || fail "the victim was not killed after the good reload"
stop_agent
grep -q '"reload_failures":5' "$T/agent.json" ||
	grep -c '"policy reload failed' "$T/agent.json" | grep -qx 5 || fail "not 5 refused reloads"

# the administrator may ask for it
start_agent --allow-empty-policy
rm -f "$D/10-test.yaml"
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"' || fail "--allow-empty-policy: the empty reload was refused"
grep '"type":"reload"' "$T/agent.json" | grep -q '"rules":0' || fail "--allow-empty-policy: not 0 rules"
stop_agent
echo "refused: a removed, empty, .dpkg-old-only, FIFO-holding and group-writable policy directory;" \
	"kills went on; --allow-empty-policy accepts the empty one"
echo PASS
