#!/usr/bin/env bash
# roamd <-> wireguard-go (Debian's, configured with wg): IPv4 and IPv6 inside
# the tunnel both ways, handshakes initiated from either side, over IPv4 and
# IPv6 underlays. Topology: see interop_lib.sh.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up

say "roamd initiates (wireguard-go knows no endpoint, can only answer)"
interop_wgo
interop_roamd
ping_ok a1 10.10.0.2 || fail "IPv4 a1 -> wireguard-go"
ping_ok a1 fd10::2 || fail "IPv6 a1 -> wireguard-go"
ping_ok b1 10.10.0.1 || fail "IPv4 wireguard-go -> roamd"
ping_ok b1 fd10::1 || fail "IPv6 wireguard-go -> roamd"
roamd_log r | grep -q 'sent handshake initiation' || fail "roamd did not initiate"
[ "$(roam_json a1 r '.peers[0].rx_bytes')" -gt 0 ] || fail "status shows no received bytes"
[ "$(roam_json a1 r '.peers[0].latest_handshake')" -gt 0 ] || fail "status shows no handshake"
lab_exec b1 wg show "$WGIF" latest-handshakes | awk '{exit !($2 > 0)}' || fail "wg shows no handshake"

say "wireguard-go initiates (roamd has no traffic of its own yet)"
interop_roamd
interop_wgo "$A4:51820"
ping_ok b1 10.10.0.1 || fail "IPv4 wireguard-go -> roamd (wg initiating)"
ping_ok b1 fd10::1 || fail "IPv6 wireguard-go -> roamd (wg initiating)"
ping_ok a1 10.10.0.2 || fail "IPv4 roamd -> wireguard-go"
if roamd_log r | grep -q 'sent handshake initiation'; then
	fail "roamd initiated although wireguard-go should have"
fi
[ "$(interop_handshakes)" -ge 1 ] || fail "roamd logged no completed handshake"

say "IPv6 underlay: roamd reaches wireguard-go at [$B6]:51820"
interop_write_conf "[$B6]:51820" "$(roam_pub w)" "$(cat "$(roam_dir)/psk")"
interop_wgo
interop_roamd
ping_ok a1 10.10.0.2 || fail "IPv4 over the IPv6 underlay"
ping_ok a1 fd10::2 || fail "IPv6 over the IPv6 underlay"
ep=$(roam_json a1 r '.peers[0].endpoint')
[ "$ep" = "[$B6]:51820" ] || fail "roamd endpoint is $ep, expected [$B6]:51820"
lab_exec b1 wg show "$WGIF" endpoints | grep -qF "[$A6]" || fail "wireguard-go does not see roamd over IPv6"

say "status --json names the peer, its allowed IPs and counters"
roam_status a1 r | jq -e --arg k "$(roam_pub w)" \
	'.peers[0].public_key == $k and (.peers[0].allowed_ips | index("10.10.0.2/32")) != null and .drops.replay == 0' \
	>/dev/null || fail "unexpected status: $(roam_status a1 r)"
say "ok"
