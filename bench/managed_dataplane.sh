#!/usr/bin/env bash
# What privilege separation costs managed mode's data path: in one run, on
# the same lab links, iperf3 TCP (1 and 4 streams) and ping RTT between two
# public managed nodes on a direct path, with
#   - roamd as it is (data plane in the monitor, managed mode in the agent),
#   - roamd from BASELINE_BUILD (a build of an earlier commit, e.g. 20ca529,
#     the last one before the split), against the same roam-server,
# then the ratios (new / baseline).
#
#   p1 (site p, public) ---- lab internet ---- q1 (site q, public)
#                              server: roam-server
#
# Usage: sudo BASELINE_BUILD=/path/to/old/build bench/managed_dataplane.sh [SECONDS]
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

read -r n1 n4 nr < <(run new "$ROAMD" "$ROAM")
read -r b1 b4 br < <(run base "$base/daemon/roamd" "$base/cli/roam")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
printf '\n%-26s %12s %12s %12s\n' "managed roamd, direct" "1 stream" "4 streams" "ping RTT"
printf '%-26s %9.2f Gb %9.2f Gb %9.3f ms\n' "split (this build)" "$n1" "$n4" "$nr"
printf '%-26s %9.2f Gb %9.2f Gb %9.3f ms\n' "baseline ($(basename "$(dirname "$base")"))" "$b1" "$b4" "$br"
printf '\nsplit / baseline: 1 stream %s, 4 streams %s, RTT %s\n' "$(ratio "$n1" "$b1")" "$(ratio "$n4" "$b4")" "$(ratio "$nr" "$br")"
printf '(%s s per measurement, %s, %s cores)\n' "$secs" "$(uname -r)" "$(nproc)"
