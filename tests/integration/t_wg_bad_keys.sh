#!/usr/bin/env bash
# The cases that must fail: a wrong public key or a wrong preshared key gives
# no traffic at all; fixing the key brings the tunnel up.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up
interop_wgo

say "roamd has a wrong public key for its peer"
roam_keys stranger
interop_write_conf "$B4:51820" "$(roam_pub stranger)" "$(cat "$(roam_dir)/psk")"
interop_roamd
if ping_ok a1 10.10.0.2; then fail "traffic flowed with a wrong public key"; fi
[ "$(interop_handshakes)" -eq 0 ] || fail "a handshake completed with a wrong public key"

say "roamd has a wrong preshared key"
(umask 077 && "$ROAM" genkey >"$(roam_dir)/wrongpsk")
interop_write_conf "$B4:51820" "$(roam_pub w)" "$(cat "$(roam_dir)/wrongpsk")"
interop_roamd
if ping_ok a1 10.10.0.2; then fail "traffic flowed with a wrong preshared key"; fi
[ "$(interop_handshakes)" -eq 0 ] || fail "a handshake completed with a wrong preshared key"
rej=$(roam_json a1 r '.drops.handshake_rejected')
[ "$rej" -ge 1 ] || fail "the undecryptable response was not counted (handshake_rejected=$rej)"

say "the right keys: traffic flows"
interop_write_conf "$B4:51820" "$(roam_pub w)" "$(cat "$(roam_dir)/psk")"
interop_roamd
ping_ok a1 10.10.0.2 || fail "no traffic with the right keys"
say "ok"
