#!/usr/bin/env bash
# roam-server end to end, with simulated nodes (bench/coord_sim) that speak
# the control protocol: registration with pre-auth keys, closed user groups,
# stream pushes, BINDING through a NAT, the relay, logout, persistence across
# a restart, malformed requests, and a corrupt state file.
#
#   a1 (public 198.51.100.11) ---+                      server 203.0.113.1
#   a2 (public 198.51.100.12) ---+--- inet ------------ roam-server :443
#   b1 (10.2.0.11, port-restricted NAT 203.0.113.12) --+  (HTTPS + UDP)
#
#   groups: g1 = {A, B}, g2 = {B, C}   (A = a1, B = b1, C = a2)
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

need_built "$SERVER" "$SIM"
command -v curl >/dev/null || fail "curl not installed"

lab_up a:public:2 b:portrestricted >/dev/null
lab_trap
d=$(roam_dir)
state=$d/server
srv_addr=$(lab_server_addr)
srv() { lab_exec server "$SERVER" "$@" --state "$state"; }

say "roam-server init on the lab's server host ($srv_addr:443)"
lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >"$d/init.txt"
grep -q "^roam up --server https://$srv_addr:443 --token roam1\." "$d/init.txt" || fail "init printed no join command"
[ "$(stat -c %a "$state")" = 700 ] || fail "state dir is not 0700"
[ "$(stat -c %a "$state/tls.key")" = 600 ] || fail "tls.key is not 0600"

server_start() {
	lab_spawn server roam-server "$SERVER" run --state "$state" --log-level debug >/dev/null
	wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
}
server_start

say "groups g1, g2 and three reusable pre-auth keys"
srv groups create g1 >/dev/null
srv groups create g2 >/dev/null
token() { srv keys create --reusable "$@" | grep -o 'roam1\.[A-Za-z0-9_-]*'; }
tok_a=$(token --group g1)
tok_b=$(token --group g1 --group g2)
tok_c=$(token --group g2)

# sim_start HOST NAME TOKEN: a simulated node; commands go to its FIFO.
declare -A sim_fd
sim_start() {
	local host=$1 name=$2 tok=$3 fifo="$d/$2.in"
	[ -f "$d/$name.key" ] || (umask 077 && openssl rand -base64 32 >"$d/$name.key")
	rm -f "$fifo"
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	sim_fd[$name]=$fd
	lab_spawn "$host" "sim-$name" sh -c "exec '$SIM' node --server '$srv_addr:443' --token '$tok' \
		--name '$name' --key '$d/$name.key' <'$fifo'" >/dev/null
	wait_for 10 "$name registered" grep -q '^registered ' "$(lab_log_file "sim-$name")"
	wait_for 10 "$name stream" grep -q '^stream {"type":"peers"' "$(lab_log_file "sim-$name")"
}
sim() { echo "$2" >&"${sim_fd[$1]}"; }
sim_log() { cat "$(lab_log_file "sim-$1")"; }
sim_id() { sim_log "$1" | sed -n 's/^registered //p' | head -1 | jq -r .node_id; }
sim_ipv4() { sim_log "$1" | sed -n 's/^registered //p' | head -1 | jq -r .ipv4; }
# sees VIEWER NAME: a stream line of VIEWER mentions peer NAME
sees() { sim_log "$1" | grep '^stream ' | grep -q "\"name\":\"$2\""; }

say "A (a1), B (b1, behind NAT) and C (a2) register"
sim_start a1 nodeA "$tok_a"
sim_start b1 nodeB "$tok_b"
sim_start a2 nodeC "$tok_c"
id_a=$(sim_id nodeA) id_b=$(sim_id nodeB) id_c=$(sim_id nodeC)
say "ids: A=$id_a B=$id_b C=$id_c; A's addresses $(sim_ipv4 nodeA) $(sim_log nodeA | sed -n 's/^registered //p' | jq -r .ipv6)"
sim_ipv4 nodeA | grep -q '^100\.6[4-9]\.\|^100\.[7-9][0-9]\.\|^100\.1[01][0-9]\.\|^100\.12[0-7]\.' || fail "IPv4 not in 100.64.0.0/10"

