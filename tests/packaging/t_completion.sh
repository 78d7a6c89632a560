#!/usr/bin/env bash
# bash completion for roam and roam-server: source the scripts and ask them
# what a user's <TAB> would get (COMP_WORDS/COMP_CWORD, as bash sets them).
# With BUILD_DIR, also: every long option each subcommand's --help lists
# is offered by the completion (so it stays true as options are added).
# Usage: t_completion.sh SOURCE_DIR [BUILD_DIR]
set -uo pipefail
source "$(dirname "$0")/lib.sh"
src=$1 build=${2:-}
source "$src/contrib/completion/roam" || { fail "contrib/completion/roam sources"; finish; }
source "$src/contrib/completion/roam-server" || { fail "contrib/completion/roam-server sources"; finish; }
source "$src/contrib/completion/roam-loadtest" || { fail "contrib/completion/roam-loadtest sources"; finish; }

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

expect "up"                 _roam roam up
expect "unpublish up"       _roam roam u
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
expect "--restart-at --restart-cmd" _roam_loadtest roam-loadtest --rest

# offers_help_options FUNCTION BIN WORD...: `BIN WORD... --help`'s long
# options are all among the completions of `BIN WORD... --`.
offers_help_options() {
	local fn=$1 bin=$2 offered opt missing=""
	shift 2
	offered=" $(complete_line "$fn" "${bin##*/}" "$@" --) "
	for opt in $("$bin" "$@" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		[[ $offered == *" $opt "* ]] || missing+=" $opt"
	done
	if [ -z "$missing" ]; then pass "${bin##*/} $* --<TAB> offers every option of its --help"
	else fail "${bin##*/} $* --<TAB> misses$missing"; fi
}
if [ -n "$build" ]; then
	for cmd in $("$build/cli/roam" --help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\)  *[A-Z].*/\1/p'); do
		[ "$cmd" = help ] || offers_help_options _roam "$build/cli/roam" "$cmd"
	done
	for cmd in $("$build/server/roam-server" --help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\)  *[A-Z].*/\1/p'); do
		case $cmd in
		help) ;;
		keys) offers_help_options _roam_server "$build/server/roam-server" keys create ;;
		*) offers_help_options _roam_server "$build/server/roam-server" "$cmd" ;;
		esac
	done
	[ ! -x "$build/loadtest/roam-loadtest" ] || offers_help_options _roam_loadtest "$build/loadtest/roam-loadtest"
fi
finish
