#!/bin/bash
# Records through a real rsyslog, end to end: the shipped sender drop-in
# (contrib/rsyslog/60-procwarden.conf: imfile on the agent's log, mmjsonparse,
# omfwd over TCP with its disk-assisted queue) and the shipped collector
# (procwarden-collector.conf: imtcp, each record written back as its line),
# two rsyslogd on loopback, their configurations derived from the shipped
# files with only the paths, the address and the port replaced.  The agent
# logs 1,000 launches of the test's binary, with the log rotated halfway as
# logrotate does it (renamed, then SIGUSR1: the agent writes a new file), a
# reload (SIGHUP), and the collector stopped for a while (100 launches) and
# started again on the same port: the sender queues and delivers.  Every
# record of the agent's log -- both files -- must reach the collector's file
# once, as the same JSON object and the same bytes, matched by seq; none
# lost, none duplicated, nothing else there.
# Arguments carry what a record must survive: UTF-8, quotes, backslashes,
# escaped control characters, bytes that are not UTF-8, arguments of
# 20,000 bytes and one cut at the record's 64 KiB limit.
#
# Safety: see rsyslog_lib.sh (own config, pid file, work directory in $T,
# 127.0.0.1 only, no imuxsock or imklog); the rule only logs the test's
# private binary.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rsyslog_lib.sh"
need_rsyslog
N=1000
private_bin pw_victim marker
mkdir -p "$T/collector-spool" "$T/sender-spool" "$T/collected"
write_policy log.yaml <<EOF2
version: 1
rules:
  - name: log-shipped
    match: {exe: "$T/marker"}
    actions: [log]
EOF2

# the collector: the shipped file, its output in $T/collected, listening on
# 127.0.0.1 on a port the kernel picks (written to a file by imtcp)
$RSYSLOG_CONF derive "$CONTRIB_RSYSLOG/procwarden-collector.conf" "$T/collector.d.conf" \
	/var/log/procwarden-collected/ "$T/collected/" \
	'port="10514"' "port=\"0\" address=\"127.0.0.1\" listenPortFileName=\"$T/collector.port\""
printf 'global(workDirectory="%s")\ninclude(file="%s")\n' "$T/collector-spool" "$T/collector.d.conf" \
	>"$T/collector.conf"
rsyslog_check "$T/collector.conf"
start_rsyslogd collector
COLLECTOR=$RSYSLOGD
for i in $(seq 1 100); do [ -s "$T/collector.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/collector.port" 2>/dev/null) || fail "the collector did not listen: $(cat "$T/collector.out")"
[ "$PORT" -gt 0 ] || fail "bad port '$PORT'"

start_agent --policy "$T/log.yaml"

# the sender: the shipped drop-in reading the agent's log, to the collector
$RSYSLOG_CONF derive "$CONTRIB_RSYSLOG/60-procwarden.conf" "$T/sender.d.conf" \
	/var/log/procwarden/procwarden.jsonl "$T/agent.json" \
	'target="collector.example.org"' 'target="127.0.0.1"' \
	'port="10514"' "port=\"$PORT\""
printf 'global(workDirectory="%s")\ninclude(file="%s")\n' "$T/sender-spool" "$T/sender.d.conf" \
	>"$T/sender.conf"
rsyslog_check "$T/sender.conf"
start_rsyslogd sender
SENDER=$RSYSLOGD