say "BINDING from each node; B's observed endpoint is its NAT's, nat=true"
for n in nodeA nodeB nodeC; do sim $n bind; done
wait_for 5 "B's BINDING_ACK" grep -q '^ack 203\.0\.113\.12:' "$(lab_log_file sim-nodeB)"
wait_for 5 "A's BINDING_ACK" grep -q '^ack 198\.51\.100\.11:' "$(lab_log_file sim-nodeA)"
wait_for 5 "A sees B online behind NAT" sh -c "grep '^stream ' '$(lab_log_file sim-nodeA)' | grep '\"name\":\"nodeB\"' | grep '\"public_endpoint\":\"203.0.113.12:' | grep -q '\"nat\":true'"

say "groups: A and B share g1, B and C share g2, A never hears of C"
wait_for 5 "A sees B" sees nodeA nodeB
wait_for 5 "B sees A" sees nodeB nodeA
wait_for 5 "B sees C" sees nodeB nodeC
wait_for 5 "C sees B" sees nodeC nodeB
! sees nodeA nodeC || fail "A was told about C"
! sees nodeC nodeA || fail "C was told about A"

say "B's address changes (new source port): A has the new endpoint within 1 s"
old=$(sim_log nodeB | sed -n 's/^ack //p' | tail -1)
t0=$(date +%s%N)
sim nodeB rebind
wait_for 5 "B's new ack" sh -c "sed -n 's/^ack //p' '$(lab_log_file sim-nodeB)' | tail -1 | grep -vqx '$old'"
new=$(sim_log nodeB | sed -n 's/^ack //p' | tail -1)
wait_for 5 "A sees B at $new" sh -c "grep '^stream ' '$(lab_log_file sim-nodeA)' | grep -q '\"public_endpoint\":\"$new\"'"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "A had B's new endpoint $new after <= $ms ms (polling every 100 ms)"
[ "$ms" -le 1000 ] || fail "push took $ms ms"

say "RELAY: A -> B is forwarded (B sees A's id); A -> C is not (no shared group)"
sim nodeA "relay $id_b hello-from-A-to-B"
wait_for 5 "B got the relayed packet" grep -q "^relay-from $id_a hello-from-A-to-B" "$(lab_log_file sim-nodeB)"
sim nodeA "relay $id_c hello-from-A-to-C"
sleep 1
! grep -q '^relay-from' "$(lab_log_file sim-nodeC)" || fail "C got a relay from A"

say "RELAY from an unregistered sender (a1, another port) is dropped"
perl -e 'print pack("CCCCV", 0x83, 0, 0, 0, $ARGV[0]) . "x" x 32' "$id_b" >"$d/relay.bin"
lab_exec a1 socat -u "OPEN:$d/relay.bin" "UDP-SENDTO:$srv_addr:443,sourceport=40999"
sleep 1
[ "$(grep -c '^relay-from' "$(lab_log_file sim-nodeB)")" -eq 1 ] || fail "an unregistered sender's packet was relayed"

say "C logs out: B shows it offline at once"
t0=$(date +%s%N)
sim nodeC logout
wait_for 5 "B sees C offline" sh -c "grep '^stream ' '$(lab_log_file sim-nodeB)' | grep '\"name\":\"nodeC\"' | tail -1 | grep -q '\"online\":false'"
say "offline reached B after <= $(( ($(date +%s%N) - t0) / 1000000 )) ms"

