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
# Usage: sudo bench/relay.sh [--quick]        (--quick: 1 s steps)
# Environment: ROAM_BUILD_DIR (default build/; use a release build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
secs=2
[ "$quick" = 0 ] || secs=1
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

say "UDP relay forwarding, 1200-byte payloads, ${secs} s per rate step"
# RELAY_PERF=FILE: a perf profile of roam-server over its first 10 s of load.
if [ -n "${RELAY_PERF:-}" ]; then
	perf record -q -g -e cpu-clock -p "$srv_pid" -o "$RELAY_PERF" -- sleep 10 >/dev/null 2>&1 &
fi
roam=$(run_load roam roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/load-a.key" --id-a "$ida" \
	--key-b "$d/load-b.key" --id-b "$idb" --pid "$srv_pid")
turn=$(run_load turn turn --server "$S:3478" --pid "$turn_pid")
printf '%-34s %14s %10s %16s\n' "relay" "datagrams/s" "relay CPU" "datagrams/s/core"
printf '%-34s %14s %10s %16s\n' "roam-server UDP relay" "$(field rate "$roam")" "$(field cpu "$roam")" "$(field per_core "$roam")"
printf '%-34s %14s %10s %16s\n' "coturn $(turnserver --version 2>/dev/null | head -n 1 | tr -d ' ') (TURN/UDP)" \
	"$(field rate "$turn")" "$(field cpu "$turn")" "$(field per_core "$turn")"
awk -v a="$(field per_core "$roam")" -v b="$(field per_core "$turn")" -v r="$(field rate "$roam")" \
	-v t="$(field rate "$turn")" 'BEGIN {
	if (b > 0 && t > 0) printf "roam / coturn: %.2f per core, %.2f absolute (goal: >= 3 per core)\n", a / b, r / t
}'
if [ -n "${VERBOSE:-}" ]; then
	for f in "$d"/*.out; do
		echo "--- $(basename "$f")"
		cat "$f"
	done
fi
