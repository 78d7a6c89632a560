# shellcheck shell=bash
# A roamd and a wireguard-go on two public hosts of the lab, keyed to each
# other, for the interop tests:
#
#   a1 (198.51.100.x, 2001:db8:1::x)            b1 (198.51.100.y, 2001:db8:2::y)
#   roamd, TUN r<id>, 10.10.0.1 fd10::1  <--->  wireguard-go w<id>, 10.10.0.2 fd10::2
#         UDP 51820                                   UDP 51820
#
# interop_lab_up            lab with sites a, b (public) and keys r, w, psk
# interop_roamd [VAR=V...]  (re)start roamd with the config in $ROAMD_CONF
# interop_wgo               (re)start wireguard-go
# shellcheck source=roam_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/roam_lib.sh"

interop_lab_up() {
	lab_up a:public b:public >/dev/null
	lab_trap
	A4=$(lab_addr a1)
	B4=$(lab_addr b1)
	A6=$(lab_addr a1 -6)
	B6=$(lab_addr b1 -6)
	roam_keys r
	roam_keys w
	(umask 077 && "$ROAM" genkey >"$(roam_dir)/psk") # any 32 random bytes in base64 make a PSK
	WGIF=$(roam_ifname w)
	ROAMD_CONF="$(roam_dir)/r.conf"
	interop_write_conf "$B4:51820" "$(roam_pub w)" "$(cat "$(roam_dir)/psk")"
}

# interop_write_conf ENDPOINT PEER-PUBLIC-KEY PSK: roamd's config file.
interop_write_conf() {
	cat >"$ROAMD_CONF" <<CONF
# roamd side of the interop test
[Interface]
PrivateKey = $(roam_key r)
ListenPort = 51820
Address = 10.10.0.1/24, fd10::1/64

[Peer]
PublicKey = $2
PresharedKey = $3
Endpoint = $1
AllowedIPs = 10.10.0.2/32, fd10::2/128
CONF
	chmod 600 "$ROAMD_CONF"
}

interop_roamd() {
	roamd_stop r
	roamd_start a1 r "$ROAMD_CONF" "$@"
}

# interop_wgo [ENDPOINT]: wireguard-go with roamd as its peer; with an
# endpoint it can initiate, without one it only answers.
interop_wgo() {
	lab_stop "wgo-$WGIF"
	wgo_start b1 "$WGIF"
	local d
	d=$(roam_dir)
	lab_exec b1 wg set "$WGIF" private-key "$d/w.key" listen-port 51820 \
		peer "$(roam_pub r)" preshared-key "$d/psk" allowed-ips 10.10.0.1/32,fd10::1/128 \
		${1:+endpoint "$1"}
	lab_exec b1 ip addr add 10.10.0.2/24 dev "$WGIF"
	lab_exec b1 ip addr add fd10::2/64 dev "$WGIF" nodad
	lab_exec b1 ip link set "$WGIF" up mtu 1420
}

# Handshakes roamd completed, from its log.
interop_handshakes() { roamd_log r | grep -c 'handshake complete' || true; }
