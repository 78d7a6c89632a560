# shellcheck shell=bash
# Helpers of the file tests (t_files_*.sh), over coord_lib.sh:
#   fail MSG          the file services' log lines (p1, p2, roam-server), then FAIL
#   files_kill9 HOST  roamd in HOST killed -9 (its worker follows), its
#                     socket and interface gone, ready for a restart
# shellcheck source=coord_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/coord_lib.sh"

fail() {
	local h
	for h in p1 p2; do
		say "roamd-$h (files):"
		grep -E 'files|file service' "$(lab_log_file "roamd-$h")" 2>/dev/null | tail -n 12 || true
		say "roamd-$h (last lines):"
		tail -n 4 "$(lab_log_file "roamd-$h")" 2>/dev/null || true
	done
	say "roam-server (files):"
	grep files "$(lab_log_file roam-server)" 2>/dev/null | tail -n 12 || true
	say "FAIL: $*"
	exit 1
}

files_kill9() {
	local pid
	pid=$(cat "$(lab_rundir)/pid/roamd-$1.pid")
	kill -KILL "$pid"
	# Gone before its interface is: a new roamd must not meet the old one.
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$(lab_rundir)/pid/roamd-$1.pid" "$(roam_dir)/$1.sock"
	lab_exec "$1" sh -c "ip link del roam0 2>/dev/null || true"
}
