#!/usr/bin/env bash
# Relay benchmark (issue 10), side by side in one run on the same lab links.
#
# udp: UDP relay forwarding, datagrams per second at < 0.1 % loss,
#   1200-byte payloads, roam-server's UDP relay against coturn (Debian's
#   turnserver, TURN over UDP), and per core (the relay process's CPU time in
#   the measured window, all threads, from /proc/PID/task/*/schedstat). The
#   load is bench/relay_load for both: paced sendmmsg from one socket, rates
#   stepping up by 1/4 until a step loses >= 0.1 % three times. roam: two nodes
#   registered (coord_sim node), bound with BINDINGs from the load sockets,
#   RELAY datagrams carrying a WireGuard transport-data message of 1200
#   bytes. coturn: Allocate (no auth), ChannelBind to a plain UDP peer beside
#   the client, ChannelData of 1200 bytes: one receive and one send per
#   datagram in both servers. turnutils_uclient is not the load there: it
#   paces each client with a millisecond timer and tops out below what both
#   servers forward.
# links: iperf3 TCP between two roamd nodes in UDP-blocked sites, through the
#   relay over each link kind (ROAMD_TEST_RELAY_LINK=tls|websocket|long-poll,
#   test_hooks builds), and the anchor: coturn TURN over TLS, two TURN/TLS
#   clients (relay_load turn-tls) relaying 1452-byte messages to each other
#   as fast as TLS takes them: the relay's datagram throughput TLS -> TLS,
#   not a TCP flow (no TURN client here carries a TUN device;
#   turnutils_uclient -t -S -y reached only ~5-50 Mbit/s, its own ceiling).
# memory: roam-server's RSS with N nodes each holding an idle TLS-stream
#   relay link (coord_sim links), per node and in all.
#
#   a1 (site a, public) -------+
#   b1 (site b, udpblocked) ---+-- lab internet ---- server: roam-server :8443,
#   c1 (site c, udpblocked) ---+                     turnserver :3478 (UDP), :5349 (TLS)
#
# Usage: sudo bench/relay.sh [--quick] [udp] [links] [memory]  (default: all)
#   ROUNDS rounds (default 3) for udp and links, each measuring every relay in
#   turn: the median round is printed. --quick: one round, 1 s rate steps,
#   3 s flows, 1 000 nodes for memory (else 1 000 and 10 000).
# Environment: ROAM_BUILD_DIR (default build/; a release build with
# -Dtest_hooks=true), RELAY_BASELINE_BUILD (another build's directory: its
# roam-server measured too in udp, same state), VERBOSE=1 (every rate step),
# RELAY_PERF=FILE (perf profile of roam-server under the udp load),
# LOAD_SENDERS (threads of relay_load sending on its one socket, default 2),
# LINK_KINDS (default "tls websocket long-poll"), SKIP_TURN=1 (no coturn
# TLS anchor in links), LINK_PERF=FILE (perf profile of roam-server and
# both roamd nodes during each flow: FILE.KIND.ROUND; LINK_PERF_CALLGRAPH=dwarf
# for stacks through libraries built without frame pointers).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
parts=()
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	udp | links | memory) parts+=("$arg") ;;
	*) echo "usage: bench/relay.sh [--quick] [udp] [links] [memory]" >&2; exit 2 ;;
	esac
