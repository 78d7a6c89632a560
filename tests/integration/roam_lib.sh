# shellcheck shell=bash
# roam-specific helpers for integration tests, on top of the lab
# (tests/lab/lab.sh): keys, configs, starting roamd and wireguard-go in lab
# hosts, reading `roam status --json`. Every wait is bounded.

ROAM_ROOT=${ROAM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$ROAM_ROOT/build}
ROAMD=$ROAM_BUILD_DIR/daemon/roamd
ROAM=$ROAM_BUILD_DIR/cli/roam
SERVER=$ROAM_BUILD_DIR/server/roam-server
SIM=$ROAM_BUILD_DIR/bench/coord_sim
# shellcheck source=../lab/lab.sh
source "$ROAM_ROOT/tests/lab/lab.sh"

# need_built PROGRAM...: fail unless each was built.
need_built() {
	local bin
	for bin in "$@"; do
		[ -x "$bin" ] || fail "$bin not built"
	done
}

say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/wait_lib.sh"

# A scratch directory inside the lab's run dir (removed by lab_down).
roam_dir() {
	local d
	d="$(lab_rundir)/roam"
	mkdir -p -m 700 "$d"
	echo "$d"
}

# roam_keys NAME: NAME.key and NAME.pub in roam_dir, made by our own CLI.
roam_keys() {
	local d
	d=$(roam_dir)
	(umask 077 && "$ROAM" genkey >"$d/$1.key")
	"$ROAM" pubkey <"$d/$1.key" >"$d/$1.pub"
}
roam_key() { cat "$(roam_dir)/$1.key"; }
roam_pub() { cat "$(roam_dir)/$1.pub"; }

# Short unique interface names: wireguard-go's control sockets live in one
# global /var/run/wireguard, so two labs must never pick the same name, also
# when tests run in parallel or several runners share the machine. A LAB_ID
# is longer than an interface name may be (15), and its tail alone (a test's
# index in its run) repeats from run to run: use a hash of all of it.
roam_ifname() { printf '%s%s' "$1" "$(printf '%s' "$LAB_ID" | sha256sum | cut -c1-12)"; }

# roamd_start HOST NAME CONFIG [VAR=VALUE...]: run roamd in HOST; wait for
# its control socket.
roamd_start() {
	local host=$1 name=$2 conf=$3 sock
	shift 3
	sock="$(roam_dir)/$name.sock"
	lab_spawn "$host" "roamd-$name" env "$@" "$ROAMD" -c "$conf" -s "$sock" -i roam0 -l debug >/dev/null
	wait_for 10 "roamd $name control socket" test -S "$sock"
}
roamd_stop() { lab_stop "roamd-$1"; }
roamd_log() { cat "$(lab_log_file "roamd-$1")"; }

# roam_status HOST NAME: the JSON status of roamd NAME running in HOST.
roam_status() { lab_exec "$1" "$ROAM" status --json --socket "$(roam_dir)/$2.sock"; }
# roam_json HOST NAME JQ-EXPR
roam_json() { roam_status "$1" "$2" | jq -r "$3"; }

# wgo_start HOST IFNAME: a wireguard-go interface in HOST, configured with wg.
wgo_start() {
	local host=$1 ifname=$2
	lab_spawn "$host" "wgo-$ifname" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=${WGO_LOG_LEVEL:-error} wireguard-go "$ifname" >/dev/null
	wait_for 10 "wireguard-go $ifname" lab_exec "$host" ip link show "$ifname"
}

# ping_ok HOST ADDR: a few pings, at least one answered, within 5 s.
ping_ok() { lab_exec "$1" ping -c 3 -i 0.2 -W 1 -w 5 "$2" >/dev/null 2>&1; }
