#!/usr/bin/env bash
# Handover benchmark (issue 13): a multihomed node m1 (uplinks into sites a
# and b, both up; eth-b costs 5 ms more, so eth-a carries the data) and a
# peer c1 behind a NAT (tests/integration/handover_lib.sh). Through the
# tunnel m1 -> c1: a 5 ms sequence-numbered UDP stream (seq_stream) and an
# iperf3 TCP flow (10 Mbit/s). Scenarios, REPS times each:
#   sudden    eth-a's link goes down, eth-b up;
#   back      eth-a comes back (roamd: make-before-break to it);
#   silent    site a drops everything, the link stays up; then healed;
#   renumber  m1 gets a new address on eth-a (at most 8 times: the site has 9).
#   none      nothing happens (the lab's noise floor: scheduling on a loaded
#             machine, iperf3 beside the stream).
# Per scenario: the interruption (the longest gap of the stream, ms), the
# datagrams lost, and whether the TCP flow survived; against roamd with a
# single path (ROAMD_SINGLE_PATH=1: no interface paths, the default route's
# socket and the relay only) and wireguard-go (static configuration,
# roaming its endpoint by itself; the anchor in /work/shared/anchors if
# there, else Debian's), in one run, with ratios. Goals: sudden < 20 ms,
# silent < 300 ms, back: nothing lost. Not part of the test suite; figures
# go in docs/performance.md ("Handover").
#
#   sudo bench/handover.sh [--quick] [REPS]     (10; --quick: 2)
#   MODES="roamd single wggo" (default: all three)
#   bench/handover.sh --report FILE             (the table of an earlier run's raw rows)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
REPORT=""
if [ "${1:-}" = --report ]; then # print the table of an earlier run's raw rows
	REPORT=${2:?usage: handover.sh --report FILE}
	set --
fi
reps=10
if [ "${1:-}" = --quick ]; then
	reps=2
	shift
fi
reps=${1:-$reps}
MODES=${MODES:-roamd single wggo}
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
[ "$(id -u)" -eq 0 ] || { echo "handover.sh: run as root (the lab builds network namespaces)" >&2; exit 2; }
[ -x "$ROAM_BUILD_DIR/daemon/roamd" ] || { echo "build roam first (meson setup build && ninja -C build)" >&2; exit 2; }
WGGO=$(ls /work/shared/anchors/wireguard-go-* 2>/dev/null | head -n 1 || true)
WGGO=${WGGO:-$(command -v wireguard-go || true)}
# shellcheck source=../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"
# shellcheck source=../tests/integration/handover_lib.sh
source "$root/tests/integration/handover_lib.sh"
results=$(mktemp /tmp/roam-handover.XXXXXX) # mode scenario gap lost tcp

# Wait for m1's data to leave through eth-a again (roamd), or a while
# (single path, wireguard-go: they follow the routes).
back_on_a() {
	if [ "$1" = roamd ]; then
		wait_until 15 hl_active_is eth-a || true
	else
		sleep 3
	fi
}

# wireguard-go at both ends, static keys; c1's NAT mapping (EIM, read from
# its router) is m1's configured endpoint; each roams to where the other's
# authenticated packets come from.
wggo_up() {
	[ -n "$WGGO" ] || { echo "no wireguard-go: skipping it" >&2; return 1; }
	[ -x "$SEQ" ] || { echo "seq_stream not built" >&2; exit 2; }
	lab_up a:fullcone b:fullcone c:fullcone m:multi:a,b >/dev/null
	local d km kc pm pc port h
	d=$(roam_dir)
	umask 077
	wg genkey >"$d/m.key"
	wg genkey >"$d/c.key"
	pm=$(wg pubkey <"$d/m.key")
	pc=$(wg pubkey <"$d/c.key")
	# Interface names differ: the UAPI sockets (/var/run/wireguard/IF.sock)
	# are not per namespace.
	for h in m1 c1; do
		lab_spawn "$h" "wggo-$h" env WG_PROCESS_FOREGROUND=1 "$WGGO" -f "wg$h" >/dev/null
		wait_until 10 lab_exec "$h" ip link show "wg$h" || { echo "wireguard-go did not start in $h" >&2; return 1; }
	done
	lab_exec c1 wg set wgc1 private-key "$d/c.key" listen-port 51820 peer "$pm" allowed-ips 10.99.0.1/32 \
		endpoint 203.0.113.11:51820 persistent-keepalive 1
	lab_exec c1 ip addr add 10.99.0.2/24 dev wgc1
	lab_exec c1 ip link set wgc1 mtu 1420 up
	sleep 1.5 # c1's first handshake attempt makes its mapping
	port=$(lab_exec gw-c nft list map ip lab udp_in | grep -o '[0-9]* expires [^:]*: 10\.3\.0\.11 \. 51820' | head -n 1 | cut -d' ' -f1)
	[ -n "$port" ] || { echo "no mapping for c1 in gw-c" >&2; return 1; }
	lab_exec m1 wg set wgm1 private-key "$d/m.key" listen-port 51820 peer "$pc" allowed-ips 10.99.0.2/32 \
		endpoint "203.0.113.13:$port" persistent-keepalive 1
	lab_exec m1 ip addr add 10.99.0.1/24 dev wgm1
	lab_exec m1 ip link set wgm1 mtu 1420 up
	C=10.99.0.2
	wait_until 10 lab_exec m1 ping -c 1 -W 1 "$C" || { echo "no wireguard-go tunnel" >&2; return 1; }
}

