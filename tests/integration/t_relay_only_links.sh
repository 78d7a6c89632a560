#!/usr/bin/env bash
# TCP relay links to a relay-only server, and relay liveness. u1 (httponly:
# TCP to 80 and 443 only) reaches the relay-only server r1 (relay 1) over a
# TCP link of its own (Roam-Auth under K_nr, Roam-Ticket, r1's key pinned
# from the relay map), beside its link to the control server (relay 0). The
# control server is 20 ms further away each way, so the pair u1-a1 meets on
# relay 1: traffic flows u1 -> TCP link -> r1 -> UDP -> a1 and back, over
# WebSocket, long-poll (both forced by ROAMD_TEST_RELAY_LINK, for relay 0
# and relay 1 alike) and TLS (the ladder's own choice). p1 reaches nothing
# but tinyproxy (`roam up --proxy`): its link to r1 goes through the proxy
# too, and it meets a1 there. Then r1 is killed
# mid-ping: both nodes find it dead (u1: its TCP link closes; a1: its
# RELAY_PINGs, every 2 s, go unanswered for 1 s), drop its paths and move
# to relay 0; the longest gap in a 50 ms ping is printed (goal 2 s). At
# the end, r1's and the control server's relayed counters show who
# carried the floods.
#
#   u1 (httponly) ----------------+-- inet -- server: roam-server run :443 (relay 0), +20 ms
#   a1 (public) ------------------+---------- r1: roam-server relay :443 (relay 1)
#   p1 (proxyonly, tinyproxy) ----+
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up u:httponly a:public r:public p:proxyonly >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
S=$(lab_server_addr)
R=$(lab_public_addr r1)
lab_delay server 20
out=$(coord_srv relays add r1 --url "https://$R:443" --region lab)
rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
lab_spawn r1 relay "$SERVER" relay --server "https://$S:443" --token "$rtok" --listen :443 \
	--state "$(roam_dir)/relay" --log-level debug >/dev/null
wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"

coord_node a1
coord_join a1 "$tok" >/dev/null
a=$(coord_addr4 a1)
coord_node p1
lab_exec p1 "$ROAM" up --server "$COORD_URL" --token "$tok" --name p1 --socket "$(roam_dir)/p1.sock" \
	--proxy "$(lab_proxy p1)" >/dev/null

relay1_link() { coord_status "$1" | jq -r '.managed.relays[] | select(.id == 1) | .link'; }
link_is() { [ "$(relay1_link u1)" = "$1" ]; }
meeting() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .relays[0] // "none"'; }
active() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .active_path.address // "none"'; }
agree() { [ "$(meeting u1 a1)" = 1 ] && [ "$(meeting a1 u1)" = 1 ]; }
on_relay1() { [[ $(active u1 a1) == relay:*@1 ]] && [[ $(active a1 u1) == relay:*@1 ]]; }
ping1() { lab_exec u1 ping -c 1 -W 1 "$a" >/dev/null 2>&1; }
clean_log() {
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file "roamd-$1")" ||
		fail "$1: a sanitizer report in roamd's log"
}

for mode in websocket long-poll tls; do
	coord_node_stop u1 2>/dev/null || true
	clean_log a1
	[ -f "$(lab_log_file roamd-u1)" ] && clean_log u1
	if [ "$mode" = tls ]; then
		coord_node u1 # UDP blocked: the ladder climbs to TLS by itself
	else
		ROAMD_TEST_RELAY_LINK=$mode coord_node u1
	fi
	coord_join u1 "$tok" >/dev/null
	t0=$(date +%s.%N)
	wait_until 20 link_is "$mode" || true
	link=$(relay1_link u1)
	[ "$link" = "$mode" ] || fail "$mode: u1's link to relay 1 is $link"
	wait_for 25 "$mode: u1 and a1 meet on relay 1" agree
	wait_for 10 "$mode: u1 reaches a1" ping1
	wait_for 10 "$mode: both active paths through relay 1" on_relay1
	t1=$(date +%s.%N)
	got=$(lab_exec u1 ping -q -c 300 -i 0.01 -W 1 "$a" | grep -o '[0-9]* received' | tr -dc 0-9)
	say "$mode: u1 -> relay 1 over $link -> a1 in $(printf "%.1f" "$(echo "$t1 - $t0" | bc)") s from roam up;" \
		"$got/300 pings answered through relay 1 ($(active u1 a1))"
	[ "${got:-0}" -ge 270 ] || fail "$mode: only $got of 300 pings answered"
	# A flood of polls in a sanitizer build (2-3x slower) on a loaded
	# machine can make a reply late enough to look like a failing path
	# (seen twice in CI); the optimised build (a timing test) asserts it.
	if [ "$mode" = long-poll ] && [ "${ROAM_TEST_SANITIZED:-0}" = 1 ]; then
		on_relay1 || say "$mode: (sanitizer build) the flood left relay 1: u1 $(active u1 a1), a1 $(active a1 u1)"
	else
		on_relay1 || fail "$mode: the flood left relay 1: u1 $(active u1 a1), a1 $(active a1 u1)"
	fi
