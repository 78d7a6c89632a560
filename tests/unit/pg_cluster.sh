#!/bin/bash
# Runs a store test ("$@") against a throwaway PostgreSQL cluster: initdb in
# a temporary directory, owned by an unprivileged user when we are root
# (PostgreSQL refuses to run as root), listening only on a unix socket
# there; ROAM_TEST_PG_HOST tells the test where. Torn down on exit.
# Exit 77 (meson: skipped) when PostgreSQL's server binaries are missing.
set -euo pipefail
bindir=$(pg_config --bindir 2>/dev/null || true)
for d in "$bindir" /usr/lib/postgresql/*/bin; do
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ ! -x "${bindir:-/nonexistent}/initdb" ]; then
	echo "SKIP: PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql" >&2
	exit 77
fi
dir=$(mktemp -d /tmp/roam-pg-XXXXXX)
as_user=()
if [ "$(id -u)" = 0 ]; then
	owner=postgres
	id -u "$owner" >/dev/null 2>&1 || owner=nobody
	chown "$owner" "$dir"
	as_user=(setpriv --reuid="$owner" --regid="$(id -g "$owner")" --clear-groups --)
fi
cleanup() {
	"${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
"${as_user[@]}" "$bindir/initdb" -D "$dir/data" -U roam -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
"${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
	-o "-k $dir -c listen_addresses= -c fsync=off -c max_connections=40" start >/dev/null ||
	{ cat "$dir/pg.log" >&2; exit 1; }
export ROAM_TEST_PG_HOST=$dir
"$@"
