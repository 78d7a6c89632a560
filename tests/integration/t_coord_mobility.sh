#!/usr/bin/env bash
# A managed node's address changes and its peers learn the new endpoint
# within 3 s (typically 0.6 s), traffic resuming; then the server is killed and restarted:
# tunnels keep passing traffic meanwhile, nodes reconnect by themselves,
# and registrations, addresses and groups persist.
#
#   p1 (public site p) = D      q1 (public site q) = E      both in g1
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
coord_node q1
coord_join p1 "$tok"
coord_join q1 "$tok"
D=$(coord_addr4 p1)
E=$(coord_addr4 q1)
wait_for 10 "E in D's view" test -n "$(coord_peer p1 q1 path)"
ping_ok p1 "$E" || fail "no tunnel D -> E"

say "E's underlay address changes"
old=$(coord_peer p1 q1 endpoint)
new=$(lab_readdr q1)
t0=$(date +%s%N)
# D's endpoint for E: one of E's new addresses (its new IPv4 one, or its
# new IPv6 one if the path layer finds that faster), not the old one.
learned() {
	local ep a
	ep=$(coord_peer p1 q1 endpoint)
	a=${ep%:*}
	a=${a#[}
	a=${a%]}
	[ "$ep" != "$old" ] && lab_exec q1 ip -o addr show | grep -qF " $a/"
}
wait_for 5 "D learns E's new endpoint" learned
ms=$((($(date +%s%N) - t0) / 1000000))
say "D saw E move $old -> $(coord_peer p1 q1 endpoint) (new IPv4 address $new) after ${ms} ms"
# Its authenticated keepalive from the new address makes D probe every
# path at once; the old ones fail within two probe timeouts (250 ms to 1 s
# each): typically 0.6 s, 3 s at worst.
[ $ms -le "$(goal_ms 3000)" ] || { coord_log p1 | tail -30; coord_log q1 | tail -30; fail "took ${ms} ms, more than 3 s"; }
ping_ok p1 "$E" || fail "traffic did not resume after E moved"

say "server killed: tunnels keep passing traffic"
coord_server_stop
flow=$(lab_exec p1 ping -c 20 -i 0.1 -W 1 "$E" | awk '/received/{print $4}')
say "$flow of 20 pings answered with the server down"
[ "$flow" -ge 19 ] || {
	coord_status p1 | jq -c '.peers'; coord_log p1 | tail -30; coord_log q1 | tail -30
	fail "tunnel broke while the server was down ($flow/20)"
}
coord_status p1 | jq -e '.managed.connected == false' >/dev/null || fail "D still thinks it is connected"

say "server restarted: nodes reconnect, state persists"
coord_server_up
reconnected() { coord_status p1 | jq -e '.managed.connected == true' >/dev/null; }
wait_for 40 "D reconnects to the restarted server" reconnected
[ "$(coord_addr4 p1)" = "$D" ] || fail "D's overlay address changed across the restart"
[ "$(coord_addr4 q1)" = "$E" ] || fail "E's overlay address changed across the restart"
coord_srv groups list | grep -q g1 || fail "group g1 lost"
ping_ok p1 "$E" || fail "no traffic after the restart"

say "roamd restarted: it rejoins by itself with the same addresses (roam up needs no arguments)"
coord_node_stop p1
coord_node p1
rejoined() { coord_status p1 | jq -e '.managed.state == "connected"' >/dev/null; }
wait_for 20 "D rejoins" rejoined
[ "$(coord_addr4 p1)" = "$D" ] || fail "D's address changed after a roamd restart"
ping_ok p1 "$E" || { coord_status p1; coord_status q1; coord_log p1 | tail -20; coord_log q1 | tail -20; fail "no traffic after roamd restarted"; }
say "ok"
