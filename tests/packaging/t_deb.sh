#!/usr/bin/env bash
# The Debian packages, end to end, on this machine (run by scripts/test.sh
# as its own step, as root): build roam and roam-server with
# `dpkg-buildpackage -us -uc -b` from a clean copy of the tree, lintian
# (no errors), dpkg -i, then check files, units, man pages, completion and
# the roam-server user; start each unit's ExecStart= the way systemd would
# (its User=, only its AmbientCapabilities=, NOTIFY_SOCKET) in a network
# namespace and wait for READY=1; dpkg -r keeps the state and the user,
# dpkg -P removes both. Prints PASS/FAIL lines; exit status 1 on any FAIL.
#
# What cannot be checked here, where PID 1 is not systemd: systemd itself
# starting the units (deb-systemd-invoke skips when systemd is not running),
# StateDirectory= creation and chown, the effect of the sandboxing settings
# (ProtectSystem=, SystemCallFilter=, ...), Conflicts= between roamd.service
# and roamd@roam0, and Restart=. `systemd-analyze verify` checks the units'
# syntax, paths and man pages; the rest is emulated below.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

[ "$(id -u)" = 0 ] || { echo "t_deb.sh: run as root (dpkg -i)"; exit 2; }
for pkg in roam roam-server; do
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
		fail "package $pkg is already installed here: not touching it"
		finish
	fi
done

for dir in /var/lib/roam /var/lib/roam-server; do
	if [ -e "$dir" ]; then
		fail "$dir exists here (purge would delete it): not touching it"
		finish
	fi
done

work=$(mktemp -d /tmp/roam-deb.XXXXXX)
chmod 755 "$work"
ns=roamdeb$$
cleanup() {
	[ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null
	[ -n "${roamd_pid:-}" ] && kill "$roamd_pid" 2>/dev/null
	[ -n "${sock_pid:-}" ] && kill "$sock_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	# Never leave the packages installed, whatever failed.
	dpkg_retry -P roam roam-server >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# dpkg, waiting for another dpkg/apt on this machine to let go of its lock.
dpkg_retry() {
	local out i
	for i in $(seq 60); do
		out=$(dpkg "$@" 2>&1) && return 0
		grep -qi 'lock' <<<"$out" || { echo "$out"; return 1; }
		sleep 2
	done
	echo "$out"
	return 1
}

# --- build ------------------------------------------------------------
mkdir "$work/src"
git -C "$root" ls-files -co --exclude-standard -z | (cd "$root" && tar --null -cf - -T -) | tar -xf - -C "$work/src"
t0=$SECONDS
if (cd "$work/src" && dpkg-buildpackage -us -uc -b -j2) >"$work/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b ($((SECONDS - t0)) s)"
else
	fail "dpkg-buildpackage: $(tail -n 20 "$work/build.log")"
	finish
fi
deb_roam=$(ls "$work"/roam_*.deb) deb_srv=$(ls "$work"/roam-server_*.deb)
if out=$(lintian --fail-on error "$work"/roam_*.changes 2>&1); then
	pass "lintian: no errors"
else
	fail "lintian: $out"
fi

# --- install ----------------------------------------------------------
if out=$(dpkg_retry -i "$deb_roam" "$deb_srv"); then pass "dpkg -i roam roam-server"
else fail "dpkg -i: $out"; finish; fi
for f in /usr/bin/roam /usr/sbin/roamd /usr/sbin/roam-server; do check "$f installed" test -x "$f"; done
for u in roamd.service roamd@.service roam-server.service; do
	check "unit $u installed" test -f "/lib/systemd/system/$u"
done
for page in roam roamd roam-server; do check "man page $page(8)" man -w 8 "$page"; done
for c in roam roam-server; do check "bash completion for $c" test -f "/usr/share/bash-completion/completions/$c"; done
check "roamd.service enabled" test -L /etc/systemd/system/multi-user.target.wants/roamd.service
check "roam's postinst starts roamd.service through systemd" \
	grep -q "deb-systemd-invoke .*'roamd.service'" /var/lib/dpkg/info/roam.postinst
check "roam-server's prerm stops roam-server.service" \
	grep -q "deb-systemd-invoke stop .*'roam-server.service'" /var/lib/dpkg/info/roam-server.prerm
check "roam-server.service not enabled (needs init first)" \
	test ! -e /etc/systemd/system/multi-user.target.wants/roam-server.service
if pw=$(getent passwd roam-server); then
	pass "user roam-server exists"
	IFS=: read -r _ _ srv_uid srv_gid _ home shell <<<"$pw"
	[ "$srv_uid" -lt 1000 ] && pass "roam-server is a system user (uid $srv_uid)" || fail "roam-server uid $srv_uid"
	[ "$home" = /var/lib/roam-server ] && pass "its home is /var/lib/roam-server" || fail "home $home"
	case $shell in */nologin | */false) pass "it has no login shell" ;; *) fail "shell $shell" ;; esac
