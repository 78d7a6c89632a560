#!/usr/bin/env bash
# Port mapping (daemon/portmap, issue 9): a host behind a router running
# miniupnpd maps a UDP port with each protocol forced in turn (PCP, NAT-PMP,
# UPnP-IGD) and with none forced (PCP, tried first, wins); for each:
# - the mapping is made, external address = the site's WAN address;
# - a datagram from the server to that address and port reaches the host's
#   socket (the NAT is symmetric: nothing else would let it in);
# - the mapping is renewed at half its 30 s lifetime (miniupnpd's minimum)
#   and still lets datagrams in after the first 30 s have passed, while one
#   left to expire (its holder killed) no longer does;
# - stopped cleanly, it is deleted: a datagram no longer arrives;
# and a host whose router maps nothing gets a clear failure, protocol by
# protocol, within a few seconds.
#
#   n1 10.1.0.11                gw-n 203.0.113.11: symmetric NAT + miniupnpd
#   portmap_tool, UDP 4001..4005 --- (PCP, NAT-PMP :5351 on 10.1.0.1, IGD :5000) ---+
#                                                                                   inet --- server 203.0.113.1
#   b1 10.2.0.11, portmap_tool  ---- gw-b 203.0.113.12: symmetric NAT, no mapping --+        (socat sends)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_root
need_cmd cc socat jq
for lib in "$ROAM_BUILD_DIR/daemon/portmap/libroam_portmap.a" "$ROAM_BUILD_DIR/daemon/portmap/libroam_pcp.a"; do
	[ -e "$lib" ] || skip "$lib not built (libminiupnpc-dev and libnatpmp-dev missing?)"
done
LIFETIME=30

lab_up n:upnp b:symmetric >/dev/null
lab_trap
d=$(lab_rundir)
root=$(cd "$(dirname "$0")/../.." && pwd)
tool=$d/portmap_tool
build_tool() {
	cc -std=c17 -O2 -D_GNU_SOURCE "$@" -I"$root" -o "$tool" "$root/tests/integration/portmap_tool.c" \
		"$ROAM_BUILD_DIR/daemon/portmap/libroam_portmap.a" "$ROAM_BUILD_DIR/daemon/portmap/libroam_pcp.a" \
		-lminiupnpc -lnatpmp
}
build_tool 2>/dev/null || build_tool -fsanitize=address,undefined
wan=$(lab_wan_addr n)

declare -A port=([pcp]=4001 [natpmp]=4002 [upnp]=4003 [auto]=4004 [expire]=4005)
declare -A proto=([pcp]=pcp [natpmp]=natpmp [upnp]=upnp [auto]=auto [expire]=pcp)
events() { grep '^{' "$(lab_log_file "pm-$1")" | jq -r "select(.event == \"$2\") | ${3:-.event}"; }
has_event() { [ -n "$(events "$1" "$2")" ]; }
count_events() { events "$1" "$2" | wc -l; }
send() { echo portmap | lab_exec server socat -u - "UDP4-SENDTO:$wan:$1" 2>/dev/null || true; }
# reaches NAME: a datagram from the server (a new source port each time, so
# no earlier conntrack entry helps it) arrives at the running tool.
reaches() {
	local before
	before=$(count_events "$1" datagram)
	send "${port[$1]}"
	_reached() { [ "$(count_events "$1" datagram)" -gt "$before" ]; }
	wait_until 3 _reached "$1"
}
# reaches_port PORT: the same with a plain listener (the tool has exited).
reaches_port() {
	local out=$d/recv.$1
	: >"$out"
	lab_exec n1 timeout 1.5 socat -u "UDP4-RECVFROM:$1" - >"$out" 2>/dev/null &
	local pid=$!
	sleep 0.3
	send "$1"
	wait "$pid" || true
	grep -qx portmap "$out"
}

say "map UDP ports on n1: each protocol forced, then auto; one mapping to leave to expire"
t0=$SECONDS
for name in pcp natpmp upnp auto expire; do
	lab_spawn n1 "pm-$name" "$tool" --port "${port[$name]}" --proto "${proto[$name]}" --lifetime "$LIFETIME" >/dev/null
