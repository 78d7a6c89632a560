#!/usr/bin/env bash
# Several relays, failover: a control server (relay 0) and a relay-only
# server (relay 1); two nodes behind per-destination NATs (no direct path:
# they must relay) in one group. Each binds to relay 1 over UDP (RELAY_BIND
# with its ticket) and gets EP_RELAY paths to its peer through both relays.
# With an iperf3 TCP flow running between them, the process of the relay
# their active path uses is killed: they move to the other relay's path
# (measured, printed: goal 2 s) and the flow survives (WireGuard sessions
# do not depend on the endpoint).
#
#   a1 (symmetric) --+-- inet -- server: roam-server run :443 (relay 0)
#   c1 (symmetric) --+---------- r1: roam-server relay :443 (relay 1)
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up a:symmetric c:symmetric r:public >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
S=$(lab_server_addr)
R=$(lab_public_addr r1)
out=$(coord_srv relays add r1 --url "https://$R:443" --region lab)
rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
lab_spawn r1 relay "$SERVER" relay --server "https://$S:443" --token "$rtok" --listen :443 \
	--state "$(roam_dir)/relay" --log-level debug >/dev/null
wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"
for n in a1 c1; do
	coord_node "$n"
	coord_join "$n" "$tok" >/dev/null
done
c=$(coord_addr4 c1)
# paths N PEER: the relays of N's relay paths to PEER ("0 1")
paths() {
	coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .paths[].address' |
		sed -n 's/^relay:[0-9]*@\([0-9]*\)$/\1/p; s/^relay:[0-9]*$/0/p' | sort -u | tr '\n' ' '
}
active() {
	coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .active_path.address // "none"'
}
both_relays() { [ "$(paths a1 c1)" = "0 1 " ] && [ "$(paths c1 a1)" = "0 1 " ]; }
wait_for 30 "both nodes have paths through relay 0 and relay 1" both_relays
ping1() { lab_exec a1 ping -c 1 -W 1 "$c" >/dev/null 2>&1; }
wait_for 15 "a1 reaches c1" ping1
# The first ping may go while the path layer still settles (peer lines
# with relay_rtt re-path): wait for a relayed active path.
relayed() { was=$(active a1 c1) && [[ $was == relay:* ]]; }
wait_until 10 relayed || true
was=$(active a1 c1)
case $was in
relay:*@1) victim=relay ;;
relay:*) victim=roam-server ;;
*) fail "a1's active path to c1 is not relayed: $was" ;;
esac
say "a1 -> c1 active path: $was; killing $victim"

lab_spawn c1 iperf3-s iperf3 -s >/dev/null
wait_for 5 "iperf3 server" lab_exec c1 sh -c "ss -ltn | grep -q ':5201'"
res=$(mktemp)
pings=$(mktemp)
lab_exec a1 iperf3 -c "$c" -t 10 -J >"$res" &
ipf=$!
# The failover time: the longest silence between replies of a ping every
# 50 ms across the kill.
lab_exec a1 ping -D -n -i 0.05 -W 1 -w 9 "$c" >"$pings" 2>&1 &
pg=$!
sleep 3
lab_stop "$victim"
moved() { a=$(active a1 c1) && [ "$a" != "$was" ] && [ "$a" != none ]; }
wait_for 10 "a1 moved to the other relay" moved
wait "$pg" || true
ms=$(awk -F'[][]' '/bytes from/ { t = $2 * 1000; if (p && t - p > g) g = t - p; p = t } END { printf "%d", g }' "$pings")
n=$(grep -c 'bytes from' "$pings" || true)
rm -f "$pings"
say "failover: a1 -> c1 now on $(active a1 c1); longest silence ${ms} ms ($n replies in 9 s; goal 2000 ms)"
wait "$ipf" || { cat "$res"; fail "the inner iperf3 flow did not survive the failover"; }
mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$res")
rm -f "$res"
say "the iperf3 flow survived (${mbps} Mbit/s over 10 s)"
[ "$ms" -gt 0 ] && [ "$ms" -le "$(goal_ms 4000)" ] || fail "failover took ${ms} ms"
for n in a1 c1; do
	grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file "roamd-$n")" && fail "$n: a sanitizer report"
done
say "ok"
