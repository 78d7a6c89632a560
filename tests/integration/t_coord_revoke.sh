#!/usr/bin/env bash
# Group isolation holds in any order of events, and managed mode runs
# unprivileged:
# - roamd's managed-mode agent (the process that parses the server's
#   answers) runs as an unprivileged user, with no capabilities,
#   no_new_privs and a seccomp filter; killed, it is restarted and the
#   tunnels keep working meanwhile;
# - a node removed by the admin while the server was stopped: within 2 s of
#   its peer's reconnect the two cannot exchange a packet either way, and the
#   removed node, refused by the server, drops every peer;
# - a node moved out of the only group it shared, while the server was
#   stopped: the same.
#
#   p1 (A), q1 (B), r1 (C): public sites; A, B, C in g1; server on port 8443
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public r:public >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
for h in p1 q1 r1; do
	coord_node $h
	coord_join $h "$tok" >/dev/null
done
B=$(coord_addr4 q1)
C=$(coord_addr4 r1)
A=$(coord_addr4 p1)
wait_eq 10 "A sees B and C" 2 'coord_status p1 | jq '\''.peers | length'\'''
ping_ok p1 "$B" || fail "A cannot reach B to begin with"
ping_ok p1 "$C" || fail "A cannot reach C to begin with"

say "the agent is unprivileged and sandboxed"
roamd_pid=$(cat "$(lab_rundir)/pid/roamd-p1.pid")
agent=$(pgrep -P "$roamd_pid" | head -n 1)
[ -n "$agent" ] || fail "no agent process under roamd $roamd_pid"
st=/proc/$agent/status
say "  agent $agent: $(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "$st" | tr -s '\t' ' ' | tr '\n' ';')"
[ "$(awk '/^Uid:/ {print $2}' "$st")" != 0 ] || fail "the agent runs as root"
[ "$(awk '/^CapEff:/ {print $2}' "$st")" = 0000000000000000 ] || fail "the agent has capabilities"
[ "$(awk '/^CapPrm:/ {print $2}' "$st")" = 0000000000000000 ] || fail "the agent keeps permitted capabilities"
[ "$(awk '/^NoNewPrivs:/ {print $2}' "$st")" = 1 ] || fail "the agent may gain privileges"
[ "$(awk '/^Seccomp:/ {print $2}' "$st")" = 2 ] || fail "the agent has no seccomp filter"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$roamd_pid/status")" = 0 ] || fail "roamd itself is not the privileged half"

say "the agent killed: tunnels keep working, a new agent takes over"
kill -KILL "$agent"
ping_ok p1 "$B" || fail "the tunnel to B broke when the agent died"
new_agent() { a=$(pgrep -P "$roamd_pid" | head -n 1); [ -n "$a" ] && [ "$a" != "$agent" ]; }
wait_for 10 "a new agent" new_agent
connected() { coord_status "$1" | jq -e '.managed.state == "connected"' >/dev/null; }
wait_for 10 "A connected again" connected p1
[ "$(coord_status p1 | jq '.peers | length')" = 2 ] || fail "A lost peers across the agent's restart"
ping_ok p1 "$B" || fail "no tunnel to B after the agent's restart"

# no_traffic X Y ADDR-OF-Y ADDR-OF-X: neither can reach the other.
no_traffic() {
	! lab_exec "$1" ping -c 2 -i 0.2 -W 1 "$3" >/dev/null 2>&1 || fail "$1 still reaches $2"
	! lab_exec "$2" ping -c 2 -i 0.2 -W 1 "$4" >/dev/null 2>&1 || fail "$2 still reaches $1"
}

say "B removed while the server is stopped"
coord_server_stop
coord_srv nodes remove q1 >/dev/null
coord_server_up
wait_for 40 "A reconnected" connected p1
t0=$(date +%s%N)
gone() { [ -z "$(coord_peer p1 q1 name)" ]; }
wait_for 2 "A drops B within 2 s of reconnecting" gone
say "  A dropped B $(( ($(date +%s%N) - t0) / 1000000 )) ms after its reconnect"
no_traffic p1 q1 "$B" "$A"
# Its key is unknown now: the server refuses it, or (no pre-auth key left)
# takes it as a new node waiting for approval. Either way: no peers.
refused() { coord_status q1 | jq -e '(.managed.state == "refused" or .managed.state == "waiting-approval") and (.peers | length) == 0' >/dev/null; }
wait_for 40 "B refused by the server, with no peers" refused
say "  B: $(coord_status q1 | jq -c '{state: .managed.state, error: .managed.error, peers: (.peers | length)}')"

say "C moved out of the shared group while the server is stopped"
ping_ok p1 "$C" || fail "A cannot reach C before the change"
coord_server_stop
coord_srv groups remove g1 r1 >/dev/null
coord_server_up
wait_for 40 "A reconnected" connected p1
gone_c() { [ -z "$(coord_peer p1 r1 name)" ]; }
wait_for 2 "A drops C within 2 s of reconnecting" gone_c
no_traffic p1 r1 "$C" "$A"
c_empty() { [ "$(coord_status r1 | jq '.peers | length')" = 0 ]; }
wait_for 40 "C's view is empty" c_empty
coord_log p1 | grep -qiE 'sanitizer|segmentation' && fail "roamd reported a crash"
say "ok"