say "malformed requests get 4xx and the server keeps answering"
code() { lab_exec a1 curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -X POST -d '{}' "https://$srv_addr/v1/register")" = 401 ] || fail "no auth: not 401"
[ "$(code -X POST -H 'Roam-Auth: node=x; ts=1' -d '{}' "https://$srv_addr/v1/register")" = 401 ] || fail "bad auth: not 401"
[ "$(code "https://$srv_addr/v1/nothing")" = 404 ] || fail "unknown path: not 404"
[ "$(code -X PUT "https://$srv_addr/v1/register")" = 405 ] || fail "PUT: not 405"
head -c 70000 /dev/zero | tr '\0' a >"$d/big.json"
# With Expect: 100-continue the server refuses before the body is sent;
# without it the refusal can race the upload and curl sees a reset instead.
[ "$(code -H 'Expect: 100-continue' -X POST --data-binary "@$d/big.json" "https://$srv_addr/v1/register")" = 413 ] ||
	fail "70 KB body: not 413"
# An offline upload's PUT /v1/files/data takes up to 1 MiB, and only it,
# and only on a connection that authenticated (server/http.c; taken by
# t_files_offline): a 2 MiB body there, 1 MiB unauthenticated, 128 KiB
# elsewhere are refused.
head -c 2097152 /dev/zero >"$d/2m.bin"
head -c 1048576 /dev/zero >"$d/1m.bin"
head -c 131072 /dev/zero >"$d/128k.bin"
up() { code -H 'Expect: 100-continue' -X "$1" --data-binary "@$d/$2" "https://$srv_addr$3"; }
[ "$(up PUT 2m.bin '/v1/files/data?id=00&offset=0')" = 413 ] || fail "2 MiB upload body: not 413"
[ "$(up PUT 1m.bin '/v1/files/data?id=00&offset=0')" = 413 ] || fail "1 MiB unauthenticated upload body: not 413"
[ "$(up POST 128k.bin /v1/files)" = 413 ] || fail "128 KiB body to POST /v1/files: not 413"
[ "$(up PUT 128k.bin /v1/files/datax)" = 413 ] || fail "128 KiB body to /v1/files/datax: not 413"
[ "$(up GET 128k.bin '/v1/files/data?id=00')" = 413 ] || fail "128 KiB body to GET /v1/files/data: not 413"
lab_exec a1 sh -c "head -c 5000 /dev/urandom | socat -u - TCP:$srv_addr:443,connect-timeout=2" 2>/dev/null || true
lab_exec a1 sh -c "head -c 500 /dev/urandom | socat -u - UDP-SENDTO:$srv_addr:443" || true
[ "$(code "https://$srv_addr/v1/info")" = 200 ] || fail "server stopped answering"
lab_exec server "$SERVER" nodes --state "$state" --json | jq -e '.nodes | length == 3' >/dev/null || fail "expected 3 nodes"

say "the server is killed and restarted: same nodes, same addresses"
before=$(srv nodes --json | jq -c '[.nodes[] | {name, ipv4, ipv6}]')
kill -KILL "$(cat "$(lab_rundir)/pid/roam-server.pid")"
lab_stop roam-server
server_start
after=$(srv nodes --json | jq -c '[.nodes[] | {name, ipv4, ipv6}]')
[ "$before" = "$after" ] || fail "state changed across restart: $before -> $after"
lab_stop sim-nodeA
sim_start a1 nodeA "$tok_a"
[ "$(sim_log nodeA | sed -n 's/^registered //p' | tail -1 | jq -r .ipv4)" = "$(echo "$before" | jq -r '.[] | select(.name=="nodeA") | .ipv4')" ] ||
	fail "A got another address after the restart"
say "A re-registered with the same key: id $(sim_id nodeA), $(sim_ipv4 nodeA)"

say "a corrupt state file is a clear error at start"
lab_stop roam-server
# Under -Db_sanitize=address,undefined, the sanitizers report at exit.
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" "$(lab_log_file sim-nodeB)"; then
	fail "sanitizer report (above)"
fi
cp -a "$state" "$d/corrupt"
dd if=/dev/urandom of="$d/corrupt/state.db" bs=1024 seek=1 count=60 conv=notrunc 2>/dev/null
if lab_exec server "$SERVER" run --state "$d/corrupt" --port 8443 >"$d/corrupt.txt" 2>&1; then
	fail "roam-server started on a corrupt state"
fi
grep -q "$d/corrupt/state.db: corrupt" "$d/corrupt.txt" || fail "error does not name the file: $(cat "$d/corrupt.txt")"
say "error was: $(head -1 "$d/corrupt.txt")"
rm -f "$d/corrupt/state.db"
if lab_exec server "$SERVER" run --state "$d/corrupt" --port 8443 >"$d/missing.txt" 2>&1; then
	fail "roam-server started without a state file"
fi
say "missing: $(head -1 "$d/missing.txt")"
say "ok"
