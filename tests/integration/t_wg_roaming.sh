#!/usr/bin/env bash
# Endpoint roaming (WireGuard paper 2.1): roamd's underlay address changes
# in the middle of a flow with wireguard-go and traffic continues: roamd
# notices its own address change and announces it with a keepalive at once,
# and wireguard-go roams to the new source. Topology: see interop_lib.sh.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up
interop_wgo
interop_roamd
ping_ok a1 10.10.0.2 || fail "no tunnel before moving"

# flow HOST DST: 100 pings, 50 ms apart, in the background; prints received.
flow() { lab_exec "$1" ping -c 100 -i 0.05 -W 1 "$2" | awk '/received/{print $4}'; }

say "roamd's host changes address mid-flow"
flow b1 10.10.0.1 >"$(roam_dir)/flow1" &
flow_pid=$!
sleep 1
new=$(lab_readdr a1)
say "a1 moved $A4 -> $new"
wait $flow_pid
got=$(cat "$(roam_dir)/flow1")
say "received $got of 100 replies"
[ "$got" -ge 90 ] || fail "flow did not survive roamd's address change ($got/100)"
roamd_log r | grep -q 'announcing our new endpoint' || fail "roamd did not announce its move"
lab_exec b1 wg show "$WGIF" endpoints | grep -qF "$new:51820" || fail "wireguard-go did not learn $new"

# The reverse, wireguard-go's host moving, is not tested here: Debian's
# wireguard-go 0.0.20220316 keeps sending from its cached ("sticky") old
# source address and fails with "network is unreachable" until restarted
# (seen in its debug log). roamd <-> roamd covers a moving peer of roamd:
# t_roamd_pair.sh.
say "ok"
