#!/usr/bin/env bash
# Paths benchmark (issue 9, section 5): for each pair of site kinds of the
# path matrix (tests/integration/t_paths_matrix.sh, same lab and pairs:
# paths_lib.sh), TRIES tries with fresh nodes (new keys, new groups), all 36
# pairs of a try at once. Per pair kind:
#   connected  share of tries where pings went both ways at the end;
#   direct     share of tries ending on a direct path on both sides;
#   first      ms from both nodes online (the later `roam up` returned: the
#              node is registered and has its addresses; how long `roam up`
#              took is printed too) to the first ping answered (a1 -> b1,
#              every 50 ms from then on; via the relay or direct, whichever
#              carried it): median / p90;
#   to direct  ms from both online to the later side's direct path becoming
#              active (active_path.since_ms): median / p90 over the tries
#              that went direct;
# and per node kind, the PINGs and extra sockets a node's hard-NAT traversal
# (birthday probing) used per try, from its status ("hard_nat"). Beside each row
# the goals: 100 % connected; direct in every pair with at most one
# per-destination NAT (symmetric, dual's IPv4; upnp has a port mapping);
# first packet within 1 s; direct within 2 s median.
# Not part of the test suite: run it by hand; figures go in
# docs/performance.md ("Paths").
#
#   sudo bench/paths.sh [--quick] [TRIES]     (10 tries; --quick: 2)
#
# Environment: ROAM_BUILD_DIR (default build/), WAIT_S (40: how long a try
# waits for its direct paths).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tries=10
if [ "${1:-}" = --quick ]; then
	tries=2
	shift
fi
tries=${1:-$tries}
WAIT_S=${WAIT_S:-40}
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
[ "$(id -u)" -eq 0 ] || { echo "paths.sh: run as root (the lab builds network namespaces)" >&2; exit 2; }
[ -x "$ROAM_BUILD_DIR/daemon/roamd" ] || { echo "build roam first (meson setup build && ninja -C build)" >&2; exit 2; }
# shellcheck source=../tests/integration/paths_lib.sh
source "$root/tests/integration/paths_lib.sh"
# Hard-NAT traversal's counters in `roam status --json` (null if roamd has
# none): PINGs its birthday attempts sent, extra sockets they opened, and
# attempts won. Ordinary path probes have no counter.
PROBES_JQ='.hard_nat.probes_sent // null'
SOCKETS_JQ='.hard_nat.sockets_opened // null'
WON_JQ='.hard_nat.won // null'

# shellcheck disable=SC2046 # one word per site
lab_up $(paths_matrix_specs) >/dev/null
lab_trap
coord_server_up
d=$(roam_dir)
read -r -a hosts <<<"$(paths_matrix_hosts | tr '\n' ' ')"
mapfile -t pairs < <(paths_matrix_pairs)
per_dest() { case $1 in symmetric | dual) return 0 ;; *) return 1 ;; esac; }
# goal_direct I J: the goal is a direct path, unless both map per
# destination with no port mapping and no IPv6 between them (dual x dual
# has IPv6).
goal_direct() {
	! per_dest "${PATHS_KINDS[$1]}" || ! per_dest "${PATHS_KINDS[$2]}" ||
		[ "${PATHS_KINDS[$1]}${PATHS_KINDS[$2]}" = dualdual ]
}
results=$d/results.txt # try i j connected direct first_ms direct_ms
counters=$d/counters.txt # try host-kind probes sockets won
: >"$results"
: >"$counters"

