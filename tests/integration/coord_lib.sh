# shellcheck shell=bash
# roam-server plus real roamd nodes in managed mode, in the lab:
#   coord_server_up [RUN-ARGS...]   init (once) and run roam-server on the server host, port 8443
#   coord_token [keys create args]  a join token (grep'ed from the printed command)
#   coord_node HOST                 start roamd in managed mode in HOST
#   coord_join HOST TOKEN           roam up there (name = HOST)
#   coord_status HOST               roam status --json of HOST's roamd
#   coord_peer HOST NAME FIELD      a field of HOST's view of peer NAME ("" if not a peer)
#   coord_addr4 HOST                HOST's overlay IPv4 address
# shellcheck source=roam_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/roam_lib.sh"

COORD_PORT=8443

coord_srv() { lab_exec server "$SERVER" "$@" --state "$(roam_dir)/srv"; }

coord_server_up() {
	local d S
	d=$(roam_dir)
	S=$(lab_server_addr)
	if [ ! -d "$d/srv" ]; then
		lab_exec server "$SERVER" init --state "$d/srv" --host "$S" --port $COORD_PORT >"$d/init.txt" ||
			fail "roam-server init failed: $(cat "$d/init.txt")"
	fi
	lab_spawn server roam-server "$SERVER" run --state "$d/srv" --port $COORD_PORT "$@" >/dev/null
	wait_for 10 "roam-server listening" lab_exec server sh -c "ss -ltn | grep -q ':$COORD_PORT '"
	COORD_URL="https://$S:$COORD_PORT"
}
coord_server_stop() { lab_stop roam-server; }

coord_token() { coord_srv keys create "$@" | grep -o 'roam1\.[A-Za-z0-9_-]*' | head -n 1; }

coord_node() {
	local d
	d=$(roam_dir)
	lab_spawn "$1" "roamd-$1" "$ROAMD" --state-dir "$d/st-$1" -s "$d/$1.sock" -l debug >/dev/null
	wait_for 10 "roamd in $1" test -S "$d/$1.sock"
}
coord_node_stop() { lab_stop "roamd-$1"; }

coord_join() { lab_exec "$1" "$ROAM" up --server "$COORD_URL" --token "$2" --name "$1" --socket "$(roam_dir)/$1.sock"; }
coord_status() { lab_exec "$1" "$ROAM" status --json --socket "$(roam_dir)/$1.sock"; }
coord_peer() { coord_status "$1" | jq -r --arg n "$2" --arg f "$3" '.peers[] | select(.name == $n) | .[$f]'; }
coord_addr4() { coord_status "$1" | jq -r '.managed.ipv4' | cut -d/ -f1; }
coord_log() { cat "$(lab_log_file "roamd-$1")"; }

# coord_join_all TOKEN HOST...: start roamd in each HOST and join with TOKEN.
coord_join_all() {
	local tok=$1 h
	shift
	for h in "$@"; do
		coord_node "$h"
		coord_join "$h" "$tok" >/dev/null
	done
}
# coord_sees HOST PEER: HOST's view has PEER.
coord_sees() { [ -n "$(coord_peer "$1" "$2" public_key)" ]; }

# cluster_two_servers_up: roam-server A (COORD_PORT) and B (PORT_B) on one
# PostgreSQL database (tests/unit/pg_cluster.sh's, at ROAM_TEST_PG_HOST),
# each announcing its URL; sets d, S, PORT_B, URL_A and URL_B.
cluster_two_servers_up() {
	d=$(roam_dir)
	S=$(lab_server_addr)
	PORT_B=9443 # not 8444: the console listens on 127.0.0.1:8444
	URL_A="https://$S:$COORD_PORT"
	URL_B="https://$S:$PORT_B"
	createdb -h "$ROAM_TEST_PG_HOST" -U roam roamnet
	lab_exec server "$SERVER" init --state "$d/srv" --host "$S" --port $COORD_PORT \
		--store-url "postgresql://roam@/roamnet?host=$ROAM_TEST_PG_HOST" >"$d/init.txt" ||
		fail "roam-server init --store-url failed: $(cat "$d/init.txt")"
	cp -a "$d/srv" "$d/srv-b"
	coord_server_up --public-url "$URL_A"
	lab_spawn server roam-server-b "$SERVER" run --state "$d/srv-b" --port $PORT_B --public-url "$URL_B" >/dev/null
	wait_for 10 "server B listening" lab_exec server sh -c "ss -ltn | grep -q ':$PORT_B '"
}
