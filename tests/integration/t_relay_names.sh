#!/usr/bin/env bash
# Host names the agent resolves itself, off its loop (issue 10): a relay
# whose URL (and so its UDP host in the relay map) is a name, and the
# server's URL a name while the node goes through a proxy (libcurl's
# address is then the proxy's, so the server's UDP address must come from
# the name). Names live in a1's own /etc/hosts (ip netns exec mounts
# /etc/netns/NS/hosts over it; the lab has no DNS). a1 goes through a
# tinyproxy of its own (on its loopback: UDP still works there) to
# https://roam-server.lab.test. Before: no UDP address for either (the
# relay's name was skipped, the proxied server's had none), so no
# BINDING_ACK from the server and relay 1 only over TCP.
# Then the relay's name moves (issue 10): r1 gets a second address, a1's
# /etc/hosts names that one, and UDP to the old one is dropped at r1; a1
# re-resolves its names (every 5 min; ROAMD_TEST_NAMES_REFRESH_S=2 here) and
# follows: its log names the new address and relay 1 answers over UDP there.
#
#   a1 (public; tinyproxy on 127.0.0.1:8888) --+-- inet -- server: roam-server run :443 ("roam-server.lab.test")
#                                              +---------- r1: roam-server relay :443 ("relay1.lab.test")
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"

relay_need
command -v tinyproxy >/dev/null || skip "tinyproxy not installed"
lab_up a:public r:public >/dev/null
lab_trap
relay_server_up
tok=$RELAY_TOKEN
S=$(lab_server_addr)
R=$(lab_public_addr r1)
d=$(roam_dir)
relay_only_up r1 "https://relay1.lab.test:443"

ns=$(ip netns list | awk '{ print $1 }' | grep -x -- "$LAB_ID-a1")
mkdir -p "/etc/netns/$ns" # lab_down removes it
printf '127.0.0.1 localhost\n%s roam-server.lab.test\n%s relay1.lab.test\n' "$S" "$R" >"/etc/netns/$ns/hosts"
cat >"$d/tinyproxy.conf" <<EOC
User nobody
Group nogroup
Listen 127.0.0.1
Port 8888
Timeout 600
MaxClients 16
Allow 127.0.0.1
ConnectPort 443
DisableViaHeader Yes
EOC
lab_spawn a1 tinyproxy-a1 tinyproxy -d -c "$d/tinyproxy.conf" >/dev/null
wait_for 5 "tinyproxy on a1" lab_exec a1 sh -c "ss -ltn | grep -q '127.0.0.1:8888'"
ROAMD_TEST_NAMES_REFRESH_S=2 coord_node a1
lab_exec a1 "$ROAM" up --server "https://roam-server.lab.test:443" --token "$tok" --name a1 \
	--socket "$d/a1.sock" --proxy http://127.0.0.1:8888 >/dev/null || fail "a1 could not join by name through its proxy"
relay_wait_connected a1
udp_ok() { coord_status a1 | jq -e '.managed.nat == "public"' >/dev/null; }
wait_for 15 "a1's BINDING answered: the server's UDP address from its name" udp_ok
relay1_udp() { coord_status a1 | jq -e '.managed.relays[] | select(.id == 1) | .link == "udp" and .rtt_ms > 0' >/dev/null; }
wait_for 20 "a1's RELAY_BIND answered by relay 1: its UDP address from its name" relay1_udp
grep -E "the server's name roam-server.lab.test is|relay 1: its name relay1.lab.test is" "$(lab_log_file roamd-a1)" |
	sed 's/^/  /'
say "a1 through its proxy: server and relay 1 reached over UDP by name" \
	"($(coord_status a1 | jq -c '[.managed.nat, (.managed.relays[] | select(.id == 1) | .link)]'))"

say "relay1.lab.test moves to r1's second address"
read -r dev prefix < <(lab_exec r1 ip -o -4 addr show | awk -v a="$R" '{ split($4, p, "/"); if (p[1] == a) print $2, p[2] }')
[ -n "${dev:-}" ] || fail "no interface with $R on r1"
R2=${R%.*}.$(( ${R##*.} + 16 ))
lab_exec r1 ip addr add "$R2/$prefix" dev "$dev"
# In place (the same inode): ip netns exec bind-mounted this file for roamd.
printf '127.0.0.1 localhost\n%s roam-server.lab.test\n%s relay1.lab.test\n' "$S" "$R2" >"/etc/netns/$ns/hosts"
lab_exec r1 iptables -I INPUT -d "$R" -p udp -j DROP
lab_exec r1 iptables -I INPUT -d "$R2" -p udp -j ACCEPT # counts what reaches the new address
wait_for 15 "a1 follows relay 1's name to $R2" grep -q "relay 1: its name relay1.lab.test is $R2" \
	"$(lab_log_file roamd-a1)"
at_new() { lab_exec r1 iptables -nvxL INPUT | awk -v a="$R2" '$3 == "ACCEPT" && $9 == a { print $1 }'; }
relay1_link() { coord_status a1 | jq -r '.managed.relays[] | select(.id == 1) | .link'; }
followed() { [ "$(at_new)" -gt 0 ] && [ "$(relay1_link)" = udp ]; }
wait_for 15 "a1's datagrams to relay 1 at $R2" followed
say "a1 follows the name: $(at_new) datagrams at $R2, relay 1's link $(relay1_link)"
coord_log a1 | grep -qiE 'sanitizer|segmentation' && fail "roamd reported a crash"
say "ok"
