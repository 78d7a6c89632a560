#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it
# needs, builds roam twice (optimised, and with AddressSanitizer +
# UndefinedBehaviorSanitizer), both with test hooks, and runs on each build
# the unit tests and the fuzz-corpus replays; the integration tests in the
# network lab run in the sanitizer build, and those whose checks are timing
# or speed goals ("# roam-test: timing") in the optimised build too; then builds, installs and removes the Debian packages
# (tests/packaging/t_deb.sh) and runs cppcheck over all C code. Ends with
# the wall time of each phase and one line: "N passed, N failed".
#
# Phases, each as short as 2 cores allow: both builds (ninja uses every
# core), the unit tests of both (meson runs them in parallel), then the
# integration tests in one pool of ROAM_TEST_JOBS tests at a time (tests/integration/run.sh; they mostly wait on the network, so
# they overlap well), serial ones alone at the end.
#
#   sudo scripts/test.sh            everything
#   sudo scripts/test.sh --quick    optimised build only (every integration test in it)
#   ROAM_TEST_FILTER=wg scripts/test.sh   only integration tests matching "wg"
#   ROAM_TEST_JOBS=1 scripts/test.sh      integration tests one at a time
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (the integration tests create network namespaces and TUN devices)" >&2
	exit 2
fi

# section TITLE: print "=== TITLE" and start timing a phase of that name;
# phase_times prints how long each took.
phase_names=() phase_secs=() phase_title="" phase_started=$SECONDS
section() {
	phase_close
	phase_title=$1 phase_started=$SECONDS
	echo "=== $1"
}
phase_close() {
	[ -n "$phase_title" ] || return 0
	phase_names+=("$phase_title")
	phase_secs+=($((SECONDS - phase_started)))
	phase_title=""
}
phase_times() {
	local i
	phase_close
	echo "=== wall time per phase"
	for i in "${!phase_names[@]}"; do
		printf '%6ss  %s\n' "${phase_secs[$i]}" "${phase_names[$i]}"
	done
	printf '%6ss  total\n' "$SECONDS"
}

section "dependencies"
bash scripts/install-deps.sh

werror=()
[ "${CI:-}" = "true" ] && werror=(--werror)

builds=("build-test:-Dtest_hooks=true")
[ $quick = 1 ] || builds+=("build-asan:-Dtest_hooks=true -Db_sanitize=address,undefined -Db_lundef=false")

passed=0
failed=0
skipped=0
count_meson() {
	# meson test's summary lines: "Ok: N", "Fail: N", ...
	local log=$1 ok fail skip
	ok=$(awk '/^Ok:/{print $2}' "$log")
	fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/{s+=$NF} END{print s+0}' "$log")
	skip=$(awk '/^Skipped:/{print $2}' "$log")
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0}))
	skipped=$((skipped + ${skip:-0}))
}

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
dirs=()
for spec in "${builds[@]}"; do
	dir=${spec%%:*}
	dirs+=("$dir")
	read -r -a opts <<<"${spec#*:}"
	section "$dir: build (${opts[*]})"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "${opts[@]}" "${werror[@]}" >/dev/null
	else
		meson configure "$dir" "${opts[@]}" "${werror[@]}" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
done

for dir in "${dirs[@]}"; do
	section "$dir: unit tests and fuzz replays"
	log=$(mktemp)
	meson test -C "$dir" --no-rebuild --print-errorlogs 2>&1 | tee "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
	count_meson "$log"
	rm -f "$log"
done

# One pool: every test in the sanitizer build (memory and undefined
# behaviour checked on every path the lab drives), the timing tests in the
# optimised build as well (their goals are about roam's real speed). The
# runner names them BUILD/t_name. With --quick, every test in the one build.
it_dirs=$root/${dirs[-1]} timing_dirs=""
[ ${#dirs[@]} -eq 1 ] || timing_dirs=$root/${dirs[0]}
section "integration tests (${dirs[-1]}${timing_dirs:+, timing tests also in ${dirs[0]}}; ${ROAM_TEST_JOBS:-3} at a time)"
log=$(mktemp)
set +e
ROAM_BUILD_DIRS="$it_dirs" ROAM_TIMING_BUILD_DIRS="$timing_dirs" bash tests/integration/run.sh ${ROAM_TEST_FILTER:+"$ROAM_TEST_FILTER"} 2>&1 | tee "$log"
set -e
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
if [ -z "$line" ]; then
	echo "integration runner gave no summary" >&2
	failed=$((failed + 1))
else
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	s=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p')
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
fi
rm -f "$log"

section "Debian packages (tests/packaging/t_deb.sh: build, lintian, install, start, remove, purge)"
log=$(mktemp)
bash tests/packaging/t_deb.sh 2>&1 | tee "$log" || true
p=$(grep -c '^PASS ' "$log" || true)
f=$(grep -c '^FAIL ' "$log" || true)
[ "$p" -gt 0 ] || { echo "FAIL t_deb.sh printed no result"; f=$((f + 1)); }
passed=$((passed + p))
failed=$((failed + f))
rm -f "$log"

section "static analysis (cppcheck)"
if cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 -I lib -I . \
	--suppress=missingIncludeSystem --suppress=unknownMacro lib daemon cli server tests/unit fuzz bench loadtest; then
	echo "PASS cppcheck"
	passed=$((passed + 1))
else
	echo "FAIL cppcheck"
	failed=$((failed + 1))
fi

echo
phase_times
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
