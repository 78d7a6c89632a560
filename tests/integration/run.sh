#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Integration-test runner. Runs tests/integration/t_*.sh (only those whose
# name contains PATTERN, if one is given), several at a time, each
#   - in its own process group, under a time limit,
#   - with its own LAB_ID, so that its lab cannot meet another's,
#   - followed by a sweep that kills whatever it left running and deletes
#     every namespace named after its LAB_ID, even if the test crashed.
# A test that cannot run beside others (it measures timing or throughput,
# or uses something host-global) says so with a line in its header
#   # roam-test: serial
# and runs alone once the others are done.
# A test whose checks include timing or speed goals (a failover within 5 s,
# no datagram lost in a burst) says
#   # roam-test: timing
# and also runs in each build of ROAM_TIMING_BUILD_DIRS (the optimised
# build, where such a goal means something); every other test runs only in
# the builds of ROAM_BUILD_DIRS (the sanitizer build, in scripts/test.sh).
# A test run in a sanitizer build sees ROAM_TEST_SANITIZED=1 and may allow
# its timing goals more time there (goal_ms in wait_lib.sh).
# Prints, as each test ends, "PASS name (Ns)", "FAIL name (Ns)" with the tail
# of the test's log, or "SKIP name" (exit status 77), and closes with
# "N passed, N failed[, N skipped]".
# A test may also write a short report (a table, figures) to the file named
# by $ROAM_TEST_REPORT; the runner prints it under the test's line.
#
#   sudo tests/integration/run.sh [PATTERN]
#
# Environment: ROAM_ROOT, ROAM_BUILD_DIR (default $ROAM_ROOT/build),
# ROAM_BUILD_DIRS to run every test once per build in one pool (names are
# then "BUILD/t_name"), ROAM_TIMING_BUILD_DIRS builds that run only the
# timing tests, ROAM_TEST_JOBS tests at a time (3),
# ROAM_TEST_TIMEOUT per test (300 s), ROAM_TEST_TOTAL for the run (3600 s),
# ROAM_TEST_LOGS directory for the logs (default: a new temporary one).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export ROAM_ROOT=${ROAM_ROOT:-$(cd "$here/../.." && pwd)}
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$ROAM_ROOT/build}
read -r -a build_dirs <<<"${ROAM_BUILD_DIRS:-$ROAM_BUILD_DIR}"
read -r -a timing_dirs <<<"${ROAM_TIMING_BUILD_DIRS:-}"
all_dirs=("${build_dirs[@]}" "${timing_dirs[@]}")
# A sanitizer build: its roamd links libasan (ASan and UBSan go together here).
declare -A sanitized=()
for b in "${all_dirs[@]}"; do
	if ldd "$b/daemon/roamd" 2>/dev/null | grep -q libasan; then sanitized[$b]=1; else sanitized[$b]=0; fi
done
jobs=${ROAM_TEST_JOBS:-3}
per_test=${ROAM_TEST_TIMEOUT:-300}
total=${ROAM_TEST_TOTAL:-3600}
pattern=${1:-}
lab_root=${LAB_RUN_ROOT:-/run/roam-lab}

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (tests build network namespaces)" >&2
	exit 2
fi
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: ROAM_TEST_JOBS must be a positive number, not '$jobs'" >&2
	exit 2
fi

logs=${ROAM_TEST_LOGS:-$(mktemp -d /tmp/roam-it.XXXXXX)}
mkdir -p "$logs"
run_tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
passed=0 failed=0 skipped=0
# The tests running now, by the pid of their "timeout" (which is also their
# process group): name, LAB_ID, start time, time limit, log and report.
declare -A run_name=() run_id=() run_start=() run_limit=()

# Kill a process group: TERM, then KILL after 2 s.
kill_group() {
	local pgid=$1
	kill -TERM -- "-$pgid" 2>/dev/null || return 0
	for _ in $(seq 20); do
		kill -0 -- "-$pgid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pgid" 2>/dev/null || true
}

# Remove everything named after a test's LAB_ID ("$id-node", or "${id}_x-node"
# for a test's second lab): processes inside, namespaces, run dirs. Prints
# how many namespaces it had to remove.
sweep_lab() {
	local id=$1 ns pid n=0
	for ns in $(ip netns list | awk '{ print $1 }'); do
		case $ns in "$id"-* | "$id"_*) ;; *) continue ;; esac
		for _ in 1 2 3; do
			pid=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
			[ -n "$pid" ] || break
			# shellcheck disable=SC2086 # a list of pids
			kill -KILL $pid 2>/dev/null || true
			sleep 0.1
		done
		ip netns del "$ns" 2>/dev/null || true
		n=$((n + 1))
	done
	rm -rf "${lab_root:?}/$id" "$lab_root/$id"_*
	echo "$n"
}

# The first "ip netns add" on a machine makes /run/netns a shared mount;
# several tests doing that at once can stack mounts. Do it once, alone.
netns_warm_up() {
	local ns="it${run_tag}_warm"
	if ip netns add "$ns" 2>/dev/null; then
		ip netns del "$ns" 2>/dev/null || true
	fi
}