done

say "p1 (proxyonly): its links to both relays through tinyproxy"
p1_tls() { [ "$(relay1_link p1)" = tls ]; }
wait_for 10 "p1's link to relay 1 is tls" p1_tls
agree_p() { [ "$(meeting p1 a1)" = 1 ] && [ "$(meeting a1 p1)" = 1 ]; }
# Both must hold the other's round trip to relay 1: p1's first one comes
# over its TLS link through the proxy, then goes to a1 through the server;
# under CI load that took over 20 s once.
wait_for 40 "p1 and a1 meet on relay 1" agree_p
p1_ping() { lab_exec p1 ping -c 1 -W 1 "$a" >/dev/null 2>&1; }
wait_for 10 "p1 reaches a1" p1_ping
p1_relay1() { [[ $(active p1 a1) == relay:*@1 ]] && [[ $(active a1 p1) == relay:*@1 ]]; }
wait_for 10 "p1 <-> a1 through relay 1" p1_relay1
got=$(lab_exec p1 ping -q -c 100 -i 0.01 -W 1 "$a" | grep -o '[0-9]* received' | tr -dc 0-9)
say "p1 -> tinyproxy -> relay 1 -> a1: $got/100 pings answered ($(active p1 a1))"
[ "${got:-0}" -ge 90 ] || fail "p1: only $got of 100 pings answered"
clean_log p1

say "killing relay 1 mid-ping (u1 on TLS to it, a1 on UDP)"
pings=$(mktemp)
lab_exec u1 ping -D -n -i 0.05 -W 1 -w 9 "$a" >"$pings" 2>&1 &
pg=$!
sleep 3
lab_stop relay
moved() { [[ $(active u1 a1) == relay:*[0-9] && $(active u1 a1) != *@* ]] && [[ $(active a1 u1) != *@1 ]]; }
wait_for 10 "both moved off relay 1" moved
wait "$pg" || true
ms=$(awk -F'[][]' '/bytes from/ { t = $2 * 1000; if (p && t - p > g) g = t - p; p = t } END { printf "%d", g }' "$pings")
n=$(grep -c 'bytes from' "$pings" || true)
rm -f "$pings"
say "failover: u1 -> a1 on $(active u1 a1), a1 -> u1 on $(active a1 u1); longest silence ${ms} ms" \
	"($n replies in 9 s; goal 2000 ms)"
grep -h 'relay 1: dead' "$(lab_log_file roamd-u1)" "$(lab_log_file roamd-a1)" | sed 's/^/  /' | head -n 4
[ "$ms" -gt 0 ] && [ "$ms" -le "$(goal_ms 4000)" ] || fail "failover took ${ms} ms"
coord_status a1 | jq -e '.managed.relays[] | select(.id == 1) | .dead' >/dev/null || fail "a1 does not show relay 1 dead"
ping1 || fail "u1 cannot reach a1 after the failover"

r1=$(grep -o 'relay: [0-9]* relayed' "$(lab_log_file relay)" | tr -dc 0-9)
lab_stop roam-server
r0=$(grep -o '[0-9]* relayed' "$(lab_log_file roam-server)" | tail -n 1 | tr -dc 0-9)
say "datagrams relayed: relay 1 (relay-only) $r1 (floods of 3 x 300 and 100 pings), relay 0 $r0 (probes, the" \
	"failover's pings)"
[ "${r1:-0}" -ge 1800 ] && [ "${r1:-0}" -gt "${r0:-0}" ] || fail "relay 1 did not carry the floods: $r1 vs $r0"
clean_log u1
clean_log a1
say "ok"
