#!/usr/bin/env bash
# roam-server's relay links (docs/control-protocol.md, "Relay links"): nodes
# that carry the relay's datagrams over TLS streams, WebSockets and
# long-poll requests instead of UDP, with hand-made clients
# (tests/integration/relay_client.c) and a UDP node (bench/coord_sim).
#
#   a1 A  tls stream ------+
#   a2 B  websocket -------+
#   a3 C  long-poll -------+--- inet --- server 203.0.113.1
#   a3 D  tls (group g2) --+             roam-server :443 (HTTPS + UDP)
#   a4 E  UDP binding -----+
#
#   groups: g1 = {A, B, C, E}, g2 = {D}
#
# Datagrams between every pair of kinds arrive whole, once each (C's
# batches carry every record twice and are posted twice); D's never reach
# g1; a long-poll GET cut mid-stream resumes with nothing lost or doubled;
# a streaming GET stays open while 3000 datagrams pass, acknowledged by
# empty POSTs (send?ack=N);
# an uplink batch in descending seq order is forwarded whole; WebSocket
# pings are answered.
# Bad input (a frame of length 0, unmasked / text / oversized WebSocket
# frames, no upgrade, no auth, an unknown session, a malformed batch,
# garbage datagrams, an expired node) is refused or dropped and counted; a
# reader that never reads and 200 idle connections leave the server
# answering with bounded memory; a node with only a link is online and goes
# offline as it closes; an idle link is closed.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

CLIENT=$ROAM_BUILD_DIR/tests/integration/relay_client
need_built "$SERVER" "$SIM" "$CLIENT"
command -v curl >/dev/null || fail "curl not installed"

lab_up a:public:4 >/dev/null
lab_trap
d=$(roam_dir)
state=$d/server
srv_addr=$(lab_server_addr)
srv() { lab_exec server "$SERVER" "$@" --state "$state"; }

lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >"$d/init.txt"
server_start() {
	lab_spawn server roam-server env "$@" "$SERVER" run --state "$state" --log-level debug >/dev/null
	wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
}
server_start ROAM_TEST_RELAY_LINK_IDLE_S=20
srv groups create g1 >/dev/null
srv groups create g2 >/dev/null
tok1=$(srv keys create --reusable --group g1 | grep -o 'roam1\.[A-Za-z0-9_-]*')
tok2=$(srv keys create --reusable --group g2 | grep -o 'roam1\.[A-Za-z0-9_-]*')
for n in A B C D E; do (umask 077 && openssl rand -base64 32 >"$d/$n.key"); done

# client NAME HOST KIND TOKEN [OPTIONS] -- CMD...: relay_client in the foreground
client() {
	local name=$1 host=$2 kind=$3 tok=$4
	shift 4
	lab_exec "$host" "$CLIENT" --server "$srv_addr:443" --token "$tok" --key "$d/$name.key" --name "$name" \
		--kind "$kind" "$@"
}
# bg NAME HOST KIND TOKEN ARGS...: the same in the background, log in $(lab_log_file rc-NAME)
bg() {
	local name=$1 host=$2 kind=$3 tok=$4
	shift 4
	lab_spawn "$host" "rc-$name" "$CLIENT" --server "$srv_addr:443" --token "$tok" --key "$d/$name.key" \
		--name "$name" --kind "$kind" "$@" >/dev/null
}
log() { cat "$(lab_log_file "rc-$1")"; }
id_of() { client "$1" a1 tls "$2" | sed -n 's/^id //p'; }
srv_rss() { awk '/VmRSS/ {print $2}' "/proc/$(cat "$(lab_rundir)/pid/roam-server.pid")/status"; }
code() { lab_exec a1 curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }

say "ids (each client registers its key; a TLS link opens and closes)"
id_a=$(id_of A "$tok1") id_b=$(id_of B "$tok1") id_c=$(id_of C "$tok1") id_d=$(id_of D "$tok2")
say "A=$id_a B=$id_b C=$id_c D=$id_d"

say "E: a UDP node (coord_sim) with a binding"
mkfifo "$d/E.in"
exec {efd}<>"$d/E.in"
lab_spawn a4 sim-E sh -c "exec '$SIM' node --server '$srv_addr:443' --token '$tok1' --name E --key '$d/E.key' <'$d/E.in'" >/dev/null
wait_for 10 "E registered" grep -q '^registered ' "$(lab_log_file sim-E)"
id_e=$(sed -n 's/^registered //p' "$(lab_log_file sim-E)" | head -1 | jq -r .node_id)
echo bind >&"$efd"
wait_for 5 "E's BINDING_ACK" grep -q '^ack ' "$(lab_log_file sim-E)"
rss0=$(srv_rss)