on_interrupt() {
	local pgid
	trap - INT TERM
	for pgid in "${!run_name[@]}"; do
		kill_group "$pgid"
		sweep_lab "${run_id[$pgid]}" >/dev/null
		echo "FAIL ${run_name[$pgid]} (interrupted)"
		failed=$((failed + 1))
	done
	echo "$passed passed, $failed failed"
	exit 130
}
trap on_interrupt INT TERM

# Every (build, test) pair that matches, parallel ones first: "BUILD|FILE".
is_serial() { grep -q '^# roam-test: serial' "$1"; }
is_timing() { grep -q '^# roam-test: timing' "$1"; }
parallel_jobs=() serial_jobs=()
n_tests=0 n_timing=0
for t in "$here"/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	[ -z "$pattern" ] || [[ "$name" == *"$pattern"* ]] || continue
	n_tests=$((n_tests + 1))
	builds=("${build_dirs[@]}")
	if is_timing "$t"; then
		n_timing=$((n_timing + 1))
		builds+=("${timing_dirs[@]}")
	fi
	for b in "${builds[@]}"; do
		if is_serial "$t"; then
			serial_jobs+=("$b|$t")
		else
			parallel_jobs+=("$b|$t")
		fi
	done
done
queue=("${parallel_jobs[@]}" "${serial_jobs[@]}")
what="${n_tests} tests${pattern:+ matching "$pattern"}"
[ ${#build_dirs[@]} -eq 1 ] || what+=" x ${#build_dirs[@]} builds"
[ ${#timing_dirs[@]} -eq 0 ] || what+=" (and the $n_timing timing tests in ${timing_dirs[*]##*/})"
echo "run.sh: $what, $jobs at a time (${#serial_jobs[@]} serial, alone at the end), logs in $logs"

# Start one (build, test) pair in the background.
start_job() {
	local build=${1%%|*} t=${1#*|} index=$2 name id log report limit left pgid
	name=$(basename "$t" .sh)
	log="$logs/$name.log"
	if [ ${#all_dirs[@]} -gt 1 ]; then
		name="$(basename "$build")/$name"
		mkdir -p "$logs/$(basename "$build")"
		log="$logs/$name.log"
	fi
	left=$((total - (SECONDS - run_started)))
	if [ "$left" -le 0 ]; then
		echo "FAIL $name (not run: the run's $total s are used up)"
		failed=$((failed + 1))
		return
	fi
	limit=$((per_test < left ? per_test : left))
	id=$(printf 'it%s_%02d' "$run_tag" "$index")
	report="${log%.log}.report"
	rm -f "$report"
	# timeout makes itself a process group leader and signals the whole
	# group when time is up, so the test's children go with it.
	ROAM_BUILD_DIR=$build LAB_ID=$id ROAM_TEST_REPORT=$report ROAM_TEST_SANITIZED=${sanitized[$build]} \
		timeout -k 10 "$limit" bash "$t" </dev/null >"$log" 2>&1 &
	pgid=$!
	run_name[$pgid]=$name run_id[$pgid]=$id run_start[$pgid]=$SECONDS run_limit[$pgid]=$limit
}

# Wait for any running test to end, clean up after it and print its line.
finish_job() {
	local pgid rc=0 name id took leaked log report note=""
	# (quietly: a test killed by a signal is reported below, not by bash;
	# "wait -p" needs bash 5.1, Debian 12 has 5.2)
	{ wait -n -p pgid "${!run_name[@]}" || rc=$?; } 2>/dev/null
	name=${run_name[$pgid]} id=${run_id[$pgid]}
	kill_group "$pgid"
	leaked=$(sweep_lab "$id")
	took=$((SECONDS - run_start[$pgid]))
	log="$logs/$name.log"
	report="${log%.log}.report"
	[ "$leaked" -gt 0 ] && [ "$rc" -eq 0 ] && note=", left $leaked namespaces behind"
	case $rc in
	0)
		echo "PASS $name (${took}s$note)"
		[ -s "$report" ] && sed 's/^/    /' "$report"
		passed=$((passed + 1))
		;;
	77)
		echo "SKIP $name ($(tail -n 1 "$log"))"
		skipped=$((skipped + 1))
		;;
	*)
		[ "$rc" -eq 124 ] && note=", timed out after ${run_limit[$pgid]}s"
		echo "FAIL $name (${took}s$note, exit $rc)"
		if [ -s "$report" ]; then
			sed 's/^/    /' "$report"
			echo "    --- last lines of $log:"
		fi
		tail -n 40 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
		;;
	esac
	unset "run_name[$pgid]" "run_id[$pgid]" "run_start[$pgid]" "run_limit[$pgid]"
}

netns_warm_up
run_started=$SECONDS
index=0
for job in "${queue[@]}"; do
	index=$((index + 1))
	if [ "$index" -gt ${#parallel_jobs[@]} ]; then
		# A serial test: wait until it is alone.
		while [ ${#run_name[@]} -gt 0 ]; do finish_job; done
	else
		while [ ${#run_name[@]} -ge "$jobs" ]; do finish_job; done
	fi
	start_job "$job" "$index"
done
while [ ${#run_name[@]} -gt 0 ]; do finish_job; done

if [ "$failed" -eq 0 ] && [ -z "${ROAM_TEST_LOGS:-}" ]; then
	rm -rf "$logs"
else
	echo "run.sh: logs kept in $logs"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
