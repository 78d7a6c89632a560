#!/usr/bin/env bash
# roam pull from several holders at once (issue 11, docs/files.md "Pull"),
# between real roamd nodes:
#
#   p1 publisher (40 Mbit/s) --+
#   p2 holder    (10 Mbit/s) --+-- lab internet --- p4 puller (q)
#   p3 holder    (40 Mbit/s) --+                    p5 outsider (x, group g2)
#   group g1 = {p1, p2, p3, p4}
#
# - p1 publishes PUB/big.bin (32 MB); p2 gets it by a push from p1, p3 by a
#   pull (so both hold it: a received and a pulled file are served as held);
# - with the links rate-limited, p4 pulls big.bin by its path; p3's roamd is
#   killed -9 a fifth of the way: the pull finishes from p1 and p2,
#   byte-identical, and `roam files` shows several sources that gave bytes;
# - p5 (another group) is refused: no peer p1 shares a group with it;
# - p4 pulls again into DEST (a second pull of it to DEST meanwhile is
#   refused); p4's roamd is killed -9 a third of the way and
#   restarted: the pull continues by itself from the part (its verified
#   chunks kept) and the file is byte-identical;
# - p1 stopped: p4 still pulls sub/big.bin by its path, resolved in p1's
#   sealed index from the server, from p2 alone;
# - p2 stopped too (no holder online): small.bin comes from p1's encrypted
#   copy on the server (roam publish --cache), byte-identical;
# - p4 restarted (its inbox copy removed) still serves big.bin from the
#   copies it pulled into DEST: p3 (restarted) pulls it from p4.
set -euo pipefail
source "$(dirname "$0")/files_lib.sh"

lab_up p:public:5 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
coord_srv groups create g2 >/dev/null
tok1=$(coord_token --reusable --group g1)
tok2=$(coord_token --group g2)
d=$(roam_dir)
for h in p1 p2 p3 p4; do
	coord_node $h
	coord_join $h "$tok1" >/dev/null
done
coord_node p5
coord_join p5 "$tok2" >/dev/null
online() { [ "$(coord_peer "$1" "$2" online)" = true ]; }
for h in p1 p2 p3; do wait_for 20 "p4 sees $h online" online p4 $h; done
wait_for 20 "p1 sees p2 online" online p1 p2

run=$(lab_rundir)
chmod 755 "$run"
pub="$run/pub"
mkdir -p -m 755 "$pub/sub"
MB=32
head -c $((MB * 1000000)) /dev/urandom >"$pub/sub/big.bin"
head -c 1500000 /dev/urandom >"$pub/small.bin"
chmod 644 "$pub/sub/big.bin" "$pub/small.bin"
want=$(sha256sum <"$pub/sub/big.bin" | cut -d' ' -f1)
roam_in() { local h=$1; shift; lab_exec "$h" "$ROAM" "$@" --socket "$d/$h.sock"; }
published() { coord_log p1 | grep -q "index sealed to .* of g1 and uploaded"; }
roam_in p1 publish --cache "$pub" >/dev/null
wait_for 40 "p1 published PUB, its copies and index on the server" published

