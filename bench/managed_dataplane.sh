#!/usr/bin/env bash
# What a change costs managed mode's data path: in one run, on the same lab
# links, iperf3 TCP (1 and 4 streams) and ping RTT between two public managed
# nodes on a direct path, with
#   - roamd as it is,
#   - roamd from BASELINE_BUILD (a build of an earlier commit: 20ca529, the
#     last one before privilege separation; cf126fb, the last before the
#     path layer), against the same roam-server,
# in ROUNDS rounds (3) that alternate the two, then the ratios of the
# medians (new / baseline).
#
#   p1 (site p, public) ---- lab internet ---- q1 (site q, public)
#                              server: roam-server
#
# Usage: sudo BASELINE_BUILD=/path/to/old/build [ROUNDS=3] bench/managed_dataplane.sh [SECONDS]
# Uses the release build in build/ for roam-server and the new roamd.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
base=${BASELINE_BUILD:?set BASELINE_BUILD to the build directory of the commit to compare with}
[ -x "$base/daemon/roamd" ] && [ -x "$base/cli/roam" ] || { echo "no roamd/roam in $base" >&2; exit 2; }
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
d=$(roam_dir)

# run LABEL ROAMD ROAM: both nodes on these binaries; prints "1-stream 4-stream rtt".
run() {
	local label=$1 roamd=$2 roam=$3 h B
	for h in p1 q1; do
		lab_spawn "$h" "roamd-$label-$h" "$roamd" --state-dir "$d/$label-$h" -s "$d/$label-$h.sock" -i roam0 >/dev/null
		wait_for 10 "roamd $label in $h" test -S "$d/$label-$h.sock"
		lab_exec "$h" "$roam" up --server "$COORD_URL" --token "$tok" --name "$label-$h" --socket "$d/$label-$h.sock" >/dev/null
	done
	B=$(lab_exec q1 "$roam" status --json --socket "$d/$label-q1.sock" | jq -r '.managed.ipv4' | cut -d/ -f1)
	wait_for 10 "$label: p1 reaches q1" ping_ok p1 "$B"
	# Traffic starts on the relay and moves to the direct path within
	# about a second (the path layer): measure the direct path only.
	wait_for 10 "$label: direct path" test "$(lab_exec p1 "$roam" status --json --socket "$d/$label-p1.sock" |
		jq -r --arg q "$label-q1" '.peers[] | select(.name == $q) | .path')" = direct
	lab_spawn q1 "iperf3-$label" iperf3 -s >/dev/null
	wait_for 5 "iperf3 server" lab_exec q1 sh -c "ss -ltn | grep -q ':5201'"
	local one four rtt
	one=$(lab_exec p1 iperf3 -c "$B" -P 1 -t "$secs" -J | jq '.end.sum_received.bits_per_second / 1e9')
	four=$(lab_exec p1 iperf3 -c "$B" -P 4 -t "$secs" -J | jq '.end.sum_received.bits_per_second / 1e9')
	rtt=$(lab_exec p1 ping -q -c 50 -i 0.02 "$B" | awk -F/ '/rtt/{print $5}')
	lab_stop "iperf3-$label"
	for h in p1 q1; do lab_stop "roamd-$label-$h"; done
	echo "$one $four $rtt"
}

# ROUNDS rounds, alternating, the median of each figure (a shared machine).
rounds=${ROUNDS:-3}
: >"$d/new.txt"
: >"$d/base.txt"
for ((i = 1; i <= rounds; i++)); do
	run "new$i" "$ROAMD" "$ROAM" >>"$d/new.txt"
	run "base$i" "$base/daemon/roamd" "$base/cli/roam" >>"$d/base.txt"
	echo "round $i of $rounds done" >&2
done
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
n1=$(col "$d/new.txt" 1) n4=$(col "$d/new.txt" 2) nr=$(col "$d/new.txt" 3)
b1=$(col "$d/base.txt" 1) b4=$(col "$d/base.txt" 2) br=$(col "$d/base.txt" 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
printf '\n%-26s %12s %12s %12s\n' "managed roamd, direct" "1 stream" "4 streams" "ping RTT"
printf '%-26s %9.2f Gb %9.2f Gb %9.3f ms\n' "this build" "$n1" "$n4" "$nr"
printf '%-26s %9.2f Gb %9.2f Gb %9.3f ms\n' "baseline ($(basename "$(dirname "$base")"))" "$b1" "$b4" "$br"
printf '\nthis build / baseline: 1 stream %s, 4 streams %s, RTT %s\n' "$(ratio "$n1" "$b1")" "$(ratio "$n4" "$b4")" "$(ratio "$nr" "$br")"
printf '(%s s per measurement, median of %s rounds, %s, %s cores)\n' "$secs" "$rounds" "$(uname -r)" "$(nproc)"
