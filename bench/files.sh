#!/usr/bin/env bash
# Online push (roam push) against iperf3 through the same tunnel, in the
# same run: two public managed nodes on a direct path, ROUNDS rounds (3)
# that alternate a push of SIZE_MB (default 200) and a 1-stream iperf3 TCP
# run of about the same length; then the medians and their ratio (the goal
# is push >= 90 % of iperf3), and the receiving file worker's RSS after
# pushes of 20 MB and SIZE_MB (flat: it streams, no whole-file buffers).
# Then the offline push: q1 stopped, SIZE_MB uploaded into the server's
# cache (rate, the server's CPU time per GB, its RSS after 20 MB and after
# SIZE_MB), q1 started: the time until p1 sees "delivered" (download,
# decryption and receipt).
#
#   p1 (site p, public) ---- lab internet ---- q1 (site q, public)
#                              server: roam-server
#
# With RATES (Mbit/s, e.g. RATES="100 300 1000"), after the unshaped rounds
# p1's link is held to each rate in turn (tc tbf on both ends, lab_rate) and
# ROUNDS pushes and ROUNDS iperf3 runs go through the same tunnel, in turn;
# per rate: the medians of iperf3 and of the push's own transfer (the
# sender's log: offer answered to result received, not the CLI's start-up),
# their ratio and the CPU seconds per GB of both nodes (tunnels + workers).
#
# Usage: sudo [ROUNDS=3] [SIZE_MB=200] [RATES="100 300 1000"]
#             [ONLINE_ONLY=1 | OFFLINE_ONLY=1 (the offline push alone)] bench/files.sh
# The lab and its files live on tmpfs (/dev/shm unless LAB_RUN_ROOT says
# otherwise: /run is not always one), so the disk is not what is measured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
export LAB_RUN_ROOT=${LAB_RUN_ROOT:-/dev/shm/roam-lab}
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"
size=${SIZE_MB:-200}
rounds=${ROUNDS:-3}

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
d=$(roam_dir)
for h in p1 q1; do
	coord_node "$h"
	coord_join "$h" "$tok" >/dev/null
done
Q=$(coord_addr4 q1)
wait_for 10 "p1 reaches q1" ping_ok p1 "$Q"
direct() { [ "$(coord_peer p1 q1 path)" = direct ]; }
wait_for 10 "direct path" direct
lab_spawn q1 iperf3 iperf3 -s >/dev/null
wait_for 5 "iperf3 server" lab_exec q1 sh -c "ss -ltn | grep -q ':5201'"
head -c $((size * 1000000)) /dev/urandom >"$d/big.bin"
head -c 20000000 /dev/urandom >"$d/small.bin"

