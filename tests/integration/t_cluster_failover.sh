#!/usr/bin/env bash
# Nodes fail over between servers (issue 14): two roam-servers on one
# PostgreSQL, each run with --public-url, so every node's stream carries
# the list of the network's servers. Four nodes, two per server. Server A
# is killed (-9) during an iperf3 TCP flow and a ping flood from p1 (on A)
# to q1 (on B): p1 and p2 register with B within 5 s (the figure is
# printed), the TCP flow survives (the tunnels never depended on the
# control server), and every node sees the three others online afterwards.
# Then a node restarted while its server (now B) is down registers with A at
# once: the servers' list is saved in its state (state.json "servers").
#
#     p1, p2 (public) ---- server A :8443 --\        (killed -9)
#                                            +-- PostgreSQL (throwaway cluster,
#     q1, q2 (public) ---- server B :9443 --/      unix socket; tests/unit/pg_cluster.sh)
#
# Both servers run in the lab's server namespace on copies of one state
# directory (the same identity and TLS keys).
# roam-test: timing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/lib.sh"
source "$here/coord_lib.sh"
need_cmd iperf3 jq

lab_up p:public:2 q:public:2 >/dev/null
lab_trap
cluster_two_servers_up

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
for n in p1 p2 q1 q2; do
	coord_node "$n"
	url=$URL_A
	[ "${n#q}" = "$n" ] || url=$URL_B
	lab_exec "$n" "$ROAM" up --server "$url" --token "$tok" --name "$n" --socket "$d/$n.sock" >/dev/null
done
server_of() { coord_status "$1" | jq -r '.managed.server'; }
connected_to() { [ "$(coord_status "$1" | jq -r '.managed.connected')" = true ] && [ "$(server_of "$1")" = "$2" ]; }
# sees_all NODE: the three others online.
sees_all() {
	local o
	for o in p1 p2 q1 q2; do
		[ "$o" = "$1" ] || [ "$(coord_peer "$1" "$o" online)" = true ] || return 1
	done
}
for n in p1 p2 q1 q2; do
	wait_for 20 "$n sees the three others online" sees_all "$n"
done
[ "$(server_of p1)" = "$URL_A" ] && [ "$(server_of q1)" = "$URL_B" ] || fail "nodes not spread over the servers"
# The list reaches the nodes (both servers listed: A's stream may predate B).
wait_for 15 "p1 learnt both servers" grep -q "the network has 2 server" "$(lab_log_file roamd-p1)"
wait_for 15 "p2 learnt both servers" grep -q "the network has 2 server" "$(lab_log_file roamd-p2)"
Q1=$(coord_addr4 q1)
wait_for 15 "p1 pings q1 across servers" ping_ok p1 "$Q1"

say "kill -9 A during an iperf3 flow and a ping flood p1 -> q1"
secs=14
lab_exec q1 timeout $((secs + 10)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
iperf_srv=$!
sleep 1
lab_exec p1 timeout $((secs + 8)) iperf3 -c "$Q1" -p 5201 -t "$secs" -b 10M >"$d/iperf.txt" 2>&1 &
iperf_cli=$!
lab_exec p1 ping -q -i 0.01 -W 1 -w "$secs" "$Q1" >"$d/ping.txt" 2>&1 &
pinger=$!
sleep 3
lab_exec server sh -c "kill -KILL \$(cat '$(lab_rundir)/pid/roam-server.pid')" || true
t0=$(date +%s%N)
wait_until 10 connected_to p1 "$URL_B" || fail "p1 did not move to B within 10 s: $(coord_status p1 | jq -c .managed)"
ms_p1=$((($(date +%s%N) - t0) / 1000000))
wait_until 10 connected_to p2 "$URL_B" || fail "p2 did not move to B within 10 s: $(coord_status p2 | jq -c .managed)"
ms_p2=$((($(date +%s%N) - t0) / 1000000))
say "  failover: p1 on B after ${ms_p1} ms, p2 after ${ms_p2} ms (goal 5 s)"
[ "$ms_p1" -le "$(goal_ms 5000)" ] && [ "$ms_p2" -le "$(goal_ms 5000)" ] || fail "failover took longer than 5 s"
wait "$iperf_cli" || fail "the TCP flow did not survive the server's death: $(tail -5 "$d/iperf.txt")"
wait "$iperf_srv" || true
wait "$pinger" || true
say "  iperf3: $(grep -E 'receiver' "$d/iperf.txt" | tail -1 | sed 's/  */ /g')"
say "  ping flood: $(grep -E 'packet loss' "$d/ping.txt")"
loss=$(grep -oE '[0-9.]+% packet loss' "$d/ping.txt" | cut -d% -f1)
[ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 20) }' || fail "the ping flood lost ${loss:-all}% (the tunnels must not need the server)"

say "every node's view is right afterwards"
for n in p1 p2 q1 q2; do
	wait_for 15 "$n sees the three others online" sees_all "$n"
done
[ "$(server_of q1)" = "$URL_B" ] && [ "$(server_of q2)" = "$URL_B" ] || fail "B's nodes moved"
ping_ok p2 "$(coord_addr4 q2)" || fail "p2 cannot reach q2 after the failover"

say "a node restarted while its server is down registers with another at once (the list is saved)"
jq -e --arg a "$URL_A" --arg b "$URL_B" '.servers | index($a) != null and index($b) != null' "$d/st-q2/state.json" >/dev/null ||
	fail "q2's state.json does not hold the network's servers: $(jq -c .servers "$d/st-q2/state.json")"
coord_node_stop q2
lab_stop roam-server || true
coord_server_up --public-url "$URL_A"
lab_exec server sh -c "kill -KILL \$(cat '$(lab_rundir)/pid/roam-server-b.pid')" || true
t0=$(date +%s%N)
coord_node q2 # its state says B, which is dead now
wait_until 10 connected_to q2 "$URL_A" || fail "q2, restarted while B is down, did not register with A: $(coord_status q2 | jq -c .managed)"
say "  q2 on A $((($(date +%s%N) - t0) / 1000000)) ms after roamd started"
say "ok"