# run_try N: one try, its rows appended to $results and $counters.
run_try() {
	local try=$1 h pr i j a b tok t0 first ms since other joined_a joined_b joined out addr
	declare -A groups_of=() direct_ms=()
	for h in "${hosts[@]}"; do
		lab_spawn "$h" "roamd-$h-$try" "$ROAMD" --state-dir "$d/st-$h-$try" -s "$d/$h.sock" >/dev/null
	done
	for h in "${hosts[@]}"; do wait_for 10 "roamd in $h" test -S "$d/$h.sock"; done
	for pr in "${pairs[@]}"; do
		read -r i j a b <<<"$pr"
		coord_srv groups create "t$try-$a-$b" >/dev/null
		groups_of[$a]+=" --group t$try-$a-$b"
		groups_of[$b]+=" --group t$try-$a-$b"
	done
	for h in "${hosts[@]}"; do
		# shellcheck disable=SC2086 # the --group options
		tok=$(coord_token ${groups_of[$h]})
		date +%s%3N >"$d/start-$h"
		# A new name each try: the server keeps the old nodes (offline).
		{
			out=$(lab_exec "$h" "$ROAM" up --server "$COORD_URL" --token "$tok" --name "${h}t$try" --socket "$d/$h.sock" 2>&1) &&
				echo "$(date +%s%3N) $(echo "$out" | grep -o ' 100\.[0-9.]*' | head -n 1)" >"$d/joined-$h"
		} &
	done
	# Each pair's first ping leaves as soon as both its nodes have joined.
	for pr in "${pairs[@]}"; do
		read -r i j a b <<<"$pr"
		{
			wait_until 20 test -e "$d/joined-$a" -a -e "$d/joined-$b" || exit 0
			read -r _ addr <"$d/joined-$b"
			lab_exec "$a" ping -D -n -i 0.05 -c 1 -w "$WAIT_S" "$addr" >"$d/first-$a-$b" 2>&1
		} &
	done
	t0=$SECONDS
	while ((SECONDS - t0 < WAIT_S)); do
		paths_snapshot "$d" "${hosts[@]}"
		local waiting=0
		for pr in "${pairs[@]}"; do
			read -r i j a b <<<"$pr"
			[ -z "${direct_ms[$a-$b]:-}" ] || continue
			if [ "${PATHS_CLS[$a:${b}t$try]:-}" = direct ] && [ "${PATHS_CLS[$b:${a}t$try]:-}" = direct ]; then
				since=${PATHS_SINCE[$a:${b}t$try]} other=${PATHS_SINCE[$b:${a}t$try]}
				((other < since)) || since=$other
				direct_ms[$a-$b]=$since
			elif goal_direct "$i" "$j"; then
				waiting=1
			fi
		done
		((waiting)) || break
		sleep 1
	done
	wait # the first-packet pings
	# Both ways at the end, all pairs at once.
	for pr in "${pairs[@]}"; do
		read -r i j a b <<<"$pr"
		{
			lab_exec "$a" ping -c 2 -i 0.2 -W 1 -w 4 "$(jq -r .managed.ipv4 "$d/st-$b.json" | cut -d/ -f1)" >/dev/null 2>&1 &&
				lab_exec "$b" ping -c 2 -i 0.2 -W 1 -w 4 "$(jq -r .managed.ipv4 "$d/st-$a.json" | cut -d/ -f1)" >/dev/null 2>&1 &&
				touch "$d/both-$a-$b"
		} &
	done
	wait
	paths_snapshot "$d" "${hosts[@]}"
	for pr in "${pairs[@]}"; do
		read -r i j a b <<<"$pr"
		read -r joined_a _ <"$d/joined-$a" || joined_a=0
		read -r joined_b _ <"$d/joined-$b" || joined_b=0
		((joined_b < joined_a)) || joined_a=$joined_b
		first=$(awk -F'[][]' '/bytes from/ { printf "%.0f", $2 * 1000; exit }' "$d/first-$a-$b" 2>/dev/null)
		ms=-
		[ -z "$first" ] || ms=$((first > joined_a ? first - joined_a : 0))
		local connected=0 direct=0 dms=-
		[ ! -e "$d/both-$a-$b" ] || connected=1
		if [ "${PATHS_CLS[$a:${b}t$try]:-}" = direct ] && [ "${PATHS_CLS[$b:${a}t$try]:-}" = direct ]; then
			direct=1
			[ -z "${direct_ms[$a-$b]:-}" ] || dms=$((direct_ms[$a-$b] > joined_a ? direct_ms[$a-$b] - joined_a : 0))
		fi
		echo "$try $i $j $connected $direct $ms $dms" >>"$results"
		[ -z "${VERBOSE:-}" ] || echo "try $try $a x $b: both online at $joined_a, first reply at ${first:-never}, direct since ${direct_ms[$a-$b]:-never}" >&2
		rm -f "$d/both-$a-$b" "$d/first-$a-$b"
	done
	for h in "${hosts[@]}"; do
		echo "$try ${h%??} $(jq "$PROBES_JQ" "$d/st-$h.json") $(jq "$SOCKETS_JQ" "$d/st-$h.json") $(jq "$WON_JQ" "$d/st-$h.json")" >>"$counters"
		read -r joined _ <"$d/joined-$h" || joined=0
		echo $((joined - $(cat "$d/start-$h"))) >>"$d/upms.txt"
		lab_stop "roamd-$h-$try"
		rm -f "$d/joined-$h" "$d/start-$h"
	done
}

