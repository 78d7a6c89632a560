#!/usr/bin/env bash
# The published index sealed to a group and kept on the server, and roam ls
# (docs/files.md "The index on the server", issue 11), between real nodes:
#
#   p1 (public) ---- lab internet ---- p2 (public)      roam-server (server)
#        \------------ lab internet ---- p3 (public), p4 (public)
#   group g = {p1, p2} (p4 joins later); group gx = {p1, p3} (p3, "x",
#   shares gx with p1 only, until it is added to g at the end)
#
# - p1 publishes PUB/ (a JPEG photo, a text file holding a marker, a file in a
#   subdirectory) with --group g; the index is sealed to g's members and
#   uploaded; then p1 stops (kill -9).
# - p2 lists p1's index while p1 is offline: every path, the photo with its
#   thumbnail (a JPEG, in --json --thumbs); PATH narrows the listing.
# - p3 sees p1 (gx) but is not in g: the server refuses it, the same answer
#   as "nothing published"; a peer nobody knows is refused by roamd.
# - the server's state directory (files and database) holds neither the
#   marker nor a file name.
# - a late joiner: p4 joins g after the publish; p1 seals the index again
#   (its view changed) and p4 lists it.
# - p1 back: it publishes PUB to g again by itself (kept across the
#   restart); publish again with --cache (the first upload of the copies
#   breaks off after one, as if the server stopped answering: a test hook;
#   the reseal makes them again and leaves no stray copy): each
#   file's encrypted copy on the server too, listed [cached]; the marker is
#   still nowhere in the server's state); p3 added to g
#   (already p1's peer, so maybe no view change: the periodic reseal, every
#   3 s here, covers it) lists the index; p4 publishes with --cache too and
#   is removed on the server (roam-server nodes remove): its index and its
#   copies go, p1's stay; p3's too, removed while the server is down (at
#   the server's start); roam unpublish: nothing is listed
#   any more (before that, a server quota too small for the copies: the
#   index is uploaded without them, none stays); with the server stopped,
#   roam ls says so.
set -euo pipefail
source "$(dirname "$0")/files_lib.sh"

lab_up p:public:4 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g >/dev/null
coord_srv groups create gx >/dev/null
d=$(roam_dir)
S="$d/srv"
# p1 checks its groups' members every 3 s besides at view changes; its
# first upload of copies breaks off after one.
p1_start() {
	lab_spawn p1 roamd-p1 env ROAM_TEST_FILES_RESEAL=3 ROAM_TEST_FILES_CACHE_BREAK=1 "$ROAMD" --state-dir "$d/st-p1" -s "$d/p1.sock" -l debug >/dev/null
	wait_for 10 "roamd in p1" test -S "$d/p1.sock"
}
p1_start
# p2 reads back and decrypts every cached copy it lists (a test hook).
lab_spawn p2 roamd-p2 env ROAM_TEST_FILES_LS_VERIFY=1 "$ROAMD" --state-dir "$d/st-p2" -s "$d/p2.sock" -l debug >/dev/null
wait_for 10 "roamd in p2" test -S "$d/p2.sock"
coord_node p3
coord_node p4
coord_join p1 "$(coord_token --group g --group gx)" >/dev/null
coord_join p2 "$(coord_token --group g)" >/dev/null
coord_join p3 "$(coord_token --group gx)" >/dev/null
sees() { [ -n "$(coord_peer "$1" "$2" file_key)" ] && [ "$(coord_peer "$1" "$2" file_key)" != null ]; }
wait_for 15 "p2 knows p1's file key" sees p2 p1
wait_for 15 "p3 knows p1's file key" sees p3 p1
wait_for 15 "p1 knows p2's file key" sees p1 p2

# The file worker runs as nobody: the published tree must be readable to it.
run=$(lab_rundir)
chmod 755 "$run"
pub="$run/pub"
mkdir -p -m 755 "$pub/deep-zq"
cp "$(dirname "$0")/../../fuzz/corpus/thumb/photo_64x48.jpg" "$pub/holiday-photo-zq.jpg"
echo 'ROAM-INDEX-MARKER-5151 in the text' >"$pub/notes-zq.txt"
head -c 70000 /dev/urandom >"$pub/deep-zq/data-zq.bin"
chmod 644 "$pub/holiday-photo-zq.jpg" "$pub/notes-zq.txt" "$pub/deep-zq/data-zq.bin"
ls_of() { lab_exec "$1" "$ROAM" ls --socket "$d/$1.sock" "${@:2}"; }
# sealed N: how many times p1 uploaded its index sealed to N members of g.
sealed() { coord_log p1 | grep -c "index sealed to $1 members of g and uploaded" || true; }

