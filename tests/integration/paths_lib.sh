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
