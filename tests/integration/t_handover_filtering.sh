#!/usr/bin/env bash
# Every interface behind filtering NATs (issue 13): each interface's own NAT
# mapping, learned with a NETCHECK from its socket and sent to the peer in
# CALLME, so the peer sends there and both NATs' filters open.
#
#   site a (port-restr.)  site b (port-restr.)   site c (port-restricted NAT)
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
#
# eth-b costs 5 ms more (roam set --iface-cost), so m1's data leaves through eth-a.
# 1. m1 knows each interface's mapping (status "interfaces"[].mapped, one
#    per site's public address) and c1 got them (its paths to m1 include
#    a working one to eth-b's mapping).
# 2. m1's active path to c1 goes through eth-a, a standby through eth-b:
#    the second interface's path works although c1's NAT filters by
#    address and port (without the mappings in CALLME it never answers).
# 3. Sudden loss of eth-a during a 5 ms UDP stream and an iperf3 TCP flow:
#    eth-b carries on, the TCP flow survives, the gap stays < 1000 ms
#    (goal < 20 ms; generous on a loaded machine).
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd iperf3 jq nft
fail() { hl_fail "$@"; }

HL_SITES="a:portrestricted b:portrestricted c:portrestricted"
handover_up -- --iface-cost eth-b=5
ping_ok m1 "$C" || fail "no tunnel from m1 to c1"

say "1. each interface's own mapping, and c1 knows it"
mapped() { coord_status m1 | jq -r '.interfaces[]? | select(.name == "'"$1"'") | .mapped // empty'; }
wait_until 15 test -n "$(mapped eth-a)" || fail "m1 does not know eth-a's mapping"
wait_until 15 test -n "$(mapped eth-b)" || fail "m1 does not know eth-b's mapping"
ma=$(mapped eth-a)
mb=$(mapped eth-b)
say "  eth-a: $ma, eth-b: $mb"
[ "${ma%:*}" = 203.0.113.11 ] || fail "eth-a's mapping $ma is not site a's public address"
[ "${mb%:*}" = 203.0.113.12 ] || fail "eth-b's mapping $mb is not site b's public address"
c1_on_b() { coord_peer c1 m1 paths | jq -e --arg a "$mb" 'any(.address == $a and (.state == "active" or .state == "standby"))' >/dev/null; }
HL_PAIR="c1 m1" wait_until 20 c1_on_b || HL_PAIR="c1 m1" fail "c1 has no working path to eth-b's mapping $mb"

say "2. m1 -> c1 through eth-a, eth-b standing by"
wait_until 15 hl_active_is eth-a || fail "m1's active path is not through eth-a: $(hl_active)"
b_standby() { coord_peer m1 c1 paths | jq -e 'any(.interface == "eth-b" and .state == "standby")' >/dev/null; }
wait_until 20 b_standby || fail "no standby path through eth-b behind the port-restricted NATs"
hl_show m1 c1

say "3. sudden loss: eth-a's link goes down"
hl_flows 5 2 lab_uplink m1 a down
say "  stream: gap $HL_GAP ms, lost $HL_LOST of $HL_RECEIVED; TCP $HL_TCP; m1 now: $(hl_active)"
hl_active_is eth-b || fail "m1 not on eth-b after eth-a went down"
[ "$HL_TCP" = ok ] || fail "the TCP flow broke"
awk -v g="$HL_GAP" 'BEGIN { exit !(g < 1000) }' || fail "interruption $HL_GAP ms after a sudden loss"
say "PASS"
