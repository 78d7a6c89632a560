#!/usr/bin/env bash
# roam-server against what anyone on the internet can send it without a
# pre-auth key, and against a node that spoofs another's source address.
# Simulated nodes (bench/coord_sim) speak the protocol; limits are shrunk
# through test hooks so they are reached in seconds.
#
#   a1 (public 198.51.100.11): A, the known node (victim of the spoof)
#   a2 (public 198.51.100.12): the flood of unknown keys; C, the spoofer
#   b1 (10.2.0.11, NAT 203.0.113.12): B, A's peer; a second flood source
#                  all --- inet --- server 203.0.113.1: roam-server :443
#
#   1. replay cache: 2 000 self-signed requests from unknown keys, with the
#      known nodes' cache shrunk to 1 500: A's requests keep getting answers
#      within 1 s (before: the shared cache filled and A got 503).
#   2. registrations: per-address rate (10, then 429) and total cap (20, then
#      429) on waiting nodes; a node with a pre-auth key gets "laptop" though
#      waiting nodes asked for it (before: 500 once 1 000 had); waiting nodes
#      expire (TTL 25 s here); a real roamd's `roam up` told 429 says when
#      to come back (the Retry-After).
#   3. takeover: C sends its own, validly signed BINDING with A's address
#      and port as source (raw socket): the server challenges the address, A
#      cannot answer for C, and A keeps its endpoint and its relaying.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

need_built "$SERVER" "$SIM"
TTL=25

lab_up a:public:2 b:portrestricted >/dev/null
lab_trap
d=$(roam_dir)
state=$d/server
S=$(lab_server_addr)
srv() { lab_exec server "$SERVER" "$@" --state "$state"; }
lab_exec server "$SERVER" init --state "$state" --host "$S" --port 443 >"$d/init.txt"
tok_wait=$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$d/init.txt" | tail -1) # no pre-auth key: waits for approval
lab_spawn server roam-server env ROAM_TEST_SERVER_REPLAY_CAPACITY=1500 ROAM_TEST_SERVER_PENDING_MAX=20 \
	ROAM_TEST_SERVER_PENDING_TTL_S=$TTL "$SERVER" run --state "$state" --log-level debug >/dev/null
wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$S/v1/info"
srv groups create g1 >/dev/null
srv groups create g2 >/dev/null
token() { srv keys create --reusable "$@" | grep -o 'roam1\.[A-Za-z0-9_-]*'; }
tok_ab=$(token --group g1)
tok_c=$(token --group g2)

declare -A sim_fd
sim_start() {
	local host=$1 name=$2 tok=$3 fifo="$d/$2.in"
	rm -f "$fifo"
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	sim_fd[$name]=$fd
	lab_spawn "$host" "sim-$name" sh -c "exec '$SIM' node --server '$S:443' --token '$tok' --name '$name' <'$fifo'" >/dev/null
	wait_for 10 "$name stream" grep -q '^stream {"type":"peers"' "$(lab_log_file "sim-$name")"
}
sim() { echo "$2" >&"${sim_fd[$1]}"; }
sim_log() { cat "$(lab_log_file "sim-$1")"; }
sim_id() { sim_log "$1" | sed -n 's/^registered //p' | head -1 | jq -r .node_id; }
flood() { # flood HOST COUNT [ARGS]: prints the counts line
	local host=$1 count=$2
	shift 2
	lab_exec "$host" "$SIM" flood --server "$S:443" --token "$tok_ab" --count "$count" "$@"
}
count_of() { sed -n "s/.* $1=\([0-9]*\) .*/\1/p"; }

sim_start a1 nodeA "$tok_ab"
sim_start b1 nodeB "$tok_ab"

say "1. replay cache: a flood of unknown keys; A's requests still answered"
flood a2 2000 --nodes 4 --name flood >"$d/flood1.txt" &
flood_pid=$!
worst=0 i=0
while kill -0 "$flood_pid" 2>/dev/null && [ $((i += 1)) -le 300 ]; do
	before=$(sim_log nodeA | grep -c '^response 204' || true)
	t0=$(date +%s%N)
	sim nodeA ping
	wait_for 5 "A's request $i answered" sh -c "[ \$(grep -c '^response 204' '$(lab_log_file sim-nodeA)') -gt $before ]"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -le "$worst" ] || worst=$ms
	sleep 0.3
done
wait "$flood_pid" || fail "the flood did not complete: $(cat "$d/flood1.txt")"
say "flood: $(cat "$d/flood1.txt"); A's $i requests during it answered in <= $worst ms"
[ "$worst" -le 1000 ] || fail "A waited $worst ms"
[ "$(count_of 503 <"$d/flood1.txt")" -eq 0 ] || fail "unknown keys were refused before their own space filled"
after=$(sim_log nodeA | grep -c '^response 204')
sim nodeA ping
wait_for 5 "A answered after the flood" sh -c "[ \$(grep -c '^response 204' '$(lab_log_file sim-nodeA)') -gt $after ]"
! sim_log nodeA | grep -q '^response 503' || fail "A got a 503"