say "p1 publishes PUB to g: the index is sealed to g's members and uploaded"
lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" --group g "$pub" >/dev/null
uploaded() { coord_log p1 | grep -q "index sealed to 2 members of g and uploaded"; }
wait_for 20 "p1 uploaded its index" uploaded
coord_log p1 | grep -q "of gx and uploaded" && fail "the index went to gx too (--group g)"

say "p4 joins g after the publish: p1 seals the index again, p4 lists it"
coord_join p4 "$(coord_token --group g)" >/dev/null
wait_for 15 "p4 knows p1's file key" sees p4 p1
resealed() { coord_log p1 | grep -q "index sealed to 3 members of g and uploaded"; }
wait_for 20 "p1 sealed the index for p4 too" resealed
ls_of p4 p1 | grep -q 'notes-zq.txt' || fail "p4, a late joiner, does not list p1's index"

say "p1 stopped: p2 lists p1's index, with the photo's thumbnail"
files_kill9 p1
out=$(ls_of p2 p1) || fail "roam ls p1 failed on p2: $out"
say "$out"
grep -q 'holiday-photo-zq.jpg' <<<"$out" || fail "the photo is not listed"
grep -q '\[thumb\].*holiday-photo-zq.jpg' <<<"$out" || fail "the photo has no thumbnail marker"
grep -q 'notes-zq.txt' <<<"$out" || fail "the text file is not listed"
grep -q 'deep-zq/data-zq.bin' <<<"$out" || fail "the file in a subdirectory is not listed"
json=$(ls_of p2 p1 --json --thumbs)
[ "$(jq '.files | length' <<<"$json")" = 3 ] || fail "not 3 files in --json: $json"
hash=$(jq -r '.files[] | select(.path == "notes-zq.txt") | .hash' <<<"$json")
[ "$hash" = "$(b2sum -l 256 "$pub/notes-zq.txt" | cut -d' ' -f1)" ] || fail "the text file's hash is not its BLAKE2b-256"
[ "$(jq -r '.files[] | select(.path == "notes-zq.txt") | .size' <<<"$json")" = "$(stat -c %s "$pub/notes-zq.txt")" ] ||
	fail "the text file's size is wrong"
jq -r '.files[] | select(.path == "holiday-photo-zq.jpg") | .thumbnail' <<<"$json" | base64 -d >"$d/thumb.jpg" ||
	fail "no thumbnail in --json --thumbs"
