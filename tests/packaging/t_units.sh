#!/usr/bin/env bash
# The systemd units as `meson install` installs them: paths substituted with
# the real bindir/sbindir, man pages for Documentation=, and
# `systemd-analyze verify` clean (it checks ExecStart= is executable, every
# setting parses, man: pages exist) on the installed copies, in a DESTDIR.
# Usage: t_units.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh"
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null 2>&1 ||
	{ fail "meson install into a DESTDIR"; finish; }
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
	'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
units=$(find "$dest" -path '*/systemd/system/*.service' | sort)
[ "$(echo "$units" | grep -c .)" = 3 ] || fail "three units installed (found: $units)"
for u in $units; do
	name=${u##*/}
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
	check "$name: ExecStart $exe installed" test -x "$dest$exe"
	case $exe in "$prefix"/*) pass "$name: ExecStart under the prefix $prefix" ;;
	*) fail "$name: ExecStart $exe not under $prefix" ;; esac
	check "$name: Type=notify" grep -qx 'Type=notify' "$u"
	for page in $(sed -n 's/^Documentation=//p' "$u"); do
		p=${page#man:}
		sec=${p#*(}
		sec=${sec%)}
		check "$name: $page installed" test -f "$dest$prefix/share/man/man$sec/${p%%(*}.$sec"
	done
done
u=$(echo "$units" | grep '/roamd.service$')
check "roamd.service conflicts with roamd@roam0" grep -qx 'Conflicts=roamd@roam0.service' "$u"
s=$(echo "$units" | grep '/roam-server.service$')
for want in User=roam-server StateDirectory=roam-server LimitNOFILE=20000 \
	AmbientCapabilities=CAP_NET_BIND_SERVICE CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
	NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' SystemCallFilter=@system-service; do
	check "roam-server.service: $want" grep -qx "$want" "$s"
done
# The README's claim about capabilities is the units' own.
readme=$(dirname "$0")/../../README.md
for u in $units; do
	caps=$(sed -n 's/^AmbientCapabilities=//p' "$u")
	check "README names ${u##*/}'s capability $caps" grep -q "${u##*/}.*$caps\|$caps.*${u##*/}" \
		<(tr '\n' ' ' <"$readme" | sed 's/\. /.\n/g')
done

# verify resolves units and targets inside --root: give it the system's.
if command -v systemd-analyze >/dev/null && [ -d /lib/systemd/system ]; then
	mkdir -p "$dest/lib/systemd" "$dest/bin"
	cp -a /lib/systemd/system "$dest/lib/systemd/"
	cp /bin/kill "$dest/bin/" # ExecReload= of roamd@.service, a system program
	cd "$dest" || exit 1
	out=$(MANPATH=$dest$prefix/share/man systemd-analyze verify --root="$dest" \
		$(echo "$units" | sed "s#^$dest/##") 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then pass "systemd-analyze verify on the installed units"
	else fail "systemd-analyze verify: $out"; fi
else
	echo "SKIP systemd-analyze not installed"
fi
finish
