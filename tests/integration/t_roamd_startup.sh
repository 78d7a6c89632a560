#!/usr/bin/env bash
# Every start-up failure of roamd ends with a clear message and exit status
# 1, never a crash (it used to die with SIGSEGV whenever start-up failed part
# way: teardown stopped timers that were never started), and leaves nothing
# behind (no interface, no control socket).
#
#   [ a1 ]  one public host; each case starts roamd there and expects it to
#           refuse to run.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

lab_up a:public >/dev/null
lab_trap
roam_keys a
roam_keys b
d=$(roam_dir)
conf() { # conf FILE PORT [EXTRA-PEER-KEY]
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = %s\nAddress = 10.31.0.1/24\n' "$(roam_key a)" "$2"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.31.0.2/32\n' "${3:-$(roam_pub b)}"
	} >"$1"
	chmod 600 "$1"
}

# expect_refusal NAME PATTERN ROAMD-ARGS...: roamd exits 1 saying PATTERN.
expect_refusal() {
	local name=$1 pattern=$2 out rc
	shift 2
	set +e
	out=$(lab_exec a1 timeout 10 "$ROAMD" "$@" 2>&1)
	rc=$?
	set -e
	say "$name: exit $rc: $(echo "$out" | grep -iE 'error|cannot' | head -n 2 | tr '\n' ' ')"
	[ "$rc" -eq 1 ] || fail "$name: exit status $rc, not 1"
	echo "$out" | grep -qiE "$pattern" || fail "$name: no message matching '$pattern' in: $out"
	echo "$out" | grep -qiE 'sanitizer|segmentation|stats' && fail "$name: crash report or stats after a failed start"
	! lab_exec a1 ip link show roamx >/dev/null 2>&1 || fail "$name: interface roamx left behind"
	return 0
}

conf "$d/ok.conf" 51820
say "UDP port taken"
lab_spawn a1 udp-holder socat -u UDP-RECV:51820 /dev/null >/dev/null
sleep 0.3
expect_refusal "udp port taken" "cannot listen on UDP port 51820" -c "$d/ok.conf" -s "$d/x.sock" -i roamx
lab_stop udp-holder
test ! -e "$d/x.sock" || fail "control socket left behind"

say "control socket in use by a running roamd"
roamd_start a1 a "$d/ok.conf"
conf "$d/other.conf" 51821
expect_refusal "control socket in use" "another roamd is using it" -c "$d/other.conf" -s "$d/a.sock" -i roamx
roamd_stop a

say "interface name taken by a device that is not ours"
lab_exec a1 ip link add roamx type veth peer name roamxp
set +e
out=$(lab_exec a1 timeout 10 "$ROAMD" -c "$d/ok.conf" -s "$d/x.sock" -i roamx 2>&1)
rc=$?
set -e
lab_exec a1 ip link del roamx
say "interface taken: exit $rc"
[ "$rc" -eq 1 ] || fail "interface taken: exit status $rc, not 1"
echo "$out" | grep -q "cannot create TUN device" || fail "interface taken: no clear message: $out"

say "our own key as a peer"
conf "$d/self.conf" 51820 "$(roam_pub a)"
expect_refusal "own key as a peer" "PublicKey is our own" -c "$d/self.conf" -s "$d/x.sock" -i roamx

say "managed mode: state directory not usable"
lab_exec a1 touch "$d/notadir"
expect_refusal "state dir is a file" "notadir" -d "$d/notadir/state" -s "$d/x.sock" -i roamx
lab_spawn a1 udp-holder2 socat -u UDP-RECV:51830 /dev/null >/dev/null
sleep 0.3
expect_refusal "managed mode, UDP port taken" "cannot listen on UDP port" -d "$d/state" -p 51830 -s "$d/x.sock" -i roamx
lab_stop udp-holder2
say "ok"
