# Helpers of the handover tests (t_handover_*.sh) and bench/handover.sh: a
# multihomed node m1 (uplinks into sites a and b) and a peer c1 behind a
# full-cone NAT, flows through the tunnel, the longest gap. HL_SITES
# replaces the three sites' kinds (t_handover_filtering: port-restricted
# everywhere; m1 then tells c1 each interface's own NAT mapping in its
# CALLMEs, so that c1 sends there and opens its own NAT's filter).
#
#   site a (full-cone)   site b (full-cone)     site c (full-cone NAT)
#        \    eth-a          eth-b    /                 c1
#         +------ m1 (multi) --------+                  |
#                 |                                     |
#               inet ------------ server (roam-server) --+
# shellcheck shell=bash

SEQ="$ROAM_BUILD_DIR/tests/integration/seq_stream"

# handover_up [ENV=VALUE...] [-- ROAM_SET_OPTION...]: the lab, the server,
# m1 (its roamd with the given environment, then `roam set` with the
# options after --, before it joins) and c1 joined; waits until they see
# each other.
handover_up() {
	[ -x "$SEQ" ] || skip "seq_stream not built"
	local env=() d
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086 # HL_SITES: one word per site
	lab_up ${HL_SITES:-a:fullcone b:fullcone c:fullcone} m:multi:a,b >/dev/null
	lab_trap
	coord_server_up
	d=$(roam_dir)
	lab_spawn m1 roamd-m1 env "${env[@]}" "$ROAMD" --state-dir "$d/st-m1" -s "$d/m1.sock" -l debug >/dev/null
	wait_for 10 "roamd in m1" test -S "$d/m1.sock"
	[ $# -eq 0 ] || hl_set "$@" >/dev/null
	coord_node c1
	hl_join m1 c1
	C=$(coord_addr4 c1)
}
# hl_set OPTION...: `roam set` on m1.
hl_set() { lab_exec m1 "$ROAM" set --socket "$(roam_dir)/m1.sock" "$@"; }

# hl_join A B: both (roamd running) join one group and see each other online.
hl_join() {
	local tok
	coord_srv groups create g1 >/dev/null
	tok=$(coord_token --reusable --group g1)
	coord_join "$1" "$tok" >/dev/null
	coord_join "$2" "$tok" >/dev/null
	wait_for 10 "$1 sees $2 online" hl_online "$1" "$2"
	wait_for 10 "$2 sees $1 online" hl_online "$2" "$1"
}
hl_online() { [ "$(coord_peer "$1" "$2" online)" = true ]; }
# The active path of m1 to c1: "IFACE ADDRESS" ("default" for the tunnels' socket), or "none".
hl_active() {
	coord_peer m1 c1 paths | jq -r 'map(select(.state == "active")) | if length == 0 then "none" else .[0] | "\(.interface // "default") \(.transport)" end'
}
hl_active_is() { [ "$(hl_active | cut -d' ' -f1)" = "$1" ]; }
hl_show() { coord_peer "$1" "$2" paths | jq -r '.[] | "    \(.interface // "default") \(.transport) \(.address) \(.state)\(if .duplicate then "+duplicate" else "" end) rtt \(.rtt_ms // "-") ms suspect \(.suspect_count // 0)"'; }
# hl_fail MESSAGE: both sides' paths and logs (the pair: HL_PAIR, "m1 c1").
hl_fail() {
	local a b h
	read -r a b <<<"${HL_PAIR:-m1 c1}"
	say "FAIL: $*"
	hl_show "$a" "$b" || true
	hl_show "$b" "$a" || true
	for h in "$a" "$b"; do
		echo "--- $h"
		coord_log $h | grep -E "path|interface|handshake|==[0-9]+==|#[0-9]+ |runtime error" | tail -n 40
	done
	exit 1
}

# The interactive flow: a request every 20 ms over one TCP connection to
# c1's echo (socat), each answered within 3 s; prints "REQUESTS WORST_MS".
# shellcheck disable=SC2016 # expanded in m1's shell
HL_ECHO_CLIENT='
# socat in c1 may not listen yet (started 0.2 s before, on a loaded machine):
# connect again for up to 3 s before calling the flow broken.
for _ in $(seq 30); do exec 3<>"/dev/tcp/$1/7000" && break; sleep 0.1; done 2>/dev/null
{ true >&3; } 2>/dev/null || { echo "no connection to the echo"; exit 2; }
n=0 worst=0 end=$((${EPOCHREALTIME/./} + $2 * 1000000))
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
	t0=${EPOCHREALTIME/./}
	echo "$n" >&3
	read -r -t 3 -u 3 line && [ "$line" = "$n" ] || { echo "$n timeout"; exit 1; }
	dt=$(((${EPOCHREALTIME/./} - t0) / 1000))
	[ "$dt" -gt "$worst" ] && worst=$dt
	n=$((n + 1))
	sleep 0.02
done
echo "$n $worst"'

# hl_flows SECONDS AFTER CMD...: through the tunnel m1 -> c1 (HL_PAIR, to
# address $C), a 5 ms UDP
# stream and an iperf3 TCP flow (10 Mbit/s) for SECONDS; CMD runs AFTER
# seconds in. Sets HL_GAP (ms), HL_LOST, HL_TCP (ok|broken). With HL_ECHO=1
# also a request/response echo every 20 ms: HL_ECHO_OK (ok|broken) and
# HL_ECHO_OUT ("REQUESTS WORST_MS").
hl_flows() {
	local secs=$1 after=$2 tmp out srv recv cli snd esrv ecli="" from to
	shift 2
	read -r from to <<<"${HL_PAIR:-m1 c1}"
	tmp=$(roam_dir)
	out=$tmp/seq.json
	# Bounded: a TCP flow that does not survive must not hang the caller.
	lab_exec "$to" timeout $((secs + 8)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	srv=$!
	lab_exec "$to" "$SEQ" recv 5001 $((secs + 2)) 5 $((secs * 200)) >"$out" &
	recv=$!
	sleep 0.3
	lab_exec "$from" timeout $((secs + 6)) iperf3 -c "$C" -p 5201 -t "$secs" -b 10M >"$tmp/iperf.txt" 2>&1 &
	cli=$!
	lab_exec "$from" "$SEQ" send "$C" 5001 5 "$secs" &
	snd=$!
	if [ "${HL_ECHO:-0}" = 1 ]; then
		lab_exec "$to" timeout $((secs + 8)) socat TCP-LISTEN:7000,reuseaddr EXEC:cat >/dev/null 2>&1 &
		esrv=$!
		sleep 0.2
		lab_exec "$from" timeout $((secs + 6)) bash -c "$HL_ECHO_CLIENT" echo "$C" "$secs" >"$tmp/echo.txt" 2>&1 &
		ecli=$!
	fi
	sleep "$after"
	"$@"
	wait "$snd" || true
	wait "$recv" || true
	HL_TCP=ok
	wait "$cli" || HL_TCP=broken
	wait "$srv" || true
	if [ -n "$ecli" ]; then
		HL_ECHO_OK=ok
		wait "$ecli" || HL_ECHO_OK=broken
		wait "$esrv" || true
		HL_ECHO_OUT=$(tail -n 1 "$tmp/echo.txt")
	fi
	HL_GAP=$(jq -r '.max_gap_ms' "$out")
	HL_LOST=$(jq -r '.lost' "$out")
	HL_RECEIVED=$(jq -r '.received' "$out")
}
