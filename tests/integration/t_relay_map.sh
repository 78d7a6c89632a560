#!/usr/bin/env bash
# Several relays, the node's side (first part): a control server and one
# relay-only server; roamd nodes get the relay map and their ticket on
# their stream, K_nr for the relay-only server from their monitor
# (privsep), and show the relays in `roam status`. u1 (no UDP): relay 0's
# round trip from its TCP relay link, relay 1's from a TCP link of its own
# to the relay-only server (Roam-Auth under K_nr, Roam-Ticket). v1: a
# RELAY_BIND (ticket, mac with K_nr) to relay 1's UDP port, whose
# BINDING_ACK (mac with K_nr) gives relay 1's round trip; relay 0's from
# BINDING -> BINDING_ACK. With relay 1 nearer to both (the control server
# 25 ms further away), both pick relay 1 as the pair's meeting relay from
# each other's relay_rtt in their peer lines (t_relay_only_links sends
# traffic through it).
#
#   u1 (udpblocked) --+-- inet -- server: roam-server run :443 (relay 0)
#   v1 (public) ------+---------- r1: roam-server relay :443 (relay 1, "lab")
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up u:udpblocked r:public v:public >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
S=$(lab_server_addr)
R=$(lab_public_addr r1)
out=$(coord_srv relays add r1 --url "https://$R:443" --region lab)
rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
lab_spawn r1 relay "$SERVER" relay --server "https://$S:443" --token "$rtok" --listen :443 \
	--state "$(roam_dir)/relay" --log-level debug >/dev/null
wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"

coord_node u1
coord_join u1 "$tok" >/dev/null
map_ok() {
	coord_status u1 | jq -e '.managed | (.relays | length) == 2 and .relays[1].id == 1 and
		.relays[1].region == "lab" and .relays[1].key and .relay_ticket' >/dev/null
}
wait_for 15 "u1 has the relay map, K_nr for relay 1 and a ticket" map_ok
both_u1() {
	coord_status u1 | jq -e '.managed.relays | .[0].rtt_ms > 0 and .[1].rtt_ms > 0 and .[1].link == "tls"' >/dev/null
}
wait_for 20 "u1 measured relay 0 and relay 1 (over its TLS link to relay 1)" both_u1
line=$(lab_exec u1 "$ROAM" status --socket "$(roam_dir)/u1.sock" | grep '^  relays:') || fail "no relays line"
say "roam status:$line"
grep -Eq '0 \([0-9.]* ms[^)]*\), 1 lab \([0-9.]* ms[^)]*, link tls\)' <<<"$line" || fail "relays line: $line"

# The control server's link 25 ms slower each way: relay 1 is v1's nearer relay.
lab_delay server 25
coord_node v1
coord_join v1 "$tok" >/dev/null
both() {
	coord_status v1 | jq -e '.managed.relays | length == 2 and .[0].rtt_ms > 0 and .[1].rtt_ms > 0 and
		.[1].key' >/dev/null
}
wait_for 15 "v1 has round trips to relay 0 (BINDING) and relay 1 (RELAY_BIND)" both
line=$(lab_exec v1 "$ROAM" status --socket "$(roam_dir)/v1.sock" | grep '^  relays:') || fail "no relays line"
say "v1 roam status:$line"
# The meeting relay of the pair u1-v1: relay 1, nearer to both. Both sides
# must see the other's relay_rtt (the control server keeps it and puts it
# in peer lines) to agree.
v1_home1() { coord_status v1 | jq -e '.managed.relays[1].home' >/dev/null; }
wait_for 45 "v1's home is relay 1 (hysteresis: 3 rounds)" v1_home1
meeting() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .relays[0] // "none"'; }
agree() { [ "$(meeting u1 v1)" = 1 ] && [ "$(meeting v1 u1)" = 1 ]; }
for _ in $(seq 50); do agree && break; sleep 0.5; done
agree ||
	fail "meeting relay: u1 -> v1 $(meeting u1 v1), v1 -> u1 $(meeting v1 u1)"
say "meeting relay: u1 -> v1 $(meeting u1 v1), v1 -> u1 $(meeting v1 u1) (v1's home: relay 1)"
grep -q 'bad binding\|bad_binding' "$(lab_log_file relay)" && say "(the relay logged a bad binding)"
for n in u1 v1; do
	grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file "roamd-$n")" && fail "$n: a sanitizer report"
done
say "ok"
