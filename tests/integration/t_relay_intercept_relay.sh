#!/usr/bin/env bash
# A TLS-intercepting proxy that intercepts the relays but not the control
# server (issue 10): int1's squid splices (passes untouched) TLS to the
# control server and bumps everything else, so int1 joins with the pin
# intact (no interception met: "allowed") but relay-only r1's pinned TLS key
# cannot match. With --allow-tls-interception the link to r1 retries
# without the pin when the pin fails and then requires r1's proof inside
# (its 101 macked with K_nr). The control server is 20 ms further away each
# way, so int1 and a1 meet on r1: ping both ways through the proxy and r1.
# Without the per-relay fallback the link to r1 never comes up.
#
#   int1 (intercept: squid, splice the server, bump r1) --+-- inet -- server: roam-server run :443 (relay 0), +20 ms
#   a1 (public) ------------------------------------------+---------- r1: roam-server relay :443 (relay 1)
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"

relay_intercept_up
S=$(lab_server_addr)

# The lab's squid bumps every host: splice the control server (SIGHUP:
# squid reads its configuration again).
conf="$(lab_rundir)/squid-int.conf"
[ -f "$conf" ] || fail "no squid configuration at $conf"
sed -i "s|^\(\s*\)ssl_bump bump all|\1acl roam_ctl dst $S\n\1ssl_bump splice roam_ctl\n\1ssl_bump bump all|" "$conf"
kill -HUP "$(cat "$(lab_rundir)/pid/squid-int.pid")"
proxy=$(lab_proxy int1)
issuer_of() {
	lab_exec int1 sh -c "timeout 5 openssl s_client -proxy ${proxy#http://} -connect $1:443 \
		</dev/null 2>/dev/null | openssl x509 -noout -issuer" || true
}
spliced() { ! grep -q "roam lab intercepting CA" <<<"$(issuer_of "$S")"; }
wait_for 10 "squid splices the control server" spliced
grep -q "roam lab intercepting CA" <<<"$(issuer_of "$R")" || fail "squid does not intercept r1: $(issuer_of "$R")"

coord_node a1
coord_join a1 "$tok" >/dev/null
a=$(coord_addr4 a1)
relay1_link() { coord_status "$1" | jq -r '.managed.relays[] | select(.id == 1) | .link'; }
link_is() { [ "$(relay1_link int1)" = "$1" ]; }
meeting() { coord_status "$1" | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .relays[0] // "none"'; }
agree() { [ "$(meeting int1 a1)" = 1 ] && [ "$(meeting a1 int1)" = 1 ]; }
ping1() { lab_exec int1 ping -c 1 -W 1 "$a" >/dev/null 2>&1; }

coord_node int1
lab_exec int1 "$ROAM" up --server "$COORD_URL" --token "$tok" --name int1 --socket "$(roam_dir)/int1.sock" \
	--proxy "$proxy" --allow-tls-interception >/dev/null || fail "int1 could not join"
interception=$(coord_status int1 | jq -r '.managed.tls_interception // empty')
[ "$interception" = allowed ] || fail "int1 met interception on the control server: ${interception:-?}"
wait_until 25 link_is tls || true
link=$(relay1_link int1)
[ "$link" = tls ] || fail "int1's link to relay 1 through the relay-only interception is $link" \
	"($(grep -i 'relay 1\|relay link\|pinned' "$(lab_log_file roamd-int1)" | tail -n 5))"
grep -q 'its TLS key is not the pinned one' "$(lab_log_file roamd-int1)" ||
	fail "the link did not come up by the pin fallback"
wait_for 25 "int1 and a1 meet on relay 1" agree
wait_for 10 "int1 reaches a1" ping1
got=$(lab_exec int1 ping -q -c 30 -i 0.02 -W 1 "$a" | grep -o '[0-9]* received' | tr -dc 0-9)
back=$(lab_exec a1 ping -q -c 20 -i 0.02 -W 1 "$(coord_addr4 int1)" | grep -o '[0-9]* received' | tr -dc 0-9)
say "int1 -> intercepting proxy -> relay 1 -> a1: $got/30 pings answered, a1 -> int1 $back/20"
if [ "${got:-0}" -lt 27 ] || [ "${back:-0}" -lt 18 ]; then fail "too few pings answered"; fi
say "ok"
