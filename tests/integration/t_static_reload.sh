#!/usr/bin/env bash
# roamd's static mode re-reads its file on SIGHUP and applies only the
# differences, like `wg syncconf`:
#
#   a1  roamd r   10.30.0.1  ---- lab internet ----  b1  roamd pa (peer A)  10.30.0.2
#                                                    b2  roamd pb (peer B)  10.30.0.3
#
# A ping flow from a1 to A runs across a SIGHUP that adds B and changes A's
# PersistentKeepalive: the flow loses nothing and A's session is not
# re-handshaken; B answers after the reload; a broken file on reload is
# refused and the running peers stay; a peer removed from the file is gone
# with its route, a changed AllowedIPs is routed, a changed Endpoint used.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

lab_up a:public b:public:2 >/dev/null
lab_trap
roam_keys r
roam_keys pa
roam_keys pb
d=$(roam_dir)

# r_conf [KEEPALIVE-A] [WITH-B]: roamd r's file, peer A always, B if asked.
r_conf() {
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.30.0.1/24\n' "$(roam_key r)"
		printf '[Peer]\nPublicKey = %s\nEndpoint = %s:51820\nAllowedIPs = %s\n' \
			"$(roam_pub pa)" "$(lab_addr b1)" "${A_IPS:-10.30.0.2/32}"
		[ -z "${1:-}" ] || printf 'PersistentKeepalive = %s\n' "$1"
		[ -z "${2:-}" ] || printf '[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = 10.30.0.3/32\n' \
			"$(roam_pub pb)" "${B_EP:-$(lab_addr b2):51820}"
	} >"$d/r.conf.new"
	chmod 600 "$d/r.conf.new"
	mv "$d/r.conf.new" "$d/r.conf"
}
# peer_conf NAME ADDR: a peer of r that only answers.
peer_conf() {
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = %s/24\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.30.0.1/32\n' \
		"$(roam_key "$1")" "$2" "$(roam_pub r)" >"$d/$1.conf"
	chmod 600 "$d/$1.conf"
}
peer_json() { roam_json a1 r ".peers[] | select(.public_key == \"$(roam_pub "$1")\") | $2"; }
reload() {
	local before
	before=$(roamd_log r | grep -c "$1" || true)
	kill -HUP "$(cat "$(lab_rundir)/pid/roamd-r.pid")"
	wait_for 10 "roamd to log '$1'" sh -c "[ \$(grep -c '$1' '$(lab_log_file roamd-r)') -gt $before ]"
}

r_conf
peer_conf pa 10.30.0.2
peer_conf pb 10.30.0.3
roamd_start a1 r "$d/r.conf"
roamd_start b1 pa "$d/pa.conf"
roamd_start b2 pb "$d/pb.conf"
ping_ok a1 10.30.0.2 || fail "a1 -> A before the reload"
hs_a=$(peer_json pa .latest_handshake)
[ "$hs_a" -gt 0 ] || fail "no handshake with A"
hs_count=$(roamd_log pa | grep -c 'handshake complete' || true)

say "SIGHUP during a flow to A: B added, A's keepalive changed"
lab_exec a1 ping -c 60 -i 0.05 -W 1 10.30.0.2 >"$d/flow" 2>&1 &
flow=$!
sleep 1
r_conf 7 with-b
reload 'reload: 1 peers added, 0 removed, 1 changed, 0 unchanged'
wait "$flow" || true
received=$(awk '/received/{print $4}' "$d/flow")
say "flow across the reload: ${received:-0}/60 answered"
echo "flow to A across the reload: ${received:-0}/60 answered" >>"${ROAM_TEST_REPORT:-/dev/null}"
[ "${received:-0}" -ge 58 ] || fail "flow to A lost packets across the reload: $(cat "$d/flow")"
[ "$(peer_json pa .persistent_keepalive)" = 7 ] || fail "A's keepalive not changed"
[ "$(peer_json pa .latest_handshake)" = "$hs_a" ] || fail "A was re-handshaken by the reload"
[ "$(roamd_log pa | grep -c 'handshake complete' || true)" = "$hs_count" ] || fail "A saw a new handshake"
ping_ok a1 10.30.0.3 || fail "a1 -> B after the reload"
lab_exec a1 ip -4 route show dev roam0 | grep -q '^10.30.0.3 ' || fail "no route to B"

say "a broken file on reload: refused, old peers kept"
printf '[Interface]\nPrivateKey = %s\nPostUp = iptables -F\n' "$(roam_key r)" >"$d/r.conf"
reload 'keeping the running configuration'
roamd_log r | grep -q "r.conf:3: \[Interface\] PostUp: PostUp is a wg-quick hook" || fail "reload error not logged"
[ "$(roam_json a1 r '.peers | length')" = 2 ] || fail "peers lost after a broken reload"
ping_ok a1 10.30.0.2 || fail "a1 -> A after a broken reload"
ping_ok a1 10.30.0.3 || fail "a1 -> B after a broken reload"

say "B's endpoint moves to its IPv6 address"
B_EP="[$(lab_addr b2 -6)]:51820" r_conf 7 with-b
reload 'reload: 0 peers added, 0 removed, 1 changed, 1 unchanged'
[ "$(peer_json pb .endpoint)" = "[$(lab_addr b2 -6)]:51820" ] || fail "B's endpoint not changed"
ping_ok a1 10.30.0.3 || fail "a1 -> B at its new endpoint"

say "B removed from the file, A given one more allowed prefix"
A_IPS=10.30.0.2/32,10.30.0.22/32 r_conf 7
reload 'reload: 0 peers added, 1 removed, 1 changed, 0 unchanged'
[ "$(peer_json pa '.allowed_ips | join(",")')" = 10.30.0.2/32,10.30.0.22/32 ] || fail "A's allowed IPs not replaced"
lab_exec a1 ip -4 route show dev roam0 | grep -q '^10.30.0.22 ' || fail "no route for A's new prefix"
[ "$(roam_json a1 r '.peers | length')" = 1 ] || fail "B still a peer"
lab_exec a1 ip -4 route show dev roam0 | grep -q '^10.30.0.3 ' && fail "route to B left behind"
ping_ok a1 10.30.0.2 || fail "a1 -> A after removing B"
[ "$(peer_json pa .latest_handshake)" = "$hs_a" ] || fail "A was re-handshaken by the second reload"
say "ok"
