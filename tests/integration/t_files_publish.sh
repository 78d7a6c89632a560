#!/usr/bin/env bash
# roam publish / unpublish and the file service answering PULL requests
# (RFG1, docs/files.md "Pull", issue 11) between real roamd nodes:
#
#   p1 (public) ----- lab internet ----- p2 (public)
#   group g1 = {p1, p2}; p1 publishes PUB/
#
# A raw client in p2 (bash /dev/tcp, the wire of lib/files/pull.c) asks p1's
# file service over the overlay:
# - a published file's chunk 0 by its BLAKE2b-256: OK, the bytes identical;
#   its TREE: OK; a hash not published: NOT_FOUND;
# - a file outside PUB (same directory tree) is never served, by any hash;
# - a symlink out of PUB refuses the publish (logged, naming the link) and
#   keeps what was published; a connection from an address that is not a
#   peer's gets no pull reply;
# - p1's roamd restarted (a file changed while it was down): what was
#   published is published again by itself, scanned again: the new hash
#   is served, the old one NOT_FOUND;
# - after roam unpublish: NOT_FOUND, and still after another restart.
set -euo pipefail
source "$(dirname "$0")/files_lib.sh"

lab_up p:public:2 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
d=$(roam_dir)
coord_node p1
coord_node p2
coord_join p1 "$tok" >/dev/null
coord_join p2 "$tok" >/dev/null
p2_online() { [ "$(coord_peer p1 p2 online)" = true ]; }
wait_for 15 "p1 sees p2 online" p2_online
P1=$(coord_addr4 p1)

# The file worker runs as nobody: the published tree must be readable to it.
run=$(lab_rundir)
chmod 755 "$run"
pub="$run/pub"
mkdir -p -m 755 "$pub/sub"
head -c 50000 /dev/urandom >"$pub/sub/a.bin"
head -c 50000 /dev/urandom >"$run/outside.bin"
chmod 644 "$pub/sub/a.bin" "$run/outside.bin"
hash_of() { b2sum -l 256 "$1" | cut -d' ' -f1; }
HA=$(hash_of "$pub/sub/a.bin")
HO=$(hash_of "$run/outside.bin")
publish() { lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" "$@"; }

# pull_req FROM TYPE HASH FIRST COUNT OUT [LEN]: one request to p1's service;
# the reply and LEN bytes of payload (default 0) into OUT; prints the status.
pull_req() {
	local msg='RFG1' i
	msg+=$(printf '\\x%02x' "$2")'\x00\x00\x00'
	for ((i = 0; i < 64; i += 2)); do msg+="\\x${3:i:2}"; done
	msg+='\x00\x00\x01\x00'$(printf '\\x%02x' "$4")'\x00\x00\x00'$(printf '\\x%02x' "$5")'\x00\x00\x00\x00\x00\x00\x00'
	lab_exec "$1" timeout 10 bash -c "exec 3<>/dev/tcp/$P1/7301; printf '$msg' >&3; head -c $((24 + ${7:-0})) <&3 >'$6'" || true
	if [ "$(head -c 4 "$6")" = RFG1 ]; then od -An -tu1 -j5 -N1 "$6" | tr -d ' '; else echo none; fi
}
published() { coord_log p1 | grep -q "published .*/pub ($1 files)"; }

say "publish PUB: a published file is served by its hash, byte-identical"
publish "$pub" >/dev/null
wait_for 10 "p1 published PUB" published 1
[ "$(pull_req p2 3 "$HA" 0 1 "$d/r1" 50000)" = 0 ] || fail "chunk 0 of a published file was not served"
tail -c +25 "$d/r1" | cmp -s - "$pub/sub/a.bin" || fail "the chunk served is not the file's bytes"
[ "$(pull_req p2 1 "$HA" 0 0 "$d/r2" 32)" = 0 ] || fail "the TREE of a published file was not served"
[ "$(stat -c %s "$d/r2")" = $((24 + 32)) ] || fail "the TREE is not one group hash"

say "not published: NOT_FOUND"
[ "$(pull_req p2 1 "$HO" 0 0 "$d/r3")" = 1 ] || fail "a file outside PUB was not NOT_FOUND"
[ "$(pull_req p2 1 "$(printf '%064d' 0)" 0 0 "$d/r4")" = 1 ] || fail "an unknown hash was not NOT_FOUND"

say "a symlink out of PUB refuses the publish, and keeps what was published"
ln -s "$run/outside.bin" "$pub/escape"
publish "$pub" >/dev/null
refused() { coord_log p1 | grep -q "cannot publish .*/pub: .*escape"; }
wait_for 10 "p1 refused the publish" refused
rm "$pub/escape"
[ "$(pull_req p2 1 "$HO" 0 0 "$d/r5")" = 1 ] || fail "the escaping link's target was served"
[ "$(pull_req p2 3 "$HA" 0 1 "$d/r6")" = 0 ] || fail "the refused publish dropped what was published"

say "not a peer's address: no pull reply"
[ "$(pull_req p1 1 "$HA" 0 0 "$d/r7")" != 0 ] || fail "a connection from a non-peer address was served"

say "p1's roamd restarts, a.bin changed meanwhile: published again by itself, the new hash served"
coord_node_stop p1
head -c 40000 /dev/urandom >"$pub/sub/a.bin"
HA2=$(hash_of "$pub/sub/a.bin")
coord_node p1
wait_for 20 "p1 sees p2 online again" p2_online
wait_for 15 "p1 published PUB again" published 1
coord_log p1 | grep -q "publishing .*/pub again" || fail "the restart does not say it publishes again"
served_again() { [ "$(pull_req p2 3 "$HA2" 0 1 "$d/r9" 40000)" = 0 ]; }
wait_for 15 "p1 serves the changed file" served_again
tail -c +25 "$d/r9" | cmp -s - "$pub/sub/a.bin" || fail "after the restart the chunk served is not the file's bytes"
[ "$(pull_req p2 1 "$HA" 0 0 "$d/r10")" = 1 ] || fail "the file's old hash is still served after the rescan"

say "unpublish: NOT_FOUND, and still after a restart"
lab_exec p1 "$ROAM" unpublish --socket "$d/p1.sock"
unpublished() { [ "$(pull_req p2 1 "$HA2" 0 0 "$d/r8")" = 1 ]; }
wait_for 10 "unpublished" unpublished
coord_node_stop p1
coord_node p1
wait_for 20 "p1 sees p2 online again" p2_online
sleep 2
[ "$(pull_req p2 1 "$HA2" 0 0 "$d/r11")" = 1 ] || fail "an unpublished directory was published again at restart"
if lab_exec p1 "$ROAM" publish --socket "$d/p1.sock" /nonexistent 2>/dev/null; then
	fail "publishing a missing directory succeeded"
fi
for h in p1 p2; do
	coord_log $h | grep -qiE 'sanitizer|runtime error|segmentation' && fail "roamd in $h reported a crash"
done
say "ok"