say "p2 holds big.bin by a push, p3 by a pull"
roam_in p1 push --json "$pub/sub/big.bin" p2 >"$d/push.json" || fail "the push to p2 failed: $(cat "$d/push.json")"
roam_in p3 pull --json p1 sub/big.bin >"$d/pull3.json" || fail "p3's pull failed: $(cat "$d/pull3.json")"
[ "$(sha256sum <"$d/st-p3/inbox/p1/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "p3's copy differs"

say "p4 pulls from three holders; p2 rate-limited, p3 killed a fifth of the way"
lab_rate p1 40mbit
lab_rate p2 10mbit
lab_rate p3 40mbit
pulled_bytes() {
	roam_in p4 files --json 2>/dev/null | jq -r '[.[] | select(.direction == "pulled" and .state == "receiving") | .bytes] | max // 0'
}
bytes_at_least() { [ "$(pulled_bytes)" -ge "$1" ]; }
t0=$(date +%s%N)
roam_in p4 pull --json p1 sub/big.bin >"$d/pull4.json" 2>&1 &
pullpid=$!
wait_for 30 "a fifth pulled" bytes_at_least $((MB * 1000000 / 5))
files_kill9 p3
wait "$pullpid" || fail "p4's pull failed: $(tail -n 3 "$d/pull4.json")"
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
[ "$(sha256sum <"$d/st-p4/inbox/p1/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "p4's copy differs"
last=$(tail -n 1 "$d/pull4.json")
say "  $MB MB in $secs s; sources: $(jq -c '[.sources[] | {peer, bytes, state}]' <<<"$last")"
[ "$(jq -r .event <<<"$last")" = received ] || fail "no received event: $last"
gave=$(jq '[.sources[] | select(.bytes > 0)] | length' <<<"$last")
[ "$gave" -ge 2 ] || fail "only $gave source gave bytes: $last"
# p3 served until it was killed (its chunks then went to the others: it
# is marked dropped once it stays silent 10 s, if the pull lasts that long)
jq -e '.sources[] | select(.peer == "p3" and .bytes > 0)' <<<"$last" >/dev/null || fail "p3 gave nothing: $last"
roam_in p4 files | grep -q '\[from ' || fail "roam files shows no sources"

say "p5 (another group) cannot pull"
if roam_in p5 pull p1 sub/big.bin >"$d/pull5.txt" 2>&1; then fail "p5 pulled from p1"; fi
grep -q "shares a group" "$d/pull5.txt" || fail "p5's refusal is unclear: $(cat "$d/pull5.txt")"

say "a pull into DEST, p4 killed -9 a third of the way, continues after its restart"
dest="$run/dest"
mkdir -m 1777 "$dest"
lab_rate p1 20mbit # slower while the second pull is tried
roam_in p4 pull --json p1 sub/big.bin "$dest" >"$d/pull4b.json" 2>&1 &
wait_for 30 "the pull under way" bytes_at_least 1
# the same file to the same place at once: refused (one part, one writer)
if roam_in p4 pull p1 sub/big.bin "$dest" >"$d/pull4dup.txt" 2>&1; then fail "a second pull to the same place ran"; fi
grep -q "being pulled to the same place" "$d/pull4dup.txt" || fail "the second pull: $(cat "$d/pull4dup.txt")"
wait_for 30 "a third pulled" bytes_at_least $((MB * 1000000 / 3))
files_kill9 p4
lab_rate p1 40mbit
wait || true
part=$(stat -c %s "$dest"/.pull-*.part)
say "  the part kept $part bytes"
coord_node p4
arrived() { [ -e "$dest/big.bin" ]; }
wait_for 45 "the pull continued after the restart" arrived
grep -q "continuing the pull of big.bin" "$(lab_log_file roamd-p4)" || fail "p4 did not continue from its part"
[ "$(sha256sum <"$dest/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "the continued copy differs"
[ ! -e "$dest"/.pull-*.part ] || fail "the part stayed"

say "p1 offline: the path is found in its sealed index, the file pulled from p2"
lab_rate p2 off
lab_rate p1 off
coord_node_stop p1
offline() { [ "$(coord_peer "$1" "$2" online)" = false ]; }
wait_for 30 "p4 sees p1 offline" offline p4 p1
off="$run/off"
mkdir -m 1777 "$off"
roam_in p4 pull --json p1 sub/big.bin "$off" >"$d/pull4c.json" 2>&1 || fail "the pull with p1 offline failed: $(tail -n 2 "$d/pull4c.json")"
[ "$(sha256sum <"$off/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "the copy pulled with p1 offline differs"
last=$(tail -n 1 "$d/pull4c.json")
[ "$(jq -r '[.sources[].peer] | join(",")' <<<"$last")" = p2 ] || fail "not from p2 alone: $last"

say "no holder online: small.bin from p1's encrypted copy on the server"
coord_node_stop p2
wait_for 30 "p4 sees p2 offline" offline p4 p2
roam_in p4 pull --json p1 small.bin "$off" >"$d/pull4d.json" 2>&1 || fail "the pull from the server failed: $(tail -n 2 "$d/pull4d.json")"
cmp -s "$off/small.bin" "$pub/small.bin" || fail "the copy from the server differs"
[ "$(tail -n 1 "$d/pull4d.json" | jq -r '[.sources[].peer] | join(",")')" = server ] ||
	fail "not from the server: $(tail -n 1 "$d/pull4d.json")"
say "p4 restarted still serves what it pulled into DEST (its inbox copy gone): p3 pulls big.bin from it"
rm -f "$d/st-p4/inbox/p1/big.bin"
files_kill9 p4
coord_node p4
lab_rate p3 off
coord_node p3
wait_for 30 "p3 sees p4 online" online p3 p4
back="$run/back"
mkdir -m 1777 "$back"
roam_in p3 pull --json p1 sub/big.bin "$back" >"$d/pull3b.json" 2>&1 || fail "p3's pull from p4 failed: $(tail -n 2 "$d/pull3b.json")"
[ "$(sha256sum <"$back/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "the copy pulled from p4 differs"
last=$(tail -n 1 "$d/pull3b.json")
jq -e '.sources[] | select(.peer == "p4" and .bytes > 0)' <<<"$last" >/dev/null ||
	fail "p4 did not serve its DEST copies after its restart: $last"
for h in p2 p3 p4; do
	coord_log $h | grep -qiE 'sanitizer|runtime error|segmentation' && fail "roamd in $h reported a crash"
done
say "ok"
