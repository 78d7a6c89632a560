#!/usr/bin/env bash
# Produces tests/vectors/wireguard-go.vec: a real handshake and transport
# exchange between Debian's wireguard-go (initiator) and roamd (responder,
# test build, ephemeral key fixed by ROAM_TEST_EPHEMERAL_PRIVATE_KEY), with
# every static key known, so tests/unit/test_vectors.c can replay it offline.
#
#   ns "vga" 192.0.2.1  wireguard-go wgvga 10.77.0.1 --veth-- ns "vgb" 192.0.2.2  roamd 10.77.0.2
#
# Run as root from the repository after building (ROAM_BUILD_DIR, default
# build-test, must be configured with -Dtest_hooks=true).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ROAM_BUILD_DIR:-$root/build-test}
out=${1:-$root/tests/vectors/wireguard-go.vec}
umask 077
tmp=$(mktemp -d)
cleanup() {
	pkill -f "roamd -c $tmp" 2>/dev/null || true
	ip netns pids vga 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del vga 2>/dev/null || true
	ip netns del vgb 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add vga
ip netns add vgb
ip -n vga link add veth0 type veth peer name veth0 netns vgb
ip -n vga addr add 192.0.2.1/24 dev veth0
ip -n vgb addr add 192.0.2.2/24 dev veth0
for n in vga vgb; do ip -n $n link set lo up; ip -n $n link set veth0 up; done

wg genkey >"$tmp/a.key"
wg genkey >"$tmp/b.key"
wg genkey >"$tmp/e.key"
wg genpsk >"$tmp/psk"
pub_a=$(wg pubkey <"$tmp/a.key")
pub_b=$(wg pubkey <"$tmp/b.key")

cat >"$tmp/b.conf" <<CONF
[Interface]
PrivateKey = $(cat "$tmp/b.key")
ListenPort = 51820
Address = 10.77.0.2/24
[Peer]
PublicKey = $pub_a
PresharedKey = $(cat "$tmp/psk")
AllowedIPs = 10.77.0.1/32
CONF
chmod 600 "$tmp/b.conf"
ROAM_TEST_EPHEMERAL_PRIVATE_KEY=$(cat "$tmp/e.key") \
	ip netns exec vgb "$build/daemon/roamd" -c "$tmp/b.conf" -s "$tmp/b.sock" -i roamvec >"$tmp/roamd.log" 2>&1 &

ip netns exec vga env WG_PROCESS_FOREGROUND=1 wireguard-go wgvga >"$tmp/wggo.log" 2>&1 &
for _ in $(seq 50); do ip -n vga link show wgvga >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec vga wg set wgvga private-key "$tmp/a.key" listen-port 51820 \
	peer "$pub_b" preshared-key "$tmp/psk" endpoint 192.0.2.2:51820 allowed-ips 10.77.0.2/32
ip -n vga addr add 10.77.0.1/24 dev wgvga
ip -n vga link set wgvga up

ip netns exec vgb tcpdump -Z root --immediate-mode -i veth0 -U -w "$tmp/cap.pcap" udp port 51820 >"$tmp/tcpdump.log" 2>&1 &
tcpdump_pid=$!
sleep 1
ip netns exec vga ping -c 1 -W 2 10.77.0.2 >/dev/null
sleep 0.5
kill $tcpdump_pid
wait $tcpdump_pid 2>/dev/null || true

# One UDP payload per line, in capture order, as hex.
payloads=$(tcpdump -r "$tmp/cap.pcap" -x -nn 2>/dev/null | awk '
	/^[0-9]/ { if (hex != "") print hex; hex = ""; next }
	{ for (i = 2; i <= NF; i++) hex = hex $i }
	END { if (hex != "") print hex }' | while read -r pkt; do
	# IPv4 header length from the first byte, then the 8-byte UDP header.
	ihl=$(( (16#${pkt:1:1}) * 4 ))
	echo "${pkt:$(( (ihl + 8) * 2 ))}"
done)

b64hex() { base64 -d <"$1" | od -An -tx1 | tr -d ' \n'; }
{
	echo "# wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go) initiator, roamd responder; $(date -u +%F)"
	echo "initiator_static_private $(b64hex "$tmp/a.key")"
	echo "responder_static_private $(b64hex "$tmp/b.key")"
	echo "responder_ephemeral_private $(b64hex "$tmp/e.key")"
	echo "preshared_key $(b64hex "$tmp/psk")"
	echo "$payloads" | awk '{ print "message " $0 }'
} >"$out"
echo "wrote $out: $(grep -c ^message "$out") messages"
