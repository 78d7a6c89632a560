#!/usr/bin/env bash
# Several relays, server side (docs/control-protocol.md, "Several relays"):
# a control server and one relay-only server (roam-server relay), with
# hand-made nodes (tests/integration/relay_client.c --relay) that take
# their ticket from the control server's stream and open links on the
# relay.
#
#   a1 A  tls  (g1) --------+
#   a2 B  websocket (g1) ---+--- inet --- server 203.0.113.1  roam-server run (control, relay 0)
#   a3 C  tls  (g2) --------+         \
#   a3 D, E, F (g1) --------+          +- a4  roam-server relay :443 (relay 1, no database)
#
# The relay registers with its join token and shows online with its load in
# `roam-server relays`; A's datagrams reach B through it (over a TLS link,
# then over UDP after a RELAY_BIND), C's (no shared group) do not; garbage
# RELAY_BINDs get no answer; tickets with a flipped byte are refused; a removed node's
# link on the relay closes within 2 s (a ticket floor pushed), a regrouped
# node's old ticket no longer opens a link, an expired ticket's link closes
# and a new one is refused; --rate-limit drops what a node sends beyond
# its budget; the relay keeps relaying while the control server is away;
# relays remove takes it out and closes its control stream; the relay
# answers /v1/info as a relay and
# nothing of the control API.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

CLIENT=$ROAM_BUILD_DIR/tests/integration/relay_client
need_built "$SERVER" "$CLIENT"

lab_up a:public:4 >/dev/null
lab_trap
d=$(roam_dir)
state=$d/server
srv_addr=$(lab_server_addr)
relay_addr=$(lab_public_addr a4)
srv() { lab_exec server "$SERVER" "$@" --state "$state"; }
code() { lab_exec a1 curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }

lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >/dev/null
server_start() {
	lab_spawn server roam-server env "$@" "$SERVER" run --state "$state" --log-level debug >/dev/null
	wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
}
server_start
srv groups create g1 >/dev/null
srv groups create g2 >/dev/null
tok1=$(srv keys create --reusable --group g1 | grep -o 'roam1\.[A-Za-z0-9_-]*')
tok2=$(srv keys create --reusable --group g2 | grep -o 'roam1\.[A-Za-z0-9_-]*')
for n in A B C D E F; do (umask 077 && openssl rand -base64 32 >"$d/$n.key"); done

say "relays add r1: a join token and the command to run"
out=$(srv relays add r1 --url "https://$relay_addr:443" --region lab)
rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
grep -q "roam-server relay --server https://$srv_addr:443 --token $rtok" <<<"$out" || fail "no start command: $out"
# --rate-limit 2: 250 kB per node and second (the other phases send far less)
lab_spawn a4 relay "$SERVER" relay --server "https://$srv_addr:443" --token "$rtok" --listen :443 \
	--state "$d/relay" --log-level debug --rate-limit 2 >/dev/null
wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"
wait_for 20 "r1 online in roam-server relays" sh -c "'$SERVER' relays --state '$state' --json | jq -e '.relays[0] | .online and .registered' >/dev/null"
srv relays | grep -q '^1 *r1 *lab *online' || fail "relays list: $(srv relays)"
info=$(lab_exec a1 curl -sk --max-time 5 "https://$relay_addr/v1/info")
jq -e '.relay == true and .relay_id == 1' <<<"$info" >/dev/null || fail "relay /v1/info: $info"
[ "$(code -X POST "https://$relay_addr/v1/register")" = 404 ] || fail "the relay serves /v1/register"
[ "$(code "https://$relay_addr/v1/stream")" = 404 ] || fail "the relay serves /v1/stream"

# rc NAME HOST KIND TOKEN ARGS...: relay_client through the relay, foreground / background
rc() {
	local name=$1 host=$2 kind=$3 tok=$4
	shift 4
	lab_exec "$host" "$CLIENT" --server "$srv_addr:443" --relay "$relay_addr:443" --token "$tok" \
		--key "$d/$name.key" --name "$name" --kind "$kind" "$@"
}
bg() {
	local name=$1 host=$2 kind=$3 tok=$4
	shift 4
	lab_spawn "$host" "rc-$name" "$CLIENT" --server "$srv_addr:443" --relay "$relay_addr:443" --token "$tok" \
		--key "$d/$name.key" --name "$name" --kind "$kind" "$@" >/dev/null
}
log() { cat "$(lab_log_file "rc-$1")"; }

say "B (websocket on the relay) waits for 50; C (g2) sends 10 first, then A (tls) 50"
bg B a2 ws "$tok1" "expect 50 20000" "expect 10 20000" "hold 3000"
wait_for 10 "B's link on the relay" grep -q '^ready' "$(lab_log_file rc-B)"
id_b=$(log B | sed -n 's/^id //p')
out=$(rc C a3 tls "$tok2" "send $id_b 10 64" "ping 5") && grep -q '^pong 5$' <<<"$out" || fail "C: $out"
out=$(rc A a1 tls "$tok1" "send $id_b 50 1424" "ping 6") && grep -q '^pong 6$' <<<"$out" || fail "A: $out"
wait_for 20 "B's datagrams" grep -q '^received' "$(lab_log_file rc-B)"
log B | grep -q '^received 50 dup 0 bad 0$' || fail "B through the relay: $(log B); relay: $(tail -20 "$(lab_log_file relay)")"

say "A binds over UDP with RELAY_BIND (its ticket) and sends 10 to B over UDP; garbage RELAY_BINDs get no answer"
out=$(rc A a1 tls "$tok1" "bind" "udpsend $id_b 10 64" "bindraw 8d000000" "bindraw 8d0000000100000000" \
	"bindraw 8d$(printf '00%.0s' $(seq 120))" "bindraw 8100") || fail "A's RELAY_BIND: $out"
grep -q '^bound$' <<<"$out" || fail "no BINDING_ACK for RELAY_BIND: $out"
[ "$(grep -c '^answer 0$' <<<"$out")" = 4 ] || fail "garbage RELAY_BIND answered: $out"
wait_for 10 "B got A's UDP datagrams" sh -c "grep -c '^received' '$(lab_log_file rc-B)' | grep -qx 2"
log B | grep -q '^received 10 dup 0 bad 0$' || fail "A's UDP datagrams through the relay: $(log B)"

say "the rate limit: A sends 1000 x 1424 bytes at once, R gets at most ~250 kB a second of them"
(umask 077 && openssl rand -base64 32 >"$d/R.key")
bg R a2 ws "$tok1" "count 2500"
wait_for 10 "R's link" grep -q '^ready' "$(lab_log_file rc-R)"
id_r=$(log R | sed -n 's/^id //p')
rc A a1 tls "$tok1" "send $id_r 1000 1424" >/dev/null
wait_for 20 "R's count" grep -q '^count' "$(lab_log_file rc-R)"
got=$(log R | sed -n 's/^count \([0-9]*\) .*/\1/p')
say "R: $got of 1000"
[ "$got" -gt 0 ] && [ "$got" -lt 1000 ] || fail "rate limit: R got $got of 1000"

say "tickets with a byte flipped (version, node id, signature): refused (403)"
for at in 0 12 100; do
	out=$(rc A a1 tls "$tok1" --ticket-flip $at 2>&1) && fail "a ticket flipped at $at opened a link"
	grep -q 'upgrade refused: 403' <<<"$out" || fail "flipped at $at: $out"
done
[ "$(code -H 'Roam-Auth: x' -H 'Roam-Ticket: AAAA' -H 'Connection: Upgrade' -H 'Upgrade: roam-relay/1' \
	"https://$relay_addr/v1/relay")" = 401 ] || fail "garbage auth and ticket on the relay: not 401"

say "D is removed on the control server: its link on the relay closes within 2 s"
bg D a3 tls "$tok1" "closed 20000"
wait_for 10 "D's link" grep -q '^ready' "$(lab_log_file rc-D)"
srv nodes remove D >/dev/null
wait_for 3 "D's link closed" grep -q '^closed' "$(lab_log_file rc-D)"

say "E is moved to g2: its old ticket is void (link closed, reopening with it refused)"
bg E a3 poll "$tok1" "hold 4000" "reopen"
wait_for 10 "E's link" grep -q '^ready' "$(lab_log_file rc-E)"
srv groups add g2 E >/dev/null
wait_for 10 "E's reopen" sh -c "grep -q 'upgrade refused\|reopened' '$(lab_log_file rc-E)'"
grep -q 'upgrade refused: 403' "$(lab_log_file rc-E)" || fail "E reopened with a voided ticket: $(log E)"

say "the control server goes away: the relay keeps relaying with the tickets it has"
(umask 077 && openssl rand -base64 32 >"$d/Q.key")
bg Q a2 ws "$tok1" "expect 10 20000"
wait_for 10 "Q's link" grep -q '^ready' "$(lab_log_file rc-Q)"
id_q=$(log Q | sed -n 's/^id //p')
bg A a1 tls "$tok1" "hold 3000" "send $id_q 10 64"
wait_for 10 "A's link" grep -q '^ready' "$(lab_log_file rc-A)"
lab_stop roam-server
wait_for 15 "Q's 10 from A" grep -q '^received' "$(lab_log_file rc-Q)"
log Q | grep -q '^received 10 dup 0 bad 0$' || fail "relaying without the control server: $(log Q)"

say "tickets of 3 s (ROAM_TEST_TICKET_LIFETIME_S): F's link closes as its ticket expires, a reopen is refused"
server_start ROAM_TEST_TICKET_LIFETIME_S=3
bg F a1 tls "$tok1" "closed 10000" "reopen"
wait_for 10 "F's link" grep -q '^ready' "$(lab_log_file rc-F)"
wait_for 6 "F's link closed at expiry" grep -q '^closed' "$(lab_log_file rc-F)"
wait_for 5 "F's reopen refused" grep -q 'upgrade refused: 403' "$(lab_log_file rc-F)"

say "relays remove r1: gone from the list, its control stream closed"
closes() { grep -c 'control stream from .* closed' "$(lab_log_file relay)" || true; }
n0=$(closes)
srv relays remove r1 >/dev/null
srv relays --json | jq -e '.relays | length == 0' >/dev/null || fail "r1 still listed: $(srv relays)"
wait_for 5 "the relay's control stream closed" sh -c "[ \$(grep -c 'control stream from .* closed' '$(lab_log_file relay)') -gt $n0 ]"

say "the relay's counters at shutdown"
lab_stop relay
rlog=$(cat "$(lab_log_file relay)")
! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"$rlog" || fail "sanitizer report: $rlog"
line=$(grep 'tickets refused' <<<"$rlog") || fail "no counters line: $rlog"
say "$line"
grep -q 'voided\|expired' <<<"$rlog" || fail "no drop logged"
over=$(grep -o '([0-9]* over the rate limit)' <<<"$line" | tr -dc 0-9)
[ "${over:-0}" -gt 0 ] || fail "rate-limit drops not counted: $line"
lab_stop roam-server
slog=$(cat "$(lab_log_file roam-server)")
! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"$slog" || fail "sanitizer report (control server): $slog"
say "PASS"
