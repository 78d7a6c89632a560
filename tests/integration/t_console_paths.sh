#!/usr/bin/env bash
# The console's view of paths between nodes (issue 12): nodes report the
# transport of each active path, the relay it goes through and how long it
# has been in use (POST /v1/paths); the connections page shows them, the
# overview counts pairs talking directly and through a relay and shows the
# relay load now (datagrams/s, bytes/s), also pushed every 5 s on the
# live-update stream ("event: load").
#
#   pub1 (public) -------+
#   pub2 (public) -------+-- inet -- server: roam-server on 443 (relay 0)
#   ubl1 (udpblocked) ---+           ubl1's tunnel: a TCP relay link
#   group g = {pub1, ubl1}: their pair can only be relayed
#   pub2 joined without a key: waiting for approval all along (one join
#   event, not one each time it asks again)
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up pub:public:2 ubl:udpblocked >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
coord_join_all "$tok" pub1 ubl1
coord_node pub2
coord_join pub2 "$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$(roam_dir)/init.txt" | tail -n 1)" >/dev/null || true
wait_for 20 "pub1 sees ubl1" coord_sees pub1 ubl1
wait_for 20 "pub1 -> ubl1 through the relay" ping_ok pub1 "$(coord_addr4 ubl1)"

d=$(roam_dir)
echo "correct horse battery staple" | coord_srv admins add ops >/dev/null
t=$(coord_srv admins token ops | tail -n 1)
get() { lab_exec server curl -sk -H "Authorization: Bearer $t" "https://127.0.0.1:8444/api/v1/$1"; }

say "connections: each side's transport, the relay, and since when the path is in use"
pairs_in() {
	get connections >"$d/conn.json"
	jq -e '[.pairs[] | select(.path == "relayed" and .relay == "relay 0 (this server)")] | length == 2' "$d/conn.json" >/dev/null
}
wait_for 20 "both sides' reports of the relayed pair" pairs_in
jq -c '.pairs[]' "$d/conn.json" | while read -r p; do say "  $p"; done
ubl_t=$(jq -r '.pairs[] | select(.node == "ubl1") | .transport' "$d/conn.json")
case $ubl_t in tls-relay | websocket-relay | long-poll-relay) ;; *) fail "ubl1 (no UDP) reports transport '$ubl_t'" ;; esac
pub_t=$(jq -r '.pairs[] | select(.node == "pub1") | .transport' "$d/conn.json")
[ "$pub_t" = udp-relay ] || fail "pub1 reports transport '$pub_t', want udp-relay"
jq -e 'all(.pairs[]; .since > 1e9 and .since <= .reported_at)' "$d/conn.json" >/dev/null || fail "a pair's since is not a time before its report"
# The node's own view of the active path's transport agrees.
st_t=$(coord_status ubl1 | jq -r '[.peers[]? | .active_path.transport // empty] | first // "?"')
say "ubl1's roam status: active path transport $st_t"
coord_srv events --kind path --node ubl1 | grep -q "to pub1: relayed (${ubl_t} via relay 0" ||
	fail "no path event with ubl1's transport: $(coord_srv events --kind path)"

say "overview: one pair relayed, none direct; relay 0 carries datagrams/s while pub1 pings"
get overview >"$d/ov.json"
jq -e '.load.pairs_relayed == 1 and .load.pairs_direct == 0' "$d/ov.json" >/dev/null ||
	fail "overview pair counts: $(jq -c .load "$d/ov.json")"
lab_exec pub1 ping -c 40 -i 0.1 -W 1 "$(coord_addr4 ubl1)" >/dev/null 2>&1 &
pinger=$!
sleep 1.5
get overview >/dev/null # a sample
sleep 1.5
get overview >"$d/ov.json"
wait "$pinger" || true
say "  load: $(jq -c .load "$d/ov.json")"
jq -e '.load.relays[0].name == "relay 0 (this server)" and .load.relays[0].datagrams_per_s >= 5 and
	.load.relayed_bytes_per_s > 0 and .load.relays[0].clients >= 1' "$d/ov.json" >/dev/null ||
	fail "relay 0's load is not shown: $(jq -c .load "$d/ov.json")"

say "the live-update stream pushes the load every 5 s"
lab_exec server timeout 7 curl -skN -H "Authorization: Bearer $t" https://127.0.0.1:8444/api/v1/stream >"$d/sse.txt" 2>/dev/null || true
grep -A1 '^event: load' "$d/sse.txt" | grep '^data: ' | head -n 1 | cut -c7- | jq -e '.pairs_relayed == 1' >/dev/null ||
	fail "no load event on the stream: $(head -c 600 "$d/sse.txt")"

say "pub2, waiting for approval throughout, has one join event"
joins=$(coord_srv events --kind join --node pub2 | grep -c "waiting for approval" || true)
[ "$joins" = 1 ] || fail "pub2's join events: $joins, want 1: $(coord_srv events --kind join --node pub2)"

for h in pub1 ubl1 pub2; do
	coord_node_stop "$h"
	! coord_log "$h" | grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' || fail "roamd in $h: a sanitizer report"
done
coord_server_stop
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" || fail "roam-server: a sanitizer report"
say "ok"
