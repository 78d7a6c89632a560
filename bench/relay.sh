#!/usr/bin/env bash
# Relay benchmark (issue 10), side by side in one run on the same lab links:
#
# Part 1, UDP relay forwarding: datagrams per second at < 0.1 % loss,
# 1200-byte payloads, roam-server's UDP relay against coturn (Debian's
# turnserver, TURN over UDP), and per core (the relay process's CPU time in
# the measured window, all threads, from /proc/PID/task/*/schedstat).
# The load is bench/relay_load for both: paced sendmmsg from one socket,
# rates stepping up by 1/4 until a step loses >= 0.1 % twice. For roam: two
# nodes registered (coord_sim node), bound with BINDINGs from the load
# sockets, RELAY datagrams carrying a WireGuard transport-data message of
# 1200 bytes. For coturn: Allocate (no auth), ChannelBind to a plain UDP
# peer beside the client, ChannelData of 1200 bytes: one receive and one
# send per datagram in both servers. turnutils_uclient is not the load: it
# paces each client with a millisecond timer (-z) and tops out far below
# what the servers forward (see docs/performance.md).
#
#   a1 (site a, public) ---- gw-a ---- lab internet ---- server
#   relay_load                                           roam-server :8443 (UDP relay)
#                                                        turnserver :3478
#
# Usage: sudo bench/relay.sh [--quick]   (ROUNDS rounds, default 3, each
# measuring every relay in turn: the median round is printed; --quick: one
# round of 1 s steps)
# Environment: ROAM_BUILD_DIR (default build/; use a release build),
# RELAY_BASELINE_BUILD (another build's directory: its roam-server measured
# too, same state), VERBOSE=1 (every rate step), RELAY_PERF=FILE (perf).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
secs=2
rounds=${ROUNDS:-3}
[ "$quick" = 0 ] || { secs=1; rounds=1; }
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
LOAD=$ROAM_BUILD_DIR/bench/relay_load
SIM=$ROAM_BUILD_DIR/bench/coord_sim
[ "$(id -u)" -eq 0 ] || { echo "relay.sh: run as root (the lab builds network namespaces)" >&2; exit 2; }
for bin in "$LOAD" "$SIM"; do
	[ -x "$bin" ] || { echo "relay.sh: $bin not built" >&2; exit 2; }
done
command -v turnserver >/dev/null || { echo "relay.sh: coturn is not installed (apt-get install coturn)" >&2; exit 2; }
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"

lab_up a:public >/dev/null
lab_trap
d=$(roam_dir)
S=$(lab_server_addr)
coord_server_up --log-level warn
srv_pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
coord_srv groups create bench >/dev/null
tok=$(coord_token --reusable --group bench)

# register NAME: registers a node with a fresh key (coord_sim node), prints
# its id. coord_sim leaves when its stdin closes: relay_load binds the node's
# endpoint from its own sockets afterwards, and nothing may move it back.
register() {
	roam_keys "$1"
	lab_exec a1 sh -c "sleep 3 | '$SIM' node --server '$S:$COORD_PORT' --token '$tok' --name '$1' --key '$d/$1.key'" \
		>"$d/$1.sim" 2>&1 || true
	grep -o '"node_id":[0-9]*' "$d/$1.sim" | head -n 1 | cut -d: -f2
}
ida=$(register load-a)
idb=$(register load-b)
[ -n "$ida" ] && [ -n "$idb" ] || { echo "relay.sh: registration failed: $(cat "$d"/*.sim)" >&2; exit 1; }

cat >"$d/turnserver.conf" <<EOF
listening-ip=$S
relay-ip=$S
listening-port=3478
min-port=49152
max-port=49999
no-auth
no-tls
no-dtls
no-cli
no-tcp-relay
no-software-attribute
pidfile=$d/turnserver.pid
log-file=$d/turnserver.log
simple-log
EOF
turn_pid=$(lab_spawn server turnserver turnserver -c "$d/turnserver.conf")
wait_for 10 "turnserver listening" lab_exec server sh -c "ss -lun | grep -q ':3478 '"

