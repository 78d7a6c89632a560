#!/usr/bin/env bash
# Presence and joining errors with real roamd nodes:
# - a node that stops cleanly (SIGTERM, or roam down) shows offline to its
#   peers within 5 s; one that vanishes (SIGKILL) after its binding lifetime
#   plus the grace period;
# - an invalid, expired or used-up pre-auth key is a clear error at roam up;
# - a node joining without a key waits for `roam-server nodes approve`;
# - a damaged node state file is a clear error at start, never replaced.
#
#   p1 (public) and q1 (public), group g1; roam-server --binding-lifetime 3
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up --binding-lifetime 3
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
coord_node p1
coord_node q1
coord_join p1 "$tok" >/dev/null
coord_join q1 "$tok" >/dev/null
online() { [ "$(coord_peer p1 q1 online)" = "$1" ]; }
wait_for 10 "p1 sees q1 online" online true

# seconds_until STATE LIMIT: how long until p1 sees q1 online=STATE.
seconds_until() {
	local t0=$SECONDS
	wait_for "$2" "p1 sees q1 online=$1" online "$1"
	echo $((SECONDS - t0))
}

say "clean stop (SIGTERM)"
coord_node_stop q1
s=$(seconds_until false 5)
say "  q1 offline for p1 after ~${s} s"
coord_node q1
wait_for 20 "q1 back" online true

say "roam down, then roam up"
lab_exec q1 "$ROAM" down --socket "$(roam_dir)/q1.sock" >/dev/null
s=$(seconds_until false 5)
say "  q1 offline for p1 after ~${s} s"
lab_exec q1 "$ROAM" up --socket "$(roam_dir)/q1.sock" >/dev/null
wait_for 10 "q1 back after roam up" online true
ping_ok p1 "$(coord_addr4 q1)" || fail "no traffic after roam up"

say "vanish (SIGKILL): offline after lifetime 3 s + grace 30 s"
pid=$(cat "$(lab_rundir)/pid/roamd-q1.pid")
kill -KILL "$pid"
s=$(seconds_until false 45)
say "  q1 offline for p1 after ~${s} s"
[ "$s" -ge 20 ] || fail "a vanished node went offline too early (${s} s): the grace period was not applied"

say "joining errors are clear"
lab_exec q1 sh -c "ip link del roam0 2>/dev/null || true"
rm -f "$(roam_dir)/q1.sock"
coord_node q1
expect_up_error() {
	local what=$1 pattern=$2 out rc
	shift 2
	set +e
	out=$(lab_exec q1 "$ROAM" up --server "$COORD_URL" "$@" --socket "$(roam_dir)/q1.sock" 2>&1)
	rc=$?
	set -e
	say "  $what: exit $rc: $out"
	[ $rc -ne 0 ] || fail "$what: roam up succeeded"
	echo "$out" | grep -qiE "$pattern" || fail "$what: unclear error"
}
expect_up_error "garbage token" "token is malformed" --token roam1.not-a-token
single=$(coord_token --group g1)
# Use the single-use key once (from a fresh identity), then again from another.
rm -rf "$(roam_dir)/st-q1"
coord_node_stop q1
coord_node q1
lab_exec q1 "$ROAM" up --server "$COORD_URL" --token "$single" --name q1b --socket "$(roam_dir)/q1.sock" >/dev/null ||
	fail "a fresh single-use key was refused"
coord_node_stop q1
rm -rf "$(roam_dir)/st-q1"
lab_exec q1 sh -c "ip link del roam0 2>/dev/null || true"
coord_node q1
expect_up_error "used-up key" "used|invalid|expired" --token "$single" --name q1c
expired=$(coord_token --group g1 --expires 1s)
sleep 2
expect_up_error "expired key" "expired|invalid" --token "$expired" --name q1d

say "a node without a pre-auth key waits for approval, then joins"
coord_node_stop q1
rm -rf "$(roam_dir)/st-q1"
lab_exec q1 sh -c "ip link del roam0 2>/dev/null || true"
coord_node q1
# init printed two join commands: with a single-use key, and without one.
nokey=$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$(roam_dir)/init.txt" | tail -n 1)
out=$(lab_exec q1 "$ROAM" up --server "$COORD_URL" --token "$nokey" --name q1e --socket "$(roam_dir)/q1.sock")
say "  roam up: $out"
echo "$out" | grep -q "waiting for an administrator" || fail "no word about waiting for approval"
coord_srv nodes approve q1e >/dev/null
coord_srv groups add g1 q1e >/dev/null
approved() { coord_status q1 | jq -e '.managed.state == "connected"' >/dev/null; }
wait_for 15 "q1e approved and online" approved
wait_for 10 "q1e sees p1" test -n "$(coord_peer q1 p1 path)"
ping_ok q1 "$(coord_addr4 p1)" || fail "no traffic after approval"

say "a damaged node state file: clear error, file kept"
coord_node_stop q1
echo '{"server": 42' >"$(roam_dir)/st-q1/state.json"
set +e
out=$(lab_exec q1 "$ROAMD" --state-dir "$(roam_dir)/st-q1" -s "$(roam_dir)/x.sock" 2>&1)
rc=$?
set -e
say "  roamd said: $out"
[ $rc -ne 0 ] || fail "roamd started with a damaged state file"
echo "$out" | grep -q "state.json: damaged" || fail "no clear error for a damaged state file"
grep -q '"server": 42' "$(roam_dir)/st-q1/state.json" || fail "the damaged file was replaced"
say "ok"
