#!/usr/bin/env bash
# The offline push through the agent's proxy (issue 11): the file worker's
# requests to the server's cache take the node's `roam up --proxy`, with
# its credentials, like the agent's own requests.
#
#   prx1 (proxyonly, tinyproxy) --- roam up --proxy http://ROUTER:3128 --+
#   pau1 (proxyauth, squid Basic) - --proxy http://roam:lab-pass@ROUTER --+-- inet -- server:
#                                                                             roam-server on 443
#   group g = {prx1, pau1}
#
# pau1 is stopped; prx1 pushes 3 MB to it: uploaded through tinyproxy,
# "queued". pau1 starts: downloads through squid with the password,
# verifies, decrypts (byte-identical), sends the receipt; prx1 sees
# "delivered". Neither host has any other way out.
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"
source "$(dirname "$0")/files_lib.sh"

relay_need
lab_up prx:proxyonly pau:proxyauth >/dev/null
lab_trap
relay_server_up
tok=$RELAY_TOKEN
d=$(roam_dir)

start_roamd() {
	lab_spawn "$1" "roamd-$1" env ROAM_TEST_FILES_POLL=60000 "$ROAMD" --state-dir "$d/st-$1" -s "$d/$1.sock" \
		-l debug >/dev/null
	wait_for 10 "roamd in $1" test -S "$d/$1.sock"
}
up() { local n=$1; shift; lab_exec "$n" "$ROAM" up --name "$n" --socket "$d/$n.sock" --server "$COORD_URL" --token "$tok" "$@"; }
start_roamd prx1
start_roamd pau1
up prx1 --proxy "$(lab_proxy prx1)" >/dev/null
up pau1 --proxy - <<<"$(relay_auth_proxy pau1)" >/dev/null
relay_wait_connected prx1 pau1
has_key() { [ -n "$(coord_peer prx1 pau1 file_key)" ]; }
wait_for 15 "prx1 has pau1's file key" has_key
lab_stop roamd-pau1
offline() { [ "$(coord_peer prx1 pau1 online)" = false ]; }
wait_for 15 "prx1 sees pau1 offline" offline

say "pau1 offline: prx1 pushes 3 MB through its proxy"
head -c 3000000 /dev/urandom >"$d/via-proxy.bin"
want=$(sha256sum <"$d/via-proxy.bin" | cut -d' ' -f1)
lab_exec prx1 "$ROAM" push --json --socket "$d/prx1.sock" "$d/via-proxy.bin" pau1 >"$d/push.json" 2>&1 ||
	fail "the push failed: $(tail -n 3 "$d/push.json")"
id=$(jq -r 'select(.event == "queued") | .id' "$d/push.json")
[ -n "$id" ] || fail "not queued: $(cat "$d/push.json")"

say "pau1 back: downloads through squid (Basic), prx1 sees delivered"
start_roamd pau1
state() { lab_exec prx1 "$ROAM" files --json --socket "$d/prx1.sock" | jq -r --arg id "$id" '.[] | select(.id == $id) | .state'; }
delivered() { [ "$(state)" = delivered ]; }
wait_for 40 "delivered" delivered
got=$(sha256sum <"$d/st-pau1/inbox/prx1/via-proxy.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the received file differs"
grep -q "$LAB_PROXY_PASS" <<<"$(coord_log prx1)$(coord_log pau1)" && fail "the proxy password is in a log"
say "ok"
