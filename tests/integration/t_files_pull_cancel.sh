#!/usr/bin/env bash
# Stopping a pull (issue 11, docs/files.md "Pull"), between real roamd nodes:
#
#   p1 publisher (16 Mbit/s) ---- lab internet ---- p2 puller
#   group g1 = {p1, p2}
#
# - p2 pulls PUB/big.bin (20 MB); `roam files cancel ID` mid-way: the pull
#   ends "cancelled", roam pull says so and exits non-zero, the part is
#   kept (pulling again continues from it) and nothing lands at its name;
# - Ctrl-C (SIGINT) on `roam pull` mid-way: it cancels its pull and exits
#   130, roam files shows it cancelled;
# - the pull started again continues from the part and arrives intact.
set -euo pipefail
source "$(dirname "$0")/files_lib.sh"

lab_up p:public:2 >/dev/null
lab_trap
coord_server_up
coord_srv groups create g1 >/dev/null
tok=$(coord_token --reusable --group g1)
d=$(roam_dir)
for h in p1 p2; do
	coord_node $h
	coord_join $h "$tok" >/dev/null
done
online() { [ "$(coord_peer "$1" "$2" online)" = true ]; }
wait_for 20 "p2 sees p1 online" online p2 p1

run=$(lab_rundir)
chmod 755 "$run"
pub="$run/pub"
mkdir -p -m 755 "$pub"
head -c 20000000 /dev/urandom >"$pub/big.bin"
chmod 644 "$pub/big.bin"
want=$(sha256sum <"$pub/big.bin" | cut -d' ' -f1)
roam_in() { local h=$1; shift; lab_exec "$h" "$ROAM" "$@" --socket "$d/$h.sock"; }
roam_in p1 publish "$pub" >/dev/null
published() { coord_log p1 | grep -q "published .*/pub (1 files)"; }
wait_for 20 "p1 published PUB" published
lab_rate p1 16mbit

pulling() { roam_in p2 files --json | jq -r '[.[] | select(.direction == "pulled" and .state == "receiving" and .bytes >= 1000000)] | last | .id // empty'; }
has_pull() { [ -n "$(pulling)" ]; }
state_of() { roam_in p2 files --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state'; }

say "roam files cancel mid-way: cancelled, the part kept, nothing at the name"
roam_in p2 pull --json p1 big.bin >"$d/pull1.json" 2>&1 &
pullpid=$!
wait_for 20 "the pull under way" has_pull
id=$(pulling)
roam_in p2 files cancel "$id" >/dev/null
if wait "$pullpid"; then fail "roam pull succeeded after its cancel: $(tail -n 2 "$d/pull1.json")"; fi
[ "$(tail -n 1 "$d/pull1.json" | jq -r .event)" = cancelled ] || fail "roam pull did not say cancelled: $(tail -n 2 "$d/pull1.json")"
[ "$(state_of "$id")" = cancelled ] || fail "roam files shows the pull $(state_of "$id")"
[ ! -e "$d/st-p2/inbox/p1/big.bin" ] || fail "a cancelled pull left a file at its name"
part_bytes() { find "$d/st-p2/inbox" -name '.pull-*.part' -printf '%s\n' | sort -n | tail -n 1; }
[ "$(part_bytes)" -gt 0 ] || fail "the cancelled pull's part was not kept"

say "Ctrl-C on roam pull: it cancels its pull and exits 130"
st=0
lab_exec p2 timeout --preserve-status -s INT 3 "$ROAM" pull --json --socket "$d/p2.sock" p1 big.bin >"$d/pull2.json" 2>"$d/pull2.err" || st=$?
[ "$st" = 130 ] || fail "roam pull exited $st on SIGINT: $(cat "$d/pull2.err")"
grep -q 'interrupted: cancelled' "$d/pull2.err" || fail "roam pull did not say it cancelled: $(cat "$d/pull2.err")"
last_pull() { roam_in p2 files --json | jq -r '[.[] | select(.direction == "pulled")] | last | .state'; }
settled() { [ "$(last_pull)" = cancelled ]; }
wait_for 10 "the interrupted pull cancelled" settled

say "pulled again: continues from the part, intact"
lab_rate p1 off
roam_in p2 pull --json p1 big.bin >"$d/pull3.json" 2>&1 || fail "the pull again failed: $(tail -n 2 "$d/pull3.json")"
[ "$(sha256sum <"$d/st-p2/inbox/p1/big.bin" | cut -d' ' -f1)" = "$want" ] || fail "the copy differs"
grep -q "continuing the pull of big.bin" "$(lab_log_file roamd-p2)" || fail "the pull started over"
for h in p1 p2; do
	coord_log $h | grep -qiE 'sanitizer|runtime error|segmentation' && fail "roamd in $h reported a crash"
done
say "ok"
