#!/usr/bin/env bash
# A server gone for good leaves the nodes' list (issue 14): two roam-servers
# on one PostgreSQL, each run with --public-url, a node on A knows both
# (state.json "servers"). B is killed (-9) and stays dead: its session in
# the store ends, A counts it missing and, after ROAM_TEST_SERVER_GONE_S
# (a day outside tests), drops it from the store's list; the node's stream
# brings the shorter list and the node saves it, so a restarted roamd still
# knows only A. B started again lists itself again.
#
#     p1 (public) ---- server A :8443 --\
#                                        +-- PostgreSQL (throwaway cluster,
#                      server B :9443 --/      unix socket; tests/unit/pg_cluster.sh)
#                      (killed -9, later started again)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/lib.sh"
source "$here/coord_lib.sh"
need_cmd jq

export ROAM_TEST_SERVER_GONE_S=3 # the servers' checks run every 10 s
lab_up p:public:1 >/dev/null
lab_trap
cluster_two_servers_up

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
lab_exec p1 "$ROAM" up --server "$URL_A" --token "$tok" --name p1 --socket "$d/p1.sock" >/dev/null
# saved_servers: the node's saved list, one line.
saved_servers() { jq -c '.servers // []' "$d/st-p1/state.json" 2>/dev/null; }
both="[\"$URL_A\",\"$URL_B\"]"
only_a="[\"$URL_A\"]"
wait_eq 25 "p1 saved both servers" "$both" 'saved_servers'

say "kill -9 B: it leaves the list within two checks"
lab_exec server sh -c "kill -KILL \$(cat '$(lab_rundir)/pid/roam-server-b.pid')" || true
t0=$(date +%s)
wait_eq 45 "p1's saved list without B" "$only_a" 'saved_servers'
say "  B gone from p1's saved list $(($(date +%s) - t0)) s after its death (checks every 10 s, gone after 3 s)"
grep -q "the server $URL_B has had no session" "$(lab_log_file roam-server)" || fail "A did not log that B is gone"

say "roamd restarted: the saved list is the shorter one"
coord_node_stop p1
coord_node p1
wait_eq 15 "p1 connected again" true 'coord_status p1 | jq -r .managed.connected'
[ "$(saved_servers)" = "$only_a" ] || fail "p1's list after a restart: $(saved_servers)"

say "B comes back: listed again"
lab_spawn server roam-server-b "$SERVER" run --state "$d/srv-b" --port "$PORT_B" --public-url "$URL_B" >/dev/null
wait_eq 25 "p1 saved both servers again" "$both" 'saved_servers'
say "ok"
