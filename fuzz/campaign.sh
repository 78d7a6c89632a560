#!/usr/bin/env bash
# A libFuzzer campaign: every target (or one) for SECONDS each, as many at
# once as there are cores, then each target's corpus merged (minimised).
#
#   fuzz/campaign.sh all 600          every target, 10 minutes each
#   fuzz/campaign.sh fuzz_linebuf 60  one target
#   JOBS=1 fuzz/campaign.sh all 60    fewer at once (default: nproc)
#   SAVE=1 fuzz/campaign.sh all 600   also add the inputs that reach new
#                                     coverage to fuzz/corpus/NAME (commit them)
#
# Builds build-fuzz (clang, -Dfuzzing=true, ASan+UBSan) if missing. Work
# corpora live in build-fuzz/campaign/NAME/ and grow from one campaign to the
# next; crashes, leaks and timeouts are written to fuzz/crashes/NAME/, which
# the normal test suite replays (see fuzz/README.md). Exit status 1 if any
# target found one.
set -euo pipefail

usage() { echo "usage: $0 TARGET|all SECONDS" >&2; exit 2; }
[ $# -eq 2 ] || usage
target=$1 seconds=$2
[[ $seconds =~ ^[0-9]+$ ]] || usage

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build-fuzz}
jobs=${JOBS:-$(nproc)}

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Dfuzzing=true -Dtest_hooks=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null

# Longest input per target: what the code under test can be handed at most
# (or enough to reach its limits); 4 KiB otherwise.
max_len() {
	case $1 in
	fuzz_server_store) echo 131072 ;;  # a whole SQLite file
	fuzz_netlink) echo 32768 ;;        # one netlink read
	fuzz_linebuf) echo 70000 ;;        # past the 64 KiB line limit
	*) echo 4096 ;;
	esac
}

if [ "$target" = all ]; then
	targets=$(find "$build/fuzz" -maxdepth 1 -type f -executable -name 'fuzz_*' -printf '%f\n' | sort)
else
	[ -x "$build/fuzz/$target" ] || { echo "no such target: $build/fuzz/$target" >&2; exit 2; }
	targets=$target
fi

run_one() {
	local t=$1 name=${1#fuzz_}
	local work=$build/campaign/$name crashes=$src/fuzz/crashes/$name
	mkdir -p "$work/corpus" "$crashes"
	[ -d "$src/fuzz/corpus/$name" ] && cp -n "$src/fuzz/corpus/$name"/* "$work/corpus/" 2>/dev/null || true
	# -fork keeps going after a crash (each saved), so a campaign reports
	# every distinct finding, not only the first one.
	"$build/fuzz/$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" "$work/corpus" >"$work/log" 2>&1 || true
	# Minimise what was found into the work corpus for the next campaign.
	mkdir -p "$work/merged"
	"$build/fuzz/$t" -merge=1 -max_len="$(max_len "$t")" "$work/merged" "$work/corpus" >>"$work/log" 2>&1 || true
	rm -rf "$work/corpus" && mv "$work/merged" "$work/corpus"
	if [ "${SAVE:-0}" = 1 ] && [ -d "$src/fuzz/corpus/$name" ]; then
		"$build/fuzz/$t" -merge=1 -max_len="$(max_len "$t")" "$src/fuzz/corpus/$name" "$work/corpus" \
			>>"$work/log" 2>&1 || true
	fi
	local runs found
	# libFuzzer's status lines start with the number of inputs run so far.
	runs=$(grep -o '^#[0-9]*' "$work/log" | tr -d '#' | sort -n | tail -1)
	found=$(find "$crashes" -type f -newer "$work/log.start" 2>/dev/null | wc -l)
	printf '%-24s %12s runs  %6s inputs  %s new crash files\n' "$t" "$runs" \
		"$(ls "$work/corpus" | wc -l)" "$found"
}
export -f run_one max_len
export build src seconds

for t in $targets; do
	mkdir -p "$build/campaign/${t#fuzz_}" && touch "$build/campaign/${t#fuzz_}/log.start"
done
echo "$targets" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

status=0
for t in $targets; do
	d=$src/fuzz/crashes/${t#fuzz_}
	if [ -n "$(find "$d" -type f -newer "$build/campaign/${t#fuzz_}/log.start" 2>/dev/null)" ]; then
		echo "$t: new findings in $d (see fuzz/README.md)" >&2
		status=1
	fi
	rmdir "$d" 2>/dev/null || true
done
exit $status
