#!/usr/bin/env bash
# The admin CLI hands its changes to the running roam-server over
# <state>/admin.sock (mode 0600): the server applies them and pushes the
# affected nodes at once (no database polling); with no server running the
# CLI writes the database itself, also over a socket a killed server left.
#
#   p1 (public) --- lab internet --- server (roam-server :8443)
#   q1 (public) ---/                 <state>/admin.sock <- roam-server CLI
#   groups: g1 = {p1, q1}
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
srv_log=$(lab_log_file roam-server)
sock="$(roam_dir)/srv/admin.sock"
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_join_all "$tok" p1 q1
sees() { coord_sees p1 "$1"; }
wait_for 10 "p1 sees q1" sees q1

say "the socket: mode 0600, the state's owner"
[ -S "$sock" ] || fail "no admin socket at $sock"
[ "$(stat -c %a "$sock")" = 600 ] || fail "admin socket mode $(stat -c %a "$sock"), not 600"
[ "$(stat -c %U "$sock")" = "$(stat -c %U "$(roam_dir)/srv")" ] || fail "admin socket not owned by the state's owner"

# ms_until CHECK...: milliseconds until CHECK holds (fails after 5 s).
ms_until() {
	local t0 now
	t0=$(date +%s%N)
	while ! "$@"; do
		now=$(date +%s%N)
		[ $(((now - t0) / 1000000)) -lt 5000 ] || fail "not within 5 s: $*"
		sleep 0.02
	done
	now=$(date +%s%N)
	echo $(((now - t0) / 1000000))
}
not() { ! "$@"; }
report=${ROAM_TEST_REPORT:-/dev/null}

say "groups remove while the server runs: p1 loses q1 at once"
coord_srv groups remove g1 q1 >/dev/null
ms=$(ms_until not sees q1)
say "  p1 lost q1 ${ms} ms after the command returned"
[ "$ms" -lt 1000 ] || fail "the change took ${ms} ms to reach p1"
grep -q "admin cli: groups.remove" "$srv_log" || fail "the server did not apply the change itself"
echo "groups remove -> p1's view: ${ms} ms" >>"$report"

say "groups add, nodes rename: p1 hears at once"
coord_srv groups add g1 q1 >/dev/null
ms=$(ms_until sees q1)
say "  p1 sees q1 again after ${ms} ms"
[ "$ms" -lt 1000 ] || fail "groups add took ${ms} ms to reach p1"
echo "groups add -> p1's view: ${ms} ms" >>"$report"
coord_srv nodes rename q1 q1x >/dev/null
ms=$(ms_until sees q1x)
say "  p1 sees q1x after ${ms} ms"
[ "$ms" -lt 1000 ] || fail "the rename took ${ms} ms to reach p1"
echo "nodes rename -> p1's view: ${ms} ms" >>"$report"

say "a refused change says why, changes nothing"
out=$(coord_srv nodes approve nosuch 2>&1) && fail "approving a missing node succeeded"
echo "$out" | grep -q "no node named 'nosuch'" || fail "no clear error: $out"

say "a second server on the same state is refused"
out=$(lab_exec server "$SERVER" run --state "$(roam_dir)/srv" --port 8449 --admin-listen none 2>&1) && fail "a second server started"
echo "$out" | grep -q "another roam-server runs on this state" || fail "no clear error: $out"
[ -S "$sock" ] || fail "the second server removed the first one's socket"

say "no polling: the server never reloaded the database"
! grep -qi "reloaded" "$srv_log" || fail "the server reloaded from the database"

say "server stopped: the CLI writes the database; a stale socket is no obstacle"
coord_server_stop
[ ! -e "$sock" ] || fail "the socket outlived the server"
coord_srv groups create g2 >/dev/null || fail "groups create without a server failed"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
coord_srv groups create g3 >/dev/null || fail "groups create next to a stale socket failed"
coord_server_up
coord_srv groups --json | jq -e '[.groups[].name] | index("g2") and index("g3")' >/dev/null ||
	fail "the offline changes are lost"
wait_for 15 "p1 sees q1x after the restart" sees q1x
coord_server_stop
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)"; then
	grep -E -A30 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" | head -n 60
	fail "roam-server: a sanitizer report"
fi
say "ok"
