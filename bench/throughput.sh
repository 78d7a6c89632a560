#!/usr/bin/env bash
# Data-plane benchmark: in one run, on the same lab namespaces and links,
# iperf3 TCP throughput (1 and 4 streams, both directions of the path being
# the same) and ping RTT through
#   - the bare underlay (no tunnel),
#   - roamd <-> roamd,
#   - wireguard-go <-> wireguard-go (Debian's, 0.0.20220316),
#   - wireguard-go <-> wireguard-go (upstream 0.0.20250522, with TUN offloads
#     and UDP GSO/GRO: the static binary in ../shared/anchors, see its README),
# in ROUNDS rounds that alternate the paths (the machine may be shared: the
# median of each figure is printed), then roamd's ratios against both.
# Figures go in docs/performance.md.
#
#   a1 (site a) ---- gw-a ---- lab internet ---- gw-b ---- b1 (site b)
#
# Usage: sudo bench/throughput.sh [SECONDS]   (default 5 per measurement)
# Environment: ROAM_BUILD_DIR (default build/; use a release build, e.g.
# meson setup build-rel --buildtype=release), ROUNDS (3), ROAM_ANCHORS (the
# anchors directory, default ../shared/anchors beside the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
rounds=${ROUNDS:-3}
anchors=${ROAM_ANCHORS:-$root/../shared/anchors}
wgo_up=$anchors/wireguard-go-0.0.20250522
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
[ -x "$ROAM_BUILD_DIR/daemon/roamd" ] || { echo "build roam first (scripts/demo.sh or meson setup build)" >&2; exit 2; }
# shellcheck source=../tests/integration/roam_lib.sh
source "$root/tests/integration/roam_lib.sh"

lab_up a:public b:public >/dev/null
lab_trap
d=$(roam_dir)
A=$(lab_addr a1)
B=$(lab_addr b1)

# --- roamd pair on 10.99.0.0/24, UDP 51820
roam_keys ra
roam_keys rb
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.99.0.1/24\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.2/32\nEndpoint = %s:51820\n' \
	"$(roam_key ra)" "$(roam_pub rb)" "$B" >"$d/ra.conf"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.99.0.2/24\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.1/32\n' \
	"$(roam_key rb)" "$(roam_pub ra)" >"$d/rb.conf"
