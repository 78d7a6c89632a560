#!/usr/bin/env bash
# The path layer in managed mode: relay first, direct after, relay again
# when the direct path breaks, direct again when it heals.
#
#   site a (full-cone NAT)                 site b (port-restricted NAT)
#   a1 10.1.0.11                           b1 10.2.0.11
#    |  gw-a wan 203.0.113.11               |  gw-b wan 203.0.113.12
#    +--------------- inet ------------------+
#                      |
#                   server 203.0.113.1 (roam-server: API, relay)
#
# 1. a1 and b1 join; a1's first ping goes through (the relay carries it);
#    within 3 s a1's active path is "udp" to b1's public endpoint (as the
#    server sees it), b1's to a1's, and the relay stops carrying the pings.
# 2. inet drops UDP between the two NATs: the relay takes over within 5 s,
#    pings continue.
# 3. the rule goes: direct again.
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"


lab_up a:fullcone b:portrestricted >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node a1
coord_node b1
coord_join a1 "$tok" >/dev/null
coord_join b1 "$tok" >/dev/null
online() { [ "$(coord_peer "$1" "$2" online)" = true ]; }
wait_for 10 "a1 sees b1 online" online a1 b1
wait_for 10 "b1 sees a1 online" online b1 a1
B=$(coord_addr4 b1)
# On failure: both sides' paths and what their logs say about them.
fail() {
	say "FAIL: $*"
	show a1 b1 || true
	show b1 a1 || true
	for h in a1 b1; do
		echo "--- $h"
		coord_log $h | grep -E "path|candidate|call me|handshake|==[0-9]+==|#[0-9]+ |runtime error" | tail -n 60
	done
	exit 1
}

active() { coord_peer "$1" "$2" active_path | jq -r 'if . == null then "none" else "\(.transport) \(.address)" end'; }
show() { coord_peer "$1" "$2" paths | jq -r '.[] | "    \(.transport) \(.address) \(.state) rtt \(.rtt_ms // "-") ms"'; }
public_of() { coord_status "$1" | jq -r '.managed.public_endpoint'; }
# roam ping FROM PEER, one round: "direct ADDRESS" or "relay ADDRESS" of the answer
roam_ping() {
	lab_exec "$1" "$ROAM" ping -c 1 --json "$2" --socket "$(roam_dir)/$1.sock" |
		jq -r '.rounds[0] | if .answered then "\(if .direct then "direct" else "relay" end) \(.address)" else "none" end'
}

# Datagrams the server receives from the two NATs (bindings, relay, probes).
lab_exec server nft -f - <<'NFT'
table inet paths_direct {
	counter from_sites {}
	chain input { type filter hook input priority 0; ip saddr { 203.0.113.11, 203.0.113.12 } udp dport 8443 counter name from_sites; }
}
NFT
server_udp() { lab_exec server nft -j list counter inet paths_direct from_sites | jq '.nftables[1].counter.packets'; }

say "1. first ping, then direct"
t0=$(date +%s%N)
ping_ok a1 "$B" || fail "first ping from a1 to b1 did not go through"
t1=$(date +%s%N)
say "  first ping answered after $(((t1 - t0) / 1000000)) ms"
pa=$(public_of a1)
pb=$(public_of b1)
say "  public endpoints: a1 $pa, b1 $pb"
is_active() { [ "$(active "$1" "$2")" = "$3" ]; }
wait_for 5 "a1: direct path to b1 active" is_active a1 b1 "udp $pb"
ms=$((($(date +%s%N) - t1) / 1000000))
say "  a1 -> b1 direct at most $ms ms after the first ping's answer"
[ "$ms" -le "$(goal_ms 3000)" ] || fail "direct only after $ms ms"
wait_for 5 "b1: direct path to a1 active" is_active b1 a1 "udp $pa"
show a1 b1
coord_peer a1 b1 observed | grep -q "^203.0.113.11:" || fail "a1 does not know its address as b1 sees it"
got=$(roam_ping a1 b1)
say "  roam ping b1: $got"
[ "$got" = "direct $pb" ] || fail "roam ping b1 says '$got', not 'direct $pb'"
n0=$(server_udp)
lab_exec a1 ping -c 10 -i 0.2 -W 1 "$B" >/dev/null || fail "pings on the direct path lost"
n1=$(server_udp)
say "  server received $((n1 - n0)) datagrams (of $n1 since the start) from the sites during 10 direct pings"
# Relay probes (every 5 s per side) and a binding may arrive; 20 relayed
# datagrams (10 pings both ways) must not.
[ $((n1 - n0)) -le 8 ] || fail "the relay still carries the pings ($((n1 - n0)) datagrams)"

say "2. inet drops UDP between the NATs: the relay takes over"
lab_exec inet nft -f - <<'NFT'
table inet paths_block {
	chain forward { type filter hook forward priority -10;
		ip saddr 203.0.113.11 ip daddr 203.0.113.12 udp dport != 8443 drop;
		ip saddr 203.0.113.12 ip daddr 203.0.113.11 udp dport != 8443 drop; }
}
NFT
t0=$SECONDS
active_now() { [ "$(active a1 b1 | cut -d' ' -f1)" = relay-udp ]; }
wait_for 8 "a1 falls back to the relay" active_now
say "  a1 on the relay after ~$((SECONDS - t0)) s"
show a1 b1
[ $((SECONDS - t0)) -le 6 ] || fail "fallback took $((SECONDS - t0)) s"
got=$(roam_ping a1 b1)
say "  roam ping b1: $got"
[ "${got%% *}" = relay ] || fail "roam ping b1 says '$got' while only the relay works"
n0=$(server_udp)
lab_exec a1 ping -c 10 -i 0.2 -W 1 "$B" >/dev/null || fail "pings over the relay lost"
n1=$(server_udp)
say "  server received $((n1 - n0)) datagrams from the sites during 10 relayed pings"
[ $((n1 - n0)) -ge 20 ] || fail "the relay does not carry the pings (or the counter counts nothing)"
# Full-size packets through the relay: at MTU 1420 a transport message is
# 1452 bytes (WireGuard pads only up to the MTU), which the relay's filter
# must pass (it once dropped every packet that was not 32 + 16n bytes).
lab_exec a1 ping -c 3 -i 0.2 -W 2 -M do -s 1392 "$B" >/dev/null || fail "full-MTU packets do not cross the relay"
lab_exec a1 ping -c 3 -i 0.2 -W 2 -M do -s 1391 "$B" >/dev/null || fail "odd-size packets do not cross the relay"

say "3. the rule goes: direct again"
lab_exec inet nft delete table inet paths_block
t0=$SECONDS
wait_until 20 is_active a1 b1 "udp $pb" || fail "a1 not direct again 20 s after the rule went"
say "  direct again after ~$((SECONDS - t0)) s"
ping_ok a1 "$B" || fail "no traffic after the direct path came back"
say "PASS"
