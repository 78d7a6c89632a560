#!/usr/bin/env bash
# Relaying between nodes of different servers (issue 14): two roam-servers on
# one PostgreSQL, p1 streaming from A and q1 from B, direct UDP between them
# dropped by a firewall on p1. Their tunnel goes through a relay both can
# reach: ping and a TCP flow between them work, and `roam status` says the
# path is relayed. Ticket serials in one order across the servers: q1 (on
# B) joins a second group: the relay (its control stream on A) takes the
# ticket B issued for the change whatever A's floor (the relayed ping goes
# on); q1 removed: A's floor voids the ticket B gave it (with a counter per
# server, A's floor was below B's serials and the relay kept the removed
# node).
#
#     p1 (public, UDP to/from q1 dropped) ---- server A :8443 --\
#                                                                +-- PostgreSQL (throwaway cluster,
#     q1 (public) ---------------------------- server B :9443 --/      unix socket; tests/unit/pg_cluster.sh)
#     r1 (public): roam-server relay :443 (relay 1, registered with A)
#
# Both servers run in the lab's server namespace on copies of one state
# directory (the same identity and TLS keys).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/lib.sh"
source "$here/coord_lib.sh"
need_cmd jq nft iperf3

lab_up p:public q:public r:public >/dev/null
lab_trap
cluster_two_servers_up

# The relay is in the shared store: both servers list it in their relay map
# and sign their nodes' tickets for it with the network's key.
R=$(lab_public_addr r1)
out=$(coord_srv relays add r1 --url "https://$R:443" --region lab)
rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
lab_spawn r1 relay "$SERVER" relay --server "$URL_A" --token "$rtok" --listen :443 \
	--state "$d/relay" --log-level debug >/dev/null
wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
P1=$(lab_public_addr p1)
Q1=$(lab_public_addr q1)
# Direct UDP between p1 and q1 dropped both ways, over IPv4 and IPv6 (the
# servers and the relay stay reachable over IPv4).
lab_exec p1 nft -f - <<NFT
table inet cluster_relay {
	chain out { type filter hook output priority 0; meta nfproto ipv6 meta l4proto udp drop; ip daddr $Q1 meta l4proto udp drop; }
	chain in { type filter hook input priority 0; meta nfproto ipv6 meta l4proto udp drop; ip saddr $Q1 meta l4proto udp drop; }
}
NFT
coord_node p1
lab_exec p1 "$ROAM" up --server "$URL_A" --token "$tok" --name p1 --socket "$d/p1.sock" >/dev/null
coord_node q1
lab_exec q1 "$ROAM" up --server "$URL_B" --token "$tok" --name q1 --socket "$d/q1.sock" >/dev/null
server_of() { coord_status "$1" | jq -r '.managed.server'; }
wait_for 15 "p1 sees q1" coord_sees p1 q1
wait_for 15 "q1 sees p1" coord_sees q1 p1
[ "$(server_of p1)" = "$URL_A" ] && [ "$(server_of q1)" = "$URL_B" ] || fail "nodes not spread over the servers"

say "p1 (on A) and q1 (on B), no direct UDP: ping and a TCP flow through the relay"
QA=$(coord_addr4 q1)
relayed() { case "$(coord_peer "$1" "$2" path)" in relay*) return 0 ;; *) return 1 ;; esac; }
both_relayed() { relayed p1 q1 && relayed q1 p1; }
wait_until 30 both_relayed || {
	for n in p1 q1; do say "$n: relays $(coord_status $n | jq -c '.managed.relays') paths $(coord_status $n | jq -c '.peers[0].paths')"; done
	grep -v "stream of node" "$(lab_log_file relay)" | tail -20 >&2
	fail "the paths between p1 and q1 are not relayed"
}
wait_for 10 "p1 pings q1" ping_ok p1 "$QA"
say "  p1 -> q1 path: $(coord_peer p1 q1 path), q1 -> p1 path: $(coord_peer q1 p1 path)"
lab_exec q1 timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
iperf_srv=$!
sleep 1
lab_exec p1 timeout 15 iperf3 -c "$QA" -p 5201 -t 3 -b 5M >"$d/iperf.txt" 2>&1 ||
	fail "no TCP flow from p1 to q1 through the relay: $(tail -3 "$d/iperf.txt")"
wait "$iperf_srv" || true
say "  iperf3 p1 -> q1: $(grep -E 'receiver' "$d/iperf.txt" | tail -1 | sed 's/  */ /g')"
ping_ok q1 "$(coord_addr4 p1)" || fail "q1 cannot ping p1"

say "q1 (on B) joins g2: the relay, told by A, takes B's new ticket"
idq=$(coord_status q1 | jq -r '.managed.node_id')
voided() { grep -c "node $idq: ticket voided" "$(lab_log_file relay)" || true; }
coord_srv groups create g2 >/dev/null
coord_srv groups add g2 q1 >/dev/null
# A's floor may void the older ticket the relay holds (if it comes first) or
# find the new one B issued: either way B's new ticket must be taken.
sleep 3
wait_for 15 "p1 pings q1 through the relay after the change" ping_ok p1 "$QA"
say "  p1 -> q1 path: $(coord_peer p1 q1 path), tickets of q1 voided by A so far: $(voided)"

say "q1 removed: A's floor voids the ticket B gave it"
n_before=$(voided)
sleep 2 # B's last ticket for q1 a second older than A's floor
coord_srv nodes remove q1 >/dev/null
wait_for 10 "the relay dropped the removed q1" test "$(voided)" -gt "$n_before"
say "ok"