# push FILE: seconds and bytes of one push (the summary line), the copy removed after.
push_mbps() {
	local out
	out=$(lab_exec p1 "$ROAM" push --json --socket "$d/p1.sock" "$1" q1 | jq -c 'select(.event == "summary")')
	rm -f "$d"/st-q1/inbox/p1/*
	jq -r '.bytes * 8 / .seconds / 1e6' <<<"$out"
}
# CPU seconds (user + system) so far of both nodes' roamd (the tunnel) and
# of their file workers (pushes): "tunnel workers". Robust where rates are
# not: a loaded machine stretches the time, not the CPU a byte costs.
node_cpu() {
	local n p t=0 w=0
	for n in p1 q1; do
		p=$(cat "$(lab_rundir)/pid/roamd-$n.pid")
		t=$(awk -v a="$t" '{print a + ($14 + $15) / 100}' "/proc/$p/stat")
		for c in $(pgrep -P "$p" -f '^roamd-files'); do
			w=$(awk -v a="$w" '{print a + ($14 + $15) / 100}' "/proc/$c/stat")
		done
	done
	echo "$t $w"
}
# The receiver's file worker: roamd-q1's child named roamd-files.
worker_rss() { ps -o rss= -p "$(pgrep -P "$(cat "$(lab_rundir)/pid/roamd-q1.pid")" -f '^roamd-files')"; }

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# The rate of the newest push of big.bin in the sender's log: its transfer alone.
last_transfer() {
	grep -oE 'big.bin to q1: delivered \((hashing|identity) [0-9.]* s; [0-9]* bytes in [0-9.]* s, [0-9]* Mbit/s' \
		"$(lab_log_file roamd-p1)" | tail -n 1 | awk '{print $13}'
}
transfers() { grep -c 'big.bin to q1: delivered' "$(lab_log_file roamd-p1)" || true; }
new_transfer() { [ "$(transfers)" -gt "$n" ]; } # n: rate_rounds' count before the push
# RATES: per rate, ROUNDS pushes and iperf3 runs on p1's link held to it.
rate_rounds() {
	local r i n t0 w0 t1 w1 secs
	printf '\n%-10s %14s %14s %14s %8s %14s %6s\n' "link" "iperf3" "push" "push, e2e" "ratio" "push CPU s/GB" "load"
	for r in $RATES; do
		lab_rate p1 "${r}mbit"
		: >"$d/r-push.txt"
		: >"$d/r-e2e.txt"
		: >"$d/r-iperf.txt"
		: >"$d/r-cpu.txt"
		for ((i = 1; i <= rounds; i++)); do
			n=$(transfers)
			read -r t0 w0 < <(node_cpu)
			push_mbps "$d/big.bin" >>"$d/r-e2e.txt"
			read -r t1 w1 < <(node_cpu)
			awk -v s="$size" -v a="$t0" -v b="$t1" -v x="$w0" -v y="$w1" \
				'BEGIN{print (b - a + y - x) / (s / 1000)}' >>"$d/r-cpu.txt"
			# The log line is written as the result arrives; wait for it.
			wait_for 5 "the push's log line" new_transfer
			last_transfer >>"$d/r-push.txt"
			secs=$(awk -v m="$(tail -n 1 "$d/r-push.txt")" -v s="$size" 'BEGIN{t = s * 8 / m; print (t < 3 ? 3 : int(t + 0.5))}')
			lab_exec p1 iperf3 -c "$Q" -P 1 -t "$secs" -J >"$d/iperf.json"
			jq '.end.sum_received.bits_per_second / 1e6' "$d/iperf.json" >>"$d/r-iperf.txt"
			echo "${r} Mbit/s, round $i of $rounds: push $(tail -n 1 "$d/r-push.txt"), iperf3 $(tail -n 1 "$d/r-iperf.txt") Mbit/s, load $(cut -d' ' -f1 /proc/loadavg)" >&2
		done
		lab_rate p1 off
		printf '%-10s %14.0f %14.0f %14.0f %8.2f %14.2f %6s\n' "$r Mbit/s" "$(median <"$d/r-iperf.txt")" \
			"$(median <"$d/r-push.txt")" "$(median <"$d/r-e2e.txt")" \
			"$(awk -v a="$(median <"$d/r-push.txt")" -v b="$(median <"$d/r-iperf.txt")" 'BEGIN{print a / b}')" \
			"$(median <"$d/r-cpu.txt")" "$(cut -d' ' -f1 /proc/loadavg)"
	done
	printf '(p1 link held with tc tbf; push: its transfer alone (sender log), e2e: roam push start to summary; median of %s rounds)\n' "$rounds"
}

if [ -z "${OFFLINE_ONLY:-}" ]; then
	: >"$d/push.txt"
	: >"$d/iperf.txt"
	: >"$d/cpu.txt"
	for ((i = 1; i <= rounds; i++)); do
		read -r t0 w0 < <(node_cpu)
		push_mbps "$d/big.bin" >>"$d/push.txt"
		read -r t1 w1 < <(node_cpu)
		secs=$(awk -v m="$(tail -n 1 "$d/push.txt")" -v s="$size" 'BEGIN{t = s * 8 / m; print (t < 2 ? 2 : int(t + 0.5))}')
		lab_exec p1 iperf3 -c "$Q" -P 1 -t "$secs" -J >"$d/iperf.json"
		read -r t2 _ < <(node_cpu)
		jq '.end.sum_received.bits_per_second / 1e6' "$d/iperf.json" >>"$d/iperf.txt"
		# CPU seconds per GB: push tunnel, push workers, iperf3 tunnel
		awk -v s="$size" -v a="$t0" -v b="$t1" -v c="$t2" -v x="$w0" -v y="$w1" \
			-v g="$(jq '.end.sum_received.bytes / 1e9' "$d/iperf.json")" \
			'BEGIN{print (b - a) / (s / 1000), (y - x) / (s / 1000), (c - b) / g}' >>"$d/cpu.txt"
		echo "round $i of $rounds: push $(tail -n 1 "$d/push.txt"), iperf3 $(tail -n 1 "$d/iperf.txt") Mbit/s, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	done
	push_mbps "$d/small.bin" >/dev/null
	rss_small=$(worker_rss)
	push_mbps "$d/big.bin" >/dev/null
	rss_big=$(worker_rss)

	# The sender's own split: what it does before the offer (a build that
	# hashes the file first logs "hashing", one that hashes while it sends
	# logs "identity": head and tail only), then the bytes on the wire.
	grep -oE 'big.bin to q1: delivered \((hashing|identity) [0-9.]* s; [0-9]* bytes in [0-9.]* s, [0-9]* Mbit/s' \
		"$(lab_log_file roamd-p1)" | head -n "$rounds" | awk '{print $6, $13}' >"$d/split.txt"
	h=$(awk '{print $1}' "$d/split.txt" | median)
	w=$(awk '{print $2}' "$d/split.txt" | median)
	p=$(median <"$d/push.txt")
	f=$(median <"$d/iperf.txt")
	printf '\n%-34s %10s\n' "p1 -> q1, direct path" "Mbit/s"
	printf '%-34s %10.0f\n' "roam push, $size MB" "$p"
	printf '%-34s %10.0f\n' "  of which the transfer alone" "$w"
	printf '%-34s %10.0f\n' "iperf3, 1 TCP stream" "$f"
	printf 'push / iperf3: %s end to end (before the offer: %s s), %s for the transfer alone\n' \
		"$(awk -v a="$p" -v b="$f" 'BEGIN{printf "%.2f", a / b}')" "$h" "$(awk -v a="$w" -v b="$f" 'BEGIN{printf "%.2f", a / b}')"
	printf 'CPU s/GB: push %s in the tunnels + %s in the file workers; iperf3 %s in the tunnels\n' \
		"$(awk '{print $1}' "$d/cpu.txt" | median)" "$(awk '{print $2}' "$d/cpu.txt" | median)" \
		"$(awk '{print $3}' "$d/cpu.txt" | median)"
	printf 'receiving file worker RSS: %s kB after 20 MB, %s kB after %s MB\n' "$rss_small" "$rss_big" "$size"
	printf '(median of %s rounds, %s, %s cores)\n' "$rounds" "$(uname -r)" "$(nproc)"
	[ -z "${RATES:-}" ] || rate_rounds
fi
[ -z "${ONLINE_ONLY:-}" ] || exit 0

# ---- offline: through the server's cache ----
srv_pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$srv_pid/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$srv_pid/status"; }
lab_stop roamd-q1
offline() { [ "$(coord_peer p1 q1 online)" = false ]; }
wait_for 15 "q1 offline" offline
# offline_push FILE: seconds to "queued"; prints "seconds id"
offline_push() {
	local t0 out
	t0=$(date +%s.%N)
	out=$(lab_exec p1 "$ROAM" push --json --socket "$d/p1.sock" "$1" q1)
	echo "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}') $(jq -r 'select(.event == "queued") | .id' <<<"$out")"
}
read -r _ small_id < <(offline_push "$d/small.bin")
rss_small_srv=$(rss_kb)
c0=$(cpu_s)
read -r up_s big_id < <(offline_push "$d/big.bin")
c1=$(cpu_s)
rss_big_srv=$(rss_kb)
t0=$(date +%s.%N)
coord_node q1
delivered() { lab_exec p1 "$ROAM" files --json --socket "$d/p1.sock" | jq -e --arg id "$big_id" '.[] | select(.id == $id and .state == "delivered")' >/dev/null; }
wait_for 600 "delivered" delivered
down_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
c2=$(cpu_s)
printf '\noffline push of %s MB through roam-server (p1 -> cache -> q1)\n' "$size"
printf '  upload (hash, encrypt, 1 MiB PUTs):   %6.1f s, %5.0f Mbit/s; server CPU %.2f s/GB\n' "$up_s" \
	"$(awk -v s="$size" -v t="$up_s" 'BEGIN{print s * 8 / t}')" "$(awk -v a="$c0" -v b="$c1" -v s="$size" 'BEGIN{print (b - a) / (s / 1000)}')"
printf '  q1 back to delivered (1 MiB GETs):    %6.1f s, %5.0f Mbit/s; server CPU %.2f s/GB\n' "$down_s" \
	"$(awk -v s="$size" -v t="$down_s" 'BEGIN{print s * 8 / t}')" "$(awk -v a="$c1" -v b="$c2" -v s="$size" 'BEGIN{print (b - a) / (s / 1000)}')"
printf '  roam-server RSS: %s kB after a 20 MB upload, %s kB after %s MB\n' "$rss_small_srv" "$rss_big_srv" "$size"
: "$small_id"

[ -z "${OFFLINE_ONLY:-}" ] || exit 0
# ---- multi-source pull: the pull code in one process, holders paced (docs/performance.md) ----
printf '\nmulti-source pull (bench/files_pull.c, loopback, holders paced)\n'
"$ROAM_BUILD_DIR/bench/files_pull" 64 80 3
# ---- multi-source pull through roamd: bench/files_pull.sh (a lab of its own: 4 nodes, tc per holder) ----
[ -n "${ONLINE_ONLY:-}" ] || { lab_down >/dev/null 2>&1 || true; env -u LAB_ID bash "$root/bench/files_pull.sh"; }
