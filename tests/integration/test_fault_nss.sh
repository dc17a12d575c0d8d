#!/bin/bash
# A user name in a policy loaded at a reload, resolved through an NSS module
# that asks a daemon over a Unix socket (as sss and systemd-userdb do: socket,
# fcntl, connect, getsockopt, sendmsg, poll, recvmsg), under the agent's
# seccomp filter: the reload must load it (not "unknown user") and the rule
# must match that user's launches.  The module is first loaded at the
# reload, under the filter (the start policy names no user).
#
# Safety: a private mount namespace where /etc/nsswitch.conf is a copy with
# "passwd: files pwtest" (nothing else on the machine sees it); the module
# and its daemon are the test's; the user is test uid 64061; the rules only
# log the test's private binary.
PW_MOUNT_NS=1 # a private mount namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

MOD="$PW_BUILD_DIR/helpers/libnss_pwtest.so.2"
[ -f "$MOD" ] || fail "no $MOD"
sed 's/^passwd:.*/passwd: files pwtest/' /etc/nsswitch.conf >"$T/nsswitch.conf"
grep -q '^passwd: files pwtest$' "$T/nsswitch.conf" || echo 'passwd: files pwtest' >>"$T/nsswitch.conf"
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf
MOUNTS+=(/etc/nsswitch.conf)
export PWTEST_NSS_SOCKET="$T/nss.sock" LD_LIBRARY_PATH="$PW_BUILD_DIR/helpers"

python3 - "$T" <<'PY' &
import os, socket, sys
T = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(f"{T}/nss.sock")
s.listen(16)
s.settimeout(120)  # bounded: the test is over by then
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    req = c.recv(512).decode()
    with open(f"{T}/nss.log", "a") as f:
        f.write(req)
    name = req.split()[1] if len(req.split()) > 1 else ""
    c.sendall(b"pwnss-user:x:64061:64061:test:/:/bin/false\n" if name == "pwnss-user" else b"notfound\n")
    c.close()
PY
DAEMON=$!
PIDS+=("$DAEMON")
for i in $(seq 1 50); do [ -S "$T/nss.sock" ] && break; sleep 0.05; done
getent passwd pwnss-user | grep -q ':64061:' || fail "the test's NSS module does not answer: $(getent passwd pwnss-user)"
: >"$T/nss.log"

private_bin pw_victim marker
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: log-uid
    match: {exe: "$T/marker", uid: 64062}
    actions: [log]
EOF2
start_agent --policy "$T/p.yaml" --no-scan
write_policy p.yaml <<EOF2
version: 1
rules:
  - name: log-nss-user
    match: {exe: "$T/marker", user: pwnss-user}
    actions: [log]
EOF2
kill -HUP "$AGENT"
wait_for "$T/agent.json" 10 '"type":"reload"\|"type":"error"' || fail "no reload record"
grep '"type":"error"' "$T/agent.json" && fail "the reload failed under the filter: $(grep error "$T/agent.json")"
grep -q 'getpwnam pwnss-user' "$T/nss.log" || fail "the module did not ask its daemon at the reload"
setpriv --reuid 64061 --regid 64061 --clear-groups "$T/marker" --sleep-ms 100 nss-launch
wait_for "$T/agent.json" 10 '"nss-launch"' || fail "no record of the user's launch"
grep '"nss-launch"' "$T/agent.json" | grep -q '"rules":\["log-nss-user"\]' ||
	fail "the rule on the NSS user did not match: $(grep nss-launch "$T/agent.json")"
stop_agent
echo "reload resolved pwnss-user through the module's socket under seccomp ($(grep -c getpwnam "$T/nss.log") asks); the rule matched uid 64061"
echo PASS