done
[ ${#parts[@]} -gt 0 ] || parts=(udp links memory)
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }
secs=2 flow_secs=8 mem_sizes="1000 10000"
rounds=${ROUNDS:-3}
link_kinds=${LINK_KINDS:-tls websocket long-poll}
[ "$quick" = 0 ] || { secs=1; flow_secs=3; rounds=1; mem_sizes=1000; }
export ROAM_BUILD_DIR=${ROAM_BUILD_DIR:-$root/build}
LOAD=$ROAM_BUILD_DIR/bench/relay_load
SIM=$ROAM_BUILD_DIR/bench/coord_sim
[ "$(id -u)" -eq 0 ] || { echo "relay.sh: run as root (the lab builds network namespaces)" >&2; exit 2; }
for bin in "$LOAD" "$SIM"; do
	[ -x "$bin" ] || { echo "relay.sh: $bin not built" >&2; exit 2; }
done
command -v turnserver >/dev/null || { echo "relay.sh: coturn is not installed (apt-get install coturn)" >&2; exit 2; }
# shellcheck source=../tests/integration/coord_lib.sh
source "$root/tests/integration/coord_lib.sh"

lab_up a:public b:udpblocked c:udpblocked >/dev/null
lab_trap
d=$(roam_dir)
S=$(lab_server_addr)
coord_server_up --log-level warn
srv_pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
coord_srv groups create bench >/dev/null
tok=$(coord_token --reusable --group bench)
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
declare -A res
keep() { res[$1]+="$2"$'\n'; }
# The kept line of KEY with the median value of FIELD (a shared machine).
median() {
	{ grep . <<<"${res[$1]-}" || true; } |
		awk -v f="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1), $0 }' |
		sort -g | awk '{ l[NR] = $0 } END { m = l[int((NR + 1) / 2)]; sub(/^[^ ]* /, "", m); print m }'
}

# coturn: TURN over UDP on 3478 and over TLS on 5349 (a self-signed
# certificate: the clients do not verify it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=turn \
	-keyout "$d/turn.key" -out "$d/turn.crt" >/dev/null 2>&1
cat >"$d/turnserver.conf" <<CONF
listening-ip=$S
relay-ip=$S
listening-port=3478
tls-listening-port=5349
cert=$d/turn.crt
pkey=$d/turn.key
min-port=49152
max-port=59999
no-auth
no-dtls
no-cli
no-tcp-relay
no-software-attribute
pidfile=$d/turnserver.pid
log-file=$d/turnserver.log
simple-log
CONF
turn_pid=$(lab_spawn server turnserver turnserver -c "$d/turnserver.conf")
wait_for 10 "turnserver listening" lab_exec server sh -c "ss -lun | grep -q ':3478 ' && ss -ltn | grep -q ':5349 '"
turn_version=$(turnserver --version 2>/dev/null | head -n 1 | tr -d ' ')

# ---------------------------------------------------------------- udp
# register NAME TOKEN: registers a node with a fresh key (coord_sim node),
# prints its id. coord_sim leaves when its stdin closes: relay_load binds the
# node's endpoint from its own sockets afterwards, and nothing may move it back.
register() {
	roam_keys "$1"
	lab_exec a1 sh -c "sleep 3 | '$SIM' node --server '$S:$COORD_PORT' --token '$2' --name '$1' --key '$d/$1.key'" \
		>"$d/$1.sim" 2>&1 || true
	grep -o '"node_id":[0-9]*' "$d/$1.sim" | head -n 1 | cut -d: -f2
}
# register_pair PREFIX TOKEN: nodes PREFIX-a and PREFIX-b for relay_load.
declare -A pair_tok pair_a pair_b
register_pair() {
	pair_tok[$1]=$2
	pair_a[$1]=$(register "$1-a" "$2")
	pair_b[$1]=$(register "$1-b" "$2")
	[ -n "${pair_a[$1]}" ] && [ -n "${pair_b[$1]}" ] ||
		{ echo "relay.sh: registration failed: $(cat "$d/$1"-*.sim)" >&2; exit 1; }
}
run_load() { # NAME ARGS...: the load's output in $d/NAME.out, result on stdout
	local name=$1
	shift
	lab_exec a1 "$LOAD" "$@" --seconds "$secs" --senders "${LOAD_SENDERS:-2}" >"$d/$name.out" 2>&1 || true
	grep '^result' "$d/$name.out" || echo "result rate=0 cpu=0 per_core=0"
}
udp_row() { printf '%-44s %12s %9s %12s\n' "$1" "$(field rate "$2")" "$(field cpu "$2")" "$(field per_core "$2")"; }
udp_ratio() { # LABEL ROAM TURN
	awk -v a="$(field per_core "$2")" -v b="$(field per_core "$3")" -v r="$(field rate "$2")" \
		-v t="$(field rate "$3")" -v l="$1" 'BEGIN {
		if (b > 0 && t > 0) printf "%s roam / coturn: %.2f per core, %.2f absolute\n", l, a / b, r / t
	}'
}
roam_load() { # NAME PID PREFIX [--gso N]
	local name=$1 pid=$2 p=$3
	shift 3
	run_load "$name" roam --server "$S:$COORD_PORT" --token "${pair_tok[$p]}" --key-a "$d/$p-a.key" \
		--id-a "${pair_a[$p]}" --key-b "$d/$p-b.key" --id-b "${pair_b[$p]}" --pid "$pid" "$@"
}
# The baseline's roam-server in place of ours, on its own state (an older
# build may not read a newer one); its pid in base_pid.
base_up() {
	local B=$RELAY_BASELINE_BUILD/server/roam-server st=$d/srv-base
	[ -d "$st" ] || lab_exec server "$B" init --state "$st" --host "$S" --port "$COORD_PORT" >/dev/null
	lab_spawn server roam-server-base "$B" run --state "$st" --port "$COORD_PORT" --log-level warn >/dev/null
	wait_for 10 "baseline roam-server" lab_exec server sh -c "ss -lun | grep -q ':$COORD_PORT '" >&2
	if [ -z "${pair_tok[base]-}" ]; then
		lab_exec server "$B" groups create bench --state "$st" >/dev/null
		register_pair base "$(lab_exec server "$B" keys create --reusable --group bench --state "$st" |
			grep -o 'roam1\.[A-Za-z0-9_-]*' | head -n 1)"
	fi
	base_pid=$(cat "$(lab_rundir)/pid/roam-server-base.pid")
}

