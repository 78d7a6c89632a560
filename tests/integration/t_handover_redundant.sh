#!/usr/bin/env bash
# The redundant policy (issue 13): every data packet on two diverse paths.
# Topology: tests/integration/handover_lib.sh (m1 with uplinks into sites a
# and b, both up; c1 behind a full-cone NAT).
#
#   site a (full-cone)   site b (full-cone)     site c (full-cone NAT)
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
#
# 1. `roam set --policy redundant`: m1's paths to c1: one active, and one
#    through the other interface marked duplicate.
# 2. 20 % random loss each way on both uplinks (lab_uplink loss:20): a 5 ms
#    UDP stream m1 -> c1 loses about 4 % (20 % x 20 %; asserted < 10 %);
#    then, live, `roam set --policy latency`: about 20 % (shown, asserted
#    above the redundant figure).
# 3. Loss healed, redundant again: eth-a's link goes down mid-stream; the
#    stream loses (almost) nothing (asserted: < 1 %).
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd jq nft
fail() { hl_fail "$@"; }

# stream SECONDS [AFTER CMD...]: a 5 ms stream m1 -> c1; CMD at AFTER s.
# Sets LOSS_PCT, LOST, RECEIVED, GAP.
stream() {
	local secs=$1 out recv snd
	shift
	out=$(roam_dir)/seq.json
	lab_exec c1 "$SEQ" recv 5001 $((secs + 2)) 5 $((secs * 200)) >"$out" &
	recv=$!
	sleep 0.3
	lab_exec m1 "$SEQ" send "$C" 5001 5 "$secs" &
	snd=$!
	if [ $# -gt 0 ]; then
		sleep "$1"
		shift
		"$@"
	fi
	wait "$snd" || true
	wait "$recv" || true
	LOST=$(jq -r '.lost' "$out")
	RECEIVED=$(jq -r '.received' "$out")
	GAP=$(jq -r '.max_gap_ms' "$out")
	LOSS_PCT=$(awk -v l="$LOST" -v r="$RECEIVED" 'BEGIN { printf "%.1f", 100 * l / (l + r) }')
}
dup_ready() { coord_peer m1 c1 paths | jq -e 'any(.duplicate == true) and any(.state == "active")' >/dev/null; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

handover_up -- --policy redundant
say "1. redundant: an active path and a duplicate through the other interface"
ping_ok m1 "$C" || fail "no tunnel from m1 to c1"
wait_until 15 dup_ready || fail "no duplicate path"
[ "$(coord_peer m1 c1 policy)" = redundant ] || fail "status does not show the policy"
hl_show m1 c1

say "2. 20 % loss each way on both uplinks"
lab_uplink m1 a loss:20
lab_uplink m1 b loss:20
stream 10
red=$LOSS_PCT
say "  redundant: lost $LOST of $((LOST + RECEIVED)) ($red %), longest gap $GAP ms"
hl_show m1 c1
lt "$red" 10 || fail "redundant mode lost $red %"
hl_set --policy latency >/dev/null
stream 10
say "  latency:   lost $LOST of $((LOST + RECEIVED)) ($LOSS_PCT %), longest gap $GAP ms"
lt "$red" "$LOSS_PCT" || fail "redundant ($red %) no better than one path ($LOSS_PCT %)"

say "3. redundant, no loss: eth-a goes down mid-stream"
lab_uplink m1 a heal
lab_uplink m1 b heal
hl_set --policy redundant >/dev/null
wait_until 20 dup_ready || fail "no duplicate path after healing"
stream 5 2 lab_uplink m1 a down
say "  lost $LOST of $((LOST + RECEIVED)) ($LOSS_PCT %), longest gap $GAP ms"
lt "$LOSS_PCT" 1 || fail "redundant mode lost $LOSS_PCT % when one path failed"
[ "$(coord_peer m1 c1 duplicates_sent)" -gt 1000 ] || fail "duplicates_sent: $(coord_peer m1 c1 duplicates_sent)"
say "PASS"
