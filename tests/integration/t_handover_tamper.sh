#!/usr/bin/env bash
# Tamper detection and quarantine (issue 13), duplicates counted apart from
# replays, and `roam trace`. Topology: tests/integration/handover_lib.sh
# (m1 with uplinks into sites a and b, both up; c1 behind a full-cone NAT),
# and a middlebox on site a's router that injects garbage:
#
#   site a (full-cone)   site b (full-cone)     site c (full-cone NAT)
#    gw-a: tamper_inject     gw-b                  gw-c
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
#
# 1. m1 sends to c1 through eth-a. `roam trace c1` shows each path's
#    segments: eth-a's direct path (local interface and address, the NAT's
#    mapping, the peer with its round trip) and the relayed one (with the
#    relay and its link's round trip).
# 2. gw-a injects garbage WireGuard-looking datagrams (bad-mac1 initiations,
#    data under unknown indices) from c1's public mapping to m1's eth-a
#    socket, 200 in 2 s, while a 5 ms stream flows m1 -> c1: eth-a's path to
#    c1 is quarantined (tamper threshold 32 in 10 s), the stream goes on
#    through another path (loss < 5 %), roamd logs it, `roam status` shows it.
# 3. The injection stopped: after the quarantine (set to 4 s) the path is
#    probed again and works (out of quarantine, not quarantined any more).
# 4. The redundant policy: c1, the receiver, counts m1's second copies as
#    duplicates (and which path's copy came first), not as replays.
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd jq nft ss
fail() { hl_fail "$@"; }
INJECT="$ROAM_BUILD_DIR/tests/integration/tamper_inject"
[ -x "$INJECT" ] || skip "tamper_inject not built"

handover_up -- --tamper-threshold 32 --tamper-window 10000 --quarantine 4000
ping_ok m1 "$C" || fail "no tunnel from m1 to c1"
wait_until 15 hl_active_is eth-a || fail "eth-a's path never became active"

say "1. roam trace c1"
trace_json() { lab_exec m1 "$ROAM" trace c1 --json --socket "$(roam_dir)/m1.sock"; }
# eth-a's direct path in three segments, the NAT's mapping as the peer saw it
# and the round trip end to end; the relayed path with the relay's round trip
# (the relay link measures it within a few seconds of joining).
trace_direct() {
	trace_json | jq -e '.paths | any(.interface == "eth-a" and (.segments | map(.hop) == ["local", "nat", "peer"])
		and .segments[0].interface == "eth-a" and (.segments[0].address | startswith("10.1.0."))
		and .segments[1].seen_by == "peer" and (.segments[2].rtt_ms > 0))' >/dev/null
}
trace_relayed() {
	trace_json | jq -e '.paths | any((.transport | startswith("relay")) and (.segments | map(.hop) == ["local", "nat", "relay", "peer"])
		and (.segments[2].rtt_ms > 0) and (.segments[3].rtt_ms > 0))' >/dev/null
}
wait_until 20 trace_direct || fail "no direct path through eth-a in segments: $(trace_json | jq -c .)"
wait_until 20 trace_relayed ||
	fail "no relayed path with the relay's round trip: $(trace_json | jq -c .) $(coord_status m1 | jq -c '.managed | {relays, relay_link, relay_link_rtt_ms}')"
trace=$(lab_exec m1 "$ROAM" trace c1 --socket "$(roam_dir)/m1.sock")
echo "$trace" | sed 's/^/    /'
echo "$trace" | grep -q "end to end" || fail "human trace without round trips"

