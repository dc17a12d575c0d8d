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

T=$(mktemp -d /run/pwtest.XXXXXX 2>/dev/null || mktemp -d)
chmod 755 "$T"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	if [ "${PW_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Copy a helper binary into the private directory under a new name.
private_bin() { # helper name
	install -m 0755 "$HELPERS/$1" "$T/$2"
}

# Wait (up to $2 seconds, default 10) until the file $1 contains $3.
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
