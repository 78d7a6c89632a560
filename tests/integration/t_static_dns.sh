#!/usr/bin/env bash
# roamd's static mode sets the file's DNS servers and search domains through
# resolvconf and removes them on stop; a wg-quick file with Table = off
# (no routes) and SaveConfig = false starts. roamd runs in its own mount namespace
# where /etc/resolvconf.conf points resolvconf at files of this test, so the
# host's resolver is never touched:
#
#   a1  roamd r (TUN roam0)  --resolvconf -a roam0-->  $d/resolv.conf, $d/state
#
# Then, with no resolvconf at all (hidden by a bind mount), the same file
# starts with a warning instead of failing.
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

RESOLVCONF=$(command -v resolvconf || true)
if [ -z "$RESOLVCONF" ] || [ ! -f /etc/resolvconf.conf ]; then
	say "SKIP: openresolv not installed (scripts/packages.txt)"
	exit 77
fi
lab_up a:public >/dev/null
lab_trap
roam_keys r
roam_keys p
d=$(roam_dir)
cat >"$d/r.conf" <<CONF
[Interface]
PrivateKey = $(roam_key r)
Address = 10.40.0.1/24
DNS = 10.40.0.53, fd40::53, corp.example, ~lab.example
Table = off
SaveConfig = false
[Peer]
PublicKey = $(roam_pub p)
AllowedIPs = 10.41.0.0/24
CONF
chmod 600 "$d/r.conf"
printf 'resolv_conf=%s\nstate_dir=%s\n' "$d/resolv.conf" "$d/state" >"$d/resolvconf.conf"

# roamd_private HIDE-RESOLVCONF: roamd r in a1, in a private mount namespace.
roamd_private() {
	local hide=$1
	# shellcheck disable=SC2016 # expanded by the inner shell
	lab_spawn a1 roamd-r unshare -m --propagation private sh -c '
		mount --bind "$1" /etc/resolvconf.conf || exit 1
		[ ! -d /run/systemd/resolve ] || mount -t tmpfs none /run/systemd/resolve || exit 1
		[ "$2" = 0 ] || mount --bind /dev/null "$(readlink -f "$3")" || exit 1
		shift 3
		exec "$@"' sh "$d/resolvconf.conf" "$hide" "$RESOLVCONF" \
		"$ROAMD" -c "$d/r.conf" -s "$d/r.sock" -i roam0 -l debug >/dev/null
	wait_for 10 "roamd r control socket" test -S "$d/r.sock"
}

say "DNS set through resolvconf on start"
roamd_private 0
wait_for 10 "nameserver in the test's resolv.conf" grep -q '^nameserver 10.40.0.53$' "$d/resolv.conf"
grep -q '^nameserver fd40::53$' "$d/resolv.conf" || fail "IPv6 server missing: $(cat "$d/resolv.conf")"
grep -q '^search corp.example$' "$d/resolv.conf" || fail "search domain missing: $(cat "$d/resolv.conf")"
grep -q 'lab.example' "$d/resolv.conf" && fail "a routing-only domain reached resolv.conf"
[ -e "$d/state/interfaces/roam0" ] || fail "resolvconf has no entry for roam0: $(ls -R "$d/state")"
# roamd logs once the helper has exited, a moment after resolv.conf changed.
dns_logged() { roamd_log r | grep -q 'roam0: DNS set through .*resolvconf (2 servers, 2 search domains)'; }
wait_for 5 "the DNS change logged" dns_logged
[ "$(roam_json a1 r '.peers[0].allowed_ips[0]')" = 10.41.0.0/24 ] || fail "peer not configured"
lab_exec a1 ip -4 route show dev roam0 | grep -q '^10.41.0.0/24' && fail "Table = off, yet a route was added"

say "DNS removed on stop"
roamd_stop r
[ ! -e "$d/state/interfaces/roam0" ] || fail "resolvconf entry for roam0 left after stop"
grep -q '10.40.0.53' "$d/resolv.conf" && fail "nameserver left after stop: $(cat "$d/resolv.conf")"
dns_removed_logged() { roamd_log r | grep -q 'roam0: DNS removed'; }
wait_for 5 "the DNS removal logged" dns_removed_logged

say "no resolvconf: a warning, not a failure"
rm -f "$d/r.sock"
roamd_private 1
dns_warned() { roamd_log r | grep -q 'neither systemd-resolved nor resolvconf is installed'; }
wait_for 5 "a warning that no DNS helper is installed" dns_warned
[ "$(roam_json a1 r '.interface')" = roam0 ] || fail "roamd not running: $(roamd_log r | tail -5)"
say "ok"
