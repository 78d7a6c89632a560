#!/usr/bin/env bash
# The UDP relay's batched I/O with real sockets: a node that sends its RELAY
# datagrams as roamd does, several in one UDP GSO message, has each of them
# forwarded once (the server takes the burst coalesced with UDP GRO, splits
# it and sends the forwarded datagrams as a batch, runs for one peer as one
# GSO message), and so does a node that sends them one by one. The load is
# bench/relay_load (bench/relay.sh's tool) at a fixed, modest rate.
#
#   a1 (public 198.51.100.11) --- inet --- server 203.0.113.1: roam-server :8443
#   relay_load: node A's socket -> RELAY -> node B's socket (both in a1)
# roam-test: timing
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

LOAD=$ROAM_BUILD_DIR/bench/relay_load
need_built "$SERVER" "$SIM" "$LOAD"

lab_up a:public >/dev/null
lab_trap
d=$(roam_dir)
S=$(lab_server_addr)
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)

# Registered by coord_sim, which leaves when its stdin closes; relay_load
# then binds each node from its own socket.
register() {
	roam_keys "$1"
	lab_exec a1 sh -c "sleep 2 | '$SIM' node --server '$S:$COORD_PORT' --token '$tok' --name '$1' --key '$d/$1.key'" \
		>"$d/$1.sim" 2>&1 || true
	grep -o '"node_id":[0-9]*' "$d/$1.sim" | head -n 1 | cut -d: -f2
}
ida=$(register na)
idb=$(register nb)
[ -n "$ida" ] && [ -n "$idb" ] || fail "registration: $(cat "$d"/*.sim)"

# relay ARGS...: 20 000 datagrams/s for 1 s; every one must arrive.
relay() {
	lab_exec a1 "$LOAD" roam --server "$S:$COORD_PORT" --token "$tok" --key-a "$d/na.key" --id-a "$ida" \
		--key-b "$d/nb.key" --id-b "$idb" --rate-first 20000 --rate-max 20000 --seconds 1 "$@" >"$d/load.out" 2>&1 ||
		fail "relay_load $*: $(cat "$d/load.out")"
	grep -q '^step rate=20000 .* loss_pct=0.000 ' "$d/load.out" || fail "losses with $*: $(cat "$d/load.out")"
}

say "one datagram per send: all forwarded"
relay
say "UDP GSO, 40 datagrams per send: all forwarded, each once"
relay --gso 40
say "$(grep '^step' "$d/load.out")"
