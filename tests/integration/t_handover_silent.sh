#!/usr/bin/env bash
# Fast failover (issue 13): the active direct path's network silently
# drops everything (the links stay up, no route changes, nothing for the
# kernel to report); the relay must carry the traffic within a few hundred
# ms (goal: 300 ms), not after the heartbeat's probes time out (seconds).
#
#   site a (full-cone NAT)                 site b (port-restricted NAT)
#   a1 10.1.0.11                           b1 10.2.0.11
#    |  gw-a wan 203.0.113.11               |  gw-b wan 203.0.113.12
#    +--------------- inet ------------------+   (inet: the silent drop)
#                      |
#                   server 203.0.113.1 (roam-server: API, relay)
#
# 1. a1 and b1 join; both on the direct path.
# 2. Through the tunnel, a1 -> b1: a 5 ms sequence-numbered UDP stream
#    (seq_stream) and an iperf3 TCP flow (20 Mbit/s). After 3 s inet drops
#    UDP between the NATs (not to the server). Both flows must survive; the
#    stream's longest gap is printed and must stay under 1 s (the goal is
#    300 ms; the margin is for a loaded CI machine), where before this
#    failover it was 2-5 s; a1's log must say why (active_suspect).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd iperf3 jq nft
[ -x "$SEQ" ] || skip "seq_stream not built"

lab_up a:fullcone b:portrestricted >/dev/null
lab_trap
coord_server_up
coord_node a1
coord_node b1
hl_join a1 b1
B=$(coord_addr4 b1)
HL_PAIR="a1 b1"
fail() { hl_fail "$@"; }
active() { coord_peer "$1" "$2" active_path | jq -r 'if . == null then "none" else .transport end'; }
is_active() { [ "$(active "$1" "$2")" = "$3" ]; }

say "1. both direct"
ping_ok a1 "$B" || fail "first ping from a1 to b1 did not go through"
wait_until 10 is_active a1 b1 udp || fail "a1 not on the direct path"
wait_until 10 is_active b1 a1 udp || fail "b1 not on the direct path"
hl_show a1 b1

say "2. flows through the tunnel; after 3 s the direct path goes silent"
tmp=$(roam_dir)
out=$tmp/seq.json
lab_exec b1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
srv=$!
lab_exec b1 "$SEQ" recv 5001 11 >"$out" &
recv=$!
sleep 0.3
lab_exec a1 iperf3 -c "$B" -p 5201 -t 8 -b 20M >"$tmp/iperf.txt" 2>&1 &
cli=$!
lab_exec a1 "$SEQ" send "$B" 5001 5 9 &
snd=$!
sleep 3
lab_exec inet nft -f - <<'NFT'
table inet handover_silent {
	chain forward { type filter hook forward priority -10;
		ip saddr 203.0.113.11 ip daddr 203.0.113.12 udp dport != 8443 drop;
		ip saddr 203.0.113.12 ip daddr 203.0.113.11 udp dport != 8443 drop; }
}
NFT
say "  dropping"
wait_until 3 is_active a1 b1 relay-udp || fail "a1 not on the relay 3 s after the drop"
wait "$snd" || fail "seq_stream send failed"
wait "$recv" || fail "seq_stream recv failed"
iperf_ok=true
wait "$cli" || iperf_ok=false
wait "$srv" || true
hl_show a1 b1
say "  stream: $(cat "$out")"
say "  iperf3: $(grep -E 'sender|receiver' "$tmp/iperf.txt" | tr -s ' ' | head -2 | tr '\n' ';')"
$iperf_ok || fail "the TCP flow did not survive: $(tail -3 "$tmp/iperf.txt")"
gap=$(jq -r '.max_gap_ms' "$out")
received=$(jq -r '.received' "$out")
[ "$received" -ge 1000 ] || fail "only $received datagrams of the stream arrived"
say "  interruption (longest gap of the 5 ms stream): $gap ms; lost $(jq -r .lost "$out")"
awk -v g="$gap" 'BEGIN { exit !(g < 1000) }' || fail "interruption $gap ms"
coord_log a1 | grep -q "active_suspect" || fail "a1's log does not say the active path's reply was late"
lab_exec inet nft delete table inet handover_silent
say "PASS"
