#!/usr/bin/env bash
# One rate-limit budget per node (roam-server relay --rate-limit, issue 10):
# a node that sends both over UDP (forwarded by the relay's thread) and over
# a relay link (forwarded by the main loop) gets the limit once, not once
# per path.
#
#   a1 A: relay_client, bound over UDP and a TLS link ---+--- inet --- server 203.0.113.1  roam-server run (control)
#   a2 R: relay_client, bound over UDP (link closed) ----+
#                                                        +--- a3  roam-server relay :443 --rate-limit 1 (relay 1)
#
# --rate-limit 1: 125 000 bytes a second per node, 89 datagrams of 1400
# bytes (1392 and the header). A offers about 130 a second on each path for
# about 4.6 s: with one budget R got 541 here (the flow spans 5 to 6
# wall-clock windows; a few bytes the thread adds to a snapshot being
# replaced are lost), with one per path 923.
set -euo pipefail
source "$(dirname "$0")/relay_client_lib.sh"

need_built "$SERVER" "$CLIENT"

lab_up a:public:3 >/dev/null
lab_trap
rcl_server_init
rcl_server_start
rcl_g1_and_relay a3 --rate-limit 1
for n in A R; do (umask 077 && openssl rand -base64 32 >"$d/$n.key"); done
rc_bg() {
	local name=$1 host=$2
	shift 2
	lab_spawn "$host" "rc-$name" "$CLIENT" --server "$srv_addr:443" --relay "$relay_addr:443" --token "$tok" \
		--key "$d/$name.key" --name "$name" --kind tls "$@" >/dev/null
}
log() { cat "$(lab_log_file "rc-$1")"; }

rc_bg R a2 bind unlink "waitfile $d/go 30000" "udpcount 2000"
wait_for 10 "R bound over UDP, its link closed" grep -q '^unlinked' "$(lab_log_file rc-R)"
id_r=$(log R | sed -n 's/^id //p')
rounds=()
for _ in $(seq 40); do rounds+=("udpsend $id_r 15 1392" "send $id_r 15 1392" "hold 100"); done
rc_bg A a1 bind "waitfile $d/go 30000" "${rounds[@]}" "say $id_r done"
wait_for 10 "A bound over UDP with its link open" grep -q '^bound' "$(lab_log_file rc-A)"
sleep 0.5 # the relay thread's snapshot: both bound
t0=$(date +%s.%N)
touch "$d/go"
wait_for 30 "R's count" grep -q '^udpcount' "$(lab_log_file rc-R)"
got=$(log R | sed -n 's/^udpcount \([0-9]*\) .*/\1/p')
secs=$(echo "$(date +%s.%N) - $t0 - 2" | bc)
say "R got $got of 1200 datagrams (600 over UDP, 600 over A's link) in about $(printf '%.1f' "$secs") s;" \
	"the budget: 89 a second"
[ "$got" -gt 0 ] || fail "R got nothing: $(log R); A: $(log A | tail -3); relay: $(tail -5 "$(lab_log_file relay)")"
# One budget: at most 89 a window, and the flow spans secs + 2 windows at
# the most (10 % for the bytes a replaced snapshot loses); a budget per
# path lets about twice that through (a loaded machine stretches the flow:
# the limit grows with it, never a false alarm).
limit=$(echo "($secs + 2) * 89 * 1.1 / 1" | bc)
[ "$got" -le "$limit" ] || fail "R got $got (limit $limit): more than one budget for A (UDP and its link each get the limit?)"
say "ok"
