# Common helpers of the integration tests (sourced).
#
# Safety: every test works in its own private directory ($T), matches only
# binaries inside it or the test uids 64000-64099, and ends only the
# processes it started, by pid.

set -euo pipefail

: "${PROCWARDEN:?set by ctest}"
: "${PW_BUILD_DIR:?set by ctest}"
HELPERS="$PW_BUILD_DIR/helpers"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: integration tests need root (the real proc connector)"
	exit 77
fi

# A test that sets PW_MOUNT_NS=1 before sourcing this runs again, once, in
# a private mount namespace (before anything else): what it mounts is seen
# by nothing else on the machine, and goes with it.
if [ "${PW_MOUNT_NS:-0}" = 1 ] && [ -z "${PW_IN_MOUNT_NS:-}" ]; then
	export PW_IN_MOUNT_NS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi

T=$(mktemp -d /run/pwtest.XXXXXX 2>/dev/null || mktemp -d)
chmod 755 "$T"

# PW_VALGRIND=1: every procwarden command runs under valgrind's memcheck; an
# error or a definite leak makes it exit 99 (a test failure).  `run` gets
# --no-seccomp there: valgrind's own system calls are not in the agent's list.
if [ "${PW_VALGRIND:-0}" = 1 ]; then
	cat >"$T/procwarden-valgrind" <<EOF_VG
#!/bin/bash
extra=()
[ "\${1:-}" = run ] && extra=(--no-seccomp)
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --log-file="$T/valgrind.%p.log" "$PROCWARDEN" "\$@" "\${extra[@]}"
EOF_VG
	chmod 755 "$T/procwarden-valgrind"
	PROCWARDEN="$T/procwarden-valgrind"
fi
# Every procwarden a test starts dies with the test (PR_SET_PDEATHSIG by
# setpriv): an interrupted run -- a ctest time limit, Ctrl-C -- must never
# leave an agent running.  PW_NO_SECCOMP=1 (the ThreadSanitizer run, whose
# runtime needs calls the filter refuses) adds --no-seccomp to `run`.
# PROCWARDEN_BIN stays the binary itself (for tests that copy it).
PROCWARDEN_BIN=$PROCWARDEN
cat >"$T/procwarden-guard" <<EOF_G
#!/bin/bash
extra=()
[ "\${1:-}" = run ] && [ "${PW_NO_SECCOMP:-0}" = 1 ] && extra=(--no-seccomp)
exec setpriv --pdeathsig KILL "$PROCWARDEN" "\$@" "\${extra[@]}"
EOF_G
chmod 755 "$T/procwarden-guard"
PROCWARDEN="$T/procwarden-guard"
PIDS=()
MOUNTS=()

cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	if [ "${PW_VALGRIND:-0}" = 1 ]; then
		for p in "$T"/valgrind.*.log; do
			[ -s "$p" ] && { echo "== $p"; cat "$p"; } >&2
		done
	fi
	# a test's own mounts (in its private mount namespace)
	for p in "${MOUNTS[@]:-}"; do
		[ -n "$p" ] && umount -l "$p" 2>/dev/null || true
	done
	if [ "${PW_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# Skip (77) unless the build has the test-only knobs (-DPW_TEST_HOOKS=ON).
need_test_hooks() {
	if ! grep -q PW_TEST_HOOKS:BOOL=ON "$PW_BUILD_DIR/CMakeCache.txt"; then
		echo "SKIP: needs a build with -DPW_TEST_HOOKS=ON"
		exit 77
	fi
}

# A private tmpfs at DIR (in the test's mount namespace) for the gate to
# mark: nothing outside the namespace waits for it.
gated_tmpfs() { # dir [size]
	mkdir -p "$1"
	mount -t tmpfs -o "size=${2:-16m},mode=0755" pwtest "$1"
	MOUNTS+=("$1")
}

# Drop pid $1 from PIDS (whole entries only: a pattern substitution would
# turn 1234 into 14 when removing 23, and cleanup would signal that).
forget_pid() { # pid
	local p keep=()
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p")
	done
	PIDS=("${keep[@]:-}")
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Copy a helper binary into the private directory under a new name.
private_bin() { # helper name
	install -m 0755 "$HELPERS/$1" "$T/$2"
}

# Wait (up to $2 seconds, default 10) until the file $1 contains $3.
# A receiver of datagrams on a Unix socket for 30 s at most (a NOTIFY_SOCKET,
# a /dev/log): each datagram appended to out as one line ("TIME MESSAGE",
# monotonic seconds, its newlines made spaces).  Returns once the socket
# exists; its pid in DGRAM (in PIDS, killed at the end).
dgram_receiver() { # socket out
	rm -f "$1"
	python3 - "$1" "$2" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 30
with open(sys.argv[2], "a", buffering=1) as f:
    while time.time() < end:
        try:
            m = s.recv(65536).decode(errors="replace").replace("\n", " ")
        except socket.timeout:
            continue
        f.write(f"{time.monotonic():.3f} {m}\n")
PY
	DGRAM=$!
	PIDS+=("$DGRAM")
	local i
	for i in $(seq 1 50); do [ -S "$1" ] && return 0; sleep 0.05; done
	fail "the receiver did not bind $1"
}

wait_for() { # file seconds pattern
	local f=$1 secs=${2:-10} pat=$3 i
	for ((i = 0; i < secs * 20; i++)); do
		if [ -f "$f" ] && grep -q -- "$pat" "$f"; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# Every line of a JSON-lines file must parse.
json_lines_valid() { # file
	python3 - "$1" <<'PY'
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1], 'rb'), 1):
    try:
        json.loads(line)
    except Exception as e:
        sys.exit(f"line {i} is not JSON: {e}: {line[:200]!r}")
    n += 1
print(f"{n} JSON lines valid")
PY
}

