#!/usr/bin/env bash
# KEEPs in place of BINDINGs on the push channel (issue 14: the server's
# steady CPU is per datagram). With the keepalive timer at 2 s (test knob
# ROAMD_TEST_KEEPALIVE_S; 25 s normally), a node on the push channel
#
#   p1 (public site p)      s1 (behind a symmetric NAT, site s)
#
# - (both nodes) send a KEEP alone on most timers and a BINDING only every fourth
#   (the server's stats at the end: far fewer BINDINGs than KEEPs), and
#   stays online and on "udp" meanwhile (each KEEP refreshed its binding);
# - behind a NAT that restarts (its conntrack flushed: a new mapping), its
#   next KEEP comes from an endpoint the server has not bound and goes
#   unanswered; a BINDING follows within about a second, the server sees
#   s1 at its new endpoint, and s1 stays on the push channel (no fallback
#   to the HTTPS stream) and reaches p1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coord_lib.sh"
need_cmd jq conntrack

lab_up p:public s:symmetric >/dev/null
lab_trap
on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		grep -E "push|BINDING|server sees" "$(lab_log_file roamd-s1)" 2>/dev/null | tail -n 20 | sed "s/^/  s1: /"
		grep -E "s1|stats" "$(lab_log_file roam-server)" 2>/dev/null | tail -n 10 | sed "s/^/  server: /"
	fi
	lab_down
	exit $rc
}
trap on_exit EXIT

coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
d=$(roam_dir)
for h in p1 s1; do
	lab_spawn $h roamd-$h env ROAMD_TEST_KEEPALIVE_S=2 "$ROAMD" --state-dir "$d/st-$h" -s "$d/$h.sock" -l debug >/dev/null
	wait_for 10 "roamd in $h" test -S "$d/$h.sock"
	coord_join $h "$tok" >/dev/null
done

control() { coord_status "$1" | jq -r .managed.control; }
is_control() { [ "$(control "$1")" = "$2" ]; }
wait_for 20 "s1 on udp" is_control s1 udp
wait_for 20 "p1 on udp" is_control p1 udp
P=$(coord_addr4 p1)
wait_for 15 "s1 holds p1" coord_sees s1 p1
wait_for 20 "s1 reaches p1" ping_ok s1 "$P"

say "12 s of 2 s timers: KEEPs alone, a BINDING every fourth"
keeps0=$(coord_log s1 | grep -c "PUSH_ACK OPEN|KEEP" || true)
sleep 12
keeps=$(($(coord_log s1 | grep -c "PUSH_ACK OPEN|KEEP" || true) - keeps0))
say "  s1 sent $keeps KEEPs"
[ "$keeps" -ge 4 ] || fail "s1 sent $keeps KEEPs in 12 s"
is_control s1 udp || fail "s1 left the push channel: $(control s1)"
coord_status s1 | jq -e '.managed.state == "connected"' >/dev/null || fail "s1 not connected"
! coord_log s1 | grep -q "info: push channel: .*the HTTPS stream" || fail "s1 fell back to the HTTPS stream"

say "s1's NAT restarts (a new mapping): its KEEP goes unanswered, a BINDING follows"
seen() { grep -c "(s1) at " "$(lab_log_file roam-server)" || true; }
before=$(seen)
t0=$(date +%s%N)
lab_exec gw-s conntrack -F >/dev/null 2>&1
seen_new() { [ "$(seen)" -gt "$before" ]; }
wait_for 10 "the server sees s1 at a new endpoint" seen_new
say "  the server saw s1's new endpoint $((($(date +%s%N) - t0) / 1000000)) ms after the flush"
grep "(s1) at " "$(lab_log_file roam-server)" | tail -n 2 | sed 's/^/    /'
sleep 3
is_control s1 udp || fail "s1 left the push channel after its NAT restarted: $(control s1)"
! coord_log s1 | grep -q "info: push channel: .*the HTTPS stream" || fail "s1 fell back to the HTTPS stream"
wait_for 15 "s1 reaches p1 after its NAT restarted" ping_ok s1 "$P"

say "the server's count: BINDINGs and KEEPs"
coord_server_stop
line=$(grep "stats: .* bindings" "$(lab_log_file roam-server)" | tail -n 1)
bindings=$(sed -n 's/.* \([0-9]*\) bindings (.*/\1/p' <<<"$line")
srv_keeps=$(sed -n 's/.*acks (\([0-9]*\) keeps.*/\1/p' <<<"$line")
say "  $bindings BINDINGs, $srv_keeps KEEPs accepted"
[ -n "$bindings" ] && [ -n "$srv_keeps" ] || fail "no stats line: $line"
# Without the KEEPs in their place: one BINDING per timer and node, and
# one OPEN|KEEP after each BINDING_ACK, so as many BINDINGs as KEEPs.
[ "$srv_keeps" -ge 6 ] && [ $((bindings * 3)) -le $((srv_keeps * 2)) ] ||
	fail "$bindings BINDINGs for $srv_keeps KEEPs: the KEEPs did not take the BINDINGs' place"
say "PASS"
