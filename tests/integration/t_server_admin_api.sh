#!/usr/bin/env bash
# The admin API on its own HTTPS listener (127.0.0.1:8444 in the server's
# namespace): accounts, sessions, CSRF, API tokens, failed-login limits,
# changes through the same code path as the CLI, live updates (SSE), and
# Prometheus metrics; never on the nodes' port.
#
#   p1 (public) --- lab internet --- server: roam-server :8443 (nodes)
#                                            127.0.0.1:8444 (console, API)
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || { say "SKIP: python3-prometheus-client not installed"; exit 77; }

lab_up p:public >/dev/null
lab_trap
coord_server_up
d=$(roam_dir)
A=https://127.0.0.1:8444
pw="correct horse battery staple"
echo "$pw" | coord_srv admins add alice >/dev/null
jar="$d/cookies"
# api [CURL ARGS...] PATH: the body on stdout, the status in $d/status
api() {
	local path=${*: -1}
	lab_exec server curl -sk -o "$d/body" -w '%{http_code}' -b "$jar" -c "$jar" "${@:1:$#-1}" "$A$path" >"$d/status" || true
	cat "$d/body"
}
status() { cat "$d/status"; }
expect() { [ "$(status)" = "$1" ] || fail "$2: HTTP $(status), expected $1: $(cat "$d/body")"; }

say "login: a wrong password is refused and logged; the right one gives a session"
api -X POST -d '{"name":"alice","password":"wrong password!"}' /api/v1/login >/dev/null
expect 401 "wrong password"
api -X POST -d "{\"name\":\"alice\",\"password\":\"$pw\"}" /api/v1/login >/dev/null
expect 200 "login"
grep -q "roam_session" "$jar" || fail "no session cookie"
lab_exec server curl -sk -D - -o /dev/null -X POST -d "{\"name\":\"alice\",\"password\":\"$pw\"}" "$A/api/v1/login" |
	grep -i '^set-cookie:' | grep -q 'HttpOnly; Secure; SameSite=Strict' || fail "the cookie is not HttpOnly, Secure, SameSite=Strict"