[ "$(head -c 3 "$d/thumb.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "the thumbnail is not a JPEG"
[ "$(ls_of p2 p1 --json | jq '[.files[] | select(.thumbnail)] | length')" = 0 ] ||
	fail "thumbnails came without --thumbs"
[ "$(ls_of p2 p1 deep-zq --json | jq -r '[.files[].path] | join(",")')" = deep-zq/data-zq.bin ] ||
	fail "roam ls p1 deep-zq did not list only the subdirectory"

say "p3 (gx, not g) is refused, as if nothing were published; an unknown peer too"
if out=$(ls_of p3 p1 2>&1); then fail "p3 listed p1's index: $out"; fi
grep -q 'published nothing to a group we share' <<<"$out" || fail "p3's refusal does not say why: $out"
if out=$(ls_of p2 nosuchpeer 2>&1); then fail "an unknown peer was listed: $out"; fi
grep -q 'no peer' <<<"$out" || fail "an unknown peer's refusal does not say why: $out"

say "the server's state holds neither the marker nor a file name"
ls "$S"/files/index-* >/dev/null 2>&1 || fail "no index in the server's state directory"
for s in ROAM-INDEX-MARKER-5151 holiday-photo-zq notes-zq deep-zq data-zq; do
	if grep -rqa "$s" "$S"; then fail "'$s' is in the server's state"; fi
done

say "p1 back: publishes PUB to g again by itself; then again with --cache: the files' encrypted copies on the server"
p1_start # (its log starts again)
wait_for 15 "p1 back online" sees p1 p2
again() { [ "$(sealed 3)" -ge 1 ]; }
wait_for 20 "p1 uploaded its index again by itself" again
coord_log p1 | grep -q "publishing .*/pub again" || fail "p1 did not say it publishes again"
n0=$(sealed 3)
# The first attempt breaks off (the reply says so); the reseal publishes.
lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" --group g --cache "$pub" >/dev/null 2>&1 || true
# The copies go up after the reply (a thread of the file service): wait for the log.
broke() { coord_log p1 | grep -q "(test) the server stops answering after 1 copies"; }
wait_for 10 "the test hook broke the upload" broke
again_cached() { [ "$(sealed 3)" -gt "$n0" ]; }
copied() { coord_log p1 | grep -q "3 of 3 published files copied to the server for g"; }
wait_for 20 "p1 copied every file to the server" copied
wait_for 20 "p1 uploaded the index naming the copies" again_cached
json=$(ls_of p2 p1 --json)
[ "$(jq '[.files[] | select(.cached)] | length' <<<"$json")" = 3 ] || fail "the files are not listed as cached"
[ "$(jq '[.files[] | select(.verified)] | length' <<<"$json")" = 3 ] ||
	fail "p2 did not read back and decrypt the 3 copies to their hashes: $json"
ls_of p2 p1 | grep -q '\[cached\].*notes-zq.txt' || fail "no [cached] in roam ls"
[ "$(ls "$S"/files/blob-* | wc -l)" = 3 ] || fail "not 3 copies in the server's state directory (a stray from the broken upload?)"
for s in ROAM-INDEX-MARKER-5151 holiday-photo-zq notes-zq deep-zq data-zq; do
	if grep -rqa "$s" "$S"; then fail "'$s' is in the server's state (with --cache)"; fi
done

say "p3 added to g gets the index at the periodic reseal"
if ls_of p3 p1 >/dev/null 2>&1; then fail "p3 listed p1's index before it was in g"; fi
coord_srv groups add g p3 >/dev/null
p3_lists() { ls_of p3 p1 2>/dev/null | grep -q 'notes-zq.txt'; }
wait_for 20 "p3 lists p1's index" p3_lists
[ "$(sealed 4)" -ge 1 ] || fail "no reseal to p3"

say "p4 (and p3) publish with --cache, p4 is removed on the server: its index and copies go, p1's stay"
pub4="$run/pub4"
mkdir -p -m 755 "$pub4"
head -c 30000 /dev/urandom >"$pub4/p4-zq.bin"
chmod 644 "$pub4/p4-zq.bin"
lab_exec p4 "$ROAM" publish --socket "$d/p4.sock" --group g --cache "$pub4" >/dev/null
lab_exec p3 "$ROAM" publish --socket "$d/p3.sock" --group g --cache "$pub4" >/dev/null
kept() { [ "$(ls "$S"/files/blob-* | wc -l)" = "$1" ] && [ "$(ls "$S"/files/index-* | wc -l)" = "$2" ]; }
wait_for 20 "p4's and p3's indexes and copies on the server" kept 5 3
coord_srv nodes remove p4 >/dev/null
wait_for 10 "p4's index and copy deleted" kept 4 2
ls_of p2 p1 | grep -q '\[cached\].*notes-zq.txt' || fail "p1's index or copies went with p4's"

say "p3 removed while the server is down: its index and copy deleted at start"
coord_server_stop
coord_srv nodes remove p3 >/dev/null
coord_server_up --files-quota 60000
kept 3 1 || fail "p3's index or copy stayed after its removal: $(ls "$S"/files)"

say "a quota too small for the copies: the index goes without them, and no copy stays"
lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" --group g --cache "$pub" >/dev/null
no_room() { coord_log p1 | grep -q "quota holds no copies of the files for g"; }
wait_for 20 "p1 found no room for the copies" no_room
uncached() { [ "$(ls_of p2 p1 --json | jq '[.files[] | select(.cached)] | length')" = 0 ]; }
wait_for 20 "p2 lists the index without copies" uncached
[ "$(ls_of p2 p1 --json | jq '.files | length')" = 3 ] || fail "the index without copies does not list 3 files"
if ls "$S"/files/blob-* >/dev/null 2>&1; then fail "copies stayed on the server: $(ls "$S"/files)"; fi

say "roam unpublish deletes the index from the server"
lab_exec p1 "$ROAM" unpublish --socket "$d/p1.sock" >/dev/null
gone() { ! ls "$S"/files/index-* "$S"/files/blob-* >/dev/null 2>&1; }
wait_for 10 "the index and the copies deleted on the server" gone
if out=$(ls_of p2 p1 2>&1); then fail "p1's index is still listed after unpublish: $out"; fi
grep -q 'published nothing' <<<"$out" || fail "after unpublish: $out"

say "the server stopped: roam ls says it cannot be reached"
coord_server_stop
if out=$(ls_of p2 p1 2>&1); then fail "roam ls succeeded without a server: $out"; fi
grep -q 'server cannot be reached' <<<"$out" || fail "without a server: $out"
for h in p1 p2 p3 p4; do
	coord_log $h | grep -qiE 'sanitizer|runtime error|segmentation' && fail "roamd in $h reported a crash"
done
grep -qiE 'sanitizer|runtime error|segmentation' "$(lab_log_file roam-server)" && fail "roam-server reported a crash"
say "ok"