# Start a monitor: CMD... (e.g. "$PROCWARDEN" monitor --json) writing JSON
# lines to $T/mon.json and its stderr to $T/mon.err, its pid in MON; it is
# subscribed once an exec of MARKER_BIN ("MARKER_BIN marker", run until it
# shows up) is in its output.
start_monitor() { # MARKER_BIN CMD...
	local marker=$1 i
	shift
	"$@" >"$T/mon.json" 2>"$T/mon.err" &
	MON=$!
	PIDS+=("$MON")
	for i in $(seq 1 100); do
		"$marker" marker
		grep -q '"marker"' "$T/mon.json" 2>/dev/null && break
		sleep 0.1
	done
	grep -q '"marker"' "$T/mon.json" || fail "monitor never showed the marker: $(cat "$T/mon.err")"
}

# Start the agent with the given arguments, logging to $T/agent.json; wait for
# its `start` record.  Sets AGENT to its pid.
start_agent() {
	: >"$T/agent.json"
	"$PROCWARDEN" run --log "$T/agent.json" "$@" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
	if ! wait_for "$T/agent.json" 20 '"type":"start"'; then
		cat "$T/agent.err" >&2
		fail "the agent did not start"
	fi
}

# Stop the agent (SIGTERM) and check it wrote its `stop` record and exited 0.
stop_agent() {
	kill -TERM "$AGENT"
	local rc=0
	wait "$AGENT" || rc=$?
	forget_pid "$AGENT"
	[ "$rc" = 0 ] || { cat "$T/agent.err" >&2; fail "the agent exited with $rc"; }
	grep -q '"type":"stop"' "$T/agent.json" || fail "no stop record"
	json_lines_valid "$T/agent.json"
}

# Write a policy file (standard input) into $T with safe permissions.
write_policy() { # name
	cat >"$T/$1"
	chmod 0644 "$T/$1"
}

# Rewrite a shipped policy for a test: every absolute path it names moves
# under $T (so it can only match the test's private binaries), the kiosk uid
# 4244 becomes the test uid, and with --pin-uid every match block without a
# uid gets `uid: UID` (so it can only match the test uid's launches).
rewrite_policy() { # src dst uid [--pin-uid]
	python3 - "$T" "$@" <<'PY'
import re, sys
T, src, dst, uid = sys.argv[1:5]
pin = "--pin-uid" in sys.argv[5:]
out = []
lines = open(src).read().split("\n")
for i, line in enumerate(lines):
    if line.lstrip().startswith("#"):
        out.append(line)
        continue
    line = re.sub(r'(?<=[\s"\'\[^])/(usr|bin|sbin|tmp|var/tmp|dev/shm|opt|etc)/', T + r'/\1/', line)
    line = re.sub(r'\buid: 4244\b', f'uid: {uid}', line)
    out.append(line)
    if pin and re.match(r'^\s+match:\s*$', line):
        indent = len(line) - len(line.lstrip()) + 2
        # does this block already have a uid?
        block = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) < indent:
                break
            block.append(nxt)
        if not any(re.match(r'^\s+uid:', b) for b in block):
            out.append(" " * indent + f"uid: {uid}")
open(dst, "w").write("\n".join(out))
PY
	chmod 0644 "$2"
}
