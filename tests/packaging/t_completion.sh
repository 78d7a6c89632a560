#!/usr/bin/env bash
# bash completion for roam and roam-server: source the scripts and ask them
# what a user's <TAB> would get (COMP_WORDS/COMP_CWORD, as bash sets them).
# Usage: t_completion.sh SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh"
src=$1
source "$src/contrib/completion/roam" || { fail "contrib/completion/roam sources"; finish; }
source "$src/contrib/completion/roam-server" || { fail "contrib/completion/roam-server sources"; finish; }

complete_line() { # FUNCTION WORD...: COMPREPLY for the last word, sorted, one line
	local fn=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	"$fn"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { # WANT FUNCTION WORD...
	local want=$1 got
	shift
	got=$(complete_line "$@")
	if [ "$got" = "$want" ]; then pass "'${*:2}' completes to '$want'"
	else fail "'${*:2}' completes to '$got', want '$want'"; fi
}

expect "up"                 _roam roam u
expect "status"             _roam roam -i wg1 st
expect "--server --socket"  _roam roam up --s
expect "--token --token-file" _roam roam up --tok
expect "--help --json --socket -4 -6 -h" _roam roam ip -
expect "--json"             _roam roam status --j
expect "genkey"             _roam roam help g
expect "init"               _roam_server roam-server i
expect "approve"            _roam_server roam-server nodes ap
expect "create"             _roam_server roam-server keys --state /tmp cr
expect "--reusable"         _roam_server roam-server keys create --re
expect "debug"              _roam_server roam-server run --log-level d
expect "create"             _roam_server roam-server groups --state /tmp/s c
finish
