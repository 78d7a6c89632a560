#!/usr/bin/env bash
# Every site kind that lets no UDP out reaches everyone (issue 10): nodes
# in udpblocked, httponly, proxyonly (tinyproxy) and proxyauth (squid with
# Basic) sites, each to a public node, to a NATed node and to each other:
# ping both ways over the overlay, through the server's relay on whatever
# link each node's ladder picked (UDP, TLS, WebSocket, long-poll), and a
# 1 s iperf3 TCP flow each way. Prints the matrices (ping; Mbit/s of the
# row's node sending / receiving) and each node's relay link.
#
#   ubl1 (udpblocked) ----------------+
#   htt1 (httponly: TCP 80/443) ------+
#   prx1 (proxyonly) -- tinyproxy ----+-- inet -- server: roam-server on 443
#   pau1 (proxyauth) -- squid, Basic -+
#   pub1 (public) --------------------+
#   nat1 (portrestricted) ------------+
set -euo pipefail
source "$(dirname "$0")/relay_lib.sh"

relay_need
started=$SECONDS
lab_up ubl:udpblocked htt:httponly prx:proxyonly pau:proxyauth pub:public nat:portrestricted >/dev/null
lab_trap
relay_server_up
tok=$RELAY_TOKEN
d=$(roam_dir)
blocked=(ubl1 htt1 prx1 pau1)
nodes=("${blocked[@]}" pub1 nat1)

for n in "${nodes[@]}"; do
	lab_spawn "$n" "roamd-$n" "$ROAMD" --state-dir "$d/st-$n" -s "$d/$n.sock" >/dev/null
done
for n in "${nodes[@]}"; do wait_for 10 "roamd in $n" test -S "$d/$n.sock"; done
proxy_of() {
	case $1 in
	prx1) lab_proxy prx1 ;;
	pau1) relay_auth_proxy pau1 ;;
	*) echo none ;;
	esac
}
pids=()
for n in "${nodes[@]}"; do
	lab_exec "$n" "$ROAM" up --server "$COORD_URL" --token "$tok" --name "$n" --socket "$d/$n.sock" \
		--proxy - <<<"$(proxy_of "$n")" >"$d/up-$n" 2>&1 &
	pids+=($!)
done
for i in "${!nodes[@]}"; do
	wait "${pids[$i]}" || fail "${nodes[$i]} could not join: $(cat "$d/up-${nodes[$i]}")"
done
relay_wait_connected "${nodes[@]}"
say "all joined in $((SECONDS - started)) s"
coord_status ubl1 | jq -e '.managed | has("relay_link")' >/dev/null ||
	fail "no relay_link in roam status --json: roamd without relay links"

declare -A addr
for n in "${nodes[@]}"; do addr[$n]=$(coord_addr4 "$n"); done
# Every pair with at least one blocked node, both ways, all at once.
pairs=()
for a in "${blocked[@]}"; do
	for b in "${nodes[@]}"; do
		[ "$a" != "$b" ] || continue
		[[ " ${blocked[*]} " == *" $b "* && "$b" < "$a" ]] && continue # each blocked pair once
		pairs+=("$a $b")
	done
done
mkdir -p "$d/ping"
for p in "${pairs[@]}"; do
	read -r a b <<<"$p"
	(
		# Up to 20 s for the first answer (the ladder settles), then 3 in a row.
		r=FAIL
		for _ in $(seq 10); do
			if reaches "$a" "${addr[$b]}" && reaches "$b" "${addr[$a]}"; then r=ok; break; fi
			sleep 1
		done
		echo "$r" >"$d/ping/$a-$b"
	) &
done
wait

# TCP both ways, pair after pair (an iperf3 server takes one client at a
# time; the machine is shared): ROW -> COLUMN and back, in Mbit/s.
mkdir -p "$d/tcp"
for n in "${nodes[@]}"; do lab_spawn "$n" "iperf3-$n" iperf3 -s -B "${addr[$n]}" >/dev/null; done
sleep 0.5
mbit1() { # CLIENT SERVER [-R]
	lab_exec "$1" timeout 15 iperf3 -c "${addr[$2]}" -t 1 -J ${3:-} 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e6 | floor' 2>/dev/null || echo 0
}
# A 1 s flow whose SYN was lost spends it in the 1 s retransmission timeout
# (a loaded CI machine): one more try before calling it 0.
mbit() { local r; r=$(mbit1 "$@"); [ "${r:-0}" != 0 ] || r=$(mbit1 "$@"); echo "${r:-0}"; }
for p in "${pairs[@]}"; do
	read -r a b <<<"$p"
	[ "$(cat "$d/ping/$a-$b")" = ok ] || continue
	echo "$(mbit "$a" "$b")/$(mbit "$a" "$b" -R)" >"$d/tcp/$a-$b"
done

link() { coord_status "$1" | jq -r '.managed.relay_link // "?"'; }
cell() { # DIR A B: the pair's result, either way round ("-": not measured)
	local r=-
	[ -f "$d/$1/$2-$3" ] && r=$(cat "$d/$1/$2-$3")
	# The other way round: sent and received swap.
	[ -f "$d/$1/$3-$2" ] && r=$(cat "$d/$1/$3-$2") && [ "$1" = tcp ] && r="${r#*/}/${r%/*}"
	[ "$2" != "$3" ] || r=.
	echo "$r"
}
table() { # DIR TITLE WIDTH
	local a b
	printf '%-6s' "$2"
	for b in "${nodes[@]}"; do printf " %-$3s" "$b"; done
	printf '   relay link\n'
	for a in "${nodes[@]}"; do
		printf '%-6s' "$a"
		for b in "${nodes[@]}"; do printf " %-$3s" "$(cell "$1" "$a" "$b")"; done
		printf '   %s\n' "$(link "$a")"
	done
}
report() {
	table ping ping 6
	echo
	table tcp Mbit/s 9
	echo "ping: both ways over the overlay; Mbit/s: iperf3 TCP, 1 s, the row's node sending/receiving;"
	echo "'-': a pair with no blocked node (not this test's), or no ping"
}
report | tee "${ROAM_TEST_REPORT:-/dev/null}"
bad=$(grep -l FAIL "$d"/ping/* 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ' || true)
[ -z "$bad" ] || fail "no ping both ways between: $bad"
slow=$(grep -lE '(^|/)0(/|$)' "$d"/tcp/* 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ' || true)
[ -z "$slow" ] || fail "no TCP flow (iperf3) one way or both between: $slow"

# Datagrams from a UDP node to a node on a TCP link cross the server's relay
# thread, which must know link-only nodes (it once took them for unknown
# destinations and dropped all but 256 per 20 ms: 7-25 Mbit/s).
coord_server_stop
nodest=$(sed -n 's/.* \([0-9]*\) to no reachable peer.*/\1/p' "$(lab_log_file roam-server)" | tail -n 1)
say "relay: ${nodest:-?} datagrams dropped as to no reachable peer"
[ -n "$nodest" ] && [ "$nodest" -lt 1000 ] || fail "the relay dropped ${nodest:-?} datagrams to reachable nodes"
say "ok: ${#pairs[@]} pairs in $((SECONDS - started)) s"
