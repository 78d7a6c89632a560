#!/usr/bin/env bash
# The main job: install, build, and show roam working. Two roamd nodes in
# network namespaces of the lab, each on its own "site" of an emulated
# internet, bring up an encrypted tunnel; a ping and an iperf3 run go through
# it, `roam status` shows the session, then everything is torn down.
#
#   a1 (site a) roamd 10.99.0.1  ==== WireGuard tunnel over UDP ====  b1 (site b) roamd 10.99.0.2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (it creates network namespaces and TUN devices)" >&2
	exit 2
fi

echo "== installing dependencies (Debian packages)"
bash scripts/install-deps.sh
echo "== building (release)"
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

export ROAM_BUILD_DIR=$root/build
# shellcheck source=../tests/integration/roam_lib.sh
source tests/integration/roam_lib.sh

echo "== starting the lab: two sites on an emulated internet"
lab_up a:public b:public >/dev/null
lab_trap
roam_keys a
roam_keys b
d=$(roam_dir)
for side in a b; do
	me=$([ $side = a ] && echo 1 || echo 2)
	peer=$([ $side = a ] && echo b || echo a)
	them=$([ $side = a ] && echo 2 || echo 1)
	{
		echo "[Interface]"
		echo "PrivateKey = $(roam_key $side)"
		echo "ListenPort = 51820"
		echo "Address = 10.99.0.$me/24, fd99::$me/64"
		echo "[Peer]"
		echo "PublicKey = $(roam_pub $peer)"
		echo "AllowedIPs = 10.99.0.$them/32, fd99::$them/128"
		[ $side = a ] && echo "Endpoint = $(lab_addr b1):51820"
	} >"$d/$side.conf"
	chmod 600 "$d/$side.conf"
done
roamd_start a1 a "$d/a.conf"
roamd_start b1 b "$d/b.conf"
echo "   a1 $(lab_addr a1)  <->  b1 $(lab_addr b1)   (underlay)"

echo "== ping through the tunnel (a1 -> 10.99.0.2)"
lab_exec a1 ping -c 5 -i 0.2 10.99.0.2 | tail -2

echo "== throughput through the tunnel (iperf3, 5 s, 1 TCP stream)"
lab_spawn b1 iperf3 iperf3 -s -1 >/dev/null
wait_for 5 "iperf3 server" lab_exec b1 sh -c "ss -ltn | grep -q ':5201'"
lab_exec a1 iperf3 -c 10.99.0.2 -t 5 -f m | awk '/receiver/{print "   " $7, $8, "received"}'

echo "== roam status on a1"
lab_exec a1 "$ROAM" status --socket "$d/a.sock" | sed 's/^/   /'

echo "== tearing down"
roamd_stop a
roamd_stop b
echo "done: the tunnel, interfaces and namespaces are gone"
