#!/bin/bash
# Rules on an exact path match the file, not only its name: a victim run
# through another name of the same file is killed, whatever it does first.
#  - a hardlink of the forbidden binary;
#  - the victim renames, unlinks or replaces its own file first;
#  - a bind mount of it inside an unprivileged `unshare -Urm`;
#  - ancestor_exe: a shell behind 20 intermediates under a "server" (a
#    hardlink of it in every other round) that exits after forking them.
# Each record names the path it saw and says "matched_by": "identity".
# Victims run as the test uid 64123 from the private directory.
. "$(dirname "$0")/lib.sh"

U=64123
N=${PW_IDENTITY_N:-100}
private_bin pw_victim victim
private_bin pw_victim server
private_bin pw_victim mid
private_bin pw_victim sh
mkdir -p "$T/surv" "$T/h" "$T/b"
chmod 1777 "$T/surv" "$T/h" "$T/b"
write_policy identity.yaml <<EOF2
version: 1
rules:
  - name: kill-victim
    match: {exe: "$T/victim", uid: $U}
    actions: [kill]
  - name: shell-under-server
    match: {exe: "$T/sh", ancestor_exe: "$T/server", uid: $U}
    actions: [kill]
EOF2
start_agent --policy "$T/identity.yaml"
as() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
# every name is a hardlink of the forbidden file (made by root: the kernel
# lets a user link only files it owns), never the path the rule names
for tech in hardlink rename unlink replace; do
	for i in $(seq 1 "$N"); do
		f="$T/h/$tech-$i"
		ln "$T/victim" "$f"
		case $tech in
		hardlink) first=() ;;
		rename) first=(--rename-self "$T/h/renamed-$i") ;;
		unlink) first=(--unlink-self) ;;
		replace) first=(--replace-self) ;;
		esac
		(as "$f" "${first[@]}" --sleep-ms 300 --touch "$T/surv/$tech-$i") 2>/dev/null || true
	done
done
# a bind mount in a user and mount namespace of the test uid's own
bind=0
if as unshare -Urm true 2>/dev/null; then
	bind=$N
	: >"$T/b/innocent"
	for i in $(seq 1 "$N"); do
		(as unshare -Urm sh -c "mount --bind '$T/victim' '$T/b/innocent' &&
			exec '$T/b/innocent' --sleep-ms 300 --touch '$T/surv/bind-$i'") 2>/dev/null || true
	done
else
	echo "no unprivileged user namespaces here: the bind mount case is skipped"
fi
# lineage: the server (a hardlink in odd rounds) starts 20 intermediates
# and exits at once; the shell under them must be killed
ln "$T/server" "$T/h/srv"
chain=()
for k in $(seq 1 20); do chain+=(--fork-exec "$T/mid"); done
for i in $(seq 1 20); do
	s="$T/server"
	[ $((i % 2)) = 1 ] && s="$T/h/srv"
	# (forked by setpriv's program, not exec'd by setpriv: an exec chain
	# that exits at once leaves its second program unknown; and up 20 ms: a
	# program gone before the listener could stat it has no known file --
	# see docs/policy.md)
	(as "$T/mid" --fork-exec "$s" --sleep-ms 20 --bg-exec "$T/mid" "${chain[@]:1}" --fork-exec "$T/sh" \
		--sleep-ms 300 --touch "$T/surv/deep-$i") 2>/dev/null
done
sleep 1
stop_agent
python3 - "$T" "$N" "$bind" <<'PY'
import json, os, sys
T, N, B = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(f"{T}/agent.json")]
surv = sorted(os.listdir(f"{T}/surv"))
assert not surv, f"{len(surv)} survived: {surv[:10]}"
v = [r for r in recs if r["type"] == "exec" and r["rules"] == ["kill-victim"]]
want = 4 * N + B
assert len(v) == want, f"{len(v)} victim records, want {want}"
bad = [r for r in v if r["actions"][0]["result"] != "ok" or r["uid"] != 64123]
assert not bad, bad[:3]
by_path = [r for r in v if r.get("matched_by") != "identity" or r["exe"] == f"{T}/victim"]
assert not by_path, by_path[:3]
seen = {}
for r in v:
    name = os.path.basename(r["exe"]).split("-")[0]
    seen[name] = seen.get(name, 0) + 1
deleted = sum(1 for r in v if r["exe"].endswith(" (deleted)"))
sh = [r for r in recs if r["type"] == "exec" and r["exe"] == f"{T}/sh"]
assert len(sh) == 20, f"{len(sh)} shell records"
assert all(r["rules"] == ["shell-under-server"] and r["actions"][0]["result"] == "ok"
           for r in sh), [r for r in sh if r["rules"] != ["shell-under-server"]][:2]
ident = sum(1 for r in sh if r.get("matched_by") == "identity")
assert ident == 10, f"{ident} of 20 shells matched by identity, want the 10 under the hardlink"
print(f"{len(v)} victims killed, 0 survivors, all matched by identity "
      f"(names seen: {seen}; {deleted} ' (deleted)'); 20 shells behind 20 "
      f"intermediates killed ({ident} by the hardlinked server's identity)")
PY
echo PASS
