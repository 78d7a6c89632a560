#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Integration-test runner. Runs tests/integration/t_*.sh (only those whose
# name contains PATTERN, if one is given), one after the other, each
#   - in its own process group, under a time limit,
#   - with its own LAB_ID, so that its lab cannot meet another's,
#   - followed by a sweep that kills whatever it left running and deletes
#     every namespace named after its LAB_ID, even if the test crashed.
# Prints "PASS name (Ns)", "FAIL name (Ns)" with the tail of the test's log,
# or "SKIP name" (exit status 77), and closes with "N passed, N failed".
# A test may also write a short report (a table, figures) to the file named
# by $ROAM_TEST_REPORT; the runner prints it under the test's line.
#
#   sudo tests/integration/run.sh [PATTERN]
#
# Environment: ROAM_ROOT, ROAM_BUILD_DIR (default $ROAM_ROOT/build),
# ROAM_TEST_TIMEOUT per test (300 s), ROAM_TEST_TOTAL for the run (3600 s),
# ROAM_TEST_LOGS directory for the logs (default: a new temporary one).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export ROAM_ROOT=${ROAM_ROOT:-$(cd "$here/../.." && pwd)}
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$ROAM_ROOT/build}
per_test=${ROAM_TEST_TIMEOUT:-300}
total=${ROAM_TEST_TOTAL:-3600}
pattern=${1:-}
lab_root=${LAB_RUN_ROOT:-/run/roam-lab}

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (tests build network namespaces)" >&2
	exit 2
fi

logs=${ROAM_TEST_LOGS:-$(mktemp -d /tmp/roam-it.XXXXXX)}
mkdir -p "$logs"
run_tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
passed=0 failed=0 skipped=0
current_pgid="" current_id="" current_name=""

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

on_interrupt() {
	trap - INT TERM
	if [ -n "$current_pgid" ]; then
		kill_group "$current_pgid"
		sweep_lab "$current_id" >/dev/null
		echo "FAIL $current_name (interrupted)"
		failed=$((failed + 1))
	fi
	echo "$passed passed, $failed failed"
	exit 130
}
trap on_interrupt INT TERM

tests=()
for t in "$here"/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	[ -z "$pattern" ] || [[ "$name" == *"$pattern"* ]] || continue
	tests+=("$t")
done
echo "run.sh: ${#tests[@]} tests${pattern:+ matching "$pattern"}, logs in $logs"

run_started=$SECONDS
index=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	index=$((index + 1))
	log="$logs/$name.log"
	left=$((total - (SECONDS - run_started)))
	if [ "$left" -le 0 ]; then
		echo "FAIL $name (not run: the run's $total s are used up)"
		failed=$((failed + 1))
		continue
	fi
	limit=$((per_test < left ? per_test : left))
	id=$(printf 'it%s_%02d' "$run_tag" "$index")

	started=$SECONDS
	# timeout makes itself a process group leader and signals the whole
	# group when time is up, so the test's children go with it.
	report="$logs/$name.report"
	rm -f "$report"
	LAB_ID=$id ROAM_TEST_REPORT=$report timeout -k 10 "$limit" bash "$t" </dev/null >"$log" 2>&1 &
	current_pgid=$! current_id=$id current_name=$name
	rc=0
	# (quietly: a test killed by a signal is reported below, not by bash)
	{ wait "$current_pgid" || rc=$?; } 2>/dev/null
	kill_group "$current_pgid"
	leaked=$(sweep_lab "$id")
	current_pgid="" current_id="" current_name=""
	took=$((SECONDS - started))

	note=""
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
		[ "$rc" -eq 124 ] && note=", timed out after ${limit}s"
		echo "FAIL $name (${took}s$note, exit $rc)"
		if [ -s "$report" ]; then
			sed 's/^/    /' "$report"
			echo "    --- last lines of $log:"
		fi
		tail -n 40 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
		;;
	esac
done

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
