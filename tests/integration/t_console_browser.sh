#!/usr/bin/env bash
# The console in a real browser (tests/browser/console.test.mjs): Debian's
# chromium, headless, driven by puppeteer-core from npm (pinned in
# tests/browser/package-lock.json, installed here with npm ci), running in
# the server's namespace where the console listens on 127.0.0.1:8444.
# Screenshots of every page go to the test's log directory
# (<logs>/t_console_browser.artifacts/).
#
#   q1 (public) --- lab internet --- server: roam-server :8443 (nodes)
#   p1 (public) ---/                         127.0.0.1:8444 <- chromium
# roam-test: serial
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"
for tool in node npm /usr/bin/chromium; do
	command -v "$tool" >/dev/null || { say "SKIP: $tool not installed (scripts/packages.txt)"; exit 77; }
done

b="$ROAM_ROOT/tests/browser"
if [ ! -d "$b/node_modules/puppeteer-core" ] || [ "$b/package-lock.json" -nt "$b/node_modules/.package-lock.json" ]; then
	say "npm ci (puppeteer-core, no browser download)"
	(cd "$b" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund >/dev/null) || fail "npm ci failed"
fi

lab_up q:public p:public >/dev/null
lab_trap
coord_server_up
d=$(roam_dir)
pw="a long console password"
echo "$pw" | coord_srv admins add alice >/dev/null
coord_srv admins token alice >"$d/token.txt"
coord_srv admins revoke-token "$(sed -n 's/^# API token \([0-9]*\) .*/\1/p' "$d/token.txt")" >/dev/null
# a hostile name in the event log (a failed login), to be shown as text
lab_exec server curl -sk -o /dev/null -X POST -d '{"name":"<img src=x onerror=alert(1)>","password":"x"}' \
	https://127.0.0.1:8444/api/v1/login

# What the browser test asks of the lab: start a node and join.
cat >"$d/hook.sh" <<HOOK
set -euo pipefail
export LAB_ID=$LAB_ID ROAM_BUILD_DIR=$ROAM_BUILD_DIR
source "$ROAM_ROOT/tests/integration/coord_lib.sh"
COORD_URL=$COORD_URL
case \$1 in
join) coord_node \$2; coord_join \$2 "\$3" >/dev/null ;;
join-pending)
	coord_node \$2
	nokey=\$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$d/init.txt" | tail -n 1)
	coord_join \$2 "\$nokey" >/dev/null ;;
esac
HOOK

art="$(dirname "${ROAM_TEST_REPORT:-$d/x}")/t_console_browser.artifacts"
mkdir -p "$art"
say "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
lab_exec server env CONSOLE_URL=https://127.0.0.1:8444 NODES_URL="https://$(lab_server_addr):$COORD_PORT" \
	ADMIN_NAME=alice ADMIN_PASSWORD="$pw" HOOK="$d/hook.sh" REVOKED_TOKEN="$(tail -n 1 "$d/token.txt")" \
	ARTIFACTS="$art" HOME="$d" timeout 240 node "$b/console.test.mjs" || fail "the browser test failed"
say "screenshots in $art: $(cd "$art" && echo *.png)"
echo "screenshots: $art" >>"${ROAM_TEST_REPORT:-/dev/null}"
coord_server_stop
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" || fail "roam-server: a sanitizer report"
say "ok"
