#!/usr/bin/env bash
# Birthday probing across the lab's real NATs, without roamd (issue 9, "Hard
# NAT"): birthday_tool drives lib/path/birthday and daemon/paths/aux_sockets
# with a tiny unauthenticated test protocol.
# - a1 behind a per-destination ("symmetric") NAT opens up to 256 sockets
#   and PINGs b1's public endpoint from each; b1 behind an endpoint-
#   independent, port-restricted NAT sprays up to 1024 PINGs at random ports
#   of gw-a: in at least 4 of 5 tries both sides find the same flow within
#   10 s, and it carries data both ways;
# - never more than 256 extra sockets (a1's descriptors, counted in
#   /proc/PID/fd) nor 1024 PINGs a side; the losers are closed at once, the
#   winner stays; a failed attempt closes every socket;
# - two per-destination NATs (a1, c1): the role choice makes no attempt at
#   all; forced anyway, it fails within its budget (why such pairs stay
#   relayed).
#
#   a1 10.1.0.11 -- gw-a 203.0.113.11 symmetric ------+
#   b1 10.2.0.11 -- gw-b 203.0.113.12 portrestricted --+-- inet -- server 203.0.113.1
#   c1 10.3.0.11 -- gw-c 203.0.113.13 symmetric ------+           (reflector :3999)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_root
need_cmd cc jq
TRIES=5
REFLECTOR_PORT=3999

lab_up a:symmetric b:portrestricted c:symmetric >/dev/null
lab_trap
d=$(lab_rundir)
root=$(cd "$(dirname "$0")/../.." && pwd)
tool=$d/birthday_tool
build_tool() {
	cc -std=c17 -O2 -D_GNU_SOURCE "$@" -I"$root" -I"$root/lib" -o "$tool" "$root/tests/integration/birthday_tool.c" \
		"$ROAM_BUILD_DIR/daemon/libroamd_core.a" "$ROAM_BUILD_DIR/libroam.a"
}
# The libraries of a sanitizer build need the sanitizers linked in too.
build_tool 2>/dev/null || build_tool -fsanitize=address,undefined || fail "birthday_tool does not build"
lab_spawn server reflector "$tool" reflect "$REFLECTOR_PORT" >/dev/null

result() { grep '^{' "$(lab_log_file "$1")" | jq -r "select(.event == \"result\") | .$2"; }
endpoint() { grep '^{' "$(lab_log_file "$1")" | jq -r 'select(.event == "endpoint") | .endpoint'; }
has_endpoint() { [ -n "$(endpoint "$1")" ]; }
reported() { [ -n "$(result "$1-hard" state)" ] && [ -n "$(result "$1-easy" state)" ]; }

# attempt NAME HARD_HOST EASY_HOST HARD_SITE: one attempt; the outcome in the logs.
attempt() {
	local name=$1 hard=$2 easy=$3 hard_site=$4 start pid
	start=$(($(date +%s%3N) + 2000))
	lab_spawn "$easy" "$name-easy" "$tool" easy --reflector "203.0.113.1:$REFLECTOR_PORT" \
		--peer-ip "$(lab_wan_addr "$hard_site")" --start-at-ms "$start" >/dev/null
	wait_for 2 "$name: $easy learns its public endpoint" has_endpoint "$name-easy"
	pid=$(lab_spawn "$hard" "$name-hard" "$tool" hard --peer "$(endpoint "$name-easy")" --start-at-ms "$start")
	fd_peak "$pid" "$d/$name.fds" &
	local watcher=$!
	wait_for 12 "$name: both sides report" reported "$name"
	wait "$watcher"
	for side in hard easy; do
		! grep -q Sanitizer "$(lab_log_file "$name-$side")" || fail "$name-$side: sanitizer report"
	done
}

