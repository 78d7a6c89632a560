# Polling helpers shared by lib.sh and roam_lib.sh (sourced by both; needs
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
