# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Helpers for integration tests: the lab (tests/lab/lab.sh, all its lab_*
# functions), logging, assertions and bounded waits. A test starts with
#
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   lab_up a:symmetric b:public
#   lab_trap
#
# and exits 0 (pass), 77 (skip, see "skip") or anything else (fail).

ROAM_ROOT=${ROAM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$ROAM_ROOT/build}
export ROAM_ROOT ROAM_BUILD_DIR
# shellcheck source-path=SCRIPTDIR source=../lab/lab.sh
source "$ROAM_ROOT/tests/lab/lab.sh"

say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() {
	say "FAIL: $*"
	exit 1
}
# The runner counts exit status 77 as skipped and shows this last line.
skip() {
	say "SKIP: $*"
	exit 77
}

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
# need_cmd TOOL...: skip unless every tool is installed.
need_cmd() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
	done
}

source "$(dirname "${BASH_SOURCE[0]}")/wait_lib.sh"

# assert DESCRIPTION CMD...: fail the test unless CMD succeeds.
assert() {
	local what=$1
	shift
	"$@" || fail "$what"
}

# assert_eq GOT WANT DESCRIPTION
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# reaches HOST ADDR: a few pings within 5 s, at least one answered.
reaches() { lab_exec "$1" ping -c 3 -i 0.2 -W 1 -w 5 "$2" >/dev/null 2>&1; }

# fd_peak PID OUT: sample PID's open descriptors (/proc/PID/fd) every 20 ms
# until it exits (a zombie counts: lab_spawn's processes are nobody's
# children, and whoever inherits them may reap late) or the file OUT.stop
# appears, then write the most seen to OUT. Run it in the background
# (resource caps: extra sockets, ...).
fd_peak() {
	local max=0 n state
	while [ ! -e "$2.stop" ]; do
		state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
		case $state in '' | Z | X) break ;; esac
		n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ "$n" -le "$max" ] || max=$n
		sleep 0.02
	done
	echo "$max" >"$2"
}
