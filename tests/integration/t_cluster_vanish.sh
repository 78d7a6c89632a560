#!/usr/bin/env bash
# A server host that vanishes (no reset: the machine gone, a cable cut) is
# left within 15 s (issue 14): two roam-servers on one PostgreSQL, p1 on A,
# q1 on B. Every packet between p1 and A is dropped (nft in p1, both ways,
# TCP and UDP: A's process lives on, p1 hears nothing from it, not even a
# reset). A network of several servers pings its streams every 5 s, and a
# node that knows several servers gives up on a stream silent for 2.5 pings
# and registers with the next server: p1 is on B within 15 s (the figure is
# printed), and its TCP flow to q1 goes on through it.
#
#     p1 (public) --X-- server A :8443 --\
#          \                               +-- PostgreSQL (throwaway cluster,
#           `-------- server B :9443 ----/      unix socket; tests/unit/pg_cluster.sh)
#     q1 (public) ------'
# roam-test: timing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/lib.sh"
source "$here/coord_lib.sh"
need_cmd jq nft iperf3

lab_up p:public:1 q:public:1 >/dev/null
lab_trap
cluster_two_servers_up

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
lab_exec p1 "$ROAM" up --server "$URL_A" --token "$tok" --name p1 --socket "$d/p1.sock" >/dev/null
coord_node q1
lab_exec q1 "$ROAM" up --server "$URL_B" --token "$tok" --name q1 --socket "$d/q1.sock" >/dev/null
server_of() { coord_status "$1" | jq -r '.managed.server'; }
connected_to() { [ "$(coord_status "$1" | jq -r '.managed.connected')" = true ] && [ "$(server_of "$1")" = "$2" ]; }
wait_for 20 "p1 sees q1" coord_sees p1 q1
wait_for 20 "q1 sees p1" coord_sees q1 p1
wait_for 20 "p1 learnt both servers" grep -q "the network has 2 server" "$(lab_log_file roamd-p1)"
[ "$(server_of p1)" = "$URL_A" ] || fail "p1 is not on A"
Q1=$(coord_addr4 q1)
wait_for 15 "p1 pings q1" ping_ok p1 "$Q1"

say "A vanishes for p1 (every packet dropped) during an iperf3 flow p1 -> q1"
secs=24
lab_exec q1 timeout $((secs + 10)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
iperf_srv=$!
sleep 1
lab_exec p1 timeout $((secs + 8)) iperf3 -c "$Q1" -p 5201 -t "$secs" -b 5M >"$d/iperf.txt" 2>&1 &
iperf_cli=$!
sleep 2
lab_exec p1 nft -f - <<NFT
table inet vanish {
	chain out { type filter hook output priority 0; ip daddr $S th dport $COORD_PORT drop; }
	chain in { type filter hook input priority 0; ip saddr $S th sport $COORD_PORT drop; }
}
NFT
t0=$(date +%s%N)
wait_until 60 connected_to p1 "$URL_B" || fail "p1 did not move to B within 60 s: $(coord_status p1 | jq -c .managed)"
ms=$((($(date +%s%N) - t0) / 1000000))
say "  p1 on B ${ms} ms after A vanished (goal 15 s)"
[ "$ms" -le 15000 ] || fail "a vanished server was left after more than 15 s"
wait "$iperf_cli" || fail "the TCP flow did not survive: $(tail -5 "$d/iperf.txt")"
wait "$iperf_srv" || true
say "  iperf3: $(grep -E 'receiver' "$d/iperf.txt" | tail -1 | sed 's/  */ /g')"
wait_for 15 "p1 sees q1 online from B" coord_sees p1 q1
ping_ok p1 "$Q1" || fail "p1 cannot reach q1 after the move"
say "ok"