# The load goes out one datagram per send (sendmmsg batches), as a TURN
# client sends, then as roamd sends: UDP GSO, 53 datagrams of 1208 bytes per
# send (the servers see the same: coturn's socket gets them one by one,
# roam-server's takes them coalesced, UDP GRO).
part_udp() {
	local round base_pid roam turn roam_gso turn_gso base base_gso
	register_pair load "$tok"
	say "udp: relay forwarding, 1200-byte payloads, ${secs} s per rate step, $rounds round(s)"
	# RELAY_PERF=FILE: a perf profile of roam-server over its first 10 s of load.
	if [ -n "${RELAY_PERF:-}" ]; then
		perf record -q -g -e cpu-clock -p "$srv_pid" -o "$RELAY_PERF" -- sleep 10 >/dev/null 2>&1 &
	fi
	for ((round = 1; round <= rounds; round++)); do
		keep roam "$(roam_load "roam-$round" "$srv_pid" load)"
		keep turn "$(run_load "turn-$round" turn --server "$S:3478" --pid "$turn_pid")"
		keep roam_gso "$(roam_load "roam-gso-$round" "$srv_pid" load --gso 53)"
		keep turn_gso "$(run_load "turn-gso-$round" turn --server "$S:3478" --pid "$turn_pid" --gso 53)"
		[ -n "${RELAY_BASELINE_BUILD:-}" ] || continue
		# The baseline's roam-server on the same port, then ours again
		# (relay_load binds the nodes afresh each time).
		lab_stop roam-server
		base_up
		keep base "$(roam_load "base-$round" "$base_pid" base)"
		keep base_gso "$(roam_load "base-gso-$round" "$base_pid" base --gso 53)"
		lab_stop roam-server-base
		coord_server_up --log-level warn
		srv_pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
	done
	roam=$(median roam per_core) turn=$(median turn per_core)
	roam_gso=$(median roam_gso per_core) turn_gso=$(median turn_gso per_core)
	base=$(median base per_core) base_gso=$(median base_gso per_core)
	printf '%-44s %12s %9s %12s\n' "relay (load)" "datagrams/s" "relay CPU" "per core"
	udp_row "roam-server UDP relay (one per send)" "$roam"
	udp_row "coturn $turn_version TURN/UDP (one per send)" "$turn"
	udp_row "roam-server UDP relay (GSO load)" "$roam_gso"
	udp_row "coturn $turn_version TURN/UDP (GSO load)" "$turn_gso"
	if [ -n "$base" ]; then
		udp_row "roam-server baseline (one per send)" "$base"
		udp_row "roam-server baseline (GSO load)" "$base_gso"
	fi
	udp_ratio "one per send:" "$roam" "$turn"
	udp_ratio "GSO load:    " "$roam_gso" "$turn_gso"
	echo "(goal: >= 3 per core; 'per core' = datagrams/s / the relay's CPU in cores at the highest rate" \
		"with < 0.1 % loss; a rate the load tool could not exceed is marked in VERBOSE=1 output)"
}

# ---------------------------------------------------------------- links
# tree_ticks PID...: CPU time (utime + stime, clock ticks) of the processes
# and their children (a roamd's agent), as far as they still run.
tree_ticks() {
	local p t=0 kids
	kids=$(pgrep -d ' ' -P "$(tr ' ' ',' <<<"$*")" || true)
	for p in "$@" $kids; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$t"
}

