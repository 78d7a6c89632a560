#!/usr/bin/env bash
# The command line against real daemons:
# - one control socket per interface (/run/roam/IFACE.sock): `roam -i IFACE`
#   picks each of two roamd, plain `roam` names both and asks to choose;
# - the join token from a file, standard input or ROAM_TOKEN;
# - roam ip, roam whois by name and address (this node too), --json;
# - `roam-server nodes` shows a node online, then offline once it stopped;
# - a stale socket after a crash is named and removed.
#
#   p1 (public)        q1 (public)
#     roamd -i IFP       roamd -i IFQ        (no --socket: the default path)
#          \               /
#           roam-server (server host)
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
IFP=$(roam_ifname p)
IFQ=$(roam_ifname q)
SOCKP=/run/roam/$IFP.sock
SOCKQ=/run/roam/$IFQ.sock
cleanup() {
	lab_down >/dev/null 2>&1 || true
	rm -f "$SOCKP" "$SOCKQ"
}
trap cleanup EXIT

say "roam-server: usage errors, version, no state"
expect() { # expect STATUS PATTERN CMD...: exit status and a line of the output
	local want=$1 pattern=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
	[ $rc -eq "$want" ] && echo "$out" | grep -q -- "$pattern" || fail "$*: exit $rc (want $want): $out"
}
expect 2 "roam-server nodes: unknown option '--jsno' (did you mean --json?)" "$SERVER" nodes --jsno
expect 2 "roam-server keys: option '--expires' needs a value" "$SERVER" keys create --expires
expect 0 '"program":' "$SERVER" version --json
expect 0 "^roam-server " "$SERVER" --version
expect 0 "Exit status:" "$SERVER" run --help
expect 1 "roam-server run: no state in $(roam_dir)/none: run \`roam-server init --state $(roam_dir)/none\` first" \
	"$SERVER" run --state "$(roam_dir)/none"
expect 1 "roam-server nodes: no state in" "$SERVER" nodes --state="$(roam_dir)/none"
expect 2 "roamd: unknown option '--stat-dir' (did you mean --state-dir?)" "$ROAMD" --stat-dir x

coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
d=$(roam_dir)

say "two roamd, each with its own default socket"
lab_spawn p1 roamd-p1 "$ROAMD" --state-dir "$d/st-p1" -i "$IFP" -l debug >/dev/null
lab_spawn q1 roamd-q1 "$ROAMD" --state-dir "$d/st-q1" --interface="$IFQ" -l debug >/dev/null
wait_for 10 "roamd p1 socket $SOCKP" test -S "$SOCKP"
wait_for 10 "roamd q1 socket $SOCKQ" test -S "$SOCKQ"
[ "$(lab_exec p1 "$ROAM" -i "$IFP" status --json | jq -r .interface)" = "$IFP" ] || fail "roam -i $IFP asked another roamd"
[ "$(lab_exec q1 "$ROAM" --interface "$IFQ" status --json | jq -r .interface)" = "$IFQ" ] ||
	fail "roam --interface $IFQ asked another roamd"
set +e
out=$(lab_exec p1 "$ROAM" status 2>&1)
rc=$?
set -e
say "  plain roam status: exit $rc: $out"
[ $rc -eq 1 ] && echo "$out" | grep -q "several roamd" && echo "$out" | grep -q "$IFP" && echo "$out" | grep -q "$IFQ" ||
	fail "roam without -i did not list the two roamd"

say "joining with the token from a file, from stdin, from ROAM_TOKEN"
(umask 077 && echo "$tok" >"$d/token")
lab_exec p1 "$ROAM" -i "$IFP" up --server "$COORD_URL" --token-file "$d/token" --name p1 >/dev/null ||
	fail "roam up --token-file failed"
echo "$tok" | lab_exec q1 "$ROAM" -i "$IFQ" up --server="$COORD_URL" --token - --name q1 >/dev/null ||
	fail "roam up --token - failed"
