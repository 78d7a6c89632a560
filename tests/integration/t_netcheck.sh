#!/usr/bin/env bash
# roam netcheck in every kind of network, against roam-server's two
# addresses (NETCHECK answers leave from the address asked):
#
#                       server 203.0.113.1, .2, 2001:db8::1, ::2
#                                      |
#                                    inet
#     +-----------+-----------+--------+---------+-----------+-----------+
#   gw-p        gw-f        gw-s               gw-u        gw-d        gw-x
#  public     fullcone    symmetric         udpblocked     dual        upnp (symmetric
#  (IPv6)     +hairpin                                  (symmetric    + miniupnpd:
#                                                       + IPv6 behind  PCP, NAT-PMP,
#                                                       a firewall)    UPnP-IGD)
#    p1          f1          s1                 u1           d1          x1
#
# Expected: p1 EIM (no NAT) with IPv6; f1 EIM, hairpinning; s1 per
# destination, no hairpinning, no IPv6; u1 UDP blocked, and `roam status`
# says so instead of a public endpoint; d1 per destination with IPv6; x1
# per destination with a port mapping of the tunnels' port (51820) that
# keeps its number, deleted again by roam down. The server knows each
# node's mapping kind.
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"
need_built "$ROAMD" "$ROAM" "$SERVER"

lab_up p:public f:fullcone:1:hairpin s:symmetric u:udpblocked d:dual x:upnp >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
for n in p1 f1 s1 u1 d1 x1; do
	coord_node $n
	coord_join $n "$tok" >/dev/null
done

netcheck() { lab_exec "$1" "$ROAM" netcheck --json --socket "$(roam_dir)/$1.sock"; }
# check HOST JQ-EXPR WHAT: the netcheck result of HOST satisfies JQ-EXPR.
check() {
	local out
	out=$(netcheck "$1")
	echo "$out" | jq -e "$2" >/dev/null || fail "$1: expected $3, got $out"
	say "  $1: $3"
}

say "netcheck per site"
# p1 needs a moment: the first BINDING_ACK tells it it is public.
p1_public() { [ "$(coord_status p1 | jq -r .managed.nat)" = public ]; }
wait_for 10 "p1 sees it is public" p1_public
t0=$(date +%s%N)
check p1 '.udp == "ok" and .mapping == "eim" and .ipv6 == true and .hairpinning == null and .public == "198.51.100.11:\(.public | split(":")[1])" and (.answered_by | length) == 2 and .server_rtt_ms > 0' \
	"UDP, EIM, IPv6, both server addresses answer"
t1=$(date +%s%N)
say "  (roam netcheck took $(((t1 - t0) / 1000000)) ms)"
check f1 '.udp == "ok" and .mapping == "eim" and .hairpinning == true and .ipv6 == false' "EIM, hairpinning, no IPv6"
check s1 '.udp == "ok" and .mapping == "per-destination" and .hairpinning == false and .public_other != .public' \
	"per destination, no hairpinning"
check d1 '.mapping == "per-destination" and .ipv6 == true and (.public6 | startswith("[2001:db8:"))' "per destination, IPv6"
check u1 '.udp == "blocked" and .public == null and .server_rtt_ms == null' "UDP blocked"
lab_exec u1 "$ROAM" netcheck --socket "$(roam_dir)/u1.sock" | grep -q '^UDP: *blocked' || fail "u1: human output"

mapped() { netcheck x1 | jq -e '.portmap.protocol != null' >/dev/null; }
wait_for 15 "x1 maps its port" mapped
check x1 '.mapping == "per-destination" and .portmap.external == "203.0.113.16:51820" and .portmap.verified != false' \
	"per destination, port mapped to 203.0.113.16:51820"
say "  x1: $(lab_exec x1 "$ROAM" netcheck --socket "$(roam_dir)/x1.sock" | grep 'Port mapping')"
# Once in CI (ASan build, loaded machine) the rule was not listed right after
# the mapping was reported, and was in isolated reruns: the cause is not
# known yet (miniupnpd's order of answer and rule?), so allow it 5 s.
rule_in_table() { lab_exec gw-x nft list table inet miniupnpd | grep -q 51820; }
wait_for 5 "a rule for the mapping in miniupnpd's table" rule_in_table
lab_exec x1 "$ROAM" down --socket "$(roam_dir)/x1.sock" >/dev/null
unmapped() { ! lab_exec gw-x nft list table inet miniupnpd 2>/dev/null | grep -q 51820; }
wait_for 10 "x1's mapping deleted after roam down" unmapped

say "roam status on the UDP-blocked node claims nothing public"
st=$(coord_status u1)
echo "$st" | jq -e '.managed.udp == "blocked" and .managed.public_endpoint == null and .managed.nat == "unknown"' \
	>/dev/null || fail "u1 status: $(echo "$st" | jq -c .managed)"
human=$(lab_exec u1 "$ROAM" status --socket "$(roam_dir)/u1.sock")
echo "$human" | grep -q "UDP: blocked" || fail "u1: roam status does not say UDP is blocked: $human"
! echo "$human" | grep -qiE "public endpoint|nat: public" || fail "u1: roam status claims something public: $human"

say "the server keeps each node's mapping kind (it goes into every peer of the view)"
srv_knows() { grep -q "($1): NAT mapping $2" "$(lab_log_file roam-server)"; }
wait_for 10 "the server knows s1 maps per destination" srv_knows s1 per-destination
srv_knows f1 eim || fail "the server does not know f1's mapping"
say "PASS"
