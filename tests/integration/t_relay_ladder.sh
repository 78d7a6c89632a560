#!/usr/bin/env bash
# The relay link ladder (issue 10): nodes whose networks drop UDP reach
# their peers through the server's relay over TLS (the first rung above UDP),
# `roam status` names the link, an httponly node passes traffic within 3 s
# of `roam up` (goal; measured and printed), and a node whose UDP comes back
# moves to the udp link without a restart. A restart of roam-server kills
# every TCP link: the ladder climbs again and traffic passes.
#
#   ubl1 (udpblocked: TCP only) --+
#   htt1 (httponly: TCP 80/443) --+-- inet -- server: roam-server on 443
#   pub1 (public) ----------------+
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up ubl:udpblocked htt:httponly pub:public >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
for n in pub1 ubl1 htt1; do coord_node "$n"; done
connected() { coord_status "$1" | jq -e '.managed.state == "connected"' >/dev/null; }
link_is() { [ "$(coord_status "$1" | jq -r .managed.relay_link)" = "$2" ]; }
ping1() { lab_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

coord_join pub1 "$tok" >/dev/null
coord_join ubl1 "$tok" >/dev/null
wait_for 20 "pub1 connected" connected pub1
wait_for 20 "ubl1 connected" connected ubl1
pub=$(coord_addr4 pub1)

# httponly: from `roam up` to the first ping answered over the overlay.
t0=$(date +%s%N)
coord_join htt1 "$tok" >/dev/null
htt=$(coord_addr4 htt1)
ok=0
for _ in $(seq 1 100); do
	if ping1 htt1 "$pub"; then ok=1; break; fi
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ok" = 1 ] || { coord_log htt1 | grep -i relay | tail -20; fail "htt1 cannot reach pub1 over the overlay"; }
say "httponly: roam up -> first ping answered in $ms ms (goal 3000 ms)"
[ "$ms" -le 6000 ] || fail "httponly node took $ms ms to pass traffic (goal 3 s, limit 6 s under load)"

wait_for 10 "htt1 on the tls link" link_is htt1 tls
wait_for 10 "ubl1 on the tls link" link_is ubl1 tls
wait_for 10 "pub1 on the udp link" link_is pub1 udp
# The link's round trip, from its RELAY_PING (sent as soon as it is up).
rtt_known() { coord_status htt1 | jq -e '.managed.relay_link_rtt_ms > 0' >/dev/null; }
wait_for 5 "htt1's relay link round trip (RELAY_PONG)" rtt_known
human=$(lab_exec htt1 "$ROAM" status --socket "$(roam_dir)/htt1.sock")
echo "$human" | grep -q "relay link: tls (round trip" || fail "roam status does not name the relay link: $human"
say "htt1: $(echo "$human" | grep "relay link")"

ubl=$(coord_addr4 ubl1)
wait_for 10 "ubl1 reaches htt1 (both on TCP links)" ping1 ubl1 "$htt"
wait_for 10 "htt1 reaches ubl1" ping1 htt1 "$ubl"
wait_for 10 "pub1 reaches ubl1" ping1 pub1 "$ubl"

# roam-server restarts: every TCP link dies, the ladder climbs again (1 s
# backoff while no link carries) and htt1 passes traffic again.
coord_server_stop
t0=$(date +%s%N)
coord_server_up
wait_for 15 "htt1 reaches pub1 after the server's restart" ping1 htt1 "$pub"
say "server restart: htt1 passes traffic again after $((($(date +%s%N) - t0) / 1000000)) ms"
wait_for 10 "htt1 on the tls link again" link_is htt1 tls

# ubl's router lets UDP out again: BINDINGs (every 5 s off UDP) are
# answered, the link is udp again, the TLS link closes 2 s later.
lab_exec gw-ubl nft add rule ip lab forward iifname lan0 oifname wan0 accept
wait_for 20 "ubl1 back on the udp link" link_is ubl1 udp
wait_for 10 "ubl1 still reaches pub1" ping1 ubl1 "$pub"
grep -q "relay link: udp" "$(lab_log_file roamd-ubl1)" || fail "ubl1's log does not say it moved to udp"
for n in pub1 ubl1 htt1; do
	if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file "roamd-$n")"; then
		fail "$n: a sanitizer report in roamd's log"
	fi
done
say "ok"
