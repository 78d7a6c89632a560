#!/usr/bin/env bash
# Peers on demand (issue 14): a group larger than --group-view-max is big;
# its members are not in each other's views, and a node asks the server
# for a peer (GET /v1/peer) when its first packet to it finds none.
#
#   p1 (a), q1 (b), r1 (c), s1 (d): public sites; server: --group-view-max 2
#   groups: big = {a, b, c} (3 > 2: big), other = {d}
#
# - a's view holds neither b nor c;
# - a pings b's overlay IPv6: the first packet asks, and is sent once b is
#   added (within a few seconds); b then lists a on demand (the server
#   pushed a's line), and both say so in `roam status`;
# - d (no group shared with a) pinging a fails, and neither lists the other;
# - c (a test knob: on-demand peers idle after 4 s, not 10 min) pings a,
#   then drops a once unused, and reaches it again by asking again;
# - the server restarted (it keeps the pairs in memory only): a asks again
#   and still reaches b; removing b from big then removes b from a's list
#   and a from b's (the regrouped node's own on-demand peers)
#   (the server knew the pair again) and a ping fails.
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public r:public s:public >/dev/null
lab_trap
coord_server_up --group-view-max 2
coord_srv groups create big >/dev/null
coord_srv groups create other >/dev/null
tok_big=$(coord_token --reusable --group big)
tok_other=$(coord_token --group other)
coord_join_all "$tok_big" p1 q1
lab_spawn r1 roamd-r1 env ROAMD_TEST_ONDEMAND_IDLE_S=4 "$ROAMD" --state-dir "$(roam_dir)/st-r1" \
	-s "$(roam_dir)/r1.sock" -l debug >/dev/null
wait_for 10 "roamd in r1" test -S "$(roam_dir)/r1.sock"
coord_join r1 "$tok_big" >/dev/null
coord_join_all "$tok_other" s1

connected() { coord_status "$1" | jq -e '.managed.state == "connected"' >/dev/null; }
for h in p1 q1 r1 s1; do wait_for 15 "$h connected" connected $h; done
addr6() { coord_status "$1" | jq -r '.managed.ipv6' | cut -d/ -f1; }
A6=$(addr6 p1)
B6=$(addr6 q1)
say "overlay: a=$A6 b=$B6"
peers_of() { coord_status "$1" | jq -r '[.peers[].name] | sort | join(",")'; }
on_demand_of() { coord_status "$1" | jq -r --arg n "$2" '.peers[] | select(.name == $n) | .on_demand // false'; }

say "a big group: nobody in it holds the others"
sleep 1
[ -z "$(peers_of p1)" ] || fail "a's view holds $(peers_of p1)"
[ -z "$(peers_of q1)" ] || fail "b's view holds $(peers_of q1)"

say "a pings b: the first packet asks the server for b"
t0=$(date +%s%N)
lab_exec p1 ping -6 -c 3 -i 0.2 -W 2 -w 6 "$B6" >/dev/null || fail "a cannot reach b on demand"
say "  3 replies $(( ($(date +%s%N) - t0) / 1000000 )) ms after the first packet"
[ "$(on_demand_of p1 q1)" = true ] || fail "a does not list b on demand: $(peers_of p1)"
wait_eq 5 "b lists a on demand" true 'on_demand_of q1 p1'
[ "$(peers_of p1)" = q1 ] || fail "a holds more than b: $(peers_of p1)"
lab_exec p1 "$ROAM" status --socket "$(roam_dir)/p1.sock" | grep -q "peer: q1 (.*on demand)" ||
	fail "roam status does not mark b on demand"

say "d shares no group with a: its packets ask in vain"
if lab_exec s1 ping -6 -c 2 -i 0.2 -W 1 -w 3 "$A6" >/dev/null 2>&1; then fail "d reached a"; fi
[ -z "$(peers_of s1)" ] || fail "d holds $(peers_of s1)"
if coord_sees p1 s1; then fail "a holds d"; fi
# Asked again within 30 s: answered from the negative cache, not the server.
if lab_exec s1 ping -6 -c 1 -W 1 "$A6" >/dev/null 2>&1; then fail "d reached a"; fi
coord_status s1 | jq -e '.on_demand | .asked == 1 and .not_found == 1 and .suppressed >= 2' >/dev/null ||
	fail "d's questions: $(coord_status s1 | jq -c .on_demand)"
coord_status p1 | jq -e '.on_demand | .found == 1 and .packets_sent == 1' >/dev/null ||
	fail "a's questions: $(coord_status p1 | jq -c .on_demand)"

say "c pings a, then leaves it unused: c drops a, and asks again when it needs it"
ping_ok r1 "$A6" || fail "c cannot reach a on demand"
[ "$(on_demand_of r1 p1)" = true ] || fail "c does not hold a on demand"
gone_from_c() { [ -z "$(coord_peer r1 p1 name)" ]; }
wait_for 15 "c drops a, unused" gone_from_c
ping_ok r1 "$A6" || fail "c cannot reach a again"
[ "$(on_demand_of r1 p1)" = true ] || fail "c does not hold a on demand again"

say "the server restarts: a asks again for b"
coord_server_stop
coord_server_up --group-view-max 2
wait_for 40 "a connected again" connected p1
wait_for 10 "a asked again" grep -q "asking the server again for 2 peer" "$(lab_log_file roamd-p1)"
ping_ok p1 "$B6" || fail "a cannot reach b after the server's restart"
[ "$(on_demand_of p1 q1)" = true ] || fail "a lost b across the server's restart"

say "b leaves big: a drops it, and b drops a (b's full view does not list on-demand peers: the server says it)"
sleep 2 # the re-ask answered
[ "$(on_demand_of q1 p1)" = true ] || fail "b does not hold a before the change"
coord_srv groups remove big q1 >/dev/null
gone() { [ -z "$(coord_peer p1 q1 name)" ]; }
wait_for 10 "a drops b" gone
b_gone() { [ -z "$(coord_peer q1 p1 name)" ]; }
wait_for 10 "b drops a" b_gone
if ping_ok p1 "$B6"; then fail "a still reaches b"; fi
say "ok"