# link_flow KIND ROUND: two fresh nodes in b1 and c1 on that relay link;
# prints "mbps=... rtt=... link=..." (the link b1's status names).
link_flow() {
	local kind=$1 round=$2 h n C mbps rtt link=down nodes s0 s1 n0 n1 srvcpu=- nodecpu=-
	for h in b1 c1; do
		n="$kind-$round-$h"
		lab_spawn "$h" "roamd-$n" env ROAMD_TEST_RELAY_LINK="$kind" "$ROAMD" --state-dir "$d/st-$n" \
			-s "$d/$n.sock" -i roam0 >/dev/null
		wait_for 10 "roamd $n" test -S "$d/$n.sock" >&2
		lab_exec "$h" "$ROAM" up --server "$COORD_URL" --token "$tok" --name "$n" --socket "$d/$n.sock" >/dev/null
	done
	C=$(lab_exec c1 "$ROAM" status --json --socket "$d/$kind-$round-c1.sock" | jq -r '.managed.ipv4' | cut -d/ -f1)
	mbps=0 rtt=-
	if wait_for 20 "$kind: b1 reaches c1" ping_ok b1 "$C" >&2; then
		link=$(lab_exec b1 "$ROAM" status --json --socket "$d/$kind-$round-b1.sock" |
			jq -r '.relay_link // .managed.relay_link // "?"')
		lab_spawn c1 "iperf3-$kind-$round" iperf3 -s -1 >/dev/null
		wait_for 5 "iperf3 server" lab_exec c1 sh -c "ss -ltn | grep -q ':5201'" >&2
		nodes=$(cat "$(lab_rundir)/pid/roamd-$kind-$round-b1.pid" "$(lab_rundir)/pid/roamd-$kind-$round-c1.pid")
		# shellcheck disable=SC2086 # pid lists
		{ s0=$(tree_ticks "$srv_pid"); n0=$(tree_ticks $nodes); }
		if [ -n "${LINK_PERF:-}" ]; then
			# shellcheck disable=SC2086
			perf record -q -F 499 --call-graph "${LINK_PERF_CALLGRAPH:-fp}" -o "$LINK_PERF.$kind.$round" \
				-p "$(tr ' \n' ',,' <<<"$srv_pid $nodes $(pgrep -d ' ' -P "$(tr ' \n' ',,' <<<"$nodes" | sed 's/,*$//')")" | sed 's/,*$//')" \
				-- sleep "$flow_secs" >/dev/null 2>&1 &
		fi
		mbps=$(lab_exec b1 timeout $((flow_secs + 20)) iperf3 -c "$C" -t "$flow_secs" -J 2>/dev/null |
			jq '.end.sum_received.bits_per_second / 1e6' 2>/dev/null || echo 0)
		# shellcheck disable=SC2086
		{ s1=$(tree_ticks "$srv_pid"); n1=$(tree_ticks $nodes); }
		srvcpu=$(awk -v a="$s0" -v b="$s1" -v t="$flow_secs" 'BEGIN { printf "%.2f", (b - a) / 100 / t }')
		nodecpu=$(awk -v a="$n0" -v b="$n1" -v t="$flow_secs" 'BEGIN { printf "%.2f", (b - a) / 100 / t }')
		rtt=$(lab_exec b1 ping -q -c 20 -i 0.05 "$C" | awk -F/ '/rtt/{print $5}')
		lab_stop "iperf3-$kind-$round"
	fi
	for h in b1 c1; do lab_stop "roamd-$kind-$round-$h"; done
	echo "mbps=${mbps:-0} rtt=${rtt:--} link=$link srvcpu=$srvcpu nodecpu=$nodecpu"
}

# The anchor: two TURN clients in b1, each over TLS to coturn, relaying to
# each other (relay_load turn-tls): 1452-byte ChannelData messages (the size
# of a full WireGuard packet at MTU 1420) as fast as TLS takes them for the
# flow's time; prints "mbps=... cpu=..." (payload bits, coturn's CPU).
turn_tls_flow() {
	local out
	out=$(lab_exec b1 timeout $((flow_secs + 30)) "$LOAD" turn-tls --server "$S:5349" --size 1452 \
		--seconds "$flow_secs" --pid "$turn_pid" 2>&1 || true)
	printf '%s\n' "$out" >>"$d/turn-tls.out"
	grep '^result' <<<"$out" || echo "result mbps=0"
}

