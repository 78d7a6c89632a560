#!/usr/bin/env bash
# Bad input to the path probes (issue 9, section 4; docs/control-protocol.md
# "Path probes"), sent by probe_tool from a host that is no node:
# - PINGs with a wrong mac, or from a node outside B's groups (C), get no
#   PONG and are counted in B's probe_drops;
# - a flood of 20 000 valid PINGs in 2 s gets at most the rate limit's worth
#   of PONGs (20/s, burst 40, per source address), and B stays responsive:
#   its control socket answers and the overlay keeps passing traffic;
# - valid PINGs and PONGs from another address (a stolen key of A) cannot
#   redirect B's traffic for A: that address may be probed (a fresh PING
#   from a new source is a candidate) but never answers, so it never becomes
#   a working path; the active path stays on one of A's own addresses;
# - a CALLME sent straight to B (not through the server), or from outside
#   B's groups, makes B probe nothing.
#
#   p1 = A (public) --+                    group g: A, B     group h: C
#   p2 = probe_tool --+-- inet -- q1 = B (public)
#   r1 = C (public) --+    server: roam-server
set -euo pipefail
source "$(dirname "$0")/paths_lib.sh"

TOOL=$ROAM_BUILD_DIR/tests/integration/probe_tool
need_built "$ROAMD" "$ROAM" "$SERVER" "$TOOL"
lab_up p:public:2 q:public r:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
coord_srv groups create h >/dev/null
tok_g=$(coord_token --reusable --group g)
tok_h=$(coord_token --group h)
for n in p1 q1 r1; do coord_node $n; done
coord_join p1 "$tok_g" >/dev/null
coord_join q1 "$tok_g" >/dev/null
coord_join r1 "$tok_h" >/dev/null
d=$(roam_dir)
B=$(coord_addr4 q1)
B_PUB=$(coord_status q1 | jq -r .public_key)
B_EP=$(lab_addr q1):51820
A_EP=$(lab_addr p1):51820
A6_EP=[$(lab_addr p1 -6)]:51820
M=$(lab_addr p2)
wait_eq 10 "A sees B online" true 'coord_peer p1 q1 online'
ping_ok p1 "$B" || fail "no traffic A -> B"
need_path_layer q1
wait_eq 10 "B's active path to A is direct" direct 'path_class q1 p1'
say "B -> A: $(path_active q1 p1)"

tool() { lab_exec p2 "$TOOL" "$@"; }
drops() { probe_drops_total q1; }

say "wrong mac: no PONG, counted"
before=$(drops)
out=$(tool ping "$d/st-p1/node.key" "$B_PUB" "$B_EP" 20 2 badmac)
after=$(drops)
say "  $out; B's probe_drops $before -> $after: $(probe_drops q1)"
[ "$(echo "$out" | jq .pongs)" -eq 0 ] || fail "a PING with a wrong mac was answered"
[ "$after" -ge $((before + 20)) ] || fail "PINGs with a wrong mac were not counted"

say "from a node outside B's groups (C): no PONG, counted"
before=$after
out=$(tool ping "$d/st-r1/node.key" "$B_PUB" "$B_EP" 20 2)
after=$(drops)
say "  $out; B's probe_drops $before -> $after"
[ "$(echo "$out" | jq .pongs)" -eq 0 ] || fail "a PING from outside B's groups was answered"
[ "$after" -ge $((before + 20)) ] || fail "PINGs from outside B's groups were not counted"

say "a valid PING is answered (so the checks above mean something)"
out=$(tool ping "$d/st-p1/node.key" "$B_PUB" "$B_EP" 3 0.5)
say "  $out"
[ "$(echo "$out" | jq .pongs)" -ge 1 ] || fail "a valid PING got no PONG"
[[ "$(echo "$out" | jq -r .observed)" == "$M:"* ]] ||
	fail "the PONG's observed address is not the sender's ($M)"

say "flood: 20 000 valid PINGs in 2 s"
lab_exec p1 ping -c 15 -i 0.2 -W 1 "$B" >"$d/ping-flood.txt" 2>&1 &
pinger=$!
t0=$(date +%s%N)
out=$(tool ping "$d/st-p1/node.key" "$B_PUB" "$B_EP" 20000 2)
status_ms=$(($(date +%s%N) / 1000000))
lab_exec q1 timeout 2 "$ROAM" status --json --socket "$d/q1.sock" >/dev/null || fail "B's control socket did not answer within 2 s after the flood"
status_ms=$(($(date +%s%N) / 1000000 - status_ms))
wait "$pinger" || true
answered=$(awk '/received/ { print $4 }' "$d/ping-flood.txt")
pongs=$(echo "$out" | jq .pongs)
say "  $out in $((($(date +%s%N) - t0) / 1000000)) ms; B's status in $status_ms ms; overlay pings during it: ${answered:-0}/15"
echo "probe flood: 20000 PINGs in 2 s -> $pongs PONGs; overlay pings $answered/15" >>"${ROAM_TEST_REPORT:-/dev/null}"
# 40 (burst) + 20/s over the 3 s the tool counts, with room for timing.
[ "$pongs" -le 120 ] || fail "the flood got $pongs PONGs: not rate-limited"
[ "${answered:-0}" -ge 13 ] || fail "overlay traffic suffered from the flood (${answered:-0}/15)"

say "valid PINGs and PONGs from another address do not redirect B's traffic for A"
sleep 2 # the flood's tokens refill
tool ping "$d/st-p1/node.key" "$B_PUB" "$B_EP" 10 1 >/dev/null
tool pong "$d/st-p1/node.key" "$B_PUB" "$B_EP" "$M:51820" 10 >/dev/null
sleep 2
ping_ok p1 "$B" || fail "no traffic A -> B after the forged probes"
path_show q1 p1
# A fresh, verified PING from a new source makes it a candidate (that is how
# a NAT restart is taken up within a heartbeat), but a path carries data only
# after our own PING there is answered: the forger's address may be probed,
# never answered, never standby or active.
if path_peer q1 p1 | jq -e --arg m "$M:" \
	'.paths // [] | any((.address | startswith($m)) and (.state == "active" or .state == "standby"))' >/dev/null; then
	fail "B took the forger's address $M as a working path to A"
fi
got=$(path_active q1 p1)
[ "$got" = "udp $A_EP" ] || [ "$got" = "udp $A6_EP" ] || fail "B's active path to A is '$got', not A's own ($A_EP or $A6_EP)"

say "CALLME straight to B, or from outside B's groups: B probes nothing"
lab_exec p2 "$TOOL" listen "$M:40001" 4 >"$d/listen1.txt" &
l1=$!
lab_exec p2 "$TOOL" listen "$M:40002" 4 >"$d/listen2.txt" &
l2=$!
sleep 0.5
tool callme "$d/st-p1/node.key" "$B_PUB" "$B_EP" "$M:40001" >/dev/null
tool callme "$d/st-r1/node.key" "$B_PUB" "$B_EP" "$M:40002" >/dev/null
wait "$l1" "$l2"
say "  at $M:40001 (CALLME not through the server): $(cat "$d/listen1.txt"); at $M:40002 (from C): $(cat "$d/listen2.txt")"
[ "$(jq .received "$d/listen1.txt")" -eq 0 ] || fail "B probed an endpoint from a CALLME that did not come through the server"
[ "$(jq .received "$d/listen2.txt")" -eq 0 ] || fail "B probed an endpoint from a CALLME of a node outside its groups"
say "B's probe_drops: $(probe_drops q1)"
say "ok"
