# Shared by tests/packaging/t_*.sh: PASS/FAIL lines (counted by
# scripts/test.sh for t_deb.sh; meson uses the exit status of the others).
pkg_failed=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; pkg_failed=$((pkg_failed + 1)); }
check() { # check "what" command...: PASS or FAIL by the command's status
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
finish() { exit $((pkg_failed > 0)); }
