#!/usr/bin/env bash
# Nodes that reach the outside only through an HTTP CONNECT proxy (issue
# 10): an explicit `roam up --proxy` through tinyproxy, one through squid
# with Basic authentication (first with a wrong password: refused, 407,
# said clearly; then the right one), and one that takes the proxy from
# HTTPS_PROXY in roamd's environment (squid without auth), and one through
# squid asking for Digest (libcurl's choice of any auth). They join over
# HTTPS through their proxies, `roam status` shows the proxy and never its
# password (nor does the log), the setting survives a restart of roamd; and
# with the relay links they reach a public node, a NATed node and each
# other: ping both ways, a short iperf3 TCP flow both ways. Each link kind
# goes through a proxy: prx1 is held to WebSocket and pau1 to long-poll
# (the test knob ROAMD_TEST_RELAY_LINK), env1 and dig1 climb the ladder.
#
#   prx1 (proxyonly, tinyproxy) --- roam up --proxy http://ROUTER:3128 --+
#   pau1 (proxyauth, squid Basic) - --proxy http://roam:lab-pass@ROUTER --+-- inet -- server:
#   env1 (proxyonly:squid) -------- HTTPS_PROXY in roamd's environment ---+   roam-server on 443
#   dig1 (proxyauth:digest) ------- --proxy http://roam:lab-pass@ROUTER --+
#   pub1 (public) --------------------------------------------------------+
#   nat1 (portrestricted) ------------------------------------------------+
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"

relay_need
lab_up prx:proxyonly pau:proxyauth env:proxyonly:squid dig:proxyauth:digest pub:public nat:portrestricted >/dev/null
lab_trap
relay_server_up
tok=$RELAY_TOKEN
d=$(roam_dir)
auth_proxy=$(relay_auth_proxy pau1)

# roamd in each host, all at once; env1's with the proxy in its environment
# (a service's Environment=), the others with none: lab_spawn gives none.
declare -A node_env=([prx1]=ROAMD_TEST_RELAY_LINK=websocket [pau1]=ROAMD_TEST_RELAY_LINK=long-poll
	[env1]=HTTPS_PROXY=$(lab_proxy env1))
start_roamd() {
	lab_spawn "$1" "roamd-$1" env ${node_env[$1]:-} "$ROAMD" --state-dir "$d/st-$1" -s "$d/$1.sock" -l debug >/dev/null
}
for n in prx1 pau1 env1 dig1 pub1 nat1; do start_roamd "$n"; done
for n in prx1 pau1 env1 dig1 pub1 nat1; do wait_for 10 "roamd in $n" test -S "$d/$n.sock"; done

up() { local n=$1; shift; lab_exec "$n" "$ROAM" up --name "$n" --socket "$d/$n.sock" "$@"; }
human() { lab_exec "$1" "$ROAM" status --socket "$d/$1.sock"; }

# A wrong password: roam up fails and says the proxy refused it (407).
out=$(up pau1 --server "$COORD_URL" --token "$tok" --proxy "http://$LAB_PROXY_USER:wrong-pass@${auth_proxy#*@}" 2>&1) &&
	fail "pau1 joined through squid with a wrong password: $out"
say "pau1, wrong password: $out"
grep -q "407" <<<"$out" || fail "roam up does not say the proxy refused (407): $out"
grep -q "wrong-pass" <<<"$out" && fail "roam up shows the proxy's password: $out"
text=$(human pau1)
grep -q "error: .*the proxy $(lab_proxy pau1) refused (407" <<<"$text" || fail "roam status does not say the proxy refused (407): $text"
grep -q "wrong-pass" <<<"$text$(coord_log pau1)" && fail "roam status or roamd's log shows the proxy's password"

# Everyone joins at once.
pids=()
up prx1 --server "$COORD_URL" --token "$tok" --proxy "$(lab_proxy prx1)" >"$d/up-prx1" 2>&1 & pids+=($!)
up pau1 --server "$COORD_URL" --token "$tok" --proxy - <<<"$auth_proxy" >"$d/up-pau1" 2>&1 & pids+=($!)
up dig1 --server "$COORD_URL" --token "$tok" --proxy - <<<"$(relay_auth_proxy dig1)" >"$d/up-dig1" 2>&1 & pids+=($!)
for n in env1 pub1 nat1; do up "$n" --server "$COORD_URL" --token "$tok" >"$d/up-$n" 2>&1 & pids+=($!); done
i=0
for n in prx1 pau1 dig1 env1 pub1 nat1; do
	wait "${pids[$i]}" || fail "$n could not join: $(cat "$d/up-$n")"
	i=$((i + 1))
done
relay_wait_connected prx1 pau1 dig1 env1 pub1 nat1
say "all six joined; prx1, pau1 (Basic), dig1 (Digest) and env1 through their proxies"

