#!/usr/bin/env bash
# Multi-source pull through real roamd nodes (roam pull, issue 11): p4
# pulls SIZE_MB (default 60) that p1 publishes, first while p1 alone holds
# it, then once p2 and p3 hold it too (they pulled it); each holder's link
# rate-limited with tc tbf to RATE (default 50mbit) both times, ROUNDS
# pulls (3) of each, in the same run. Prints the medians (wall time of
# `roam pull`, and the transfer's own rate from its last event) and their
# ratio (the goal is >= 2x from 3 holders).
#
#   p1 publisher --+
#   p2 holder    --+-- lab internet --- p4 puller     (each holder: RATE)
#   p3 holder    --+
#
# Usage: sudo [ROUNDS=3] [SIZE_MB=60] [RATE=50mbit] bench/files_pull.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"
size=${SIZE_MB:-60}
rounds=${ROUNDS:-3}
rate=${RATE:-50mbit}

lab_up p:public:4 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
d=$(roam_dir)
for h in p1 p2 p3 p4; do
	coord_node "$h"
	coord_join "$h" "$tok" >/dev/null
done
online() { [ "$(coord_peer "$1" "$2" online)" = true ]; }
for h in p1 p2 p3; do wait_for 20 "p4 sees $h" online p4 $h; done
run=$(lab_rundir)
chmod 755 "$run"
mkdir -p -m 755 "$run/pub"
head -c $((size * 1000000)) /dev/urandom >"$run/pub/big.bin"
chmod 644 "$run/pub/big.bin"
lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" "$run/pub" >/dev/null
published() { grep -q "published .*/pub (1 files)" "$(lab_log_file roamd-p1)"; }
wait_for 30 "p1 published" published

# pull HOST DEST [keep]: "seconds rate_MBps sources" of one pull into DEST
# (fresh), removed after unless kept (a deleted file is no longer served).
pull() {
	local t0 out
	mkdir -m 1777 "$2"
	t0=$(date +%s%N)
	out=$(lab_exec "$1" "$ROAM" pull --json --socket "$d/$1.sock" p1 big.bin "$2" | tail -n 1)
	[ "$(jq -r .event <<<"$out")" = received ] || { echo "pull failed: $out" >&2; exit 1; }
	awk -v a="$t0" -v b="$(date +%s%N)" -v r="$(jq -r .rate <<<"$out")" -v n="$(jq '.sources | length' <<<"$out")" \
		'BEGIN { printf "%.2f %.2f %d\n", (b - a) / 1e9, r / 1e6, n }'
	[ "${3:-}" = keep ] || rm -rf "$2"
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

lab_rate p1 "$rate"
: >"$d/one.txt"
for ((i = 1; i <= rounds; i++)); do
	pull p4 "$run/one$i" >>"$d/one.txt"
	echo "one holder: round $i of $rounds done" >&2
done
lab_rate p1 off
pull p2 "$run/h2" keep >/dev/null # p2 and p3 hold it from now on (pulled files are served)
pull p3 "$run/h3" keep >/dev/null
for h in p1 p2 p3; do lab_rate "$h" "$rate"; done
: >"$d/three.txt"
for ((i = 1; i <= rounds; i++)); do
	pull p4 "$run/three$i" >>"$d/three.txt"
	echo "three holders: round $i of $rounds done" >&2
done
for h in p1 p2 p3; do lab_rate "$h" off; done

t1=$(awk '{print $1}' "$d/one.txt" | median)
t3=$(awk '{print $1}' "$d/three.txt" | median)
r1=$(awk '{print $2}' "$d/one.txt" | median)
r3=$(awk '{print $2}' "$d/three.txt" | median)
printf '\nroam pull of %s MB, each holder at %s (medians of %s)\n' "$size" "$rate" "$rounds"
printf '%-22s %10s %14s %8s\n' "" "seconds" "transfer MB/s" "sources"
printf '%-22s %10.2f %14.2f %8d\n' "1 holder (p1)" "$t1" "$r1" "$(awk '{print $3}' "$d/one.txt" | median)"
printf '%-22s %10.2f %14.2f %8d\n' "3 holders (p1 p2 p3)" "$t3" "$r3" "$(awk '{print $3}' "$d/three.txt" | median)"
printf '%-22s %10.2fx %13.2fx\n' "speed-up" "$(awk -v a="$t1" -v b="$t3" 'BEGIN{print a / b}')" \
	"$(awk -v a="$r3" -v b="$r1" 'BEGIN{print a / b}')"
