#!/usr/bin/env bash
# The event log: what the server saw (joins, online/offline, endpoints,
# admin changes and who made them, failed authentications), filtered by
# node, kind and time, as JSON lines, and followed live over the admin
# socket; old events go after the retention.
#
#   p1 (public) --- lab internet --- server (roam-server :8443, state.db: events)
#   q1 (public) ---/                 `roam-server events [--follow]`
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

lab_up p:public q:public >/dev/null
lab_trap
coord_server_up
d=$(roam_dir)
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)

say "follow from the start (a background reader)"
lab_exec server "$SERVER" events --follow --json --state "$d/srv" >"$d/follow.jsonl" 2>"$d/follow.err" &
follower=$!
trap 'kill $follower 2>/dev/null || true; lab_down' EXIT
wait_for 5 "the follower connected" grep -q "" "$d/follow.jsonl"

coord_join_all "$tok" p1 q1
wait_for 10 "p1 sees q1" coord_sees p1 q1
coord_srv nodes rename q1 q1x >/dev/null
coord_node_stop q1

ev() { coord_srv events --json "$@"; }
has() { ev "$@" | grep -q .; }
say "joins, online, endpoints, the admin change with its actor, offline"
wait_for 5 "join of p1" has --kind join --node p1
wait_for 5 "p1 online" has --kind online --node p1
wait_for 5 "p1's endpoint" has --kind endpoint --node p1
wait_for 5 "the rename" has --kind admin
ev --kind admin | jq -e 'select(.actor == "cli" and (.detail | test("nodes.rename node=q1 new_name=q1x")))' >/dev/null ||
	fail "the admin event does not say who did what: $(ev --kind admin)"
wait_for 10 "q1x offline" has --kind offline --node q1x

say "failed authentication is logged"
lab_exec p1 curl -sk -o /dev/null -X POST "$COORD_URL/v1/endpoints" -d '{}' || true
wait_for 5 "an auth_failed event" has --kind auth_failed

say "filters: --node, --kind, --since; the table"
[ "$(ev --node p1 | jq -r .node | sort -u)" = p1 ] || fail "--node p1 gave others' events"
[ "$(ev --kind online | jq -r .kind | sort -u)" = online ] || fail "--kind online gave other kinds"
n_all=$(ev | wc -l)
[ "$(ev --since 1h | wc -l)" = "$n_all" ] || fail "--since 1h lost events"
[ "$(ev --since "$(($(date +%s) + 3600))" | wc -l)" = 0 ] || fail "--since the future gave events"
[ "$(ev --limit 2 | wc -l)" = 2 ] || fail "--limit 2"
coord_srv events --kind online | grep -qE "online +p1 " || fail "no table line for p1 online"
ev | jq -e . >/dev/null || fail "--json is not JSON lines"

say "the follower saw them as they happened"
wait_for 5 "the follower has the rename" grep -q "nodes.rename" "$d/follow.jsonl"
grep -q '"kind":"offline"' "$d/follow.jsonl" || fail "the follower missed the offline event"
[ "$(jq -r .id "$d/follow.jsonl" | sort -n | uniq -d | wc -l)" = 0 ] || fail "the follower printed an event twice"

say "retention: events older than --event-retention go at start"
coord_server_stop
wait "$follower" 2>/dev/null || true
grep -q "the server stopped" "$d/follow.err" || fail "the follower did not say the server stopped"
sqlite3 "$d/srv/state.db" "UPDATE events SET at = at - 3 * 86400 WHERE kind = 'join'"
coord_server_up --event-retention 2
[ "$(ev --kind join | wc -l)" = 0 ] || fail "old join events were kept"
has --kind online || fail "recent events went too"
grep -q "event(s) older than 2 days removed" "$(lab_log_file roam-server)" || fail "the pruning was not logged"
coord_server_stop
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$(lab_log_file roam-server)" || fail "roam-server: a sanitizer report"
say "ok"