chmod 600 "$d"/*.conf
roamd_start a1 ra "$d/ra.conf" 
roamd_start b1 rb "$d/rb.conf"
roamd_log ra >/dev/null

# --- wireguard-go pair on 10.98.0.0/24, UDP 51821
roam_keys wa
roam_keys wb
WA=$(roam_ifname wa)
WB=$(roam_ifname wb)
wgo_start a1 "$WA"
wgo_start b1 "$WB"
lab_exec a1 wg set "$WA" private-key "$d/wa.key" listen-port 51821 peer "$(roam_pub wb)" endpoint "$B:51821" allowed-ips 10.98.0.2/32
lab_exec b1 wg set "$WB" private-key "$d/wb.key" listen-port 51821 peer "$(roam_pub wa)" allowed-ips 10.98.0.1/32
lab_exec a1 ip addr add 10.98.0.1/24 dev "$WA"
lab_exec b1 ip addr add 10.98.0.2/24 dev "$WB"
lab_exec a1 ip link set "$WA" up mtu 1420
lab_exec b1 ip link set "$WB" up mtu 1420

# --- upstream wireguard-go pair on 10.97.0.0/24, UDP 51822 (if the anchor is there)
paths="underlay:$B roamd:10.99.0.2 wireguard-go:10.98.0.2"
if [ -x "$wgo_up" ]; then
	roam_keys ua
	roam_keys ub
	UA=$(roam_ifname ua)
	UB=$(roam_ifname ub)
	for end in "a1 $UA" "b1 $UB"; do
		read -r host ifname <<<"$end"
		lab_spawn "$host" "wgo-$ifname" env LOG_LEVEL=error "$wgo_up" -f "$ifname" >/dev/null
		wait_for 10 "upstream wireguard-go $ifname" lab_exec "$host" ip link show "$ifname"
	done
	lab_exec a1 wg set "$UA" private-key "$d/ua.key" listen-port 51822 peer "$(roam_pub ub)" endpoint "$B:51822" allowed-ips 10.97.0.2/32
	lab_exec b1 wg set "$UB" private-key "$d/ub.key" listen-port 51822 peer "$(roam_pub ua)" allowed-ips 10.97.0.1/32
	lab_exec a1 ip addr add 10.97.0.1/24 dev "$UA"
	lab_exec b1 ip addr add 10.97.0.2/24 dev "$UB"
	lab_exec a1 ip link set "$UA" up mtu 1420
	lab_exec b1 ip link set "$UB" up mtu 1420
	paths+=" wg-go-2025:10.97.0.2"
	upstream_note=""
else
	upstream_note="upstream wireguard-go skipped: no $wgo_up (set ROAM_ANCHORS to the anchors directory)"
	echo "$upstream_note" >&2
fi

ping_ok a1 10.99.0.2 || fail "roamd tunnel down"
ping_ok a1 10.98.0.2 || fail "wireguard-go tunnel down"
[ -n "$upstream_note" ] || ping_ok a1 10.97.0.2 || fail "upstream wireguard-go tunnel down"

lab_spawn b1 iperf3 iperf3 -s >/dev/null
wait_for 5 "iperf3 server" lab_exec b1 sh -c "ss -ltn | grep -q ':5201'"

# gbps DST STREAMS: iperf3 receiver throughput in Gbit/s.
gbps() {
	lab_exec a1 iperf3 -c "$1" -P "$2" -t "$secs" -J |
		jq '.end.sum_received.bits_per_second / 1e9'
}
# rtt DST: average ping RTT in ms over 50 pings.
rtt() { lab_exec a1 ping -q -c 50 -i 0.02 "$1" | awk -F/ '/rtt/{print $5}'; }

# Each round measures every path once, in turn, so that a slow moment of the
# shared machine falls on all of them alike; the median of the rounds counts.
declare -A R
for round in $(seq "$rounds"); do
	for name in $paths; do
		label=${name%%:*}
		dst=${name#*:}
		R[$label,1]+=" $(gbps "$dst" 1)"
		R[$label,4]+=" $(gbps "$dst" 4)"
		R[$label,rtt]+=" $(rtt "$dst")"
	done
	echo "round $round of $rounds done" >&2
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for key in "${!R[@]}"; do
	R[$key]=$(median "${R[$key]}")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
printf '\n%-14s %12s %12s %12s\n' "path" "1 stream" "4 streams" "ping RTT"
for name in $paths; do
	label=${name%%:*}
	printf '%-14s %9.2f Gb %9.2f Gb %9.3f ms\n' "$label" "${R[$label,1]}" "${R[$label,4]}" "${R[$label,rtt]}"
done
printf '\nroamd / wireguard-go (Debian 0.0.20220316):   1 stream %s, 4 streams %s, RTT %s (lower is better)\n' \
	"$(ratio "${R[roamd,1]}" "${R[wireguard-go,1]}")" "$(ratio "${R[roamd,4]}" "${R[wireguard-go,4]}")" \
	"$(ratio "${R[roamd,rtt]}" "${R[wireguard-go,rtt]}")"
if [ -z "$upstream_note" ]; then
	printf 'roamd / wireguard-go (upstream 0.0.20250522): 1 stream %s, 4 streams %s, RTT %s (lower is better)\n' \
		"$(ratio "${R[roamd,1]}" "${R[wg-go-2025,1]}")" "$(ratio "${R[roamd,4]}" "${R[wg-go-2025,4]}")" \
		"$(ratio "${R[roamd,rtt]}" "${R[wg-go-2025,rtt]}")"
else
	printf '%s\n' "$upstream_note"
fi
printf 'roamd / underlay:                             1 stream %s, 4 streams %s\n' \
	"$(ratio "${R[roamd,1]}" "${R[underlay,1]}")" "$(ratio "${R[roamd,4]}" "${R[underlay,4]}")"
printf '(%s s per measurement, median of %s rounds, %s, %s cores, load %s)\n' "$secs" "$rounds" \
	"$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
