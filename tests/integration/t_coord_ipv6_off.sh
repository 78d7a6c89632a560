#!/usr/bin/env bash
# Overlay traffic never leaves in the clear, even where IPv6 is disabled:
# - on a host with net.ipv6.conf.{all,default}.disable_ipv6=1 the node runs
#   its overlay over IPv4 only, says so (roam up, roam status), and works;
# - with roamd's interface forced down, packets to overlay addresses are
#   refused on the host (an unreachable route behind the tunnel's routes)
#   instead of following the default route out on the underlay.
#
#   p1 (public, IPv6 disabled) ---- lab internet ---- q1 (public)
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
lab_exec p1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
coord_node q1
out=$(coord_join p1 "$tok") || fail "roam up failed on the IPv6-less host: $out"
say "roam up on p1: $out"
echo "$out" | grep -q "100.64" || fail "roam up does not show the IPv4 overlay address"
echo "$out" | grep -q "fd" && fail "roam up claims an IPv6 overlay address on a host without IPv6"
coord_join q1 "$tok" >/dev/null
st=$(coord_status p1)
say "p1: $(echo "$st" | jq -c '.managed | {state, ipv4, ipv6, overlay}')"
echo "$st" | jq -e '.managed.overlay.ipv6 == "disabled on this host" and .managed.overlay.ipv4 == "configured"' >/dev/null ||
	fail "status does not say what holds"
echo "$st" | jq -e '.managed.ipv6 == null and (.addresses | map(select(test(":"))) | length) == 0' >/dev/null ||
	fail "status lists an IPv6 overlay address that is not there"
"$ROAM" status --socket "$(roam_dir)/p1.sock" | grep -q "IPv6 overlay: disabled on this host" ||
	fail "roam status does not say IPv6 is disabled"
B=$(coord_addr4 q1)
A=$(coord_addr4 p1)
wait_for 10 "p1 sees q1" test -n "$(coord_peer p1 q1 name)"
ping_ok p1 "$B" || fail "no IPv4 overlay from the IPv6-less host"
ping_ok q1 "$A" || fail "no IPv4 overlay to the IPv6-less host"

say "roam0 forced down: nothing for the overlay leaves on the underlay"
lab_spawn p1 capture tcpdump -Z root -n -i any -w "$(roam_dir)/leak.pcap" "dst host $B" >/dev/null
sleep 1
lab_exec p1 ip link set roam0 down
route=$(lab_exec p1 ip route get "$B" 2>&1 || true)
say "  ip route get $B: $route"
echo "$route" | grep -qiE 'unreachable|No route' || fail "no unreachable route for the overlay"
! lab_exec p1 ping -c 3 -i 0.2 -W 1 "$B" >/dev/null 2>&1 || fail "ping to the overlay went through with roam0 down"
lab_exec p1 sh -c "echo x | socat -u - UDP4-SENDTO:$B:9,connect-timeout=1" >/dev/null 2>&1 || true
sleep 1
lab_stop capture
n=$( (tcpdump -n -r "$(roam_dir)/leak.pcap" 2>/dev/null || echo "unreadable capture") | wc -l)
say "  packets to $B seen leaving p1 (tcpdump -i any): $n"
[ "$n" -eq 0 ] || fail "$n overlay packets left p1 in the clear"
lab_exec p1 ip link set roam0 up
coord_log p1 | grep -qiE 'sanitizer|segmentation' && fail "roamd reported a crash"
say "ok"
