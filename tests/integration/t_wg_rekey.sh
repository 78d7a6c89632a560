#!/usr/bin/env bash
# Rekeying with shortened protocol timers (test build hooks): roamd, the
# initiator, renews the session every 2 s (REKEY_AFTER_TIME) while a flow
# runs, and no packet is lost across the key changes. Then with no traffic
# the keys are wiped after 3 x REJECT_AFTER_TIME and a new flow re-handshakes.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up
interop_wgo
interop_roamd ROAM_TEST_REKEY_AFTER_TIME=2 ROAM_TEST_REJECT_AFTER_TIME=4 ROAM_TEST_KEEPALIVE_TIMEOUT=1 \
	ROAM_TEST_REKEY_TIMEOUT=1
if roamd_log r | grep -q 'built without test hooks'; then
	say "skip: this roamd ignores ROAM_TEST_* (build with -Dtest_hooks=true, as scripts/test.sh does)"
	exit 77
fi
roamd_log r | grep -q 'test hook ROAM_TEST_REKEY_AFTER_TIME' || fail "test hooks not active"

say "a 7 s flow through several rekeys"
got=$(lab_exec a1 ping -c 70 -i 0.1 -W 1 10.10.0.2 | awk '/received/{print $4}')
hs=$(interop_handshakes)
say "received $got of 70, $hs handshakes"
[ "$hs" -ge 3 ] || fail "expected at least 3 handshakes in 7 s with REKEY_AFTER_TIME=2, saw $hs"
[ "$got" -ge 68 ] || fail "packets lost across rekeys: $got/70"

say "idle past 3 x REJECT_AFTER_TIME: keys wiped, then a fresh handshake"
sleep 13
roamd_log r | grep -q 'session keys wiped' || fail "keys were not wiped after inactivity"
before=$(interop_handshakes)
ping_ok a1 10.10.0.2 || fail "no traffic after the keys were wiped"
[ "$(interop_handshakes)" -gt "$before" ] || fail "no new handshake after wiping"
say "ok"
