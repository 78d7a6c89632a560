#!/usr/bin/env bash
# Takes the console's screenshots for the docs (docs/img/*.png) from a lab
# with something to show: five nodes in two groups, one waiting for
# approval, a pair talking directly, a pair through the relay (a node whose
# network blocks UDP), relayed traffic, some events.
#
#   pub1 (public) -----+
#   pub2 (public) -----+
#   nat1 (portrestr.) -+-- inet -- server: roam-server :443, console 127.0.0.1:8444
#   ubl1 (udpblocked) -+                                      <- chromium
#   pen1 (public) -----+ joined without a key: waiting for approval
#   office = {pub1, nat1, ubl1}, servers = {pub1, pub2}
#
# Run as root from the repository: bash tests/browser/screenshots.sh [OUT_DIR]
# (default docs/img). Needs node, npm and Debian's chromium, like
# t_console_browser.
set -euo pipefail
source "$(dirname "$0")/../integration/coord_lib.sh"
out=$(realpath -m "${1:-$ROAM_ROOT/docs/img}")
b="$ROAM_ROOT/tests/browser"
[ -d "$b/node_modules/puppeteer-core" ] ||
	(cd "$b" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund >/dev/null)

lab_up pub:public:2 nat:portrestricted ubl:udpblocked pen:public >/dev/null
lab_trap
# shellcheck disable=SC2034 # coord_lib.sh's
COORD_PORT=443
coord_server_up
d=$(roam_dir)
pw="a long console password"
echo "$pw" | coord_srv admins add alice >/dev/null
coord_srv groups create office >/dev/null
coord_srv groups create servers >/dev/null
office=$(coord_token --reusable --group office)
both=$(coord_token --group office --group servers)
servers=$(coord_token --group servers)
coord_srv keys create --expires 7d --group office >/dev/null # an unused key for the keys page
coord_join_all "$both" pub1
coord_join_all "$servers" pub2
coord_join_all "$office" nat1 ubl1
coord_node pen1
coord_join pen1 "$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$d/init.txt" | tail -n 1)" >/dev/null || true
wait_for 30 "pub1 sees ubl1" coord_sees pub1 ubl1
wait_for 30 "pub1 sees nat1" coord_sees pub1 nat1
for h in nat1 ubl1 pub2; do wait_for 30 "pub1 -> $h" ping_ok pub1 "$(coord_addr4 "$h")"; done
ping_ok nat1 "$(coord_addr4 ubl1)" || true
# a failed login and an admin change, for the event log
lab_exec server curl -sk -o /dev/null -X POST -d '{"name":"mallory","password":"guess guess"}' \
	https://127.0.0.1:8444/api/v1/login || true
coord_srv nodes rename pub2 db1 >/dev/null 2>&1 || true
say "waiting for the nodes' path reports"
reported() {
	coord_srv events --kind path | grep -q "relayed" && coord_srv events --kind path | grep -q "direct"
}
wait_for 40 "a direct and a relayed path reported" reported
# relayed traffic while the overview is shot
lab_exec pub1 ping -c 300 -i 0.05 -s 1000 -W 1 "$(coord_addr4 ubl1)" >/dev/null 2>&1 &
pinger=$!
mkdir -p "$out"
lab_exec server env CONSOLE_URL=https://127.0.0.1:8444 ADMIN_NAME=alice ADMIN_PASSWORD="$pw" OUT="$out" HOME="$d" \
	timeout 120 node "$b/screenshots.mjs" || fail "the screenshots failed"
kill "$pinger" 2>/dev/null || true
coord_server_stop
say "screenshots in $out: $(du -h "$out"/console-*.png | tr "\n\t" "  ")"