# What status shows: the proxy, where it comes from, never a password.
check_proxy_shown() { # HOST WANT-PROXY WANT-FROM
	local st text
	st=$(coord_status "$1")
	text=$(human "$1")
	[ "$(echo "$st" | jq -r '.managed.proxy')" = "$2" ] ||
		fail "$1: status --json proxy $(echo "$st" | jq -c '.managed.proxy'), want $2"
	[ "$(echo "$st" | jq -r '.managed.proxy_from // ""')" = "$3" ] ||
		fail "$1: status --json proxy_from $(echo "$st" | jq -c '.managed.proxy_from'), want '$3'"
	grep -qF "proxy: $2${3:+ (from $3)}" <<<"$text" || fail "$1: roam status has no line 'proxy: $2': $text"
	if grep -q "$LAB_PROXY_PASS" <<<"$st$text$(coord_log "$1")"; then fail "$1: the proxy password shows in status or log"; fi
	say "$1: $(echo "$text" | grep 'proxy:' | sed 's/^ *//')"
}
check_proxy_shown prx1 "$(lab_proxy prx1)" ""
check_proxy_shown pau1 "$(lab_proxy pau1)" ""
check_proxy_shown dig1 "$(lab_proxy dig1)" ""
check_proxy_shown env1 "$(lab_proxy env1)" HTTPS_PROXY
[ "$(coord_status pub1 | jq -r '.managed.proxy')" = null ] || fail "pub1 shows a proxy it does not have"
# The setting is kept, in a file only root reads.
jq -e --arg p "$auth_proxy" '.proxy == $p' "$d/st-pau1/state.json" >/dev/null || fail "pau1's state.json lacks its proxy"
[ "$(stat -c %a "$d/st-pau1/state.json")" = 600 ] || fail "state.json holding a proxy password is not 0600"

# A restart of roamd rejoins through the kept proxy (there is no other way out).
coord_node_stop pau1
start_roamd pau1
wait_for 10 "roamd in pau1 again" test -S "$d/pau1.sock"
wait_for 20 "pau1 connected again after a restart" relay_connected pau1
say "pau1 rejoined through squid after a restart of roamd"

# `roam up --proxy` alone changes the proxy of the network the node is in:
# none (and prx1 cannot reach the server: roam up says so, the setting
# stays), then the proxy again (connected again).
out=$(up prx1 --proxy none 2>&1) && fail "prx1 reached the server without its proxy: $out"
say "prx1, --proxy none: $out"
[ "$(coord_status prx1 | jq -r .managed.proxy)" = null ] || fail "prx1 still shows a proxy after --proxy none"
jq -e 'has("proxy") | not' "$d/st-prx1/state.json" >/dev/null || fail "--proxy none left the proxy in state.json"
up prx1 --proxy "$(lab_proxy prx1)" >/dev/null || fail "prx1 could not rejoin through its proxy"
relay_wait_connected prx1
say "prx1: --proxy none, then its proxy again: connected"

# Traffic needs the relay links (TLS, WebSocket, long-poll); roamd reports
# the one it uses.
if ! coord_status prx1 | jq -e '.managed | has("relay_link")' >/dev/null; then
	say "roamd reports no relay link (no TCP relay in this build): the data part is not run"
	fail "no relay_link in roam status --json: roamd without relay links"
fi
nodes=(prx1 pau1 dig1 env1 pub1 nat1)
declare -A addr
for n in "${nodes[@]}"; do addr[$n]=$(coord_addr4 "$n"); done
on_link() { [ "$(coord_status "$1" | jq -r .managed.relay_link)" = "$2" ]; }
declare -A want_link=([prx1]=websocket [pau1]=long-poll [dig1]=tls [env1]=tls)
for n in prx1 pau1 dig1 env1; do
	wait_for 15 "$n on relay link ${want_link[$n]}" on_link "$n" "${want_link[$n]}"
	say "$n: relay link ${want_link[$n]}"
	human "$n" >"$d/status-$n" # whole: grep -q would cut the pipe under pipefail
	grep -q "relay link: ${want_link[$n]}" "$d/status-$n" || fail "$n: roam status does not name the relay link"
done
mkdir -p "$d/ping"
for a in "${nodes[@]}"; do
	for b in "${nodes[@]}"; do
		[ "$a" \< "$b" ] || continue
		{ if reaches "$a" "${addr[$b]}" && reaches "$b" "${addr[$a]}"; then echo ok; else echo FAILED; fi; } >"$d/ping/$a-$b" &
	done
done
wait
for f in "$d"/ping/*; do say "ping ${f##*/} both ways: $(cat "$f")"; done
failed=$(grep -l FAILED "$d"/ping/* | xargs -r -n1 basename | tr '\n' ' ' || true)
[ -z "$failed" ] || fail "no ping both ways between: $failed"

# A short iperf3 TCP flow both ways between a proxied node and the others.
if command -v iperf3 >/dev/null; then
	lab_spawn pub1 iperf3-pub1 iperf3 -s -B "${addr[pub1]}" >/dev/null
	lab_spawn prx1 iperf3-prx1 iperf3 -s -B "${addr[prx1]}" >/dev/null
	sleep 0.5
	for pair in "prx1 pub1" "pub1 prx1" "pau1 prx1" "env1 pub1"; do
		read -r c s <<<"$pair"
		for dir in "" -R; do
			mbit=$(lab_iperf "$c" "${addr[$s]}" 2 $dir) || fail "iperf3 $c -> $s $dir failed"
			say "iperf3 $c $([ -n "$dir" ] && echo '<-' || echo '->') $s: $mbit Mbit/s"
		done
	done
fi
say "ok"
