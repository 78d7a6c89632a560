# Polling helpers (and lab_iperf) shared by lib.sh and roam_lib.sh (sourced by both; needs
# their fail()).
# wait_until SECONDS CMD...: poll CMD every 0.1 s; status 0 as soon as it
# succeeds, 1 if it never did within SECONDS.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# wait_for SECONDS DESCRIPTION CMD...: wait_until, failing the test on timeout.
wait_for() {
	local secs=$1 what=$2
	shift 2
	wait_until "$secs" "$@" || fail "timed out after ${secs}s waiting for: $what"
}

# wait_eq SECONDS DESCRIPTION WANT 'COMMAND': wait until COMMAND (a shell
# string, run again at every poll) prints WANT. Not `wait_for N D test
# "$(cmd)" = WANT`: that runs cmd once, before the wait, and waits on a
# constant.
wait_eq() {
	local secs=$1 what=$2
	_wait_eq_want=$3 _wait_eq_cmd=$4
	wait_for "$secs" "$what" _wait_eq_check
}
_wait_eq_check() { [ "$(eval "$_wait_eq_cmd")" = "$_wait_eq_want" ]; }

# lab_iperf HOST ADDR SECS [-R]: the Mbit/s received by an iperf3 TCP flow
# from HOST to the iperf3 server at ADDR (back with -R). A server serves one
# test at a time and may still be finishing the last one: up to three tries,
# each said on stderr with iperf3's error; status 1 when all three fail.
lab_iperf() {
	local out err i
	for i in 1 2 3; do
		out=$(lab_exec "$1" timeout $(($3 + 30)) iperf3 -c "$2" -t "$3" ${4:+"$4"} -J 2>/dev/null) || true
		if jq -e '.end.sum_received.bits_per_second > 0' >/dev/null 2>&1 <<<"$out"; then
			jq '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$out"
			return 0
		fi
		err=$(jq -r '.error // "no result"' 2>/dev/null <<<"$out" || echo "no JSON (timed out?)")
		echo "iperf3 $1 -> $2 ${4:-} try $i: ${err:-no JSON (timed out?)}" >&2
		sleep 1
	done
	return 1
}

# goal_ms MS: a timing goal's limit in ms, doubled in a sanitizer build
# (ROAM_TEST_SANITIZED=1, set by run.sh): there ASan and UBSan make every
# step 2-3x slower, and the goal is measured in the optimised build.
goal_ms() {
	if [ "${ROAM_TEST_SANITIZED:-0}" = 1 ]; then echo $(($1 * 2)); else echo "$1"; fi
}