run_load() { # NAME ARGS...: the load's output in $d/NAME.out, result on stdout
	local name=$1
	shift
	lab_exec a1 "$LOAD" "$@" --seconds "$secs" >"$d/$name.out" 2>&1 || true
	grep '^result' "$d/$name.out" || echo "result rate=0 cpu=0 per_core=0"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
row() { printf '%-44s %12s %9s %12s\n' "$1" "$(field rate "$2")" "$(field cpu "$2")" "$(field per_core "$2")"; }
ratio() { # LABEL ROAM TURN
	awk -v a="$(field per_core "$2")" -v b="$(field per_core "$3")" -v r="$(field rate "$2")" \
		-v t="$(field rate "$3")" -v l="$1" 'BEGIN {
		if (b > 0 && t > 0) printf "%s roam / coturn: %.2f per core, %.2f absolute\n", l, a / b, r / t
	}'
}
roam_load() { # NAME PID [--gso N]
	local name=$1 pid=$2
	shift 2
	run_load "$name" roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/load-a.key" --id-a "$ida" \
		--key-b "$d/load-b.key" --id-b "$idb" --pid "$pid" "$@"
}
turn_version=$(turnserver --version 2>/dev/null | head -n 1 | tr -d ' ')

# The load goes out one datagram per send (sendmmsg batches), as a TURN
# client sends, then as roamd sends: UDP GSO, 53 datagrams of 1208 bytes per
# send (the servers see the same: coturn's socket gets them one by one,
# roam-server's takes them coalesced, UDP GRO).
say "UDP relay forwarding, 1200-byte payloads, ${secs} s per rate step, $rounds round(s)"
declare -A res
keep() { res[$1]+="$2"$'\n'; }
base_pid=""
for ((round = 1; round <= rounds; round++)); do
	keep roam "$(roam_load "roam-$round" "$srv_pid")"
	keep turn "$(run_load "turn-$round" turn --server "$S:3478" --pid "$turn_pid")"
	keep roam_gso "$(roam_load "roam-gso-$round" "$srv_pid" --gso 53)"
	keep turn_gso "$(run_load "turn-gso-$round" turn --server "$S:3478" --pid "$turn_pid" --gso 53)"
	[ -n "${RELAY_BASELINE_BUILD:-}" ] || continue
	# The baseline's roam-server on the same state and port, then ours
	# again (relay_load binds the nodes afresh each time).
	lab_stop roam-server
	lab_spawn server roam-server-base "$RELAY_BASELINE_BUILD/server/roam-server" run --state "$d/srv" \
		--port "$COORD_PORT" --log-level warn >/dev/null
	wait_for 10 "baseline roam-server" lab_exec server sh -c "ss -lun | grep -q ':$COORD_PORT '"
	base_pid=$(cat "$(lab_rundir)/pid/roam-server-base.pid")
	keep base "$(roam_load "base-$round" "$base_pid")"
	keep base_gso "$(roam_load "base-gso-$round" "$base_pid" --gso 53)"
	lab_stop roam-server-base
	coord_server_up --log-level warn
	srv_pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
done
# The round with the median per-core figure.
median() { grep . <<<"${res[$1]-}" | sort -t= -k4 -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
roam=$(median roam) turn=$(median turn) roam_gso=$(median roam_gso) turn_gso=$(median turn_gso)
base=$(median base) base_gso=$(median base_gso)
printf '%-44s %12s %9s %12s\n' "relay (load)" "datagrams/s" "relay CPU" "per core"
row "roam-server UDP relay (one per send)" "$roam"
row "coturn $turn_version TURN/UDP (one per send)" "$turn"
row "roam-server UDP relay (GSO load)" "$roam_gso"
row "coturn $turn_version TURN/UDP (GSO load)" "$turn_gso"
if [ -n "$base" ]; then
	row "roam-server baseline (one per send)" "$base"
	row "roam-server baseline (GSO load)" "$base_gso"
fi
ratio "one per send:" "$roam" "$turn"
ratio "GSO load:    " "$roam_gso" "$turn_gso"
echo "(goal: >= 3 per core; 'per core' = datagrams/s / the relay's CPU in cores at the highest rate" \
	"with < 0.1 % loss; a rate the load tool could not exceed is marked in VERBOSE=1 output)"
if [ -n "${VERBOSE:-}" ]; then
	for f in "$d"/*.out; do
		echo "--- $(basename "$f")"
		cat "$f"
	done
fi