say "2. garbage on eth-a's path"
path=$(coord_peer m1 c1 paths | jq -r 'map(select(.interface == "eth-a" and .state == "active")) | .[0]')
id=$(jq -r '.id' <<<"$path")
peer_ep=$(jq -r '.address | sub("^aux[0-9]+:"; "")' <<<"$path") # c1's mapping as m1 sees it
m1_addr=$(jq -r '.local.address' <<<"$path")
m1_port=$(lab_exec m1 ss -Hunl | awk '$4 ~ /%eth-a:/ { n = split($4, f, ":"); print f[n]; exit }')
[ -n "$m1_port" ] && [ "$m1_addr" != null ] || fail "m1's eth-a socket not found (path: $path)"
say "  path $id: $m1_addr:$m1_port <- ${peer_ep}"
# gw-a's conntrack would rewrite (or drop) a flow that clashes with m1's own.
lab_exec gw-a nft add table ip roam_tamper
lab_exec gw-a nft add chain ip roam_tamper out '{ type filter hook output priority raw; }'
lab_exec gw-a nft add rule ip roam_tamper out notrack
# Quarantined at least once (it may be out again by the time we look, on a busy machine).
quarantined() { coord_peer m1 c1 paths | jq -e --argjson id "$id" 'any(.id == $id and .quarantines >= 1)' >/dev/null; }
out=$(roam_dir)/seq.json
lab_exec c1 "$SEQ" recv 5001 10 5 1600 >"$out" &
recv=$!
sleep 0.3
lab_exec m1 "$SEQ" send "$C" 5001 5 8 &
snd=$!
sleep 1
lab_exec gw-a "$INJECT" "${peer_ep%:*}" "${peer_ep##*:}" "$m1_addr" "$m1_port" 200 10
wait_until 5 quarantined || fail "path $id not quarantined"
hl_show m1 c1
wait "$snd" || true
wait "$recv" || true
lost=$(jq -r '.lost' "$out")
received=$(jq -r '.received' "$out")
say "  stream: lost $lost of $((lost + received)), longest gap $(jq -r '.max_gap_ms' "$out") ms"
[ $((lost * 20)) -lt $((lost + received)) ] || fail "the stream lost $lost of $((lost + received))"
coord_log m1 | grep -q "quarantined for" || fail "no log line for the quarantine"
coord_peer m1 c1 last_quarantine | jq -e --argjson id "$id" '.path == $id' >/dev/null || fail "status shows no quarantine event"
lab_exec m1 "$ROAM" status --socket "$(roam_dir)/m1.sock" | grep -q "bad packets" || fail "roam status shows no bad packets"

say "3. the injection stopped: the path comes back"
back() { coord_peer m1 c1 paths | jq -e --argjson id "$id" 'any(.id == $id and (.state == "active" or .state == "standby"))' >/dev/null; }
wait_until 20 back || fail "path $id did not come back"
coord_log m1 | grep -q "out of quarantine" || fail "no log line for the end of the quarantine"
ping_ok m1 "$C" || fail "no tunnel after the quarantine"

say "4. redundant: c1 counts duplicates, not replays"
lab_exec gw-a nft delete table ip roam_tamper
hl_set --policy redundant >/dev/null
dup_ready() { coord_peer m1 c1 paths | jq -e 'any(.duplicate == true) and any(.state == "active")' >/dev/null; }
wait_until 20 dup_ready || fail "no duplicate path"
replays0=$(coord_peer c1 m1 replays)
lab_exec c1 "$SEQ" recv 5001 4 5 400 >"$out" &
recv=$!
sleep 0.3
lab_exec m1 "$SEQ" send "$C" 5001 5 2
wait "$recv" || true
dups=$(coord_peer c1 m1 duplicates_received)
replays=$(coord_peer c1 m1 replays)
won=$(coord_peer c1 m1 paths | jq '[.[].copies_won // 0] | add')
say "  c1: duplicates $dups (first copies credited to paths: $won), replays ${replays:-0}"
[ "${dups:-0}" != null ] && [ "${dups:-0}" -ge 300 ] || fail "c1 counted $dups duplicates"
[ "${replays:-null}" = null ] || [ "$replays" = "$replays0" ] || fail "duplicates counted as replays: $replays"
[ "$won" -ge $((dups / 2)) ] || fail "which copy came first: only $won of $dups"
lab_exec c1 "$ROAM" status --socket "$(roam_dir)/c1.sock" | grep -q "copies received" || fail "roam status shows no duplicates"
say "PASS"