say "B (websocket) and C (long-poll, every record twice) wait; A (tls) sends to both and to E"
bg B a2 ws "$tok1" "expect 150 20000" "expect_text hello-udp 15000" "say $id_e hello-ws" "hold 20000"
bg C a3 poll "$tok1" --dup "ping 7" "expect 100 20000" "send $id_a 100 1424" "send $id_b 50 32" "hold 20000"
wait_for 10 "B's link" grep -q '^ready' "$(lab_log_file rc-B)"
wait_for 10 "C's link" grep -q '^ready' "$(lab_log_file rc-C)"
# The store has presence within a batch (server/presence_batch.c: 100 ms).
b_online() { srv nodes --json | jq -e --arg b "$id_b" '.nodes[] | select(.id == ($b | tonumber)) | .online' >/dev/null; }
wait_for 5 "B (only a websocket, no binding) online in roam-server nodes" b_online
bg A a1 tls "$tok1" "ping 42" "send $id_b 100 1424" "send $id_c 100 64" "say $id_e hello-tls" "expect 100 20000" "hold 20000"
wait_for 10 "A's link" grep -q '^ready' "$(lab_log_file rc-A)"

say "D (group g2) sends to A and E: dropped"
client D a3 tls "$tok2" "send $id_a 10 64" "say $id_e hello-outside" "ping 9" | grep -q '^pong 9$' || fail "D: no pong"

wait_for 20 "A got C's 100" grep -q '^received' "$(lab_log_file rc-A)"
log A | grep -q '^pong 42$' || fail "A (tls): no pong: $(log A)"
log A | grep -q '^received 100 dup 0 bad 0$' || fail "A (tls) from C (poll): $(log A | grep received); C: $(log C); B: $(log B); server: $(grep -i "relay\|link\|poll" "$(lab_log_file roam-server)" | tail -20)"
wait_for 20 "C got A's 100" grep -q '^received' "$(lab_log_file rc-C)"
log C | grep -q '^pong 7$' || fail "C (poll): no pong: $(log C)"
log C | grep -q '^received 100 dup 0 bad 0$' || fail "C (poll) from A (tls): $(log C | grep received)"
wait_for 20 "B got A's 100 and C's 50" grep -q '^received' "$(lab_log_file rc-B)"
log B | grep -q '^received 150 dup 0 bad 0$' || fail "B (ws) from A and C: $(log B | grep received)"
wait_for 5 "E got A's text" grep -q "^relay-from $id_a hello-tls" "$(lab_log_file sim-E)"
echo "relay $id_b hello-udp" >&"$efd"
wait_for 10 "B got E's text" grep -q '^text from' "$(lab_log_file rc-B)"
wait_for 5 "E got B's text" grep -q "^relay-from $id_b hello-ws" "$(lab_log_file sim-E)"
! grep -q hello-outside "$(lab_log_file sim-E)" || fail "E got D's datagram (no shared group)"
say "tls<->ws<->poll<->udp: all arrived once; D's did not"

say "long-poll resumption: P (stream=1) takes 20 of 60, its GET is cut, the other 40 arrive once"
(umask 077 && openssl rand -base64 32 >"$d/P.key")
bg P a3 poll "$tok1" --stream "take 20 15000" "cut" "expect 40 15000" "hold 20000"
wait_for 10 "P's link" grep -q '^ready' "$(lab_log_file rc-P)"
id_p=$(log P | sed -n 's/^id //p')
client A a1 tls "$tok1" "send $id_p 60 1424" >/dev/null
wait_for 20 "P's second expect" sh -c "grep -c '^received' '$(lab_log_file rc-P)' | grep -qx 2"
log P | grep -q '^received 20 dup 0 bad 0$' && log P | grep -q '^received 40 dup 0 bad 0$' ||
	fail "resumption: $(log P)"
say "P: $(log P | grep '^cut')"

say "streaming acks: Q (stream=1) acknowledges with empty POST send?ack=N; 3000 pass one GET, none lost or doubled"
(umask 077 && openssl rand -base64 32 >"$d/Q.key")
bg Q a3 poll "$tok1" --stream --ackpost "expect 3000 20000" "gets" "hold 5000"
wait_for 10 "Q's link" grep -q '^ready' "$(lab_log_file rc-Q)"
id_q=$(log Q | sed -n 's/^id //p')
# Paced (1000/s) so that a slow Q under load stays inside the queue: beyond it the server drops, as UDP would.
client A a1 tls "$tok1" "send $id_q 3000 64 100" >/dev/null
wait_until 25 grep -q '^gets' "$(lab_log_file rc-Q)" ||
	fail "streaming acks: Q: $(log Q); server: $(grep -i "poll\|link" "$(lab_log_file roam-server)" | tail -10)"
