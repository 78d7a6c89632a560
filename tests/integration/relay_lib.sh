# shellcheck shell=bash
# Nodes behind firewalls and proxies (issue 10), on top of paths_lib.sh:
#   relay_need                     root, jq, the programs, squid (proxyauth sites)
#   relay_server_up                roam-server on 443 (the one port proxies CONNECT
#                                  to), group g; a reusable token in RELAY_TOKEN
#   relay_auth_proxy HOST          HOST's proxy with the lab's credentials
#   relay_wait_connected HOST...   each one's managed state is "connected" (20 s)
#   relay_only_up HOST URL         a relay-only server (roam-server relay) on HOST's
#                                  port 443, added as r1 (relay 1) with URL; its
#                                  log is "relay"
# shellcheck source=paths_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/paths_lib.sh"

relay_need() {
	need_root
	need_cmd jq
	need_built "$ROAMD" "$ROAM" "$SERVER"
	command -v squid >/dev/null || skip "squid not installed (scripts/packages.txt)"
}

relay_server_up() {
	# shellcheck disable=SC2034 # coord_lib.sh's
	COORD_PORT=443
	coord_server_up
	coord_srv groups create g >/dev/null
	# shellcheck disable=SC2034 # the tests'
	RELAY_TOKEN=$(coord_token --reusable --group g)
}

relay_auth_proxy() { echo "http://$LAB_PROXY_USER:$LAB_PROXY_PASS@$(lab_proxy "$1" | sed 's|^http://||')"; }

relay_connected() { coord_status "$1" | jq -e '.managed.state == "connected"' >/dev/null; }
relay_wait_connected() {
	local n
	for n in "$@"; do wait_for 20 "$n connected" relay_connected "$n"; done
}

relay_only_up() {
	local host=$1 url=$2 out rtok
	out=$(coord_srv relays add r1 --url "$url" --region lab)
	rtok=$(grep -o 'roamrelay1\.[A-Za-z0-9_-]*' <<<"$out") || fail "no relay token: $out"
	lab_spawn "$host" relay "$SERVER" relay --server "https://$(lab_server_addr):443" --token "$rtok" --listen :443 \
		--state "$(roam_dir)/relay" --log-level debug >/dev/null
	wait_for 10 "the relay registered" grep -q 'registered with' "$(lab_log_file relay)"
}

# relay_intercept_up: the lab of the relay-only interception tests: int1
# behind squid ssl-bump, a1 public, the control server 20 ms away (relay
# 0), relay 1 on r1 ($R); $tok joins. Skips without squid-openssl.
relay_intercept_up() {
	relay_need
	command -v /usr/lib/squid/security_file_certgen >/dev/null || skip "squid-openssl is not installed (ssl-bump)"
	lab_up int:intercept a:public r:public >/dev/null
	lab_trap
	relay_server_up
	tok=$RELAY_TOKEN
	R=$(lab_public_addr r1)
	lab_delay server 20
	relay_only_up r1 "https://$R:443"
}
