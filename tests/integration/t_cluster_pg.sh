#!/usr/bin/env bash
# Two roam-servers on one PostgreSQL serve one network (issue 14, the shared
# state): a registration or a group change made through one server reaches
# the nodes streaming from the other at once (PostgreSQL's LISTEN/NOTIFY,
# server/cluster/watch.c); a node bound to one server is seen online with
# its endpoint by a node of the other (server/cluster/presence.c), and they
# talk; a change made just before a server is killed (-9) is there afterwards.
# A dead server's nodes that do not fail over (p1: A runs without
# --public-url, so p1 knows no other server) go offline within seconds on
# the survivors (server/cluster/dead.c: PostgreSQL's sessions tell who is
# alive), not after the binding's lifetime; and a server starting again
# leaves the nodes of the others online in the store.
#
#     p1 (public) ---- server A :8443 --\
#                                        +-- PostgreSQL (a throwaway cluster,
#     q1 (public) ---- server B :9443 --/     unix socket; tests/unit/pg_cluster.sh)
#
# Both servers run in the lab's server namespace on copies of one state
# directory (the same keys; store.url names the database).
# roam-test: timing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
d=$(roam_dir)
S=$(lab_server_addr)
PORT_B=9443 # not 8444: the console listens on 127.0.0.1:8444
createdb -h "$ROAM_TEST_PG_HOST" -U roam roamnet
lab_exec server "$SERVER" init --state "$d/srv" --host "$S" --port $COORD_PORT \
	--store-url "postgresql://roam@/roamnet?host=$ROAM_TEST_PG_HOST" >"$d/init.txt" ||
	fail "roam-server init --store-url failed: $(cat "$d/init.txt")"
[ "$(stat -c %a "$d/srv/store.url")" = 600 ] || fail "store.url is not mode 0600"
[ ! -e "$d/srv/state.db" ] || fail "a SQLite state was made next to store.url"
cp -a "$d/srv" "$d/srv-b"
srv_b() { lab_exec server "$SERVER" "$@" --state "$d/srv-b"; }
server_b_up() {
	lab_spawn server roam-server-b "$SERVER" run --state "$d/srv-b" --port $PORT_B >/dev/null
	wait_for 10 "server B listening" lab_exec server sh -c "ss -ltn | grep -q ':$PORT_B '"
}
coord_server_up
server_b_up

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
coord_join p1 "$tok" >/dev/null # through A
coord_node q1
lab_exec q1 "$ROAM" up --server "https://$S:$PORT_B" --token "$tok" --name q1 --socket "$d/q1.sock" >/dev/null
wait_for 5 "q1 (on B) sees p1 (registered on A)" coord_sees q1 p1
wait_for 5 "p1 (on A) sees q1 (registered on B)" coord_sees p1 q1

say "presence crosses servers: each sees the other online with its endpoint, and they talk"
peer_is() { [ "$(coord_peer "$1" "$2" "$3")" = "$4" ]; }
wait_for 10 "q1 sees p1 online" peer_is q1 p1 online true
wait_for 10 "p1 sees q1 online" peer_is p1 q1 online true
# The tunnel's endpoint: set once q1's path to p1 works (a moment after "online").
has_endpoint() { local e; e=$(coord_peer "$1" "$2" endpoint) && [ "$e" != null ] && [ -n "$e" ]; }
wait_for 10 "q1 has an endpoint for p1 (bound to the other server)" has_endpoint q1 p1
wait_for 15 "p1 pings q1 across servers" ping_ok p1 "$(coord_addr4 q1)"
say "  q1 sees p1 at $(coord_peer q1 p1 endpoint), path $(coord_peer q1 p1 path)"

# ms_until SECONDS WHAT CMD...: milliseconds until CMD succeeds.
ms_until() {
	local limit=$1 what=$2 t0
	shift 2
	t0=$(date +%s%N)
	wait_for "$limit" "$what" "$@"
	echo $((($(date +%s%N) - t0) / 1000000))
}
not_sees() { ! coord_sees "$@"; }

say "a group change through A reaches q1 (on B)"
coord_srv groups remove g1 p1 >/dev/null
ms=$(ms_until 5 "q1 no longer sees p1" not_sees q1 p1)
say "  removal seen by q1 after ${ms} ms"
[ "$ms" -le "$(goal_ms 1500)" ] || fail "a change on A took ${ms} ms to reach a node on B (goal: 1 s)"
srv_b groups add g1 p1 >/dev/null # through B this time
ms=$(ms_until 5 "p1 sees q1 again" coord_sees p1 q1)
say "  addition through B seen by p1 (on A) after ${ms} ms"
[ "$ms" -le "$(goal_ms 1500)" ] || fail "a change on B took ${ms} ms to reach a node on A"

say "kill -9 A right after a change: nothing lost"
coord_srv groups create g2 >/dev/null
coord_srv groups add g2 q1 >/dev/null
coord_srv keys create --group g2 >/dev/null
lab_exec server sh -c "kill -KILL \$(cat '$(lab_rundir)/pid/roam-server.pid')" || true
t_kill=$(date +%s%N)
srv_b groups | grep -q ' g2 ' || fail "group g2 made on A is not in the shared state"
[ "$(srv_b groups --json | jq -r '.groups[] | select(.name == "g2") | .members')" = 1 ] ||
	fail "q1's membership of g2, made on A before its kill, is lost"
[ "$(srv_b keys | grep -c "single-use")" -ge 2 ] || fail "the key made on A before its kill is lost"
wait_for 5 "q1 (on B) still sees p1" coord_sees q1 p1

say "p1's server is dead and p1 cannot fail over: q1 sees it offline within seconds"
wait_for 20 "q1 sees p1 offline" peer_is q1 p1 online false
ms=$((($(date +%s%N) - t_kill) / 1000000))
say "  p1 offline for q1 ${ms} ms after A's kill (before: binding lifetime + grace, 390 s)"
[ "$ms" -le 12000 ] || fail "a dead server's node went offline after ${ms} ms (goal: about 6 s)"
node_online() { srv_b nodes --json | jq -e --arg n "$1" --argjson o "$2" '.nodes[] | select(.name == $n) | .online == $o' >/dev/null; }
wait_for 5 "p1 offline in the store" node_online p1 false
node_online q1 true || fail "q1 (on B) is not online in the store"

say "A restarts on the shared state; B's nodes are untouched"
lab_stop roam-server || true
coord_server_up
node_online q1 true || fail "A's start took q1 (held by B) offline in the store"
srv_b groups remove g1 q1 >/dev/null
wait_for 20 "p1 (on A, restarted) no longer sees q1" not_sees p1 q1
say "ok"