t0=$(date +%s.%N)
payload=$'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "quoted" back\\slash tab\there nl\nline del\x7f bad\xff\xfe end'
long=$(head -c 20000 /dev/zero | tr '\0' L)
# four at a time, each living 20 ms (time for the agent to read its argv)
launch() { # from to
	local w i pids=()
	for w in 0 1 2 3; do
		(
			for ((i = $1 + w; i <= $2; i += 4)); do
				if ((i % 100 == 0)); then
					"$T/marker" --sleep-ms 20 "rec-$i" "$payload" "$long"
				else
					"$T/marker" --sleep-ms 20 "rec-$i" "$payload"
				fi
			done
		) &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w"; done
}
# a launch that lives 300 ms (surely read, even by a slow agent) and is
# waited for in the log: the test's steps in order
sync_launch() { # name log
	"$T/marker" --sleep-ms 300 "$1"
	wait_for "$2" 20 "\"$1\"" || fail "the agent did not log '$1' in $2"
}
H=$((N / 2))
launch 1 $((H - 10))
"$T/marker" --sleep-ms 20 "rec-cut" "$(head -c 70000 /dev/zero | tr '\0' C)"
# rotated as logrotate does it: renamed (the agent goes on writing the
# renamed file: imfile must read it to its end), then SIGUSR1 (the agent
# opens a new file)
sync_launch sync-a "$T/agent.json"
mv "$T/agent.json" "$T/agent.json.1"
launch $((H - 9)) "$H"
sync_launch sync-b "$T/agent.json.1"
kill -USR1 "$AGENT"
for i in $(seq 1 100); do [ -e "$T/agent.json" ] && break; sleep 0.05; done
[ -e "$T/agent.json" ] || fail "the agent did not reopen its log on SIGUSR1"
kill -HUP "$AGENT" # a reload record
Q=$((H + H / 2))
launch $((H + 1)) "$Q"
# the collector away for a while: the sender queues, and delivers once it
# is back (on the same port)
sync_launch sync-c "$T/agent.json"
for i in $(seq 1 200); do
	grep -qs '"sync-c"' "$T"/collected/*.jsonl && break
	sleep 0.1
done
grep -qs '"sync-c"' "$T"/collected/*.jsonl || fail "the collector did not get sync-c"
stop_rsyslogd "$COLLECTOR"
away0=$(date +%s.%N)
launch $((Q + 1)) $((Q + 100))
sed "s|port=\"0\"|port=\"$PORT\"|; s|listenPortFileName=\"[^\"]*\"||" "$T/collector.d.conf" >"$T/collector2.d.conf"
sed "s|collector.d.conf|collector2.d.conf|" "$T/collector.conf" >"$T/collector2.conf"
rsyslog_check "$T/collector2.conf"
start_rsyslogd collector2
COLLECTOR=$RSYSLOGD
away1=$(date +%s.%N)
launch $((Q + 101)) "$N"
sync_launch sync-d "$T/agent.json"
t1=$(date +%s.%N)
stop_agent
total=$(cat "$T/agent.json.1" "$T/agent.json" | wc -l)

# every line at the collector (it writes at most a second later), 60 s at most
got=0
for i in $(seq 1 600); do
	got=$(cat "$T"/collected/*.jsonl 2>/dev/null | wc -l)
	[ "$got" -ge "$total" ] && break
	sleep 0.1
done
t2=$(date +%s.%N)
sleep 1.5 # a duplicate would come late
stop_rsyslogd "$SENDER"
stop_rsyslogd "$COLLECTOR"
[ -s "$T/sender.out" ] && echo "sender said: $(head -c 2000 "$T/sender.out")"
[ -s "$T/collector.out" ] && echo "collector said: $(head -c 2000 "$T/collector.out")"

python3 - "$T" "$N" "$t0" "$t1" "$t2" "$away0" "$away1" <<'PY'
import glob, json, os, sys
T, N = sys.argv[1], int(sys.argv[2])
t0, t1, t2, away0, away1 = map(float, sys.argv[3:8])
away = away1 - away0
src = open(f"{T}/agent.json.1", "rb").read().splitlines() + open(f"{T}/agent.json", "rb").read().splitlines()
files = glob.glob(f"{T}/collected/*")
assert [os.path.basename(f)[-6:] for f in files] == [".jsonl"], f"collector files: {files}"
dst = open(files[0], "rb").read().splitlines()

def by_seq(lines, what):
    out = {}
    for i, raw in enumerate(lines, 1):
        try:
            r = json.loads(raw)
        except Exception as e:
            sys.exit(f"{what} line {i} is not JSON ({e}): {raw[:200]!r}")
        assert r["seq"] not in out, f"{what}: seq {r['seq']} twice"
        out[r["seq"]] = (raw, r)
    return out

a, c = by_seq(src, "agent's log"), by_seq(dst, "collector")
# the agent's log is whole: seq 1..n, one host and boot_id
assert sorted(a) == list(range(1, len(a) + 1)), "the agent's own log has a gap"
assert len({(r["host"], r["boot_id"]) for _, r in a.values()}) == 1
lost = sorted(set(a) - set(c))
extra = sorted(set(c) - set(a))
assert not lost, f"{len(lost)} records lost, seq {lost[:20]}"
assert not extra, f"{len(extra)} records the agent never wrote, seq {extra[:20]}"
changed = [s for s in a if a[s][1] != c[s][1]]
assert not changed, (f"{len(changed)} records changed, first seq {changed[0]}:\n"
                     f" agent     {a[changed[0]][0][:300]!r}\n collector {c[changed[0]][0][:300]!r}")
bytes_diff = [s for s in a if a[s][0] != c[s][0]]
assert not bytes_diff, f"{len(bytes_diff)} records not byte for byte, first seq {bytes_diff[0]}"
in_order = [r["seq"] for r in map(json.loads, dst)] == sorted(c)

types = {}
for _, r in a.values():
    types[r["type"]] = types.get(r["type"], 0) + 1
execs = [r for _, r in a.values() if r["type"] == "exec" and r.get("exe") == f"{T}/marker"]
# one record a launch (N, the cut one and the 4 sync ones); named by its exe and argv unless
# the agent could not read them (the launch gone first: in its "unknown"; a
# slow agent, as under a sanitizer), then one of the records whose exe is
# unknown (they may also be the test's other commands)
unnamed = [r for _, r in a.values() if r["type"] == "exec" and "exe" in r.get("unknown", [])]
want = {f"rec-{i}" for i in range(1, N + 1)} | {"rec-cut"} | {f"sync-{x}" for x in "abcd"}
L = len(want)
assert len(execs) <= L <= len(execs) + len(unnamed), \
    f"{len(execs)} exec records of the {L} launches, {len(unnamed)} of unknown programs"
names = [r["argv"][3] for r in execs if r.get("argv")]
assert len(set(names)) == len(names) and set(names) <= want, "launches recorded twice or unknown"
assert all("argv" in r["unknown"] for r in execs if not r.get("argv"))
assert "rec-cut" not in names or any(r.get("argv_truncated") for r in execs), "no cut record"
for t in ("start", "reload", "stop"):
    assert types.get(t) == 1, f"{types.get(t)} {t} records"
size = sum(len(x) + 1 for x in src)
print(f"{len(a)} records ({', '.join(f'{v} {k}' for k, v in sorted(types.items()))}; "
      f"{len(execs)} of the {L} launches by exe, {len(names)} with their argv), {size} bytes, "
      f"in 2 log files: all at the collector, each once, the same object and the same bytes"
      f"{'' if in_order else ' (not in seq order)'}; launches {t1 - t0:.1f} s, "
      f"the last record at the collector {t2 - t1:.1f} s after the last launch was logged "
      f"(the collector was away {away:.1f} s, 100 launches meanwhile; the sender retries "
      f"every 10 s)")
PY
echo PASS