lab_exec q1 "$ROAM" -i "$IFQ" down >/dev/null
# Real replies for fuzz/corpus/cli_reply (see fuzz/fuzz_cli_reply.c).
capture() { [ -z "${ROAM_CAPTURE_DIR:-}" ] || lab_exec "$1" "$ROAM" -i "$2" status --json >"$ROAM_CAPTURE_DIR/$3"; }
capture q1 "$IFQ" roamd-down
lab_exec q1 env ROAM_TOKEN="$tok" "$ROAM" -i "$IFQ" up --server "$COORD_URL" --name q1 >/dev/null ||
	fail "roam up with ROAM_TOKEN failed"

say "roam ip and roam whois"
p4=$(lab_exec p1 "$ROAM" -i "$IFP" ip -4)
p6=$(lab_exec p1 "$ROAM" -i "$IFP" ip -6)
[ "$p4" = "$(lab_exec p1 "$ROAM" -i "$IFP" status --json | jq -r .managed.ipv4 | cut -d/ -f1)" ] || fail "roam ip -4: $p4"
[ "$(lab_exec p1 "$ROAM" -i "$IFP" ip | wc -l)" -eq 2 ] || fail "roam ip did not print two lines"
lab_exec p1 "$ROAM" -i "$IFP" ip --json | jq -e --arg a "$p6" '.ipv6 == [$a]' >/dev/null || fail "roam ip --json"
lab_exec p1 "$ROAM" -i "$IFP" whois "$p4" --json | jq -e '.self and .name == "p1"' >/dev/null ||
	fail "roam whois of this node's address"
sees_q1() { lab_exec p1 "$ROAM" -i "$IFP" status --json | jq -e '.peers[] | select(.name == "q1")' >/dev/null; }
wait_for 15 "p1 sees q1" sees_q1
capture p1 "$IFP" roamd-managed-peer
q4=$(lab_exec q1 "$ROAM" -i "$IFQ" ip -4)
lab_exec p1 "$ROAM" -i "$IFP" whois q1 --json | jq -e --arg a "$q4" '(.self | not) and (.ipv4 | startswith($a))' >/dev/null ||
	fail "roam whois by name"
lab_exec p1 "$ROAM" -i "$IFP" whois "$q4" | grep -q "^q1 (" || fail "roam whois by address"

say "roam-server nodes: online, then offline after q1 stops"
node() { coord_srv nodes --json | jq -e --arg n "$1" ".nodes[] | select(.name == \$n) | $2" >/dev/null; }
wait_for 10 "p1 online in roam-server nodes" node p1 '.online and .last_seen > 0'
wait_for 10 "q1 online in roam-server nodes" node q1 '.online'
coord_srv nodes | grep -E "^[0-9]+ +q1 +approved +online " >/dev/null || fail "the nodes table does not show q1 online"
lab_stop roamd-q1
wait_for 10 "q1 offline in roam-server nodes" node q1 '(.online | not) and .last_seen > 0'
coord_srv nodes | grep -E "^[0-9]+ +q1 +approved +offline " >/dev/null || fail "the nodes table does not show q1 offline"
[ ! -e "$SOCKQ" ] || fail "roamd q1 left its socket after a clean stop"

say "a crashed roamd's socket: named and removed"
kill -KILL "$(cat "$(lab_rundir)/pid/roamd-p1.pid")"
wait_for 5 "roamd p1 gone" sh -c "! kill -0 $(cat "$(lab_rundir)/pid/roamd-p1.pid") 2>/dev/null"
set +e
out=$(lab_exec p1 "$ROAM" -i "$IFP" status 2>&1)
rc=$?
set -e
say "  roam status: exit $rc: $out"
[ $rc -eq 1 ] && echo "$out" | grep -q "stale control socket" || fail "no word about the stale socket"
[ ! -e "$SOCKP" ] || fail "the stale socket was not removed"
out=$(lab_exec p1 "$ROAM" -i "$IFP" status 2>&1 || true)
echo "$out" | grep -q "roamd is not running (no control socket at $SOCKP): start it" || fail "no hint how to start roamd: $out"
say "ok"