done
for name in pcp natpmp upnp auto expire; do
	wait_for 10 "$name mapped" has_event "$name" mapped
	want=${proto[$name]/auto/pcp}
	assert_eq "$(events "$name" mapped .protocol)" "$want" "$name: protocol"
	assert_eq "$(events "$name" mapped .external)" "$wan:${port[$name]}" "$name: external address"
	assert_eq "$(events "$name" mapped .lifetime)" "$LIFETIME" "$name: lifetime granted"
	say "  $name: $(events "$name" mapped .protocol) $(events "$name" mapped .external) lifetime $LIFETIME s"
done
# miniupnpd's IGD calls 203.0.113.x reserved (UPNP_GetValidIGD() == 2):
# the module maps anyway and says the endpoint needs checking from outside.
assert_eq "$(events upnp mapped .needs_verification)" true "upnp: needs_verification"
assert_eq "$(events pcp mapped .needs_verification)" false "pcp: needs_verification"
mapped_at=$SECONDS
say "  all mapped in $((mapped_at - t0)) s"
kill -KILL "$(cat "$d/pid/pm-expire.pid")"

say "the server reaches each mapped port"
for name in pcp natpmp upnp auto; do
	reaches "$name" || fail "$name: a datagram from the server to $wan:${port[$name]} did not arrive"
done
reaches_port "${port[expire]}" || fail "expire: not reachable before it expired"

say "renewal at half the lifetime"
for name in pcp natpmp upnp auto; do
	wait_for $((LIFETIME / 2 + 8)) "$name renewed" has_event "$name" renewed
	assert_eq "$(events "$name" renewed .external)" "$wan:${port[$name]}" "$name: external address after renewal"
done
say "  renewed after ~$((SECONDS - mapped_at)) s"
# Past the first lifetime (plus a margin for miniupnpd's clean-up timer).
left=$((mapped_at + LIFETIME + 3 - SECONDS))
[ "$left" -le 0 ] || sleep "$left"
for name in pcp natpmp upnp auto; do
	reaches "$name" || fail "$name: not reachable after ${LIFETIME} s although renewed"
done
! reaches_port "${port[expire]}" || fail "expire: a mapping nobody renewed still lets datagrams in after ${LIFETIME} s"
say "  renewed mappings still open at $((SECONDS - mapped_at)) s, the unrenewed one closed"

say "clean stop deletes each mapping"
for name in pcp natpmp upnp auto; do
	kill -TERM "$(cat "$d/pid/pm-$name.pid")"
done
for name in pcp natpmp upnp auto; do
	wait_for 10 "$name deleted" has_event "$name" deleted
done
declare -A check=()
for name in pcp natpmp upnp auto; do
	reaches_port "${port[$name]}" &
	check[$name]=$!
done
for name in pcp natpmp upnp auto; do
	! wait "${check[$name]}" || fail "$name: a datagram still arrives after deletion"
done

for name in pcp natpmp upnp auto; do
	! grep -q "Sanitizer" "$(lab_log_file "pm-$name")" || fail "$name: sanitizer report in its log"
done

say "a router without port mapping: a clear failure, per protocol"
t1=$SECONDS
rc=0
out=$(lab_exec b1 "$tool" --port 4100 --timeout-ms 500 2>"$d/b1.err") || rc=$?
! grep -q "Sanitizer" "$d/b1.err" || fail "sanitizer report: $(head -5 "$d/b1.err")"
assert_eq "$rc" 1 "exit status without port mapping"
err=$(jq -r 'select(.event == "failed") | .error' <<<"$out")
for p in pcp natpmp upnp; do
	[[ $err == *"$p: "* ]] || fail "the failure does not say why $p failed: $err"
done
[ $((SECONDS - t1)) -le 5 ] || fail "failing took $((SECONDS - t1)) s"
say "  $err"
say "PASS ($((SECONDS - t0)) s)"