# budgets NAME: the caps held on both sides, whatever the outcome; a line
# for the log in $usage (not a command substitution: fail must end the test).
budgets() {
	local name=$1 fds probes_hard probes_easy
	fds=$(cat "$d/$name.fds")
	if [ -z "$fds" ] || [ -z "$(result "$name-hard" probes)" ] || [ -z "$(result "$name-easy" probes)" ]; then
		fail "$name: no result or descriptor count (hard: $(tail -n 3 "$(lab_log_file "$name-hard")"))"
	fi
	probes_hard=$(result "$name-hard" probes)
	probes_easy=$(result "$name-easy" probes)
	[ "$(result "$name-hard" sockets_peak)" -le 256 ] || fail "$name: more than 256 extra sockets"
	# stdin/out/err, the epoll fd, the reflector-less hard side has nothing else.
	[ "$fds" -le $((256 + 8)) ] || fail "$name: $fds descriptors open at once"
	[ "$probes_hard" -le 1024 ] || fail "$name: hard side sent $probes_hard PINGs"
	[ "$probes_easy" -le 1024 ] || fail "$name: easy side sent $probes_easy PINGs"
	usage="fds $fds, PINGs hard $probes_hard easy $probes_easy"
}

say "a1 (symmetric) and b1 (port-restricted): $TRIES tries"
won=0
times=()
for i in $(seq "$TRIES"); do
	attempt "ab$i" a1 b1 a
	budgets "ab$i"
	if [ "$(result "ab$i-hard" won)" = true ] && [ "$(result "ab$i-easy" won)" = true ]; then
		ms=$(( $(result "ab$i-hard" ms) > $(result "ab$i-easy" ms) ? $(result "ab$i-hard" ms) : $(result "ab$i-easy" ms) ))
		[ "$ms" -le 10000 ] || fail "ab$i: took $ms ms"
		[ "$(result "ab$i-hard" data_rx)" -ge 5 ] || fail "ab$i: data from b1 did not reach a1's winning socket"
		[ "$(result "ab$i-easy" data_rx)" -ge 5 ] || fail "ab$i: data from a1 did not reach b1 from the winning port"
		[ "$(result "ab$i-hard" sockets_open_at_end)" = 1 ] || fail "ab$i: the losing sockets were not closed"
		won=$((won + 1))
		times+=("$ms")
		say "  try $i: direct in $ms ms, a1 $(result "ab$i-hard" winner) <-> b1 sees $(result "ab$i-easy" winner); $usage"
	else
		[ "$(result "ab$i-hard" sockets_open_at_end)" = 0 ] || fail "ab$i: a failed attempt left sockets open"
		say "  try $i: no match ($(result "ab$i-hard" state)); $usage"
	fi
done
[ "$won" -ge $((TRIES - 1)) ] || fail "only $won of $TRIES tries went direct"
say "  $won of $TRIES direct"
if [ -n "${ROAM_TEST_REPORT:-}" ]; then
	printf 'symmetric x portrestricted: %s of %s direct, ms to direct: %s\n' "$won" "$TRIES" "${times[*]}" \
		>>"$ROAM_TEST_REPORT"
fi

say "a1 and c1, both symmetric: no attempt"
for pair in "per-destination per-destination" "eim eim"; do
	# shellcheck disable=SC2086
	out=$("$tool" pick $pair)
	assert_eq "$(jq -r .attempt <<<"$out")" false "attempt for $pair"
done
assert_eq "$("$tool" pick per-destination eim | jq -r .role)" hard "role for per-destination vs eim"
assert_eq "$("$tool" pick eim per-destination | jq -r .role)" easy "role for eim vs per-destination"
say "  forced anyway: it fails, within its budget"
attempt ac a1 c1 a
budgets ac
assert_eq "$(result ac-hard won)" false "a1 <-> c1 went direct"
assert_eq "$(result ac-hard sockets_open_at_end)" 0 "sockets left open after the failed attempt"
say "  no match, every socket closed; $usage"
say "PASS"