else
	fail "no user roam-server"
fi
check "/var/lib/roam-server owned by roam-server, mode 700" \
	test "$(stat -c '%U %a' /var/lib/roam-server 2>/dev/null)" = "roam-server 700"
if out=$(cd / && systemd-analyze verify /lib/systemd/system/roamd.service /lib/systemd/system/roamd@.service \
	/lib/systemd/system/roam-server.service 2>&1) && [ -z "$out" ]; then
	pass "systemd-analyze verify on the installed units"
else
	fail "systemd-analyze verify: $out"
fi

# --- would the services start? -----------------------------------------
ip netns add "$ns" && ip -n "$ns" link set lo up
unit_get() { sed -n "s/^$2=//p" "/lib/systemd/system/$1" | tail -n 1; }
# "CAP_A CAP_B" -> "+a,+b" as setpriv wants them.
cap_list() { local c out=""; for c in $1; do c=${c#CAP_}; out+=",+${c,,}"; done; echo "${out#,}"; }
# notify_listen NAME: a datagram socket that records what the service says.
notify_listen() {
	rm -f "$work/$1.sock" "$work/$1.notify"
	socat -u "UNIX-RECV:$work/$1.sock,perm=0666" "OPEN:$work/$1.notify,creat,append" &
	sock_pid=$!
	for _ in $(seq 50); do [ -S "$work/$1.sock" ] && return 0; sleep 0.1; done
}
wait_ready() { # FILE PID: READY=1 arrived while PID lives (10 s)
	for _ in $(seq 100); do
		grep -q '^READY=1' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# roam-server: init by root (switches to the state directory's owner),
# then ExecStart= as User=roam-server with CAP_NET_BIND_SERVICE only.
if /usr/sbin/roam-server init --state /var/lib/roam-server --host 127.0.0.1 --port 443 >"$work/init.txt" 2>&1; then
	pass "roam-server init as root"
else
	fail "roam-server init: $(cat "$work/init.txt")"
fi
check "init left every state file owned by roam-server" \
	test -z "$(find /var/lib/roam-server ! -user roam-server)"
exec_srv=$(unit_get roam-server.service ExecStart) user=$(unit_get roam-server.service User)
caps=$(cap_list "$(unit_get roam-server.service AmbientCapabilities)")
notify_listen srv
NOTIFY_SOCKET=$work/srv.sock ip netns exec "$ns" setpriv --reuid="$user" --regid="$user" --clear-groups \
	--inh-caps="-all,$caps" --ambient-caps="$caps" --bounding-set="-all,$caps" --no-new-privs \
	$exec_srv >"$work/srv.log" 2>&1 &
srv_pid=$!
if wait_ready "$work/srv.notify" "$srv_pid"; then pass "roam-server.service's ExecStart: READY=1 as $user"
else fail "roam-server did not get ready: $(tail -n 5 "$work/srv.log")"; fi
check "roam-server answers HTTPS on port 443" ip netns exec "$ns" curl -skf --max-time 3 https://127.0.0.1:443/v1/info
check "roam-server's process runs as uid $srv_uid" \
	test "$(awk '/^Uid:/{print $2}' "/proc/$srv_pid/status" 2>/dev/null)" = "${srv_uid:-x}"
kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
kill "$sock_pid" 2>/dev/null; wait "$sock_pid" 2>/dev/null; sock_pid=""

# roamd: ExecStart= as root with the unit's capabilities only; its StateDirectory=
# and RuntimeDirectory= on tmpfs in its own mount namespace (ip netns exec
# makes one), so this machine's /run/roam and /var/lib/roam are untouched.
exec_roamd=$(unit_get roamd.service ExecStart)
caps=$(cap_list "$(unit_get roamd.service AmbientCapabilities)")
mkdir -p "$work/empty"
notify_listen roamd
NOTIFY_SOCKET=$work/roamd.sock ip netns exec "$ns" sh -c '
	mount -t tmpfs -o mode=700 tmpfs /run 2>/dev/null && mkdir -m 700 /run/roam &&
	mkdir -p /var/lib && mount -t tmpfs -o mode=755 tmpfs /var/lib && mkdir -m 700 /var/lib/roam &&
	exec setpriv --inh-caps="-all,$0" --ambient-caps="$0" --bounding-set="-all,$0" --no-new-privs "$@"' \
	"$caps" $exec_roamd >"$work/roamd.log" 2>&1 &
roamd_pid=$!
if wait_ready "$work/roamd.notify" "$roamd_pid"; then pass "roamd.service's ExecStart: READY=1 with ${caps}"
else fail "roamd did not get ready: $(tail -n 5 "$work/roamd.log")"; fi
check "roamd's interface roam0 is up" sh -c "ip -n $ns link show roam0 | grep -q 'UP'"
# Its managed-mode agent could switch to an unprivileged user under these
# capabilities (it needs CAP_SETUID/CAP_SETGID from the unit).
agent_up() {
	local a
	for _ in $(seq 30); do
		a=$(pgrep -P "$roamd_pid" | head -n 1)
		[ -n "$a" ] && [ "$(awk '/^Uid:/{print $2}' "/proc/$a/status" 2>/dev/null)" != 0 ] &&
			[ "$(awk '/^CapEff:/{print $2}' "/proc/$a/status" 2>/dev/null)" = 0000000000000000 ] && return 0
		sleep 0.1
	done
	return 1
}
check "roamd's agent runs unprivileged under the unit's capabilities" agent_up
kill "$roamd_pid" 2>/dev/null; wait "$roamd_pid" 2>/dev/null; roamd_pid=""
kill "$sock_pid" 2>/dev/null; wait "$sock_pid" 2>/dev/null; sock_pid=""

# --- remove: state and user kept; purge: both gone ----------------------
if out=$(dpkg_retry -r roam roam-server); then pass "dpkg -r"; else fail "dpkg -r: $out"; fi
for f in /usr/bin/roam /usr/sbin/roamd /usr/sbin/roam-server /lib/systemd/system/roamd.service \
	/lib/systemd/system/roam-server.service /usr/share/man/man8/roam.8.gz; do
	check "removed: $f" test ! -e "$f"
done
check "remove keeps /var/lib/roam-server/state.db" test -f /var/lib/roam-server/state.db
check "remove keeps the user roam-server" getent passwd roam-server
# A node's state as roamd leaves it (roamd ran on a tmpfs above).
mkdir -m 700 /var/lib/roam && touch /var/lib/roam/node.key
if out=$(dpkg_retry -P roam roam-server); then pass "dpkg -P"; else fail "dpkg -P: $out"; fi
check "purge deletes /var/lib/roam" test ! -e /var/lib/roam
check "purge deletes /var/lib/roam-server" test ! -e /var/lib/roam-server
check "purge deletes the user roam-server" sh -c '! getent passwd roam-server'
check "purge deletes the group roam-server" sh -c '! getent group roam-server'
check "purge disables roamd.service" test ! -e /etc/systemd/system/multi-user.target.wants/roamd.service
check "dpkg knows neither package" sh -c '! dpkg-query -W roam roam-server 2>/dev/null | grep -q .'
finish
