#!/usr/bin/env bash
# Paths change under the nodes' feet (issue 9, section 4): after each event
# traffic resumes within RESUME_S and both sides are on a direct path again
# within DIRECT_S:
# 1. A (public) is renumbered (lab readdr): its peers move to its new address;
# 2. B's NAT restarts (conntrack -F on its symmetric router): B's flows get
#    new external ports, which A must take up (NAT rebinding); T, behind
#    another symmetric NAT, reaches B only through the relay, which must
#    learn B's new mapping at once (B rebinds when the relay stops answering,
#    not at its next 25 s BINDING);
# 3. M moves from site a (port-restricted) to site c (full cone).
#
#   p1 = A (public) ---+                      groups: g1 = A, B   g2 = A, M
#   s1 = B (symmetric) +-- inet -- server             g3 = B, T
#   t1 = T (symmetric) +
#   m1 = M (mobile: a <-> c)
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/paths_lib.sh"

RESUME_S=${RESUME_S:-5}
DIRECT_S=${DIRECT_S:-15}
need_root
need_built "$ROAMD" "$ROAM" "$SERVER"
need_cmd conntrack
lab_up p:public s:symmetric a:portrestricted c:fullcone t:symmetric m:mobile:a,c >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
coord_srv groups create g2 >/dev/null
coord_srv groups create g3 >/dev/null
for n in p1 s1 m1 t1; do coord_node $n; done
coord_join p1 "$(coord_token --group g1 --group g2)" >/dev/null
coord_join s1 "$(coord_token --group g1 --group g3)" >/dev/null
coord_join t1 "$(coord_token --group g3)" >/dev/null
coord_join m1 "$(coord_token --group g2)" >/dev/null
A=$(coord_addr4 p1)
B=$(coord_addr4 s1)
M=$(coord_addr4 m1)
wait_eq 10 "A sees B and M online" truetrue 'echo "$(coord_peer p1 s1 online)$(coord_peer p1 m1 online)"'
need_path_layer p1

# resumed FROM ADDR: ms until one ping from FROM to ADDR is answered (fails
# the test after RESUME_S).
resumed() {
	local t0 ms
	t0=$(date +%s%N)
	until lab_exec "$1" ping -c 1 -W 0.5 "$2" >/dev/null 2>&1; do
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -lt $((RESUME_S * 1000)) ] || fail "$1 -> $2: no traffic $RESUME_S s after the change" >&2
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}
# direct_again X Y [ADDRESS]: both sides on a direct path within DIRECT_S
# (X's active path at ADDRESS, if given).
both_direct() {
	[ "$(path_class "$1" "$2")" = direct ] && [ "$(path_class "$2" "$1")" = direct ] &&
		{ [ -z "${3:-}" ] || [ "$(path_active "$1" "$2")" = "udp $3" ]; }
}
direct_again() {
	local t0=$SECONDS
	if ! wait_until "$DIRECT_S" both_direct "$@"; then
		{
			path_show "$1" "$2"
			path_show "$2" "$1"
			fail "$1 <-> $2 not on a direct path ${3:+at $3 }$DIRECT_S s after the change"
		} >&2
	fi
	echo $((SECONDS - t0))
}
report() {
	say "  $1"
	echo "paths change: $1" >>"${ROAM_TEST_REPORT:-/dev/null}"
}

ping_ok p1 "$B" || fail "no traffic A -> B before the changes"
ping_ok p1 "$M" || fail "no traffic A -> M before the changes"
T=$(coord_addr4 t1)
wait_eq 10 "T sees B online" true 'coord_peer t1 s1 online'
ping_ok t1 "$B" || fail "no traffic T -> B before the changes"
direct_again p1 s1 >/dev/null
direct_again p1 m1 >/dev/null
say "before: A->B $(path_active p1 s1), A->M $(path_active p1 m1)"

say "1. A is renumbered"
new=$(lab_readdr p1)
rb=$(resumed s1 "$A")
rm=$(resumed m1 "$A")
db=$(direct_again s1 p1 "$new:51820")
dm=$(direct_again m1 p1 "$new:51820")
report "A renumbered to $new: traffic from B after $rb ms, from M after $rm ms; direct again after ${db} s, ${dm} s"

say "2. B's NAT restarts (its conntrack flushed)"
old=$(path_active p1 s1)
lab_exec gw-s conntrack -F >/dev/null 2>&1
r1=$(resumed p1 "$B")
r2=$(resumed s1 "$A")
r3=$(resumed t1 "$B")
r4=$(resumed s1 "$T")
dd=$(direct_again p1 s1)
[ "$(path_class t1 s1)" = relay ] || fail "T -> B (two symmetric NATs) is not relayed: $(path_active t1 s1)"
report "B's NAT flushed: traffic A->B after $r1 ms, B->A after $r2 ms; direct again after ${dd} s ($old -> $(path_active p1 s1)); relayed T->B after $r3 ms, B->T after $r4 ms"

say "3. M moves from site a to site c"
lab_roam m1 c
r1=$(resumed m1 "$A")
r2=$(resumed p1 "$M")
dd=$(direct_again p1 m1)
got=$(path_active p1 m1)
[[ "$got" == "udp $(lab_wan_addr c):"* ]] || fail "A's path to M is '$got', not through site c's NAT ($(lab_wan_addr c))"
report "M moved to site c: traffic M->A after $r1 ms, A->M after $r2 ms; direct again after ${dd} s ($got)"
say "ok"
