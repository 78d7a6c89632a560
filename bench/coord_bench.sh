#!/usr/bin/env bash
# Coordination-server benchmark: for 10, 1 000 and 10 000 simulated nodes
# (bench/coord_sim, one process, non-blocking) against one roam-server on
# loopback, the time from a node's address change (a BINDING from a new
# source port) until every member of its group has the new endpoint on its
# stream, and the server's CPU time and peak RSS over the whole run
# (registration of every node included). Groups of 100 (closed user groups;
# one group of N would make the first "peers" line O(N) per node, O(N^2)
# in total). Prints a table; leaves nothing behind.
#
#   bench/coord_bench.sh [NODES...]          (default: 10 1000 10000)
# Environment: ROAM_BUILD_DIR (default ./build), COORD_BENCH_GROUP (100),
# COORD_BENCH_MOVES (5), COORD_BENCH_PORT (18443).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${ROAM_BUILD_DIR:-$root/build}
server=$build/server/roam-server
sim=$build/bench/coord_sim
group=${COORD_BENCH_GROUP:-100}
moves=${COORD_BENCH_MOVES:-5}
port=${COORD_BENCH_PORT:-18443}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 1000 10000)
for bin in "$server" "$sim"; do
	[ -x "$bin" ] || { echo "coord_bench: $bin not built" >&2; exit 1; }
done

work=$(mktemp -d /tmp/roam-coord-bench.XXXXXX)
srv_pid=
cleanup() {
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '%-7s %-7s %-9s %-12s %-10s %-10s %-12s %-10s\n' nodes groups setup_s move_med_ms move_max_ms \
	server_cpu_s cpu_per_node_ms server_rss_mb
for n in "${sizes[@]}"; do
	state=$work/state-$n
	"$server" init --state "$state" --host 127.0.0.1 --port "$port" >/dev/null
	g=$group
	[ "$n" -ge "$g" ] || g=$n
	ngroups=$(( (n + g - 1) / g ))
	: >"$work/tokens"
	for ((i = 0; i < ngroups; i++)); do
		"$server" groups create "g$i" --state "$state" >/dev/null
		"$server" keys create --reusable --group "g$i" --state "$state" |
			grep -o 'roam1\.[A-Za-z0-9_-]*' >>"$work/tokens"
	done
	# All simulated nodes share one address: lift the per-source cap (docs/security.md).
	"$server" run --state "$state" --log-level error --max-connections-per-source 1000000 >/dev/null 2>&1 &
	srv_pid=$!
	for _ in $(seq 50); do
		curl -skf --max-time 1 "https://127.0.0.1:$port/v1/info" >/dev/null 2>&1 && break
		sleep 0.1
	done
	t0=$(cpu_ticks "$srv_pid")
	if ! out=$(timeout 170 "$sim" bench --server "127.0.0.1:$port" --tokens "$work/tokens" --nodes "$n" \
		--group-size "$g" --moves "$moves" 2>"$work/sim.err"); then
		echo "coord_bench: $n nodes failed: $(tail -3 "$work/sim.err") $out" >&2
	fi
	t1=$(cpu_ticks "$srv_pid")
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$srv_pid/status")
	kill "$srv_pid"
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=
	field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$out"; }
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')
	printf '%-7s %-7s %-9s %-12s %-10s %-10s %-12s %-10s\n' "$n" "$ngroups" "$(field setup_s)" \
		"$(field median_ms)" "$(field max_ms)" "$cpu" \
		"$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.2f", c * 1000 / n}')" \
		"$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
	rm -rf "$state"
done
