#!/usr/bin/env bash
# roamd <-> roamd on two public lab hosts:
#
#   a1  roamd  10.20.0.1 fd20::1   ---- lab internet ----   b1  roamd  10.20.0.2 fd20::2
#
# IPv4 and IPv6 inside the tunnel both ways, a handshake started by either
# side, then each side's underlay address changes mid-flow and traffic
# continues; finally a clean stop removes the interface and control socket.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

lab_up a:public b:public >/dev/null
lab_trap
roam_keys a
roam_keys b
d=$(roam_dir)

# conf NAME ME PEER ADDR PEER-ADDR [ENDPOINT]
conf() {
	cat >"$d/$1.conf" <<CONF
[Interface]
PrivateKey = $(roam_key "$1")
ListenPort = 51820
Address = $3/24, fd20::${3##*.}/64
[Peer]
PublicKey = $(roam_pub "$2")
AllowedIPs = $4/32, fd20::${4##*.}/128
${5:+Endpoint = $5}
CONF
	chmod 600 "$d/$1.conf"
}

say "a1 knows b1's endpoint and starts the handshake"
conf a b 10.20.0.1 10.20.0.2 "$(lab_addr b1):51820"
conf b a 10.20.0.2 10.20.0.1
roamd_start a1 a "$d/a.conf"
roamd_start b1 b "$d/b.conf"
ping_ok a1 10.20.0.2 || fail "IPv4 a1 -> b1"
ping_ok a1 fd20::2 || fail "IPv6 a1 -> b1"
ping_ok b1 10.20.0.1 || fail "IPv4 b1 -> a1"
ping_ok b1 fd20::1 || fail "IPv6 b1 -> a1"

say "b1 knows a1's endpoint (IPv6 underlay) and starts the handshake"
roamd_stop a
roamd_stop b
conf a b 10.20.0.1 10.20.0.2
conf b a 10.20.0.2 10.20.0.1 "[$(lab_addr a1 -6)]:51820"
roamd_start a1 a "$d/a.conf"
roamd_start b1 b "$d/b.conf"
ping_ok b1 10.20.0.1 || fail "IPv4 b1 -> a1 (b initiating)"
ping_ok a1 fd20::2 || fail "IPv6 a1 -> b1 (b initiating)"
roamd_log a | grep -q 'sent handshake initiation' && fail "a1 initiated although b1 should have"

# flow HOST DST: 100 pings 50 ms apart; prints how many were answered.
flow() { lab_exec "$1" ping -c 100 -i 0.05 -W 1 "$2" | awk '/received/{print $4}'; }
for mover in a1 b1; do
	other=$([ $mover = a1 ] && echo 10.20.0.2 || echo 10.20.0.1)
	from=$([ $mover = a1 ] && echo b1 || echo a1)
	say "$mover changes its underlay address during a flow from $from"
	flow "$from" "$([ $mover = a1 ] && echo 10.20.0.1 || echo 10.20.0.2)" >"$d/flow" &
	pid=$!
	sleep 1
	new=$(lab_readdr "$mover")
	wait $pid
	got=$(cat "$d/flow")
	say "$mover now at $new; $got of 100 answered"
	[ "$got" -ge 90 ] || fail "flow broke when $mover moved ($got/100)"
	ping_ok "$mover" "$other" || fail "$mover cannot reach its peer after moving"
done

say "clean stop: interface and control socket gone"
roamd_stop a
lab_exec a1 ip link show roam0 >/dev/null 2>&1 && fail "TUN interface left behind"
[ -e "$d/a.sock" ] && fail "control socket left behind"
roamd_log a | grep -q 'shutting down' || fail "no clean shutdown logged"
say "ok"