for ((t = 1; t <= tries; t++)); do
	run_try "$t"
	echo "try $t of $tries done ($(awk -v t="$t" '$1 == t && $5 == 1' "$results" | wc -l) of ${#pairs[@]} pairs direct)" >&2
done
[ -z "${RAW:-}" ] || cp "$results" "$RAW" # try i j connected direct first_ms direct_ms

# stats: "median/p90" (nearest rank) of the numbers on stdin, "-" if none.
stats() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
	m = int((NR + 1) / 2); p = int(NR * 0.9 + 0.999); print v[m] "/" v[p] }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

printf '\nPaths: %d tries per pair kind, %s\n' "$tries" "$(date -u +%F)"
printf '%-31s %9s %7s %13s %15s  %s\n' "pair" "connected" "direct" "first ms" "to direct ms" "goals (100 %, direct, first < 1 s, direct < 2 s median)"
for pr in "${pairs[@]}"; do
	read -r i j a b <<<"$pr"
	rows=$(awk -v i="$i" -v j="$j" '$2 == i && $3 == j' "$results")
	conn=$(echo "$rows" | awk '{ s += $4 } END { printf "%d", 100 * s / NR }')
	dir=$(echo "$rows" | awk '{ s += $5 } END { printf "%d", 100 * s / NR }')
	first=$(echo "$rows" | awk '$6 != "-" { print $6 }' | stats)
	todirect=$(echo "$rows" | awk '$7 != "-" { print $7 }' | stats)
	want_direct=0
	! goal_direct "$i" "$j" || want_direct=1
	miss=()
	[ "$conn" -eq 100 ] || miss+=("connected $conn %")
	if ((want_direct)); then
		[ "$dir" -eq 100 ] || miss+=("direct $dir %")
		m=$(echo "$rows" | awk '$7 != "-" { print $7 }' | median)
		[ -n "$m" ] && [ "$m" -le 2000 ] || miss+=("direct median ${m:--}")
	fi
	worst=$(echo "$rows" | awk '$6 != "-" { print $6 }' | sort -n | tail -n 1)
	[ -n "$worst" ] && [ "$worst" -le 1000 ] && [ "$(echo "$rows" | awk '$6 == "-"' | wc -l)" -eq 0 ] ||
		miss+=("first packet ${worst:--} ms")
	goal="ok"
	[ ${#miss[@]} -eq 0 ] || goal="MISS: $(IFS=,; echo "${miss[*]}")"
	((want_direct)) || goal="$goal (relayed expected)"
	printf '%-31s %8s%% %6s%% %13s %15s  %s\n' "${PATHS_KINDS[i]} x ${PATHS_KINDS[j]}" "$conn" "$dir" "$first" "$todirect" "$goal"
done
printf '\nroam up took %s ms (median/p90)\n' "$(stats <"$d/upms.txt")"
printf '\nHard-NAT traversal per node and try (a node serves 4-5 pairs), median/p90: PINGs sent, extra sockets opened, attempts won\n'
for k in "${PATHS_KINDS[@]}"; do
	ab=${PATHS_ABBR[$k]}
	p=$(awk -v k="$ab" '$2 ~ "^" k && $3 != "null" { print $3 }' "$counters" | stats)
	s=$(awk -v k="$ab" '$2 ~ "^" k && $4 != "null" { print $4 }' "$counters" | stats)
	w=$(awk -v k="$ab" '$2 ~ "^" k && $5 != "null" { print $5 }' "$counters" | stats)
	printf '  %-15s probes %-11s sockets %-11s won %s\n' "$k" "$p" "$s" "$w"
done
