#!/usr/bin/env bash
# Bad input never crashes roamd and always says what is wrong:
# - short, oversized and malformed datagrams on the UDP port are dropped and
#   counted, and the tunnel keeps working;
# - a malformed config is an error naming file, line and field;
# - no permission for TUN is a clear error; bad options exit 2.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

lab_up a:public b:public >/dev/null
lab_trap
roam_keys a
roam_keys b
d=$(roam_dir)
cat >"$d/a.conf" <<CONF
[Interface]
PrivateKey = $(roam_key a)
ListenPort = 51820
Address = 10.30.0.1/24
[Peer]
PublicKey = $(roam_pub b)
AllowedIPs = 10.30.0.2/32
CONF
cat >"$d/b.conf" <<CONF
[Interface]
PrivateKey = $(roam_key b)
ListenPort = 51820
Address = 10.30.0.2/24
[Peer]
PublicKey = $(roam_pub a)
AllowedIPs = 10.30.0.1/32
Endpoint = $(lab_addr a1):51820
CONF
chmod 600 "$d"/*.conf
roamd_start a1 a "$d/a.conf"
roamd_start b1 b "$d/b.conf"
ping_ok b1 10.30.0.1 || fail "no tunnel to begin with"

A=$(lab_addr a1)
# send HEX: one datagram with these bytes from b1 to roamd on a1.
send() {
	perl -e 'print pack("H*", $ARGV[0])' "$1" >"$d/dgram"
	lab_exec b1 socat -u "OPEN:$d/dgram" "UDP-SENDTO:$A:51820,sourceport=40000"
}
zeros() { printf '%0*d' $(($1 * 2)) 0; }

say "junk datagrams at roamd's port"
send 01                                  # short
send "01000000$(zeros 100)"              # initiation of the wrong size
send "02000000$(zeros 91)"               # response one byte short
send "04000000$(zeros 27)"               # data shorter than a keepalive
send "04000000deadbeef$(zeros 40)"       # data for an unknown session
send "09000000$(zeros 60)"               # unknown type
send "01010000$(zeros 144)"              # reserved bytes not zero
send "01000000$(zeros 144)"              # initiation with a bad mac1
perl -e 'print "\xff" x 60000' >"$d/big"
lab_exec b1 socat -u -b 65536 "OPEN:$d/big" "UDP-SENDTO:$A:51820,sourceport=40000"   # oversized junk

counted() { [ "$(roam_status a1 a | jq '.drops | .short + .bad_size + .no_keypair + .unknown_type + .bad_mac')" -ge 9 ]; }
wait_for 5 "9 drops counted" counted
drops=$(roam_status a1 a | jq -c '.drops')
say "drops: $drops"
echo "$drops" | jq -e '.short == 1 and .bad_size == 3 and .no_keypair == 1 and .unknown_type == 3 and .bad_mac == 1' >/dev/null ||
	fail "unexpected drop counters: $drops"
ping_ok b1 10.30.0.1 || fail "tunnel broken by junk"
roamd_log a | grep -qiE 'sanitizer|segmentation' && fail "roamd reported a crash"

say "malformed config: file, line and field named, non-zero exit"
bad="$d/bad.conf"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.1/33\n' \
	"$(roam_key a)" "$(roam_pub b)" >"$bad"
chmod 600 "$bad"
set +e
out=$(lab_exec a1 "$ROAMD" -c "$bad" -s "$d/x.sock" -i roamx 2>&1)
rc=$?
set -e
say "roamd said: $out"
[ $rc -ne 0 ] || fail "roamd accepted a malformed config"
echo "$out" | grep -q "bad.conf:7" || fail "error does not name file and line"
echo "$out" | grep -q "AllowedIPs" || fail "error does not name the field"

say "no permission for TUN: a clear error"
np=$(mktemp -d "/tmp/roam-nopriv-$LAB_ID.XXXX")
chmod 755 "$np"
sed 's/^ListenPort = .*/ListenPort = 0/' "$d/a.conf" >"$np/a.conf"
chmod 644 "$np/a.conf" # readable by nobody; roamd warns about that
set +e
out=$(lab_exec a1 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
	"$ROAMD" -c "$np/a.conf" -s "$np/x.sock" -i roamx 2>&1)
rc=$?
set -e
rm -rf "$np"
say "roamd said: $out"
[ $rc -ne 0 ] || fail "roamd ran without privileges"
echo "$out" | grep -q "no permission to create TUN device (need CAP_NET_ADMIN)" || fail "no clear TUN permission error"
echo "$out" | grep -q "readable by other users" || fail "no warning about a world-readable private key"

say "bad command lines"
set +e
# In a lab host, bounded: should the parser ever accept one, the roamd it
# starts must not take the host's /run/roam socket or a TUN in its namespace.
lab_exec a1 timeout 10 "$ROAMD" --no-such-option >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option did not exit 2"
lab_exec a1 timeout 10 "$ROAMD" --port 99999 >/dev/null 2>&1; [ $? -eq 2 ] || fail "a bad --port did not exit 2"
"$ROAMD" --help | grep -q -- "--config" || fail "--help does not document --config"
"$ROAM" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "roam with an unknown command did not exit 2"
"$ROAM" status --socket "$d/nothing.sock" >/dev/null 2>&1; [ $? -eq 1 ] || fail "roam status without roamd did not exit 1"
set -e
say "ok"
