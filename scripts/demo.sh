#!/usr/bin/env bash
# The main job: install, build, and show roam working, all in network
# namespaces of the lab (an emulated internet with NATs):
#
#                      server: roam-server (registration, directory, relay)
#                         |
#   site a (NAT) ---- lab internet ---- site b (NAT)
#     a1: roamd                            b1: roamd
#
# Both nodes join the network with `roam up`, get stable overlay addresses,
# see each other in `roam status` (the buddy list) and reach each other end
# to end encrypted: first through the server's relay (which cannot read the
# WireGuard packets it carries), then directly, once their probes have
# punched a hole through both NATs. `roam netcheck` says what the network
# allows, `roam ping` which path answers. Then a ping and a throughput
# figure go through the tunnel, and everything is torn down.
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
# shellcheck source=../tests/integration/coord_lib.sh
source tests/integration/coord_lib.sh

echo "== lab: two sites behind port-restricted NATs, and a server host"
lab_up a:portrestricted b:portrestricted >/dev/null
lab_trap
echo "   a1 $(lab_addr a1) behind NAT $(lab_wan_addr a);  b1 $(lab_addr b1) behind NAT $(lab_wan_addr b)"

echo "== roam-server init and run on $(lab_server_addr):$COORD_PORT"
coord_server_up
coord_srv groups create demo >/dev/null
token=$(coord_token --reusable --group demo)
echo "   join command: roam up --server https://$(lab_server_addr):$COORD_PORT --token ${token:0:24}..."

echo "== two nodes join"
for h in a1 b1; do
	coord_node $h
	coord_join $h "$token" | sed 's/^/   /'
done
B=$(coord_addr4 b1)
wait_for 10 "a1 sees b1" test -n "$(coord_peer a1 b1 path)"

echo "== roam netcheck on a1 (what its network allows)"
lab_exec a1 "$ROAM" netcheck --socket "$(roam_dir)/a1.sock" | sed 's/^/   /'

echo "== roam ping b1 from a1 (the relay answers first, then the punched hole)"
lab_exec a1 "$ROAM" ping b1 --socket "$(roam_dir)/a1.sock" | sed 's/^/   /' || true
wait_for 10 "a direct path a1 -> b1" test "$(coord_peer a1 b1 path)" = direct

echo "== roam status on a1 (the buddy list, and the paths to each peer)"
lab_exec a1 "$ROAM" status --socket "$(roam_dir)/a1.sock" | sed -n '/^network/,$p' | sed 's/^/   /'

echo "== ping a1 -> b1 ($B), direct through both NATs"
lab_exec a1 ping -c 5 -i 0.2 "$B" | tail -2 | sed 's/^/   /'

echo "== throughput a1 -> b1, direct (iperf3, 5 s)"
lab_spawn b1 iperf3 iperf3 -s -1 >/dev/null
wait_for 5 "iperf3 server" lab_exec b1 sh -c "ss -ltn | grep -q ':5201'"
lab_exec a1 iperf3 -c "$B" -t 5 -f m | awk '/receiver/{print "   " $7, $8, "received"}'

echo "== tearing down"
coord_node_stop a1
coord_node_stop b1
coord_server_stop
echo "done: nodes, server, interfaces and namespaces are gone"
