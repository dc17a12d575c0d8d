#!/bin/bash
# A bounded exec storm against a deliberately tiny receive buffer must
# produce ENOBUFS; every overrun is reported as an `overrun` record, and the
# rescan of /proc reports the still-running processes the overrun hid: every
# long-lived process of the storm is accounted for.
. "$(dirname "$0")/lib.sh"

private_bin pw_victim launcher
private_bin pw_victim sleeper
N=${PW_OVERRUN_N:-1500}
LIVE_MS=12000

start_monitor "$T/launcher" nice -n 19 "$PROCWARDEN" monitor --json --events exec --rcvbuf 1

# N launchers, each leaving a sleeper behind that lives LIVE_MS
"$HELPERS/pw_storm" -n "$N" -w 4 -t 30 "$T/launcher" --bg-exec "$T/sleeper" \
	--sleep-ms $LIVE_MS storm >"$T/storm.out"
cat "$T/storm.out"
sleep 2 # let the monitor drain and rescan

# the sleepers still alive, found by their private exe
python3 - "$T" >"$T/alive.txt" <<'PY'
import os, sys
T = sys.argv[1]
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            if os.readlink(f"/proc/{d}/exe") == f"{T}/sleeper":
                print(d)
        except OSError:
            pass
PY
kill -INT "$MON"
wait "$MON" || fail "monitor exited with $?"
PIDS=()
# end the sleepers (ours, by pid)
xargs -r kill -TERM <"$T/alive.txt" 2>/dev/null || true
cat "$T/mon.err"

json_lines_valid "$T/mon.json"
python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
recs = [json.loads(l) for l in open(f"{T}/mon.json")]
alive = {int(l) for l in open(f"{T}/alive.txt") if l.strip()}
overruns = [r for r in recs if r["type"] == "overrun"]
seen = {}
for r in recs:
    if r["type"] == "exec" and r.get("exe") == f"{T}/sleeper":
        seen.setdefault(r["pid"], set()).add(r["source"])
rescanned = {p for p, s in seen.items() if "rescan" in s}
print(f"alive sleepers {len(alive)}, seen {len(seen)} (via rescan {len(rescanned)}), "
      f"overrun records {len(overruns)}")
if not overruns:
    sys.exit("FAIL: no overrun record: the storm did not overflow the tiny buffer")
if len(alive) < 100:
    sys.exit(f"FAIL: only {len(alive)} sleepers alive: the storm did not run")
missed = alive - set(seen)
if missed:
    sys.exit(f"FAIL: {len(missed)} running processes never reported, e.g. {sorted(missed)[:5]}")
if not rescanned:
    sys.exit("FAIL: the rescan reported none of the hidden processes")
print("every still-running process of the storm was reported")
PY
echo PASS
