#!/usr/bin/env bash
# Cached files survive a server's death in a cluster (issue 14): two
# roam-servers on one PostgreSQL keep the files' ciphertext in it
# (file_data, server/files/blob_store.h), not on the disk of the server
# that took the upload.
#
#     p1, p2, p3 (public) ---- server A :8443 --\        (killed -9)
#                                                +-- PostgreSQL (throwaway cluster,
#                              server B :9443 --/      tests/unit/pg_cluster.sh)
#   group g1 = {p1, p2, p3}
#
# - p1 publishes PUB with --cache through A (its sealed index and the
#   encrypted copy of small.bin on the servers);
# - p2 stopped; p1 pushes 4 MB to it (slowed); A holds nothing on its disk;
#   A is killed -9 mid-upload: p1 fails over to B, the upload continues at
#   what PostgreSQL holds (not from 0) and is queued;
# - p2 starts (its saved list: A dead, B): receives the file from B,
#   byte-identical, and p1 sees it delivered;
# - p1 stopped (no holder online): p3, failed over to B, pulls small.bin
#   from the copy made through A, byte-identical.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ROAM_TEST_PG_HOST:-}" ]; then
	exec bash "$here/../unit/pg_cluster.sh" bash "$here/$(basename "$0")" "$@"
fi
source "$here/lib.sh"
source "$here/files_lib.sh"
need_cmd jq psql

lab_up p:public:3 >/dev/null
lab_trap
cluster_two_servers_up

coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
node_start() {
	lab_spawn "$1" "roamd-$1" env ROAM_TEST_FILES_POLL=60000 ROAM_TEST_FILES_RATE="${2:-0}" ROAM_TEST_FILES_RETRY=60 \
		"$ROAMD" --state-dir "$d/st-$1" -s "$d/$1.sock" -l debug >/dev/null
	wait_for 10 "roamd in $1" test -S "$d/$1.sock"
}
roam_in() { local h=$1; shift; lab_exec "$h" "$ROAM" "$@" --socket "$d/$h.sock"; }
pg() { psql -h "$ROAM_TEST_PG_HOST" -U roam -d roamnet -tAc "$1"; }
stored() { [ "$(pg "SELECT COALESCE(SUM(length(data)), 0) FROM file_data WHERE name NOT LIKE '%-%'")" -ge "$1" ]; }
online() { [ "$(coord_peer "$1" "$2" online)" = "$3" ]; }
server_of() { coord_status "$1" | jq -r '.managed.server'; }
on_b() { [ "$(server_of "$1")" = "$URL_B" ]; }
knows_both() { grep -q "the network has 2 server" "$(lab_log_file "roamd-$1")"; }

node_start p1 1000000
node_start p2
node_start p3
for n in p1 p2 p3; do
	roam_in "$n" up --server "$URL_A" --token "$tok" --name "$n" >/dev/null
done
for n in p1 p2 p3; do
	wait_for 20 "$n learnt both servers" knows_both "$n"
done
wait_for 20 "p1 sees p2 online" online p1 p2 true
wait_for 20 "p3 sees p1 online" online p3 p1 true

say "p1 publishes with --cache through A"
run=$(lab_rundir)
chmod 755 "$run"
pub="$run/pub"
mkdir -m 755 "$pub"
head -c 300000 /dev/urandom >"$pub/small.bin"
chmod 644 "$pub/small.bin"
roam_in p1 publish --cache "$pub" >/dev/null
published() { coord_log p1 | grep -q "index sealed to .* of g1 and uploaded"; }
wait_for 40 "p1 published PUB, its copy and index on the servers" published

say "p2 offline: p1 pushes 4 MB; kill -9 A mid-upload"
coord_node_stop p2
wait_for 15 "p1 sees p2 offline" online p1 p2 false
head -c 4000000 /dev/urandom >"$d/four.bin"
want=$(sha256sum <"$d/four.bin" | cut -d' ' -f1)
roam_in p1 push --json "$d/four.bin" p2 >"$d/push.json" 2>&1 &
pushpid=$!
wait_for 20 "a quarter in PostgreSQL" stored 1000000
[ -z "$(find "$d/srv/files" -type f 2>/dev/null)" ] || fail "A kept file bytes on its disk: $(ls "$d/srv/files")"
lab_exec server sh -c "kill -KILL \$(cat '$(lab_rundir)/pid/roam-server.pid')" || true
kept=$(pg "SELECT COALESCE(SUM(length(data)), 0) FROM file_data WHERE name NOT LIKE '%-%'")
wait_for 15 "p1 on B" on_b p1
wait "$pushpid" || fail "the push did not finish after A's death: $(cat "$d/push.json")"
grep -q '"event":"queued"' "$d/push.json" || fail "not queued: $(cat "$d/push.json")"
id=$(jq -r 'select(.event == "queued") | .id' "$d/push.json")
grep -q "uploads" "$(lab_log_file roam-server-b)" && fail "the upload started over on B"
grep -q "is complete" "$(lab_log_file roam-server-b)" || fail "B did not complete the upload"
grep "read from the store" "$(lab_log_file roam-server-b)" | sed 's/^/    B: /' || true
say "  PostgreSQL held $kept bytes when A died; p1 went on from there on B: queued ($id)"

say "p2 starts (A dead): receives the file from B"
node_start p2
wait_for 20 "p2 on B" on_b p2
state_of() { roam_in p1 files --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state'; }
delivered() { [ "$(state_of "$id")" = delivered ]; }
wait_for 40 "delivered" delivered
[ "$(sha256sum <"$d/st-p2/inbox/p1/four.bin" | cut -d' ' -f1)" = "$want" ] || fail "the received file differs"
[ "$(pg "SELECT COUNT(*) FROM file_data WHERE name NOT LIKE '%-%'")" = 0 ] || fail "the delivered file's pieces stayed"

say "p1 offline: p3 (on B) pulls small.bin from the copy made through A"
coord_node_stop p1
wait_for 15 "p3 on B" on_b p3
wait_for 30 "p3 sees p1 offline" online p3 p1 false
off="$run/off"
mkdir -m 1777 "$off"
roam_in p3 pull --json p1 small.bin "$off" >"$d/pull.json" 2>&1 || fail "the pull through B failed: $(tail -n 2 "$d/pull.json")"
cmp -s "$off/small.bin" "$pub/small.bin" || fail "the copy from B differs"
[ "$(tail -n 1 "$d/pull.json" | jq -r '[.sources[].peer] | join(",")')" = server ] ||
	fail "not from the server: $(tail -n 1 "$d/pull.json")"
say "ok"
