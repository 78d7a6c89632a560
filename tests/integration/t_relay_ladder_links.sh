#!/usr/bin/env bash
# Each TCP relay link on its own (ROAMD_TEST_RELAY_LINK forces it: no UDP
# relay, no other kind): between two nodes whose networks drop UDP (so the
# relay is their only path), ping and a short iperf3 TCP flow both ways
# over tls, websocket, long-poll (streaming: stream=1 GETs, acks on the
# uplink) and long-poll with short polls (ROAMD_TEST_RELAY_POLL=short, as
# behind a buffering proxy). In both long-poll modes, resumption: every TCP
# connection of u1's roamd to the server is killed mid-flow (ss -K), which
# cuts the GET and any POST: the inner iperf3 flow survives.
#
#   u1 (udpblocked) --+-- inet -- server: roam-server on 443
#   v1 (udpblocked) --+
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up u:udpblocked v:udpblocked >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
S=$(lab_server_addr)
link_is() { [ "$(coord_status "$1" | jq -r .managed.relay_link)" = "$2" ]; }
ping1() { lab_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# Each roamd's log, before a restart overwrites it (ASan builds).
clean_logs() {
	local n
	for n in u1 v1; do
		[ -f "$(lab_log_file "roamd-$n")" ] || continue
		if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file "roamd-$n")"; then
			fail "$n: a sanitizer report in roamd's log"
		fi
	done
}

# Long-poll resumption: a 6 s flow, and 2 s into it every TCP connection
# from u1 to the server is killed.
resume() {
	local mode=$1 out ipf killed mbps
	lab_spawn v1 "iperf3-resume-$mode" iperf3 -s >/dev/null
	wait_for 5 "iperf3 server" lab_exec v1 sh -c "ss -ltn | grep -q ':5201'"
	out=$(mktemp)
	lab_exec u1 iperf3 -c "$v" -t 6 -J >"$out" &
	ipf=$!
	sleep 2
	killed=$(lab_exec u1 ss -K -tn dst "$S" dport = :443 | grep -c ESTAB || true)
	say "$mode: killed $killed TCP connection(s) of u1 to the server mid-flow"
	wait "$ipf" || { cat "$out"; fail "$mode: the inner iperf3 flow did not survive the cut"; }
	mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$out")
	rm -f "$out"
	[ "$killed" -ge 1 ] || fail "$mode: ss -K killed no connection (nothing to resume)"
	say "$mode: the inner flow survived the cut ($mbps Mbit/s over 6 s)"
	link_is u1 long-poll || fail "$mode: u1 is no longer on long-poll"
	ping1 u1 "$v" || fail "$mode: u1 cannot reach v1 after the cut"
	lab_stop "iperf3-resume-$mode"
}

for mode in tls websocket long-poll long-poll-short; do
	kind=${mode%-short}
	short=
	[ "$mode" = long-poll-short ] && short=short
	for n in u1 v1; do
		coord_node_stop "$n" 2>/dev/null || true
		clean_logs
		ROAMD_TEST_RELAY_LINK=$kind ROAMD_TEST_RELAY_POLL=$short coord_node "$n"
		coord_join "$n" "$tok" >/dev/null
	done
	wait_for 20 "u1 on $kind" link_is u1 "$kind"
	wait_for 20 "v1 on $kind" link_is v1 "$kind"
	v=$(coord_addr4 v1)
	u=$(coord_addr4 u1)
	wait_for 15 "u1 reaches v1 over $mode" ping1 u1 "$v"
	wait_for 5 "v1 reaches u1 over $mode" ping1 v1 "$u"
	lab_spawn v1 "iperf3-$mode" iperf3 -s >/dev/null
	wait_for 5 "iperf3 server" lab_exec v1 sh -c "ss -ltn | grep -q ':5201'"
	up=$(lab_iperf u1 "$v" 2) || fail "$mode: iperf3 u1 -> v1 failed"
	down=$(lab_iperf u1 "$v" 2 -R) || fail "$mode: iperf3 v1 -> u1 failed"
	say "$mode: iperf3 u1 -> v1 $up Mbit/s, v1 -> u1 $down Mbit/s"
	[ "$up" -gt 0 ] && [ "$down" -gt 0 ] || fail "$mode: no throughput"
	lab_stop "iperf3-$mode"
	if [ "$kind" = long-poll ]; then
		# Streaming stays streaming (no false "buffered"); the knob is shown.
		sp=$(coord_status u1 | jq -r .managed.relay_short_polls)
		[ "$sp" = "$([ -n "$short" ] && echo true || echo false)" ] || fail "$mode: relay_short_polls is $sp"
		resume "$mode"
	fi
done
clean_logs
say "ok"
