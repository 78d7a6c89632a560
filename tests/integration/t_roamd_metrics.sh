#!/usr/bin/env bash
# roam metrics: a node's per-peer bytes, handshakes, path state and drops as
# Prometheus text, from roamd's control socket (no port opened), parsed by
# the Prometheus client library's parser. And the nodes' path reports
# (POST /v1/paths): the server's connections page and its path events.
#
#   p1 (public) --- lab internet --- server (roam-server :8443)
#   q1 (public) ---/                 group g1 = {p1, q1}
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || { say "SKIP: python3-prometheus-client not installed"; exit 77; }

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_join_all "$tok" p1 q1
wait_for 10 "p1 sees q1" coord_sees p1 q1
ping_ok p1 "$(coord_addr4 q1)" || fail "no traffic p1 -> q1"

d=$(roam_dir)
say "roam metrics on p1"
lab_exec p1 "$ROAM" metrics --socket "$d/p1.sock" >"$d/metrics.txt" || fail "roam metrics failed"
/usr/bin/python3 - "$d/metrics.txt" <<'PY' || fail "the metrics do not parse or lack a series: $(head -c 2000 "$d/metrics.txt")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def value(name, **labels):
    for s in fams[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit("no sample %s %s" % (name, labels))
assert value("roam_peer_rx_bytes", peer="q1") > 0
assert value("roam_peer_tx_bytes", peer="q1") > 0
assert value("roam_peer_last_handshake_timestamp_seconds", peer="q1") > 1e9
assert value("roam_peer_online", peer="q1") == 1
assert value("roam_peer_path_active", peer="q1") == 1
assert "roam_drops" in fams and "roam_peers" in fams
PY
grep -q '^roam_peer_path_active{peer="q1",path="direct"} 1' "$d/metrics.txt" || say "  (q1's path is not direct yet)"
! lab_exec p1 ss -ltnp | grep -q roamd || fail "roamd listens on a TCP port"

say "path reports: the server knows how p1 reaches q1, and logged it"
direct_event() { coord_srv events --kind path --node p1 | grep -q "to q1: direct"; }
wait_for 20 "p1's report of a direct path to q1" direct_event
echo "correct horse battery staple" | coord_srv admins add ops >/dev/null
t=$(coord_srv admins token ops | tail -n 1)
pair() {
	lab_exec server curl -sk -H "Authorization: Bearer $t" https://127.0.0.1:8444/api/v1/connections >"$d/conn.json"
	jq -e '.pairs[] | select(.node == "p1" and .peer == "q1" and .path == "direct")' "$d/conn.json" >/dev/null
}
wait_for 10 "the pair p1 -> q1 on the connections page" pair
for h in p1 q1; do
	coord_node_stop "$h"
	! coord_log "$h" | grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' || fail "roamd in $h: a sanitizer report"
done
coord_server_stop
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" || fail "roam-server: a sanitizer report"
say "ok"
