# Helpers of the tests of contrib/rsyslog/ (sourced after lib.sh).
#
# Safety: every rsyslogd these tests start has its own configuration (-f),
# pid file (-i) and work directory in $T, runs in the foreground (-n) as a
# child of the test that dies with it (PR_SET_PDEATHSIG), loads no imuxsock
# and no imklog (it never takes /dev/log or the kernel's log), listens on
# 127.0.0.1 only, and is stopped by its pid at the end (PIDS).

CONTRIB_RSYSLOG="$PW_SOURCE_DIR/contrib/rsyslog"
RSYSLOG_CONF="python3 $(dirname "${BASH_SOURCE[0]}")/rsyslog_conf.py"
RSYSLOG_PKGS="rsyslog rsyslog-relp rsyslog-kafka rsyslog-elasticsearch"

# rsyslogd and the output modules the configurations name: installed by
# scripts/deps (which starts no system rsyslogd).  Skip only when they cannot
# be installed, and never under CI, whose scripts/deps installs them.
need_rsyslog() {
	local p missing=
	for p in $RSYSLOG_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "missing:$missing: installing them with scripts/deps"
	"$PW_SOURCE_DIR/scripts/deps" >"$T/deps.out" 2>&1 || cat "$T/deps.out" >&2
	for p in $RSYSLOG_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && continue
		[ "${CI:-}" = true ] && fail "$p is not installed: scripts/deps should have installed it"
		echo "SKIP: $p cannot be installed here"
		exit 77
	done
}

# rsyslogd -N1 on a configuration: it must pass with nothing said but the
# two lines of every run (a warning is a failure too).
rsyslog_check() { # config
	local out rc=0
	out=$(rsyslogd -N1 -f "$1" 2>&1) || rc=$?
	if [ "$rc" != 0 ] || [ "$(echo "$out" | grep -vc -e 'config validation run' -e 'End of config validation run')" != 0 ]; then
		echo "$out" >&2
		fail "rsyslogd -N1 -f $1 exited $rc"
	fi
}

# Start an rsyslogd of the test: NAME's configuration $T/NAME.conf, pid file
# $T/NAME.pid, its messages in $T/NAME.out; its pid in RSYSLOGD (in PIDS).
start_rsyslogd() { # name
	setpriv --pdeathsig KILL rsyslogd -n -f "$T/$1.conf" -i "$T/$1.pid" >"$T/$1.out" 2>&1 &
	RSYSLOGD=$!
	PIDS+=("$RSYSLOGD")
}

# Stop it (SIGTERM: its queues flushed, its files closed), wait for its exit.
stop_rsyslogd() { # pid
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}
