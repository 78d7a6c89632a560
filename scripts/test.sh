#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it
# needs, builds roam twice (optimised, and with AddressSanitizer +
# UndefinedBehaviorSanitizer), both with test hooks, and runs on each build
# the unit tests, the fuzz-corpus replays and the integration tests in the
# network lab; then builds, installs and removes the Debian packages
# (tests/packaging/t_deb.sh) and runs cppcheck over all C code. Ends with one line:
# "N passed, N failed".
#
#   sudo scripts/test.sh            everything
#   sudo scripts/test.sh --quick    optimised build only
#   ROAM_TEST_FILTER=wg scripts/test.sh   only integration tests matching "wg"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (the integration tests create network namespaces and TUN devices)" >&2
	exit 2
fi

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
for spec in "${builds[@]}"; do
	dir=${spec%%:*}
	read -r -a opts <<<"${spec#*:}"
	echo "=== $dir: build (${opts[*]})"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "${opts[@]}" "${werror[@]}" >/dev/null
	else
		meson configure "$dir" "${opts[@]}" "${werror[@]}" >/dev/null
	fi
	ninja -C "$dir" >/dev/null

	echo "=== $dir: unit tests and fuzz replays"
	log=$(mktemp)
	meson test -C "$dir" --no-rebuild --print-errorlogs 2>&1 | tee "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
	count_meson "$log"
	rm -f "$log"

	echo "=== $dir: integration tests"
	log=$(mktemp)
	set +e
	ROAM_BUILD_DIR="$root/$dir" bash tests/integration/run.sh ${ROAM_TEST_FILTER:+"$ROAM_TEST_FILTER"} 2>&1 | tee "$log"
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
done

echo "=== Debian packages (tests/packaging/t_deb.sh: build, lintian, install, start, remove, purge)"
log=$(mktemp)
bash tests/packaging/t_deb.sh 2>&1 | tee "$log" || true
p=$(grep -c '^PASS ' "$log" || true)
f=$(grep -c '^FAIL ' "$log" || true)
[ "$p" -gt 0 ] || { echo "FAIL t_deb.sh printed no result"; f=$((f + 1)); }
passed=$((passed + p))
failed=$((failed + f))
rm -f "$log"

echo "=== static analysis (cppcheck)"
if cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 -I lib -I . \
	--suppress=missingIncludeSystem --suppress=unknownMacro lib daemon cli server tests/unit fuzz bench; then
	echo "PASS cppcheck"
	passed=$((passed + 1))
else
	echo "FAIL cppcheck"
	failed=$((failed + 1))
fi

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
