#!/usr/bin/env bash
# The UDP relay forwards on its own thread (issue 10: relaying never delays
# the control API). Under a flood of relayed UDP (bench/relay_load: node A's
# socket -> RELAY -> node B's socket at a fixed rate), the server's
# "roam-relay" thread does the forwarding (it gets most of the process's CPU
# time, the main thread little), every datagram still arrives once, and
# /v1/info answers; its latency (curl, one kept-alive connection) is
# measured with the forwarding on the main loop (ROAM_TEST_RELAY_INLINE=1,
# the "before") and on the thread, p50/p99 printed. A flood from sources the
# server does not know (the load kept running across a server restart) is
# dropped on the thread: at most 256 per 20 ms reach the main loop.
#
#   a1 (public 198.51.100.11) --- inet --- server 203.0.113.1: roam-server :8443
#   relay_load (a1): A -> RELAY -> B;  curl (a1): GET /v1/info, one after another
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

LOAD=$ROAM_BUILD_DIR/bench/relay_load
need_built "$SERVER" "$SIM" "$LOAD"
command -v curl >/dev/null || fail "curl not installed"
RATE=${RELAY_THREAD_RATE:-200000} # datagrams/s of 1200 bytes
REQUESTS=${RELAY_THREAD_REQUESTS:-1000}

lab_up a:public >/dev/null
lab_trap
d=$(roam_dir)
S=$(lab_server_addr)
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)

register() {
	roam_keys "$1"
	lab_exec a1 sh -c "sleep 2 | '$SIM' node --server '$S:$COORD_PORT' --token '$tok' --name '$1' --key '$d/$1.key'" \
		>"$d/$1.sim" 2>&1 || true
	grep -o '"node_id":[0-9]*' "$d/$1.sim" | head -n 1 | cut -d: -f2
}
ida=$(register na)
idb=$(register nb)
[ -n "$ida" ] && [ -n "$idb" ] || fail "registration: $(cat "$d"/*.sim)"
coord_server_stop

# server_up [ENV...]: the server again on the same state.
server_up() {
	srv_pid=$(lab_spawn server roam-server env "$@" "$SERVER" run --state "$d/srv" --port "$COORD_PORT" \
		--log-level warn)
	wait_for 10 "roam-server listening" lab_exec server sh -c "ss -ltn | grep -q ':$COORD_PORT '"
}
# cpu_ns PID COMM: CPU time of the process's threads named COMM (schedstat).
cpu_ns() {
	local t sum=0
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm")" = "$2" ] || continue
		sum=$((sum + $(cut -d' ' -f1 "$t/schedstat")))
	done
	echo "$sum"
}
# p50 and p99 in ms of the seconds on stdin.
pct() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1;
	printf "p50=%.1fms p99=%.1fms n=%d", a[int((NR + 1) / 2)] * 1000, a[i] * 1000, NR }'; }

# measure NAME: the flood, then REQUESTS /v1/info while it runs.
measure() {
	local name=$1 load_pid main0 relay0
	# It ends by itself (a kill here would end lab_exec, not the load).
	lab_exec a1 timeout 12 "$LOAD" roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/na.key" \
		--id-a "$ida" --key-b "$d/nb.key" --id-b "$idb" --rate-first "$RATE" --rate-max "$RATE" --seconds 8 \
		>"$d/$name.load" 2>&1 &
	load_pid=$!
	sleep 2 # bound and flooding
	# CPU time over 2 s of flood alone, then the requests
	main0=$(cpu_ns "$srv_pid" roam-server)
	relay0=$(cpu_ns "$srv_pid" roam-relay)
	sleep 2
	main_ms=$((($(cpu_ns "$srv_pid" roam-server) - main0) / 1000000))
	relay_ms=$((($(cpu_ns "$srv_pid" roam-relay) - relay0) / 1000000))
	# One curl, one kept-alive connection: each request's round trip
	# through the server's loop, no process start or handshake in it.
	lab_exec a1 curl -sk --max-time 60 -w '%{http_code} %{time_total}\n' \
		$(for _ in $(seq "$REQUESTS"); do printf -- '-o /dev/null https://%s:%s/v1/info ' "$S" "$COORD_PORT"; done) \
		>"$d/$name.lat" || true
	wait "$load_pid" 2>/dev/null || true
	[ "$(grep -c '^200 ' "$d/$name.lat")" = "$REQUESTS" ] || fail "$name: /v1/info failed under the flood: $(sort "$d/$name.lat" | uniq -c | head)"
	lat=$(awk '{ print $2 }' "$d/$name.lat" | pct)
	step=$(grep '^step' "$d/$name.load" | head -n 1 || true)
}

