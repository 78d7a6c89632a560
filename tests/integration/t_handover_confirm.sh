#!/usr/bin/env bash
# Confirmed switching (issue 13): with `roam set --handover confirm` a
# better path is announced, not taken, until `roam path use`.
# Topology: tests/integration/handover_lib.sh (m1 with uplinks into sites a
# and b, both up; c1 behind a full-cone NAT).
#
#   site a (full-cone)   site b (full-cone)     site c (full-cone NAT)
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
#
# 1. eth-b dearer (roam set --iface-cost eth-b=20): m1 -> c1 through eth-a.
# 2. Confirm mode, then eth-a made dearer: eth-b is better, but after 8 s
#    m1 is still on eth-a; status shows better_path (eth-b's), the log
#    says so.
# 3. `roam path use c1 ID`: eth-b now. 4. `roam path use c1 --auto` after
#    eth-a is made cheap again (announced, not taken): eth-a.
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
source "$(dirname "$0")/handover_lib.sh"
need_cmd jq nft
fail() { hl_fail "$@"; }

path_id() { coord_peer m1 c1 paths | jq -r --arg i "$1" 'map(select(.interface == $i and .transport == "udp-aux" and .state != "dead")) | .[0].id'; }
better_is() { [ "$(coord_peer m1 c1 better_path)" = "$(path_id "$1")" ]; }
use() { lab_exec m1 "$ROAM" path use c1 "$@" --socket "$(roam_dir)/m1.sock"; }

handover_up -- --iface-cost eth-b=20
say "1. m1 -> c1 through eth-a"
ping_ok m1 "$C" || fail "no tunnel from m1 to c1"
wait_until 15 hl_active_is eth-a || fail "m1's active path is not through eth-a: $(hl_active)"

say "2. confirm mode; eth-a dearer: eth-b announced, not taken"
hl_set --handover confirm --iface-cost eth-a=40 >/dev/null
wait_until 15 better_is eth-b || fail "no better_path announced: $(coord_peer m1 c1 better_path)"
sleep 3
hl_active_is eth-a || fail "m1 switched without confirmation: $(hl_active)"
coord_log m1 | grep -q "a better path is available" || fail "no log line announcing the better path"
hl_show m1 c1

say "3. roam path use c1 ID: eth-b"
use 999 2>/dev/null && fail "roam path use took an unknown path"
use "$(path_id eth-b)" || fail "roam path use failed"
hl_active_is eth-b || fail "m1 not on eth-b after roam path use: $(hl_active)"
[ "$(coord_peer m1 c1 active_path | jq -r .why)" = user ] || fail "active_path.why is not user"
ping_ok m1 "$C" || fail "no tunnel through eth-b"

say "4. eth-a cheap again: announced; roam path use c1 --auto takes it"
hl_set --iface-cost eth-a=0 >/dev/null
wait_until 15 better_is eth-a || fail "eth-a not announced"
hl_active_is eth-b || fail "m1 switched without confirmation: $(hl_active)"
use --auto || fail "roam path use --auto failed"
hl_active_is eth-a || fail "m1 not on eth-a after --auto: $(hl_active)"
ping_ok m1 "$C" || fail "no tunnel through eth-a"
say "PASS"
