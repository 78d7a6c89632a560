#!/usr/bin/env bash
# A real roamd in a group of 5 000: its first full view is one "peers" line
# of over 1 MB, far over the 256 KiB line roamd used to accept (it looped
# on "Message too long", and each reconnect made the server build the view
# again). roamd and the server now share one set of limits, sized for the
# protocol's maximum, and roamd's line buffer grows on demand.
#
#   server: roam-server :8443, and coord_sim registering 5 000 nodes in g
#      |
#   lab internet
#      |
#   p1 (public): roamd, joins g last
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

SIM=$ROAM_BUILD_DIR/bench/coord_sim
[ -x "$SIM" ] || fail "$SIM not built"
# 5 000 on the optimised build; under ASan registering them alone would take
# minutes, so 2 000 (still a first line of ~500 KB, twice the old limit).
sanitized=$(jq -r '.[] | select(.name == "b_sanitize") | .value' \
	"$ROAM_BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null || echo none)
if [ "$sanitized" != none ] && [ -n "$sanitized" ]; then
	PEERS=${PEERS:-2000}
else
	PEERS=${PEERS:-5000}
fi

lab_up p:public >/dev/null
lab_trap
# Full views whatever the group's size: above --group-view-max (1000 by
# default) a group's members learn each other on demand (t_group_on_demand).
coord_server_up --group-view-max 0
coord_srv groups create g >/dev/null
tok=$(coord_token --reusable --group g)
S=$(lab_server_addr)

say "$PEERS simulated nodes register with the group's key"
lab_exec server "$SIM" flood --server "$S:$COORD_PORT" --token "$tok" --keyed --new-keys --name peer \
	--count "$PEERS" --nodes 8 >"$(roam_dir)/flood.txt" || fail "the registrations did not finish: $(cat "$(roam_dir)/flood.txt")"
say "$(cat "$(roam_dir)/flood.txt")"
grep -q " 200=$PEERS " "$(roam_dir)/flood.txt" || fail "not every node registered"

say "roamd on p1 joins the group and gets its full view"
coord_node p1
coord_join p1 "$tok" >/dev/null
count() { coord_status p1 | jq '.peers | length'; }
holds_all() { [ "$(count)" -ge "$PEERS" ]; } # re-evaluated at every poll
wait_for 60 "p1 holds $PEERS peers" holds_all
sleep 3 # one stream, no reconnect loop
say "p1 holds $(count) peers"
if coord_log p1 | grep -q "Message too long\|stream closed"; then
	coord_log p1 | grep "Message too long\|stream closed" | head -3
	fail "roamd's stream broke on the large view"
fi
[ "$(coord_log p1 | grep -c "connected to the server's stream")" -eq 1 ] || fail "roamd reconnected its stream"
say "ok"
