#!/usr/bin/env bash
# Nodes whose networks let no UDP out (issue 9, section 4): udpblocked,
# httponly and proxyonly. They join over HTTPS (the server listens on 443,
# the proxy's only CONNECT port), `roam netcheck` says UDP is blocked, and
# `roam status` no longer claims the node is public while the server never
# saw a UDP packet from it (their tunnels go over a TCP relay link:
# t_relay_ladder, t_relay_matrix, t_relay_proxy).
# A public node beside them is the control: UDP ok.
#
#   ubl1 (udpblocked) --+
#   htt1 (httponly) ----+-- inet -- server: roam-server on 443
#   prx1 (proxyonly) ---+  (CONNECT through tinyproxy on its router)
#   pub1 (public) ------+
set -euo pipefail
source "$(dirname "$0")/paths_lib.sh"

need_root
need_built "$ROAMD" "$ROAM" "$SERVER"
lab_up ubl:udpblocked htt:httponly prx:proxyonly pub:public >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
nodes=(ubl1 htt1 prx1 pub1)
for n in "${nodes[@]}"; do coord_node "$n"; done
# roamd does not use a proxy yet (issue 10): prx1 may fail to join; it must
# then claim nothing either.
declare -A joined=()
for n in "${nodes[@]}"; do
	if coord_join "$n" "$tok" >/dev/null; then joined[$n]=1
	elif [ "$n" = prx1 ]; then say "prx1 cannot join through its proxy (roamd has no proxy support yet)"
	else fail "$n could not join over HTTPS"; fi
done
connected() { coord_status "$1" | jq -e '.managed.state == "connected"' >/dev/null; }
for n in "${!joined[@]}"; do wait_for 20 "$n connected" connected "$n"; done

netcheck() { lab_exec "$1" timeout 15 "$ROAM" netcheck --json --socket "$(roam_dir)/$1.sock"; }
# udp_known HOST: the node has decided whether UDP works.
udp_known() { coord_status "$1" | jq -e '.managed.udp == "ok" or .managed.udp == "blocked"' >/dev/null; }

for n in "${nodes[@]}"; do
	want=blocked
	[ "$n" != pub1 ] || want=ok
	if [ -z "${joined[$n]:-}" ]; then
		st=$(coord_status "$n")
		say "$n (not joined): status: $(echo "$st" | jq -c '.managed | {state, udp, nat, public_endpoint}')"
		echo "$st" | jq -e '.managed.state != "connected" and .managed.nat != "public" and .managed.public_endpoint == null' >/dev/null ||
			fail "$n: not joined, yet its status claims to be connected or public"
		continue
	fi
	nc=$(netcheck "$n") || fail "$n: roam netcheck failed: $nc"
	say "$n: roam netcheck: $(echo "$nc" | jq -c '{udp, public, mapping}')"
	[ "$(echo "$nc" | jq -r .udp)" = "$want" ] || fail "$n: roam netcheck says UDP '$(echo "$nc" | jq -r .udp)', want $want"
	wait_for 15 "$n knows whether UDP works" udp_known "$n"
	st=$(coord_status "$n")
	say "$n: status: $(echo "$st" | jq -c '.managed | {state, udp, nat, public_endpoint}')"
	[ "$(echo "$st" | jq -r .managed.udp)" = "$want" ] || fail "$n: roam status says UDP '$(echo "$st" | jq -r .managed.udp)', want $want"
	human=$(lab_exec "$n" "$ROAM" status --socket "$(roam_dir)/$n.sock")
	if [ "$want" = blocked ]; then
		echo "$st" | jq -e '.managed.nat != "public" and .managed.public_endpoint == null' >/dev/null ||
			fail "$n: status claims a public endpoint or no NAT while UDP is blocked"
		echo "$human" | grep -q "UDP: blocked" || fail "$n: roam status does not say UDP is blocked: $human"
		if echo "$human" | grep -qE "nat: public|public endpoint: [0-9]"; then fail "$n: roam status claims it is public: $human"; fi
	else
		echo "$st" | jq -e '.managed.nat == "public"' >/dev/null || fail "$n: a public node does not know it"
	fi
done
say "pub1's view of them: $(coord_status pub1 | jq -c '[.peers[] | {name, online}]')"
say "ok"
