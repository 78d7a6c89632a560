#!/usr/bin/env bash
# `roam up` tells the truth at once and never strands a node:
# - connection refused, and a token whose pinned server key does not match,
#   are immediate, clear errors (not a 15 s timeout);
# - a joined node asked to join another server without --force refuses at
#   once and stays where it is; with --force, a wrong URL is tried first and
#   the node keeps its membership when it fails;
# - roam down then roam up rejoins;
# - a node that starts while its server is down keeps retrying (backoff)
#   and rejoins once the server is back.
#
#   p1 (public), server on port 8443; a second server state (never run)
#   gives a token with another server key.
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
d=$(roam_dir)
S=$(lab_server_addr)
lab_exec server "$SERVER" init --state "$d/other" --host "$S" --port 9443 >/dev/null
other=$(lab_exec server "$SERVER" keys create --reusable --state "$d/other" | grep -o 'roam1\.[A-Za-z0-9_-]*' | head -n 1)
coord_node p1
sock="$d/p1.sock"

# up_fails LIMIT PATTERN ARGS...: roam up exits 1 within LIMIT s saying PATTERN.
up_fails() {
	local limit=$1 pattern=$2 out rc t0
	shift 2
	t0=$(date +%s%N)
	set +e
	out=$(lab_exec p1 "$ROAM" up "$@" --socket "$sock" 2>&1)
	rc=$?
	set -e
	local ms=$((($(date +%s%N) - t0) / 1000000))
	say "  exit $rc after $ms ms: $out"
	[ "$rc" -eq 1 ] || fail "roam up exit status $rc, not 1"
	[ "$ms" -le $((limit * 1000)) ] || fail "roam up took $ms ms (limit ${limit} s)"
	echo "$out" | grep -qiE "$pattern" || fail "roam up did not say '$pattern'"
}

say "fresh node, connection refused"
up_fails 3 "connection refused" --server "https://$S:9" --token "$tok"
lab_exec p1 "$ROAM" status --json --socket "$sock" | jq -e '.managed.state == "not-joined"' >/dev/null ||
	fail "a failed first join left the node half-joined"
say "fresh node, the token pins another server's key"
up_fails 3 "does not match the token" --server "$COORD_URL" --token "$other"

say "join"
coord_join p1 "$tok" >/dev/null
connected() { coord_status p1 | jq -e '.managed.state == "connected"' >/dev/null; }
wait_for 10 "p1 connected" connected
id=$(coord_status p1 | jq -r '.managed.node_id')

say "another server without --force: refused at once, membership kept"
up_fails 2 "roam down. first, or .roam up --force" --server "https://$S:9" --token "$tok"
connected || fail "p1 left its network"
say "another server with --force, unreachable: tried first, membership kept"
up_fails 3 "connection refused" --server "https://$S:9" --token "$tok" --force
connected || fail "p1 left its network after a failed switch"
[ "$(coord_status p1 | jq -r '.managed.server')" = "$COORD_URL" ] || fail "p1 points at another server now"
[ "$(coord_status p1 | jq -r '.managed.node_id')" = "$id" ] || fail "p1 changed identity"
grep -q "$COORD_URL" "$d/st-p1/state.json" || fail "state.json no longer names the server"

say "SIGHUP in managed mode: nothing to reload, roamd keeps running"
kill -HUP "$(cat "$(lab_rundir)/pid/roamd-p1.pid")"
sleep 0.5
connected || fail "roamd did not survive SIGHUP in managed mode"

say "roam down, roam up"
lab_exec p1 "$ROAM" down --socket "$sock" >/dev/null
coord_status p1 | jq -e '.managed.state == "not-joined"' >/dev/null || fail "roam down did not leave"
lab_exec p1 "$ROAM" up --socket "$sock" >/dev/null || fail "roam up did not rejoin"
wait_for 10 "p1 connected again" connected
[ "$(coord_status p1 | jq -r '.managed.node_id')" = "$id" ] || fail "p1 rejoined as another node"
say "roamd restarted while the server is down: it keeps trying, and rejoins when it is back"
coord_server_stop
coord_node_stop p1
coord_node p1
sleep 3
coord_status p1 | jq -e '.managed.state == "connecting"' >/dev/null ||
	fail "p1 is not trying to reconnect: $(coord_status p1 | jq -c .managed)"
coord_server_up
wait_for 40 "p1 rejoined after the server came back" connected
say "a server named by a host name: the sandboxed agent resolves it (libcurl's resolver thread)"
lab_exec p1 "$ROAM" down --socket "$sock" >/dev/null
ns=$(ip netns list | awk '{ print $1 }' | grep -x -- "$LAB_ID-p1")
mkdir -p "/etc/netns/$ns" # ip netns exec mounts it over /etc/hosts; lab_down removes it
echo "$S roam-server.lab.test" >"/etc/netns/$ns/hosts"
coord_node_stop p1
coord_node p1
out=$(lab_exec p1 "$ROAM" up --server "https://roam-server.lab.test:$COORD_PORT" --token "$tok" --force --socket "$sock") ||
	fail "joining by host name failed: $out"
wait_for 10 "p1 connected by name" connected
coord_status p1 | jq -e '.managed.nat == "public"' >/dev/null || fail "no BINDING_ACK: the server's UDP address was not learnt"
coord_log p1 | grep -qiE 'sanitizer|segmentation' && fail "roamd reported a crash"
say "ok"