csrf=$(api /api/v1/session | jq -r .csrf)
[ ${#csrf} = 43 ] || fail "no CSRF token: $csrf"

say "a change needs the CSRF token"
api -X POST -d '{"op":"groups.create","group":"g1"}' /api/v1/ops >/dev/null
expect 403 "change without CSRF token"
api -X POST -H "X-CSRF-Token: ${csrf%?}x" -d '{"op":"groups.create","group":"g1"}' /api/v1/ops >/dev/null
expect 403 "change with a wrong CSRF token"
api -X POST -H "X-CSRF-Token: $csrf" -d '{"op":"groups.create","group":"g1"}' /api/v1/ops >/dev/null
expect 200 "change with the CSRF token"
coord_srv groups list | grep -q " g1 " || fail "the CLI does not see the group the API made"

say "live updates: an SSE stream sees the next change"
lab_exec server timeout 4 curl -skN -b "$jar" "$A/api/v1/stream" >"$d/sse.txt" 2>/dev/null &
sse=$!
sleep 1
join=$(api -X POST -H "X-CSRF-Token: $csrf" -d '{"op":"keys.create","groups":["g1"],"reusable":true,"expires_in":3600}' \
	/api/v1/ops | jq -r .join)
expect 200 "keys.create"
wait "$sse" || true
grep -q "^event: admin" "$d/sse.txt" || fail "the stream did not carry the change: $(cat "$d/sse.txt")"
grep -q "keys.create" "$d/sse.txt" || fail "the stream's event does not say what changed"

say "a node joins with the API's join command and shows online"
tok=${join##*--token }
coord_node p1
coord_join p1 "$tok" >/dev/null
online() { [ "$(api '/api/v1/nodes?q=p1' | jq -r '.nodes[0].online')" = true ]; }
wait_for 10 "p1 online in the API" online
api '/api/v1/nodes?q=p1' | jq -e '.nodes[0] | .state == "approved" and .via == "udp" and (.groups == ["g1"])' >/dev/null ||
	fail "p1's entry: $(cat "$d/body")"
api /api/v1/connections | jq -e '.connections[] | select(.node == "p1" and .via == "udp")' >/dev/null ||
	fail "no connection for p1: $(cat "$d/body")"
api '/api/v1/nodes?per_page=1&page=2' | jq -e '.total == 1 and (.nodes | length) == 0' >/dev/null || fail "paging"
api /api/v1/events?kind=admin | jq -e '[.events[] | select(.actor == "alice")] | length >= 2' >/dev/null ||
	fail "the admin events do not name alice"

say "API tokens: work without CSRF; missing, wrong or revoked ones are refused"
coord_srv admins token alice >"$d/token.txt"
t=$(tail -n 1 "$d/token.txt")
tid=$(sed -n 's/^# API token \([0-9]*\) .*/\1/p' "$d/token.txt")
bearer() { lab_exec server curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "${@:2}"; }
[ "$(bearer "$t" -X POST -d '{"op":"groups.create","group":"g2"}' "$A/api/v1/ops")" = 200 ] || fail "a token change was refused"
[ "$(lab_exec server curl -sk -o /dev/null -w '%{http_code}' "$A/api/v1/nodes")" = 401 ] || fail "no token, no cookie: not 401"
[ "$(bearer "roamadm1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$A/api/v1/nodes")" = 401 ] || fail "a made-up token was taken"
[ -n "$tid" ] || fail "admins token printed no id"
coord_srv admins revoke-token "$tid" >/dev/null
[ "$(bearer "$t" "$A/api/v1/nodes")" = 401 ] || fail "a revoked token still works"

say "metrics parse as Prometheus text"
t2=$(coord_srv admins token alice | tail -n 1)
lab_exec server curl -sk -H "Authorization: Bearer $t2" "$A/metrics" >"$d/metrics.txt"
/usr/bin/python3 - "$d/metrics.txt" <<'PY' || fail "the metrics do not parse"
import sys
from prometheus_client.parser import text_string_to_metric_families
names = {f.name for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = {"roam_server_nodes", "roam_server_nodes_online", "roam_server_streams_open", "roam_server_admin_requests",
        "roam_server_node_api_requests", "roam_server_node_api_request_duration_seconds",
        "roam_server_admin_request_duration_seconds", "roam_server_relayed_datagrams", "roam_server_auth_failures",
        "roam_server_events"}
missing = need - names
assert not missing, missing
PY
grep -q '^roam_server_nodes_online{via="udp"} 1' "$d/metrics.txt" || fail "metrics do not count p1 online"
grep -qE '^roam_server_node_api_requests_total\{route="register"\} [1-9]' "$d/metrics.txt" ||
	fail "metrics do not count p1's registration"

say "logout: the old cookie is refused afterwards (a stale session)"
cp "$jar" "$d/old-cookies"
api -X POST -H "X-CSRF-Token: $csrf" /api/v1/logout >/dev/null
expect 200 "logout"
old() { lab_exec server curl -sk -o /dev/null -w '%{http_code}' -b "$d/old-cookies" "$@"; }
[ "$(old "$A/api/v1/nodes")" = 401 ] || fail "a logged-out session still reads"
[ "$(old -X POST -H "X-CSRF-Token: $csrf" -d '{"op":"groups.create","group":"g3"}' "$A/api/v1/ops")" = 401 ] ||
	fail "a logged-out session still changes"

say "removing an account ends its sessions"
echo "$pw" | coord_srv admins add bob >/dev/null
lab_exec server curl -sk -o /dev/null -c "$d/bob" -X POST -d "{\"name\":\"bob\",\"password\":\"$pw\"}" "$A/api/v1/login"
[ "$(lab_exec server curl -sk -o /dev/null -w '%{http_code}' -b "$d/bob" "$A/api/v1/nodes")" = 200 ] || fail "bob cannot read"
coord_srv admins remove bob >/dev/null
[ "$(lab_exec server curl -sk -o /dev/null -w '%{http_code}' -b "$d/bob" "$A/api/v1/nodes")" = 401 ] ||
	fail "a removed admin's session still reads"

say "a new password ends that admin's sessions (both of them), not its tokens nor other admins' sessions"
pw2="a new password for carol"
echo "$pw" | coord_srv admins add carol >/dev/null
echo "$pw" | coord_srv admins add dave >/dev/null
login() { lab_exec server curl -sk -o /dev/null -w '%{http_code}' -c "$d/$2" -X POST -d "{\"name\":\"$1\",\"password\":\"$3\"}" "$A/api/v1/login"; }
reads() { lab_exec server curl -sk -o /dev/null -w '%{http_code}' -b "$d/$1" "$A/api/v1/nodes"; }
sleep 1 # at most 4 password checks a second
login carol c1 "$pw" >/dev/null; login carol c2 "$pw" >/dev/null; login dave d1 "$pw" >/dev/null
tc=$(coord_srv admins token carol | tail -n 1)
[ "$(reads c1)$(reads c2)$(reads d1)" = 200200200 ] || fail "carol or dave cannot read"
echo "$pw2" | coord_srv admins passwd carol >/dev/null
[ "$(reads c1)" = 401 ] || fail "carol's first session outlived her new password"
[ "$(reads c2)" = 401 ] || fail "carol's second session outlived her new password"
[ "$(reads d1)" = 200 ] || fail "dave's session ended with carol's password"
[ "$(bearer "$tc" "$A/api/v1/nodes")" = 200 ] || fail "carol's API token was revoked by a new password"
sleep 1
[ "$(login carol c3 "$pw")" = 401 ] || fail "the old password still logs in"
[ "$(login carol c3 "$pw2")" = 200 ] || fail "the new password does not log in"
[ "$(reads c3)" = 200 ] || fail "a session with the new password cannot read"
coord_srv events --kind refused | grep -q "the password changed" || fail "the ended session is not logged"

say "not on the nodes' port; not reachable from outside by default"
S=$(lab_server_addr)
c=$(lab_exec p1 curl -sk -o /dev/null -w '%{http_code}' -X POST -d "{\"name\":\"alice\",\"password\":\"$pw\"}" "https://$S:8443/api/v1/login" || true)
[ "$c" != 200 ] || fail "the nodes' port answers a console login"
! lab_exec p1 curl -sk -o /dev/null --max-time 3 "https://$S:8444/" || fail "the console is reachable from p1"

say "failed logins are rate-limited (then even the right password waits)"
for _ in 1 2 3 4 5; do api -X POST -d '{"name":"alice","password":"wrong password!"}' /api/v1/login >/dev/null; done
api -X POST -d "{\"name\":\"alice\",\"password\":\"$pw\"}" /api/v1/login >/dev/null
expect 429 "login after 6 failures"
coord_srv events --kind refused | grep -q "too many failures" || fail "the limited login is not logged"
coord_srv events --kind auth_failed | grep -q "wrong name or password" || fail "failed logins are not logged"

say "--admin-listen on the nodes' port is refused"
coord_server_stop
out=$(lab_exec server "$SERVER" run --state "$d/srv" --port 8443 --admin-listen 127.0.0.1:8443 2>&1) &&
	fail "the console went on the nodes' port"
echo "$out" | grep -q "nodes' port" || fail "no clear error: $out"

say "--admin-listen on IPv6 (given without brackets too): served, and the log shows a URL one can open"
for given in '[::1]:8445' '::1:8445'; do
	lab_exec server timeout 3 "$SERVER" run --state "$d/srv" --port 8443 --admin-listen "$given" >"$d/v6.log" 2>&1 &
	v6=$!
	wait_for 3 "the console on [::1]:8445" lab_exec server curl -sk -o /dev/null 'https://[::1]:8445/'
	wait "$v6" || true # timeout ends it
	grep -q 'console and admin API on https://\[::1\]:8445/' "$d/v6.log" || fail "the log's URL for $given: $(grep console "$d/v6.log")"
done
coord_server_stop
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" || fail "roam-server: a sanitizer report"
say "ok"
