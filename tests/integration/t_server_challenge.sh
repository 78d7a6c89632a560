#!/usr/bin/env bash
# A real roamd answers the server's CHALLENGE: an address:port still bound
# to another node (here a roamd killed without logging out, whose binding
# lives on for 330 s) moves to the new node only once it proves it receives
# there, and it does so at once.
#
#   p1 (public 198.51.100.11): roamd "old" on UDP 51820, killed;
#                              then roamd "new" on the same port, new key
#   p2 (public 198.51.100.12): roamd "peer", in the same group
#        |
#   lab internet --- server: roam-server :8443
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public:2 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
srvlog() { cat "$(lab_log_file roam-server)"; }

say "old (p1) and peer (p2) join; old is bound at 198.51.100.11:51820"
coord_node p1
coord_node p2
coord_join p1 "$tok" >/dev/null
coord_join p2 "$tok" >/dev/null
wait_for 10 "old bound" sh -c "grep -q 'node [0-9]* (p1) at [0-9.]*:51820' '$(lab_log_file roam-server)'"
ep=$(srvlog | sed -n 's/.*node [0-9]* (p1) at \([0-9.]*:51820\).*/\1/p' | tail -1)
say "old is at $ep"

say "old dies without a word; new starts on the same host and port"
kill -KILL "$(cat "$(lab_rundir)/pid/roamd-p1.pid")"
lab_stop roamd-p1
d=$(roam_dir)
lab_spawn p1 roamd-new "$ROAMD" --state-dir "$d/st-new" -s "$d/new.sock" -l debug >/dev/null
wait_for 10 "roamd new" test -S "$d/new.sock"
t0=$(date +%s%N)
lab_exec p1 "$ROAM" up --server "$COORD_URL" --token "$tok" --name new --socket "$d/new.sock" >/dev/null
wait_for 10 "new proved $ep and took it over" sh -c "grep -q 'node [0-9]* (new) at $ep' '$(lab_log_file roam-server)'"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
srvlog | grep -q "node [0-9]* (p1) lost its endpoint" || fail "old was not told it lost its endpoint"
grep -q "prove our endpoint" "$(lab_log_file roamd-new)" || fail "new did not answer a challenge"
wait_for 10 "new knows its public endpoint" sh -c \
	"lab_exec p1 '$ROAM' status --json --socket '$d/new.sock' | jq -e '.managed.public_endpoint == \"$ep\"' >/dev/null"
wait_for 10 "peer sees new at $ep" sh -c \
	"lab_exec p2 '$ROAM' status --json --socket '$d/p2.sock' | jq -e '.peers[] | select(.name == \"new\") | .public_endpoint == \"$ep\"' >/dev/null"
say "new holds $ep $ms ms after roam up (join included)"
say "ok"
