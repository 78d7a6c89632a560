#!/usr/bin/env bash
# Install every Debian package roam needs (scripts/packages.txt). Idempotent: packages already
# present are skipped without touching the network, so the README commands stay fast on re-runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/packages.txt")
missing=()
for line in "${wanted[@]}"; do
	read -r pkg cond <<<"$line"
	# "PKG cmd=CMD": only when CMD is not there already (a machine may bring
	# its own Node.js and npm, which Debian's npm package would conflict with).
	if [ -n "${cond:-}" ] && [ "${cond#cmd=}" != "$cond" ] && command -v "${cond#cmd=}" >/dev/null; then
		continue
	fi
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
