#!/usr/bin/env bash
# The man pages tell the truth about the options: every long option printed
# by `PROGRAM --help` and by each subcommand's --help, and every subcommand
# `PROGRAM help` lists, appears in that program's page (docs/man/*.scd).
# Usage: t_man.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh"
build=$1 src=$2

# The subcommands a usage text lists: "  name    Summary starting uppercase".
commands_of() { sed -n 's/^  \([a-z][a-z-]*\)  *[A-Z].*/\1/p'; }
long_options() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

check_page() { # PROGRAM PAGE TEXT: each long option in TEXT is in PAGE
	local what=$1 page=$2 text=$3 opt
	for opt in $(long_options <<<"$text"); do
		if grep -q -- "$opt\b" "$page"; then pass "$what $opt in ${page##*/}"
		else fail "$what $opt not in ${page##*/}"; fi
	done
}

for prog in roam:cli/roam roamd:daemon/roamd roam-server:server/roam-server roam-loadtest:loadtest/roam-loadtest; do
	name=${prog%%:*} bin=$build/${prog#*:} page=$src/docs/man/$name.8.scd
	[ -x "$bin" ] || { fail "$bin not built"; continue; }
	[ -f "$page" ] || { fail "$page missing"; continue; }
	help=$("$bin" --help 2>&1)
	check_page "$name --help" "$page" "$help"
	# roamd and roam-loadtest have no subcommands; roam and roam-server list theirs (a help
	# text this test can no longer read must not pass with nothing checked).
	cmds=$(commands_of <<<"$help")
	if [ "$name" != roamd ] && [ "$name" != roam-loadtest ] && [ "$(wc -w <<<"$cmds")" -lt 4 ]; then
		fail "$name --help: found no list of commands"
	fi
	for cmd in $cmds; do
		if grep -q "^\*$cmd\*" "$page"; then pass "$name $cmd documented"
		else fail "$name $cmd has no entry in ${page##*/}"; fi
		[ "$cmd" = help ] && continue
		check_page "$name $cmd --help" "$page" "$("$bin" "$cmd" --help 2>&1)"
	done
done
finish