part_links() {
	local round kind r
	say "links: iperf3 TCP b1 -> c1 (both UDP-blocked) through the relay, ${flow_secs} s, $rounds round(s)"
	for ((round = 1; round <= rounds; round++)); do
		for kind in $link_kinds; do
			r=$(link_flow "$kind" "$round")
			keep "link-$kind" "$r"
			[ -z "${VERBOSE:-}" ] || echo "  $kind round $round: $r"
		done
		[ -z "${SKIP_TURN:-}" ] || continue
		r=$(turn_tls_flow)
		keep turn-tls "$r"
		[ -z "${VERBOSE:-}" ] || echo "  coturn TLS round $round: $r"
	done
	printf '%-44s %12s %10s %10s %8s %8s\n' "relay link" "Mbit/s" "ping ms" "link seen" "srv CPU" "nodes CPU"
	for kind in $link_kinds; do
		r=$(median "link-$kind" mbps)
		printf '%-44s %12.0f %10s %10s %8s %8s\n' "roam relay, $kind" "$(field mbps "$r")" "$(field rtt "$r")" \
			"$(field link "$r")" "$(field srvcpu "$r")" "$(field nodecpu "$r")"
	done
	echo "(CPU in cores during the flow: roam-server; both roamd nodes, monitor and agent)"
	if [ -z "${SKIP_TURN:-}" ]; then
		r=$(median turn-tls mbps)
		printf '%-44s %12.0f %10s %10s\n' "coturn $turn_version TURN/TLS, 2 clients" "$(field mbps "$r")" - -
	fi
	echo "(goals: TLS stream >= 2000 Mbit/s, long-poll >= 300 Mbit/s; coturn's figure is 1452-byte messages" \
		"between two TURN/TLS clients as fast as TLS takes them, payload bits: a datagram flow, not TCP)"
}

# ---------------------------------------------------------------- memory
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# mem_run N: a fresh roam-server on port 8444; N nodes (groups of 100)
# register and hold idle TLS-stream links; prints the figures as key=value.
mem_run() {
	local n=$1 port=8444 st="$d/mem-$1" pid rss0 rss fds i groups sim_pid out
	lab_exec server "$SERVER" init --state "$st" --host "$S" --port $port >/dev/null
	groups=$(((n + 99) / 100))
	: >"$d/mem-tokens"
	for ((i = 0; i < groups; i++)); do
		lab_exec server "$SERVER" groups create "m$i" --state "$st" >/dev/null
		lab_exec server "$SERVER" keys create --reusable --group "m$i" --state "$st" |
			grep -o 'roam1\.[A-Za-z0-9_-]*' >>"$d/mem-tokens"
	done
	pid=$(lab_spawn server "roam-server-mem-$n" "$SERVER" run --state "$st" --port $port --log-level error \
		--max-connections-per-source 1000000)
	wait_for 10 "roam-server :$port" lab_exec server sh -c "ss -ltn | grep -q ':$port '" >&2
	sleep 1
	rss0=$(rss_kib "$pid")
	sim_pid=$(lab_spawn a1 "coord-sim-mem-$n" "$SIM" links --server "$S:$port" --tokens "$d/mem-tokens" \
		--nodes "$n" --group-size 100 --hold 20)
	out=$(lab_log_file "coord-sim-mem-$n")
	wait_for 200 "$n links" grep -q '^linked' "$out" >&2 || true
	sleep 3
	rss=$(rss_kib "$pid")
	fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	wait_for 60 "coord_sim done" sh -c "! kill -0 $sim_pid 2>/dev/null" >&2 || true
	echo "linked=$(sed -n 's/^linked nodes=\([0-9]*\).*/\1/p' "$out") held=$(sed -n 's/^held open=//p' "$out")" \
		"setup_s=$(sed -n 's/.*setup_s=//p' "$out") rss0=$rss0 rss=$rss fds=$fds"
	lab_stop "roam-server-mem-$n"
	lab_stop "coord-sim-mem-$n"
}

part_memory() {
	local n r
	say "memory: roam-server RSS with N nodes holding idle TLS-stream relay links"
	printf '%-8s %8s %8s %9s %10s %14s %8s\n' nodes linked held setup_s "RSS MiB" "KiB per node" fds
	for n in $mem_sizes; do
		r=$(mem_run "$n")
		awk -v n="$n" -v l="$(field linked "$r")" -v h="$(field held "$r")" -v s="$(field setup_s "$r")" \
			-v r0="$(field rss0 "$r")" -v r1="$(field rss "$r")" -v f="$(field fds "$r")" 'BEGIN {
			printf "%-8s %8s %8s %9s %10.1f %14.1f %8s\n", n, l, h, s, r1 / 1024, (r1 - r0) / n, f
		}'
	done
	echo "(KiB per node: (RSS with the links - RSS of the idle server) / N: the node's directory entry," \
		"its TLS connection and its link; the open-files limit is 20 000 per process)"
}

want udp && part_udp
want links && part_links
want memory && part_memory
if [ -n "${VERBOSE:-}" ]; then
	for f in "$d"/*.out; do
		echo "--- $(basename "$f")"
		cat "$f"
	done
fi