say "forwarding on the main loop (ROAM_TEST_RELAY_INLINE=1): $RATE datagrams/s, $REQUESTS x /v1/info"
server_up ROAM_TEST_RELAY_INLINE=1
[ -z "$(grep -lx roam-relay /proc/"$srv_pid"/task/*/comm 2>/dev/null)" ] || fail "a relay thread with the test hook"
measure inline
before="$lat"
say "  /v1/info $lat; main thread ${main_ms} ms CPU"
coord_server_stop

say "forwarding on the roam-relay thread: same flood"
server_up
grep -qx roam-relay /proc/"$srv_pid"/task/*/comm || fail "no roam-relay thread: $(cat /proc/"$srv_pid"/task/*/comm) $(cat "$(lab_rundir)/log/roam-server.log")"
measure thread
say "  /v1/info $lat; main thread ${main_ms} ms CPU, roam-relay ${relay_ms} ms"
# The thread does the forwarding: it took the CPU time, not the main loop
# (which now serves TLS handshakes and a snapshot every 20 ms).
[ "$relay_ms" -gt $((main_ms * 2)) ] || fail "forwarding not on the thread: relay ${relay_ms} ms, main ${main_ms} ms"
echo "relay thread: /v1/info under $RATE relayed datagrams/s: main loop $before, thread $lat" >>"${ROAM_TEST_REPORT:-/dev/null}"
say "before: $before; after: $lat"

say "the thread loses nothing at a modest rate, with GSO too"
lab_exec a1 "$LOAD" roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/na.key" --id-a "$ida" \
	--key-b "$d/nb.key" --id-b "$idb" --rate-first 20000 --rate-max 20000 --seconds 1 --gso 40 >"$d/gso.out" 2>&1 ||
	fail "relay_load: $(cat "$d/gso.out")"
grep -q '^step rate=20000 .* loss_pct=0.000 ' "$d/gso.out" || fail "losses: $(cat "$d/gso.out")"

say "a flood from sources the server does not know (the load bound to the server before a restart): dropped on the thread"
lab_exec a1 timeout 12 "$LOAD" roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/na.key" \
	--id-a "$ida" --key-b "$d/nb.key" --id-b "$idb" --rate-first "$RATE" --rate-max "$RATE" --seconds 8 \
	>"$d/stray.load" 2>&1 &
load_pid=$!
sleep 2
coord_server_stop
server_up
sleep 1
main0=$(cpu_ns "$srv_pid" roam-server)
relay0=$(cpu_ns "$srv_pid" roam-relay)
sleep 2
main_ms=$((($(cpu_ns "$srv_pid" roam-server) - main0) / 1000000))
relay_ms=$((($(cpu_ns "$srv_pid" roam-relay) - relay0) / 1000000))
say "  main thread ${main_ms} ms CPU, roam-relay ${relay_ms} ms"
[ "$relay_ms" -gt $((main_ms * 3)) ] || fail "the unbound flood reached the main loop: relay ${relay_ms} ms, main ${main_ms} ms"
wait "$load_pid" 2>/dev/null || true
coord_server_stop
