#!/bin/bash
# Every flag a command accepts is in its --help (read from the command's
# option table in src/cli/), and a flag value that does not parse is an
# error naming the flag, with exit 2 (it was read as 0).
. "$(dirname "$0")/lib.sh"

for cmd in run monitor check test; do
	src="$PW_SOURCE_DIR/src/cli/cmd_$cmd.c"
	"$PROCWARDEN" "$cmd" --help >"$T/help.$cmd" || fail "$cmd --help exited $?"
	flags=$(grep -o '{"[a-z-]*", \(no\|required\|optional\)_argument' "$src" | sed 's/{"\([a-z-]*\)".*/\1/')
	[ -n "$flags" ] || fail "no option table found in $src"
	for f in $flags; do
		grep -q -- "--$f\b" "$T/help.$cmd" || fail "procwarden $cmd --help does not list --$f"
	done
	echo "$cmd --help lists all $(echo "$flags" | wc -w) flags"
done

bad() { # expected-substring args...
	local want=$1 rc=0
	shift
	timeout 10 "$PROCWARDEN" "$@" >/dev/null 2>"$T/bad.err" || rc=$?
	[ "$rc" = 2 ] || fail "procwarden $*: exit $rc, expected 2"
	grep -qF -- "$want" "$T/bad.err" || fail "procwarden $*: message lacks '$want': $(cat "$T/bad.err")"
}
bad "--metrics-interval wants a number" run --metrics-interval abc
bad "--metrics-interval wants a number" run --metrics-interval 0
bad "--rcvbuf wants a number" run --rcvbuf lots
bad "--rcvbuf wants a number" run --rcvbuf -5
bad "--batch wants a number" run --batch 1000
bad "--ring wants a number" run --ring 12x
bad "--uid-record-budget wants a number" run --uid-record-budget 5X
bad "--rcvbuf wants a number" monitor --rcvbuf lots
bad "--batch wants a number" monitor --batch 0
echo "bad values: exit 2, the flag named"
echo PASS