# Without the acks the session's queue (1024 datagrams) fills while the GET stays open.
log Q | grep -q '^received 3000 dup 0 bad 0$' && log Q | grep -q '^gets 1$' || fail "streaming acks: $(log Q)"

say "bad input: each refused or dropped, the link or server carries on"
out=$(client A a1 tls "$tok1" "bytes 0000" "closed 5000") || fail "TLS frame of length 0: not closed: $out"
out=$(client A a1 tls "$tok1" "raw 99000000aabbccdd" "raw 83000000" "raw 8a0000" "ping 3") ||
	fail "TLS garbage datagrams closed the link: $out"
out=$(client B a2 ws "$tok1" "wsframe 2 0 8a000000" "closed 5000") && grep -q '^closed 1002$' <<<"$out" ||
	fail "unmasked WebSocket frame: $out"
out=$(client B a2 ws "$tok1" "wsframe 1 1 68656c6c6f" "closed 5000") && grep -q '^closed 1003$' <<<"$out" ||
	fail "text WebSocket message: $out"
out=$(client B a2 ws "$tok1" "wsbig 70000" "closed 5000") && grep -q '^closed 1009$' <<<"$out" ||
	fail "70000-byte WebSocket message: $out"
say "out-of-order uplink seqs: C posts 30 records in descending order, R gets all 30"
(umask 077 && openssl rand -base64 32 >"$d/R.key")
bg R a2 ws "$tok1" "expect 30 10000" "hold 5000"
wait_for 10 "R's link" grep -q '^ready' "$(lab_log_file rc-R)"
id_r=$(log R | sed -n 's/^id //p')
out=$(client C a3 poll "$tok1" "reverse $id_r 30 64") || fail "reverse batch: $out"
wait_for 10 "R got the 30" grep -q '^received' "$(lab_log_file rc-R)"
log R | grep -q '^received 30 dup 0 bad 0$' || fail "out-of-order batch: $(log R)"
out=$(client B a2 ws "$tok1" "wsping") && grep -q '^wspong$' <<<"$out" || fail "WebSocket ping not answered: $out"
out=$(client C a3 poll "$tok1" "postraw 0100000000000000ff00aa" "postraw 01000000000000000000" \
	"postraw 0100000000000000040083000000ff") || true