say "2. registrations: 15 new anonymous keys from a1 (10 allowed), 10 from b1 (cap 20 in all)"
flood a1 15 --nodes 1 --new-keys --name laptop >"$d/flood2.txt"
say "a1: $(cat "$d/flood2.txt")"
[ "$(count_of 202 <"$d/flood2.txt")" -eq 10 ] && [ "$(count_of 429 <"$d/flood2.txt")" -eq 5 ] ||
	fail "per-address limit: expected 10 x 202, 5 x 429"
flood b1 10 --nodes 1 --new-keys --name laptop >"$d/flood3.txt"
t_pending=$(date +%s) # the last waiting node was made before this
say "b1: $(cat "$d/flood3.txt")"
# 4 waiting from the first flood + 10 from a1: 6 more fit under 20
[ "$(count_of 202 <"$d/flood3.txt")" -eq 6 ] && [ "$(count_of 429 <"$d/flood3.txt")" -eq 4 ] ||
	fail "total cap: expected 6 x 202, 4 x 429"
pending() { srv nodes --json | jq '[.nodes[] | select(.state == "pending")] | length'; }
[ "$(pending)" -eq 20 ] || fail "$(pending) nodes waiting, expected 20"
say "a node with a pre-auth key asks for \"laptop\", held by a waiting node"
sim_start a1 laptop "$tok_ab"
name=$(sim_log laptop | sed -n 's/^registered //p' | head -1 | jq -r .name)
[ "$name" = laptop ] || fail "the approved node got '$name'"
srv nodes --json | jq -e '[.nodes[] | select(.name == "laptop")][0].state == "approved"' >/dev/null || fail "laptop is not the approved node"
say "laptop got its name; the waiting ones hold $(srv nodes --json | jq -c '[.nodes[] | select(.state == "pending") | .name][0:3]')..."

say "2b. a real roamd asks to wait while 20 wait already: 429; roam up says when to come back (Retry-After 60)"
lab_spawn b1 roamd-late "$ROAMD" --state-dir "$d/st-late" -s "$d/late.sock" -l debug >/dev/null
wait_for 10 "roamd in b1" test -S "$d/late.sock"
! lab_exec b1 "$ROAM" up --server "https://$S:443" --token "$tok_wait" --name late --socket "$d/late.sock" \
	>"$d/up-late.txt" 2>&1 || fail "roam up succeeded though the server is full: $(cat "$d/up-late.txt")"
say "roam up: $(cat "$d/up-late.txt")"
grep -q 'is busy (429), come back in 60 s' "$d/up-late.txt" || fail "roam up does not say when to come back"
lab_stop roamd-late

say "3. C (a2) spoofs A's source address in its own BINDING"
sim_start a2 nodeC "$tok_c"
id_a=$(sim_id nodeA) id_b=$(sim_id nodeB) id_c=$(sim_id nodeC)
sim nodeA bind
sim nodeB bind
wait_for 5 "A's ack" grep -q '^ack 198\.51\.100\.11:' "$(lab_log_file sim-nodeA)"
wait_for 5 "B's ack" grep -q '^ack 203\.0\.113\.12:' "$(lab_log_file sim-nodeB)"
ep_a=$(sim_log nodeA | sed -n 's/^ack //p' | tail -1)
sim nodeC "spoof-bind $ep_a"
wait_for 5 "the spoofed BINDING sent" grep -q "^spoofed $ep_a" "$(lab_log_file sim-nodeC)"
wait_for 5 "A got a challenge it cannot answer" grep -q '^udp-unknown 48 bytes' "$(lab_log_file sim-nodeA)"
sleep 1
! grep -q "node $id_c (nodeC) at $ep_a" "$(lab_log_file roam-server)" || fail "the server moved A's endpoint to C"
! sim_log nodeC | grep -q "^ack $ep_a" || fail "C got an ack for A's endpoint"
sim nodeB bind
sim nodeB "relay $id_a after-the-spoof"
wait_for 5 "B -> A still relayed" grep -q "^relay-from $id_b after-the-spoof" "$(lab_log_file sim-nodeA)"
sim nodeA "relay $id_b back"
wait_for 5 "A -> B still relayed" grep -q "^relay-from $id_a back" "$(lab_log_file sim-nodeB)"
! sim_log nodeB | grep '^stream ' | grep '"name":"nodeA"' | tail -1 | grep -q '"online":false' ||
	fail "B saw A go offline"
say "A kept $ep_a; the relay between A and B kept working"

say "waiting nodes expire after $TTL s"
left=$(( TTL + 2 - ($(date +%s) - t_pending) ))
[ "$left" -le 0 ] || sleep "$left"
flood b1 1 --nodes 1 --new-keys --name late >"$d/flood4.txt"
[ "$(count_of 202 <"$d/flood4.txt")" -eq 1 ] || fail "a new waiting node after expiry: $(cat "$d/flood4.txt")"
[ "$(pending)" -eq 1 ] || fail "$(pending) waiting, expected only the new one"
grep -q "waiting for approval for more than $TTL s forgotten" "$(lab_log_file roam-server)" || fail "no expiry logged"

lab_stop roam-server
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)"; then
	fail "sanitizer report (above)"
fi
grep "relay: " "$(lab_log_file roam-server)" | tail -1
grep -q "; [1-9][0-9]* endpoint challenges, 0 takeovers" "$(lab_log_file roam-server)" || fail "no challenge counted, or a takeover"
say "ok"