record() { echo "$1 $2 ${HL_GAP:-null} ${HL_LOST:-null} $HL_TCP" >>"$results"; }

run_mode() {
	local mode=$1 kind=roamd r
	case $mode in
	roamd) handover_up ROAMD_IFACE_COST=eth-b=5 ;;
	single)
		kind=single
		handover_up ROAMD_SINGLE_PATH=1
		;;
	wggo)
		kind=wggo
		wggo_up || { lab_down; return 0; }
		;;
	esac
	[ "$kind" = wggo ] || { ping_ok m1 "$C" || fail "$mode: no tunnel"; }
	[ "$mode" != roamd ] || wait_until 15 hl_active_is eth-a || fail "roamd: not on eth-a"
	for r in $(seq "$reps"); do
		hl_flows 5 2 true # nothing happens: the lab's own noise floor
		record "$mode" none
		hl_flows 5 2 lab_uplink m1 a down
		record "$mode" sudden
		lab_uplink m1 a up
		hl_flows 9 1 back_on_a "$kind"
		record "$mode" back
		hl_flows 5 2 lab_uplink m1 a silent
		record "$mode" silent
		lab_uplink m1 a heal
		back_on_a "$kind"
		if [ "$r" -le 8 ]; then
			hl_flows 5 2 lab_readdr m1
			record "$mode" renumber
			back_on_a "$kind"
		fi
		say "$mode: round $r of $reps done"
	done
	lab_down
}

# report FILE: medians per mode and scenario, and roamd's ratio to each other mode.
report() {
	echo
	echo "handover (longest gap of a 5 ms stream in ms: median / max; datagrams lost: median; TCP survived / rounds)"
	awk '
	function med(a, n,    i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{ k = $1 " " $2; n[k]++; g[k, n[k]] = $3 + 0; l[k, n[k]] = $4 + 0; if ($5 == "ok") ok[k]++; if ($3 + 0 > mx[k]) mx[k] = $3 + 0
	  modes[$1] = 1; sc[$2] = 1 }
	END {
		split("none sudden back silent renumber", order, " ")
		printf "%-9s", "scenario"
		for (m in modes) printf " | %-32s", m
		printf "\n"
		for (s = 1; s <= 5; s++) {
			x = order[s]; if (!(x in sc)) continue
			printf "%-9s", x
			for (m in modes) {
				k = m " " x
				if (!n[k]) { printf " | %-32s", "-"; continue }
				delete a; delete b
				for (i = 1; i <= n[k]; i++) { a[i] = g[k, i]; b[i] = l[k, i] }
				gm[k] = med(a, n[k]); lm = med(b, n[k])
				printf " | %7.1f / %7.1f ms, %5g lost, %d/%d", gm[k], mx[k], lm, ok[k], n[k]
			}
			printf "\n"
			for (m in modes) if (m != "roamd" && gm["roamd " x] > 0 && gm[m " " x] > 0)
				printf "          roamd vs %s: %.1fx shorter interruption\n", m, gm[m " " x] / gm["roamd " x]
		}
	}' "$1"
}

if [ -n "$REPORT" ]; then
	report "$REPORT"
	exit 0
fi
for mode in $MODES; do
	run_mode "$mode"
done

report "$results"
echo "(raw rows: $results)"
