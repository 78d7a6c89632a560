#!/usr/bin/env bash
# roam set (issue 13): a metered interface carries nothing while a cheaper
# one meets the thresholds; settings apply live and are kept.
# Topology: tests/integration/handover_lib.sh (m1 with uplinks into sites a
# and b, both up; c1 behind a full-cone NAT).
#
#   site a (full-cone)   site b (full-cone)     site c (full-cone NAT)
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
#
# 1. `roam set --metered eth-a` before joining: m1's data to c1 leaves
#    through eth-b; during a 4 s flow eth-a sends next to nothing (its
#    standby probes: every 60 s), eth-b the flow.
# 2. Live: `roam set --unmetered eth-a --metered eth-b`: eth-a takes over
#    and eth-b carries nothing; settings.json keeps it.
# 3. Inconsistent thresholds are refused, and change nothing.
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd iperf3 jq nft
fail() { hl_fail "$@"; }

tx() { lab_exec m1 cat "/sys/class/net/$1/statistics/tx_bytes"; }
# carried IF_BUSY IF_IDLE: a 4 s flow leaves through IF_BUSY, not IF_IDLE.
carried() {
	local busy0 idle0 busy idle
	busy0=$(tx "$1")
	idle0=$(tx "$2")
	hl_flows 4 0 true
	busy=$(($(tx "$1") - busy0))
	idle=$(($(tx "$2") - idle0))
	say "  4 s flow: $1 sent $busy bytes, $2 $idle; TCP $HL_TCP, lost $HL_LOST"
	[ "$HL_TCP" = ok ] || fail "the TCP flow broke"
	[ "$busy" -gt 1000000 ] || fail "$1 did not carry the flow"
	[ "$idle" -lt 100000 ] || fail "the metered $2 carried $idle bytes"
}

handover_up -- --metered eth-a
say "1. eth-a metered: m1 -> c1 through eth-b"
ping_ok m1 "$C" || fail "no tunnel from m1 to c1"
wait_until 15 hl_active_is eth-b || fail "m1's active path is not through eth-b: $(hl_active)"
coord_peer m1 c1 paths | jq -e 'any(.interface == "eth-a" and .metered == true)' >/dev/null ||
	fail "no metered path through eth-a"
hl_show m1 c1
carried eth-b eth-a

say "2. live: eth-b metered, eth-a not"
hl_set --unmetered eth-a --metered eth-b >/dev/null
wait_until 15 hl_active_is eth-a || fail "m1 not on eth-a after roam set: $(hl_active)"
carried eth-a eth-b
jq -e '.interfaces["eth-b"].metered == true and (.interfaces | has("eth-a") | not)' \
	"$(roam_dir)/st-m1/settings.json" >/dev/null || fail "settings.json: $(cat "$(roam_dir)/st-m1/settings.json")"

say "3. inconsistent thresholds are refused"
if hl_set --loss-enter 100 --loss-leave 200 2>/dev/null; then fail "roam set took loss-leave above loss-enter"; fi
hl_set --json | jq -e '.settings.tuning.loss_enter == 300' >/dev/null || fail "a refused roam set changed a threshold"
say "PASS"
