#!/usr/bin/env bash
# roam-server and four real roamd nodes: closed user groups and path choice.
#
#            site x (port-restricted NAT)        site y (port-restricted NAT)
#            x1 = A   x2 = B                     y1 = C
#                  \   /                           |
#   server ------ lab internet ----------------- site p (public): p1 = D
#
#   groups: g1 = {A, B, D}, g2 = {B, C}
#   expected paths (the path layer's probes): A<->B direct (same NAT),
#   B<->C direct (two endpoint-independent NATs open together), D<->A
#   direct, and A neither sees nor reaches C.
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up x:portrestricted:2 y:portrestricted p:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
coord_srv groups create g2 >/dev/null
tok_g1=$(coord_token --reusable --group g1)
tok_g12=$(coord_token --group g1 --group g2)
tok_g2=$(coord_token --group g2)

for h in x1 x2 y1 p1; do coord_node $h; done
say "nodes join: A, D with g1; B with g1+g2; C with g2"
coord_join x1 "$tok_g1"
coord_join x2 "$tok_g12"
coord_join y1 "$tok_g2"
coord_join p1 "$tok_g1"

A=$(coord_addr4 x1)
B=$(coord_addr4 x2)
C=$(coord_addr4 y1)
D=$(coord_addr4 p1)
say "overlay: A=$A B=$B C=$C D=$D"

peers_of() { coord_status "$1" | jq -r '[.peers[].name] | sort | join(",")'; }
wait_eq 10 "A's view" "p1,x2" 'peers_of x1'
wait_eq 10 "B's view" "p1,x1,y1" 'peers_of x2'
wait_eq 10 "C's view" "x2" 'peers_of y1'
wait_eq 10 "D's view" "x1,x2" 'peers_of p1'
say "views: A sees $(peers_of x1); B sees $(peers_of x2); C sees $(peers_of y1); D sees $(peers_of p1)"

say "traffic A<->B, B<->C, D<->A"
ping_ok x1 "$B" || fail "A cannot reach B"
ping_ok x2 "$A" || fail "B cannot reach A"
ping_ok x2 "$C" || fail "B cannot reach C"
ping_ok y1 "$B" || fail "C cannot reach B"
ping_ok x1 "$D" || fail "A cannot reach D"
ping_ok p1 "$A" || fail "D cannot reach A"

say "paths"
check_path() {
	local got
	got=$(coord_peer "$1" "$2" path)
	say "  $1 -> $2: $got"
	[ "$got" = "$3" ] || fail "$1's path to $2 is '$got', expected $3"
}
direct() { [ "$(coord_peer "$1" "$2" path)" = direct ]; }
for pair in "x1 x2" "x2 x1" "x2 y1" "y1 x2" "x1 p1" "p1 x1"; do
	# shellcheck disable=SC2086
	wait_for 5 "direct path $pair" direct $pair
	# shellcheck disable=SC2086
	check_path $pair direct
done
# Full-size packets on the path: at MTU 1420 a transport message is 1452
# bytes (WireGuard pads only up to the MTU); t_paths_direct sends them
# through the relay.
lab_exec x2 ping -c 3 -i 0.2 -W 2 -M do -s 1392 "$C" >/dev/null || fail "full-MTU packets do not get through"
lab_exec y1 ping -c 3 -i 0.2 -W 2 -M do -s 1391 "$B" >/dev/null || fail "odd-size packets do not get through"
coord_status x1 | jq -e '.managed.nat == "behind-nat"' >/dev/null || fail "A does not know it is behind NAT"
coord_status p1 | jq -e '.managed.nat == "public"' >/dev/null || fail "D does not know it is public"

say "A neither sees nor reaches C (a filter at both ends, not only an omission)"
if ping_ok x1 "$C"; then fail "A reached C"; fi
[ -z "$(coord_peer x1 y1 path)" ] || fail "A knows C"
[ -z "$(coord_peer y1 x1 path)" ] || fail "C knows A"
[ "$(coord_status x1 | jq '.drops.no_peer')" -ge 1 ] || fail "A's packets to C were not dropped as 'no peer'"

say "the server lists C (it relayed nothing it could read: it has no peer keys)"
coord_srv nodes list >"$(roam_dir)/nodes.txt"
grep -q y1 "$(roam_dir)/nodes.txt" || fail "server does not list C"
say "ok"
