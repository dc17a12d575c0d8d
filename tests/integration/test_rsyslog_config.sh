#!/bin/bash
# The shipped rsyslog configurations (contrib/rsyslog/) pass rsyslogd's own
# check, `rsyslogd -N1`, as shipped and with each of their commented options
# (RELP, Kafka, Elasticsearch) uncommented in turn and all at once: the
# shipped text itself, its options uncommented from the markers in the file.
# The sender's drop-in is also checked inside Debian's own /etc/rsyslog.conf
# (its work directory and includes; without imuxsock and imklog).  A
# misspelt parameter must fail the check (it does check).
#
# Safety: only config validation runs (-N1); nothing listens or is started.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rsyslog_lib.sh"
need_rsyslog
mkdir -p "$T/spool" "$T/rsyslog.d"

# a main configuration as Debian's provides it to a drop-in: a work directory
main_conf() { # drop-in out
	printf 'global(workDirectory="%s")\ninclude(file="%s")\n' "$T/spool" "$1" >"$2"
}

checked=0
declare -A want=([60-procwarden.conf]="relp kafka elasticsearch" [procwarden-collector.conf]="relp")
for conf in "$CONTRIB_RSYSLOG"/*.conf; do
	name=$(basename "$conf")
	[ -n "${want[$name]:-}" ] || fail "$name: not known to this test (which options does it have?)"
	opts=$($RSYSLOG_CONF options "$conf" | xargs)
	[ "$opts" = "${want[$name]}" ] || fail "$name: options '$opts', expected '${want[$name]}'"
	for o in - $opts all; do
		case $o in
		-) cp "$conf" "$T/$name.$o" ;;
		all) $RSYSLOG_CONF uncomment "$conf" "$T/$name.$o" $opts ;;
		*) $RSYSLOG_CONF uncomment "$conf" "$T/$name.$o" "$o" ;;
		esac
		main_conf "$T/$name.$o" "$T/main.conf"
		rsyslog_check "$T/main.conf"
		echo "rsyslogd -N1: $name, option ${o/-/none}: ok"
		checked=$((checked + 1))
	done
done

# the drop-in inside Debian's rsyslog.conf, every option on
if [ -f /etc/rsyslog.conf ]; then
	$RSYSLOG_CONF uncomment "$CONTRIB_RSYSLOG/60-procwarden.conf" "$T/rsyslog.d/60-procwarden.conf" \
		${want[60-procwarden.conf]}
	sed -e '/^module(load="imuxsock")/d' -e '/^module(load="imklog")/d' \
		-e "s|^\\\$WorkDirectory .*|\$WorkDirectory $T/spool|" \
		-e "s|^\\\$IncludeConfig .*|\$IncludeConfig $T/rsyslog.d/*.conf|" /etc/rsyslog.conf >"$T/debian.conf"
	grep -q "^\\\$IncludeConfig $T/rsyslog.d/" "$T/debian.conf" || fail "no IncludeConfig in /etc/rsyslog.conf"
	grep -v '^[[:space:]]*#' "$T/debian.conf" | grep -q -e imuxsock -e imklog &&
		fail "imuxsock or imklog left in the copy of /etc/rsyslog.conf"
	rsyslog_check "$T/debian.conf"
	echo "rsyslogd -N1: 60-procwarden.conf, all options, in Debian's rsyslog.conf: ok"
	checked=$((checked + 1))
fi

# the check checks: a misspelt parameter fails it
sed 's/TCP_Framing=/TCP_Framming=/' "$CONTRIB_RSYSLOG/60-procwarden.conf" >"$T/typo.conf"
main_conf "$T/typo.conf" "$T/main.conf"
if rsyslogd -N1 -f "$T/main.conf" >"$T/typo.out" 2>&1; then
	fail "rsyslogd -N1 passed a misspelt parameter: $(cat "$T/typo.out")"
fi
grep -q "TCP_Framming" "$T/typo.out" || fail "the typo was not named: $(cat "$T/typo.out")"
echo "$checked configurations valid; a misspelt parameter is refused"
echo PASS
