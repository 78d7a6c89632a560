#!/usr/bin/env bash
# The offline push through the agent's proxy (issue 11): the file worker's
# requests to the server's cache take the node's `roam up --proxy`, with
# its credentials, like the agent's own requests.
#
#   prx1 (proxyonly, tinyproxy) --- roam up --proxy http://ROUTER:3128 --+
#   pau1 (proxyauth, squid Basic) - --proxy http://roam:lab-pass@ROUTER --+-- inet -- server:
#   int1 (intercept: squid ssl-bump) --proxy ... --allow-tls-interception -+   roam-server on 443
#   group g = {prx1, pau1, int1}
#
# pau1 is stopped; prx1 pushes 3 MB to it: uploaded through tinyproxy,
# "queued"; int1 pushes 1 MB through its TLS-intercepting proxy (the pin
# fails, the server's proof on every reply is checked instead): "queued".
# pau1 starts: downloads both through squid with the password, verifies,
# decrypts (byte-identical), sends the receipts; prx1 and int1 see
# "delivered". No host has any other way out.
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"
source "$(dirname "$0")/files_lib.sh"

relay_need
command -v /usr/lib/squid/security_file_certgen >/dev/null || skip "squid-openssl is not installed (ssl-bump)"
lab_up prx:proxyonly pau:proxyauth int:intercept >/dev/null
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
for n in prx1 pau1 int1; do start_roamd $n; done
up prx1 --proxy "$(lab_proxy prx1)" >/dev/null
up pau1 --proxy - <<<"$(relay_auth_proxy pau1)" >/dev/null
up int1 --proxy "$(lab_proxy int1)" --allow-tls-interception >/dev/null
relay_wait_connected prx1 pau1 int1
has_key() { [ -n "$(coord_peer "$1" pau1 file_key)" ]; }
offline() { [ "$(coord_peer "$1" pau1 online)" = false ]; }
for n in prx1 int1; do wait_for 15 "$n has pau1's file key" has_key $n; done
lab_stop roamd-pau1
for n in prx1 int1; do wait_for 15 "$n sees pau1 offline" offline $n; done

say "pau1 offline: prx1 pushes 3 MB through its proxy"
head -c 3000000 /dev/urandom >"$d/via-proxy.bin"
want=$(sha256sum <"$d/via-proxy.bin" | cut -d' ' -f1)
lab_exec prx1 "$ROAM" push --json --socket "$d/prx1.sock" "$d/via-proxy.bin" pau1 >"$d/push.json" 2>&1 ||
	fail "the push failed: $(tail -n 3 "$d/push.json")"
id=$(jq -r 'select(.event == "queued") | .id' "$d/push.json")
[ -n "$id" ] || fail "not queued: $(cat "$d/push.json")"

say "int1 pushes 1 MB through its TLS-intercepting proxy"
head -c 1000000 /dev/urandom >"$d/via-intercept.bin"
want_i=$(sha256sum <"$d/via-intercept.bin" | cut -d' ' -f1)
lab_exec int1 "$ROAM" push --json --socket "$d/int1.sock" "$d/via-intercept.bin" pau1 >"$d/push-i.json" 2>&1 ||
	fail "int1's push failed: $(tail -n 3 "$d/push-i.json")"
id_i=$(jq -r 'select(.event == "queued") | .id' "$d/push-i.json")
[ -n "$id_i" ] || fail "int1's push is not queued: $(cat "$d/push-i.json")"
grep -q "files: the server's TLS key is not the pinned one" "$(lab_log_file roamd-int1)" ||
	fail "int1's file worker did not go over to the server's proof"

say "pau1 back: downloads through squid (Basic); prx1 and int1 see delivered"
start_roamd pau1
state() { lab_exec "$1" "$ROAM" files --json --socket "$d/$1.sock" | jq -r --arg id "$2" '.[] | select(.id == $id) | .state'; }
delivered() { [ "$(state "$1" "$2")" = delivered ]; }
wait_for 40 "prx1's push delivered" delivered prx1 "$id"
wait_for 20 "int1's push delivered" delivered int1 "$id_i"
got=$(sha256sum <"$d/st-pau1/inbox/prx1/via-proxy.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the received file differs"
got=$(sha256sum <"$d/st-pau1/inbox/int1/via-intercept.bin" | cut -d' ' -f1)
[ "$got" = "$want_i" ] || fail "the file from int1 differs"
grep -q "$LAB_PROXY_PASS" <<<"$(coord_log prx1)$(coord_log pau1)" && fail "the proxy password is in a log"
for h in prx1 pau1 int1; do
	coord_log $h | grep -qiE 'sanitizer|runtime error|segmentation' && fail "roamd in $h reported a crash"
done
say "ok"
