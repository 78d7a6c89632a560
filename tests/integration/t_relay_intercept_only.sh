#!/usr/bin/env bash
# A relay-only server behind a TLS-intercepting proxy (issue 10): int1's
# squid ssl-bump shows its own certificate for every server, the relay-only
# server r1 as much as the control server, so r1's pinned TLS key (from the
# relay map) cannot match. With --allow-tls-interception the node's link to
# r1 asks r1 to prove itself inside (Roam-Want-Server-Auth): r1 macs its 101
# (and its long-poll session's answer) with K_nr, the key it shares with the
# node, and the node checks it instead of the pin. The control server is
# 20 ms further away each way, so int1 and a1 meet on r1: ping both ways
# through the intercepting proxy and r1, over TLS, then over long-poll
# (forced, ROAMD_TEST_RELAY_LINK). Without the proof the link to r1 never
# comes up and the pair stays on the control server.
#
#   int1 (intercept: squid ssl-bump, CONNECT 443 only) --+-- inet -- server: roam-server run :443 (relay 0), +20 ms
#   a1 (public) ------------------------------------------+---------- r1: roam-server relay :443 (relay 1)
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"

relay_intercept_up
proxy=$(lab_proxy int1)
issuer=$(lab_exec int1 sh -c "timeout 5 openssl s_client -proxy ${proxy#http://} -connect $R:443 \
	</dev/null 2>/dev/null | openssl x509 -noout -issuer" || true)
grep -q "roam lab intercepting CA" <<<"$issuer" || fail "the intercept site's squid does not intercept r1's TLS: $issuer"

coord_node a1
coord_join a1 "$tok" >/dev/null
a=$(coord_addr4 a1)
relay1_link() { coord_status "$1" | jq -r '.managed.relays[] | select(.id == 1) | .link'; }
link_is() { [ "$(relay1_link int1)" = "$1" ]; }
meeting() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .relays[0] // "none"'; }
active() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .active_path.address // "none"'; }
agree() { [ "$(meeting int1 a1)" = 1 ] && [ "$(meeting a1 int1)" = 1 ]; }
on_relay1() { [[ $(active int1 a1) == relay:*@1 ]] && [[ $(active a1 int1) == relay:*@1 ]]; }
ping1() { lab_exec int1 ping -c 1 -W 1 "$a" >/dev/null 2>&1; }

for mode in tls long-poll; do
	coord_node_stop int1 2>/dev/null || true
	if [ "$mode" = tls ]; then
		coord_node int1
	else
		ROAMD_TEST_RELAY_LINK=$mode coord_node int1
	fi
	lab_exec int1 "$ROAM" up --server "$COORD_URL" --token "$tok" --name int1 --socket "$(roam_dir)/int1.sock" \
		--proxy "$proxy" --allow-tls-interception >/dev/null || fail "int1 could not join with --allow-tls-interception"
	wait_until 25 link_is "$mode" || true
	link=$(relay1_link int1)
	[ "$link" = "$mode" ] || fail "$mode: int1's link to relay 1 through the intercepting proxy is $link" \
		"($(grep -i 'relay 1\|relay link' "$(lab_log_file roamd-int1)" | tail -n 5))"
	wait_for 25 "$mode: int1 and a1 meet on relay 1" agree
	wait_for 10 "$mode: int1 reaches a1" ping1
	wait_until 15 on_relay1 ||
		fail "$mode: active paths not both through relay 1: int1 $(active int1 a1), a1 $(active a1 int1)"
	got=$(lab_exec int1 ping -q -c 50 -i 0.02 -W 1 "$a" | grep -o '[0-9]* received' | tr -dc 0-9)
	back=$(lab_exec a1 ping -q -c 20 -i 0.02 -W 1 "$(coord_addr4 int1)" | grep -o '[0-9]* received' | tr -dc 0-9)
	say "$mode: int1 -> intercepting proxy -> relay 1 -> a1: $got/50 pings answered, a1 -> int1 $back/20 ($(active int1 a1))"
	if [ "${got:-0}" -lt 45 ] || [ "${back:-0}" -lt 18 ]; then fail "$mode: too few pings answered"; fi
done
say "ok"