[ "$(grep -c '^status 400$' <<<"$out")" = 3 ] || fail "malformed batches: $out"
[ "$(code "https://$srv_addr/v1/relay")" = 400 ] || fail "GET /v1/relay without Upgrade: not 400"
[ "$(code -H 'Connection: Upgrade' -H 'Upgrade: roam-relay/1' "https://$srv_addr/v1/relay")" = 401 ] ||
	fail "upgrade without Roam-Auth: not 401"
[ "$(code -H 'Connection: Upgrade' -H 'Upgrade: h2c' -H 'Roam-Auth: x' "https://$srv_addr/v1/relay")" = 400 ] ||
	fail "unknown Upgrade: not 400"
[ "$(code -H 'Roam-Session: AAAAAAAAAAAAAAAAAAAAAA' "https://$srv_addr/v1/relay/poll?ack=0")" = 404 ] ||
	fail "unknown session: not 404"
[ "$(code -X POST -H 'Roam-Session: AAAAAAAAAAAAAAAAAAAAAA' "https://$srv_addr/v1/relay/poll/send")" = 404 ] ||
	fail "unknown session (send): not 404"
[ "$(code -X POST "https://$srv_addr/v1/relay/poll")" = 401 ] || fail "poll session without Roam-Auth: not 401"

say "D is expired by the admin: its open link closes; a new one is refused (403)"
bg D a3 tls "$tok2" "closed 15000"
wait_for 10 "D's link" grep -q '^ready' "$(lab_log_file rc-D)"
srv nodes expire D
wait_for 5 "D's link closed" grep -q '^closed' "$(lab_log_file rc-D)"
for kind in tls ws poll; do
	out=$(client D a3 $kind "$tok2" --no-register 2>&1) && fail "expired D opened a $kind link"
	grep -q 'upgrade refused: 403' <<<"$out" || fail "expired D, $kind: $out"
done

say "a reader that never reads (S): its queue is capped, the server answers"
(umask 077 && openssl rand -base64 32 >"$d/S.key")
bg S a2 tls "$tok1" "hold 30000"
wait_for 10 "S's link" grep -q '^ready' "$(lab_log_file rc-S)"
id_s=$(log S | sed -n 's/^id //p')
flood=()
for _ in $(seq 10); do flood+=("send $id_s 999 1424"); done
client A a1 tls "$tok1" "${flood[@]}" "ping 11" | grep -q '^pong 11$' || fail "flooding a slow reader: A's link broke"
[ "$(code "https://$srv_addr/v1/info")" = 200 ] || fail "server stopped answering during the flood"

say "100 idle links (each replacing the last) and 100 silent TLS connections"
(umask 077 && openssl rand -base64 32 >"$d/I.key")
bg I a4 tls "$tok1" "idle 100" "hold 30000"
wait_for 30 "I's idle links" grep -q '^idle 100' "$(lab_log_file rc-I)"
[ "$(code "https://$srv_addr/v1/info")" = 200 ] || fail "server stopped answering with 200 idle connections"
rss1=$(srv_rss)
say "server VmRSS ${rss0} kB at start, ${rss1} kB now (slow reader and 200 idle connections)"
# Under ASan freed memory waits in its quarantine (256 MB): figures only.
# (Not `ldd | grep -q`: grep leaving early can kill ldd with SIGPIPE, and
# pipefail then made an ASan build look like a plain one.)
libs=$(ldd "$SERVER")
if ! grep -q libasan <<<"$libs"; then
	[ $((rss1 - rss0)) -lt 65536 ] || fail "server memory grew by $((rss1 - rss0)) kB"
fi

say "S and the idle links close: S is offline at once (no binding)"
lab_stop rc-S
lab_stop rc-I
wait_for 3 "S offline" sh -c "'$SERVER' nodes --state '$state' --json | jq -e --arg s '$id_s' \
	'.nodes[] | select(.id == (\$s | tonumber)) | .online == false'"
# E's stream: S was online with no public endpoint, and is offline now
s_lines() { grep '^stream ' "$(lab_log_file sim-E)" | grep -o '{[^{}]*"name":"S"[^{}]*}'; }
s_lines | grep '"online":true' | grep -q '"public_endpoint":null' || fail "E never saw S online on its link: $(s_lines)"
wait_for 3 "E sees S offline" sh -c "grep '^stream ' '$(lab_log_file sim-E)' | grep -o '{[^{}]*\"name\":\"S\"[^{}]*}' | tail -1 | grep -q '\"online\":false'"

say "counters in the server's log at shutdown"
lab_stop rc-A
lab_stop rc-B
lab_stop rc-C
lab_stop roam-server
slog=$(cat "$(lab_log_file roam-server)")
! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"$slog" || fail "sanitizer report: $slog"
line=$(grep 'relay links:' <<<"$slog") || fail "no relay links line in the server's log"
say "$line"
num() { grep -o "[0-9]* $1" <<<"$line" | head -1 | cut -d' ' -f1; }
[ "$(num 'protocol errors')" -ge 4 ] || fail "protocol errors not counted"
[ "$(num 'duplicate poll records')" -ge 150 ] || fail "duplicate records not counted"
[ "$(num 'malformed')" -ge 3 ] || fail "malformed batches not counted"
[ "$(num 'unknown sessions')" -ge 2 ] || fail "unknown sessions not counted"
[ "$(num 'unknown,')" -ge 2 ] || fail "garbage datagrams not counted"
[ "$(num 'replaced')" -ge 99 ] || fail "replaced links not counted"
[ "$(num 'too slow')" -ge 1 ] || fail "drops to the slow reader not counted"
unreachable=$(grep -o '[0-9]* to no reachable peer' <<<"$slog" | tail -1 | cut -d' ' -f1)
[ "${unreachable:-0}" -ge 11 ] || fail "D's datagrams to another group not counted ($unreachable)"

if [ -n "${ROAM_TEST_REPORT:-}" ]; then
	{
		echo "server VmRSS: ${rss0} kB at start, ${rss1} kB with a slow reader (14 MB sent to it) and 200 idle connections"
		echo "P (long-poll, stream=1): $(log P | grep '^cut'), then the rest once"
		echo "$line"
	} >>"$ROAM_TEST_REPORT"
fi

say "an idle link is closed (ROAM_TEST_RELAY_LINK_IDLE_S=2)"
server_start ROAM_TEST_RELAY_LINK_IDLE_S=2
out=$(client A a1 tls "$tok1" "closed 8000") || fail "idle link not closed: $out"
say "PASS"
