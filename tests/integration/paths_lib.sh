# shellcheck shell=bash
# Reading a managed node's paths (issue 9) from `roam status --json`, on top
# of coord_lib.sh. Each peer carries
#   "paths": [{"transport": "udp"|"udp-aux"|"relay-udp", "address", "state",
#              "rtt_ms", "loss_permille", "since_ms", "last_rx_ms"}],
#   "active_path": {"transport", "address", "since_ms", "why"} | null
# and the node "probe_drops": {REASON: COUNT}.
#
#   path_peer HOST PEER          HOST's JSON object for PEER ("null" if none)
#   path_active HOST PEER        "TRANSPORT ADDRESS" of the active path, "none"
#   path_class HOST PEER         direct (any UDP transport), relay, or none
#   path_pair_class A B          the pair's class if both sides agree, else
#                                "A-CLASS/B-CLASS"
#   path_show HOST PEER          one line per path, for failure messages
#   probe_drops HOST             the probe_drops object ({} if absent)
#   probe_drops_total HOST       the sum of its counters
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=coord_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/coord_lib.sh"

path_peer() {
	coord_status "$1" | jq -c --arg n "$2" '[.peers[] | select(.name == $n)][0] // null'
}

# jq for one peer object on stdin: the class of its active path.
PATH_CLASS_JQ='if (.active_path // null) == null then "none"
	elif (.active_path.transport | startswith("relay")) then "relay"
	else "direct" end'

path_active() {
	path_peer "$1" "$2" | jq -r 'if (.active_path // null) == null then "none"
		else "\(.active_path.transport) \(.active_path.address)" end'
}
path_class() { path_peer "$1" "$2" | jq -r "$PATH_CLASS_JQ"; }

path_pair_class() {
	local a b
	a=$(path_class "$1" "$2")
	b=$(path_class "$2" "$1")
	if [ "$a" = "$b" ]; then echo "$a"; else echo "$a/$b"; fi
}

path_show() {
	path_peer "$1" "$2" | jq -r --arg h "$1" --arg p "$2" '
		"\($h) -> \($p): active \(.active_path // "none" | tojson), observed \(.observed // "-")",
		(.paths // [] | .[] | "    \(.transport) \(.address) \(.state) rtt \(.rtt_ms // "-") ms, loss \(.loss_permille // "-")‰, since \(.since_ms // "-") ms, last rx \(.last_rx_ms // "-") ms ago")'
}

probe_drops() { coord_status "$1" | jq -c '[.. | objects | .probe_drops? // empty][0] // {}'; }
probe_drops_total() { probe_drops "$1" | jq '[.[] | numbers] | add // 0'; }

# need_path_layer HOST: fail with a clear word when roamd has no path layer
# (a status without "active_path" for its peers).
need_path_layer() {
	coord_status "$1" | jq -e '[.peers[] | has("active_path")] | all and length > 0' >/dev/null ||
		fail "$1's roam status --json has no \"active_path\" for its peers: roamd without the path layer?"
}

# The matrix of site kinds that let UDP out (t_paths_matrix.sh,
# bench/paths.sh): two sites of each kind ("puba", "pubb", ...), one node
# in each ("puba1", ...), and one pair of nodes per pair of kinds i <= j:
# (Ka, Lb) when i + j is even, else (Kb, La), and (Ka, Kb) for a kind with
# itself, so every node has 4 or 5 partners.
PATHS_KINDS=(public fullcone restricted portrestricted symmetric cgnat upnp dual)
declare -A PATHS_ABBR=([public]=pub [fullcone]=ful [restricted]=res [portrestricted]=prt
	[symmetric]=sym [cgnat]=cgn [upnp]=upn [dual]=dua)
paths_matrix_specs() {
	local k
	for k in "${PATHS_KINDS[@]}"; do echo "${PATHS_ABBR[$k]}a:$k ${PATHS_ABBR[$k]}b:$k"; done
}
paths_matrix_hosts() {
	local k
	for k in "${PATHS_KINDS[@]}"; do echo "${PATHS_ABBR[$k]}a1 ${PATHS_ABBR[$k]}b1"; done
}
# paths_matrix_pairs: lines "I J HOST_A HOST_B" (I, J index PATHS_KINDS).
paths_matrix_pairs() {
	local i j ki kj n=${#PATHS_KINDS[@]}
	for ((i = 0; i < n; i++)); do
		for ((j = i; j < n; j++)); do
			ki=${PATHS_ABBR[${PATHS_KINDS[i]}]} kj=${PATHS_ABBR[${PATHS_KINDS[j]}]}
			if ((i == j || (i + j) % 2 == 0)); then echo "$i $j ${ki}a1 ${kj}b1"; else echo "$i $j ${ki}b1 ${kj}a1"; fi
		done
	done
}
# paths_snapshot DIR HOST...: each node's status into DIR/st-HOST.json, all
# at once; the class of each of its peers' active paths (path_class's words)
# into PATHS_CLS[HOST:PEER], and since when (unix ms, from its since_ms, or
# direct_since_ms for a direct one: a switch between two direct paths does
# not make it new, and the moment the status came back) into PATHS_SINCE[HOST:PEER].
declare -A PATHS_CLS=() PATHS_SINCE=()
# shellcheck disable=SC2034 # PATHS_*: read by the scripts that source this
paths_snapshot() {
	local dir=$1 h name c since at pids=()
	shift
	for h in "$@"; do
		{
			coord_status "$h" >"$dir/st-$h.json.new" 2>/dev/null &&
				date +%s%3N >"$dir/at-$h" && mv "$dir/st-$h.json.new" "$dir/st-$h.json"
		} &
		pids+=($!)
	done
	wait "${pids[@]}" || true # a node that did not answer keeps its last status
	PATHS_CLS=() PATHS_SINCE=()
	for h in "$@"; do
		at=$(cat "$dir/at-$h" 2>/dev/null || echo 0)
		while read -r name c since; do
			PATHS_CLS[$h:$name]=$c
			PATHS_SINCE[$h:$name]=$((at - since))
		done < <(jq -r ".peers[] | \"\\(.name) \\($PATH_CLASS_JQ) \\(.active_path.direct_since_ms // .active_path.since_ms // 0 | floor)\"" "$dir/st-$h.json" 2>/dev/null)
	done
}
