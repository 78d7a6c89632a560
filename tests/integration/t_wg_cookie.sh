#!/usr/bin/env bash
# The DoS defence against a real peer: roamd is forced "under load" (test
# hook: every handshake counts as load), so wireguard-go's initiation is
# answered with a cookie reply, not a response; wireguard-go must decrypt it
# (XChaCha20-Poly1305 keyed by our public key, its mac1 as AD) and retry
# with a valid mac2, which roamd then accepts. Topology: see interop_lib.sh.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up
interop_roamd ROAM_TEST_HANDSHAKE_LOAD_THRESHOLD=0
if roamd_log r | grep -q 'built without test hooks'; then
	say "skip: needs a roamd built with -Dtest_hooks=true"
	exit 77
fi
interop_wgo "$A4:51820"

say "wireguard-go initiates; roamd demands a cookie first"
# Traffic makes wireguard-go initiate; these first pings may well be lost
# while it waits REKEY_TIMEOUT to retry with the cookie.
lab_exec b1 ping -c 2 -W 1 10.10.0.1 >/dev/null 2>&1 || true
handshaken() { [ "$(interop_handshakes)" -ge 1 ]; }
wait_for 15 "roamd completes a handshake after its cookie reply" handshaken
roamd_log r | grep -q 'answered with a cookie' || fail "roamd sent no cookie reply"
[ "$(roam_json a1 r '.drops.rate_limited')" -ge 1 ] || fail "the cookie-less initiation was not counted"
ping_ok b1 10.10.0.1 || fail "no traffic after the cookie exchange"
ping_ok a1 10.10.0.2 || fail "no traffic back after the cookie exchange"
say "ok"
