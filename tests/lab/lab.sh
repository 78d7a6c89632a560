#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# roam network lab: an emulated internet with NATs, firewalls, a proxy and
# roaming hosts, built from network namespaces, veth pairs, bridges and
# nftables. Real kernels do the NAT and the filtering.
#
# Example: lab.sh up a:symmetric:2 b:public c:cgnat m:mobile:a,b
#
#              inet: the internet, a router with one link per network
#          (203.0.113.254 and fe80::1 on each), routes to public sites
#      +---------------+------------------+--------------------+
#      |               |                  |                    |
#    server          gw-a               gw-b                 cgn-c  carrier NAT
#  203.0.113.1     wan0 .11           wan0 .12             wan0 .13
#  203.0.113.2     [NAT: kind]        [routes only]        cpe0 100.64.3.1
#  2001:db8::1,2   lan0 10.1.0.1/24   lan0 198.51.100.1/27      |
#                     |               2001:db8:2::1/64     gw-c  home NAT
#              +------+------+            |                wan0 100.64.3.2
#             a1            a2           b1                lan0 10.3.0.1/24
#          10.1.0.11     10.1.0.12   198.51.100.11              |
#                                    2001:db8:2::11            c1 10.3.0.11
#   m1 (mobile): eth-a into a (10.1.0.13, active), eth-b into b (down)
#
# Site i (in spec order) has WAN 203.0.113.(10+i); NAT sites use LAN
# 10.i.0.0/24, public sites a /27 of 198.51.100.0/24 and 2001:db8:i::/64
# (dual and :v6 NAT sites have that /64 too, behind a firewall).
# Host n of a site is .(10+n) in it; "readdr" hands out .(20+k).
#
# Use it as a command (lab.sh help) or source it and call the lab_* functions:
#   source tests/lab/lab.sh; lab_up a:symmetric b:public; lab_trap
#   lab_exec a1 ping -c1 "$(lab_server_addr)"
# Everything of one lab carries its LAB_ID: namespaces "$LAB_ID-<node>" and
# the run directory /run/roam-lab/$LAB_ID. lab_down removes all of it.
# topology.sh (building) and impair.sh (loss, rate, delay) are parts of this
# file. README.md beside it documents every command.

# State files are sourced, so shellcheck cannot see where their keys come from.
# shellcheck disable=SC1090,SC2154

LAB_RUN_ROOT=${LAB_RUN_ROOT:-/run/roam-lab}
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_INET4=203.0.113
LAB_INET6=2001:db8:
LAB_KINDS="public fullcone restricted portrestricted symmetric cgnat udpblocked httponly proxyonly proxyauth intercept upnp dual"
# NAT kinds that may also have global IPv6 behind a stateful firewall (":v6").
LAB_V6_KINDS="fullcone restricted portrestricted symmetric upnp dual"
LAB_PROXY_PORT=3128
# The proxyauth sites' squid wants these (Basic); lab_exec does not give them.
LAB_PROXY_USER=roam
LAB_PROXY_PASS=lab-pass
# The lab's own STUN server for miniupnpd (this port and the next), and
# miniupnpd's HTTP port for UPnP-IGD.
LAB_STUN_PORT=3490
LAB_UPNP_HTTP_PORT=5000
LAB_MAX_SITES=40
LAB_MAX_HOSTS=9
LAB_MAX_PUBLIC=8

lab__log() { printf 'lab: %s\n' "$*" >&2; }
lab__die() { lab__log "error: $*"; return 1; }

lab__ns() { printf '%s-%s' "$LAB_ID" "$1"; }
lab__run() { printf '%s/%s' "$LAB_RUN_ROOT" "$LAB_ID"; }
lab__in() { local node=$1; shift; ip netns exec "$(lab__ns "$node")" "$@"; }
lab__ip() { local node=$1; shift; ip -n "$(lab__ns "$node")" "$@"; }

# Pick the lab: $LAB_ID, or the only one there is.
lab__select() {
	local labs=()
	if [ -n "${LAB_ID:-}" ]; then
		[ -d "$(lab__run)" ] || lab__die "no lab '$LAB_ID' (no $(lab__run))"
		return
	fi
	[ ! -d "$LAB_RUN_ROOT" ] || mapfile -t labs < <(ls "$LAB_RUN_ROOT")
	if [ ${#labs[@]} -ne 1 ]; then
		lab__die "set LAB_ID (labs running: ${labs[*]:-none})"
		return 1
	fi
	LAB_ID=${labs[0]}
}

# Tiny key=value state files, written with %q so that they can be sourced.
lab__kv_put() {
	local file=$1 key=$2 value=$3
	{ grep -v "^$key=" "$file" 2>/dev/null || true; printf '%s=%q\n' "$key" "$value"; } >"$file.tmp"
	mv "$file.tmp" "$file"
}
lab__kv_get() { (. "$1" && printf '%s\n' "${!2-}"); }

lab__host_file() { printf '%s/host/%s' "$(lab__run)" "$1"; }
lab__site_file() { printf '%s/site/%s' "$(lab__run)" "$1"; }

# Load a host's state and its current uplink into shell variables.
lab__host_load() {
	local f
	f=$(lab__host_file "$1")
	if [ ! -f "$f" ]; then
		lab__die "no host '$1' (hosts: $(lab__hosts | tr '\n' ' '))"
		return 1
	fi
	. "$f"
	h_if=$(lab__kv_get "$f" "if_$site")
	h_addr4=$(lab__kv_get "$f" "addr4_$site")
	h_addr6=$(lab__kv_get "$f" "addr6_$site")
	h_gw4=$(lab__kv_get "$f" "gw4_$site")
	h_gw6=$(lab__kv_get "$f" "gw6_$site")
}

# shellcheck source=topology.sh
source "$LAB_DIR/topology.sh"
# shellcheck source=impair.sh
source "$LAB_DIR/impair.sh"

# ---------------------------------------------------------------- public API
#
# Each lab_X function runs its work, lab__X, in a fresh bash with errexit
# (lab__call): bash ignores "set -e" inside functions called from "if" or
# "||", which is how tests call us, and a half-done roam or delay must stop
# at the first error. Only lab_up (it exports LAB_ID), lab_down, lab_trap,
# lab_exec (it runs the caller's command) and lab_server_addr run in the
# caller's shell.

lab__call() {
	LAB_ID=${LAB_ID:-} LAB_RUN_ROOT=$LAB_RUN_ROOT \
		bash -c 'set -euo pipefail; shopt -s inherit_errexit; source "$1"; shift; "$@"' \
		lab-call "$LAB_DIR/lab.sh" "$@"
}

lab_up() {
	local rc=0
	[ -n "${LAB_ID:-}" ] || LAB_ID=$(lab__new_id)
	if ! [[ "$LAB_ID" =~ ^[A-Za-z0-9_]{1,24}$ ]]; then
		lab__die "LAB_ID must be 1-24 of [A-Za-z0-9_], not '$LAB_ID'"
		return 1
	fi
	export LAB_ID
	if [ $# -eq 0 ]; then
		lab__die "usage: lab_up SITE:KIND[:N][:hairpin][:v6][:squid|:digest] ..."
		return 2
	fi
	# Claim the ID first: a clash must not tear down the other lab.
	mkdir -p "$LAB_RUN_ROOT"
	if ! mkdir "$(lab__run)" 2>/dev/null; then
		lab__die "lab '$LAB_ID' exists already"
		return 1
	fi
	lab__call lab__up_impl "$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		lab__log "$LAB_ID: setup failed, tearing down"
		lab_down
	fi
	return "$rc"
}

# Stop every process in the lab's namespaces, delete them and the run dir.
# Safe to call twice, and without any state left: it goes by name prefix.
lab_down() {
	local nss=() ns pid pids i
	# Never guess which lab to destroy: another run may own the only one.
	if [ -z "${LAB_ID:-}" ]; then
		lab__die "down: set LAB_ID (labs: $(cd "$LAB_RUN_ROOT" 2>/dev/null && echo *))"
		return 1
	fi
	mapfile -t nss < <(ip netns list | awk -v p="$LAB_ID-" 'index($1, p) == 1 { print $1 }')
	for i in $(seq 30); do
		pids=""
		for ns in "${nss[@]}"; do
			pids+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
		done
		[ -n "${pids// /}" ] || break
		# TERM first, KILL what is still there after 2 s.
		for pid in $pids; do
			# A process may exit between listing and kill (roamd's agent
			# leaves with roamd): under errexit a failed kill must not
			# end the teardown, or the test, with status 1.
			if [ "$i" -eq 1 ]; then
				kill -TERM "$pid" 2>/dev/null || true
			elif [ "$i" -gt 20 ]; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done
		sleep 0.1
	done
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null
		# Per-namespace /etc files a test gave a host (ip netns exec
		# bind-mounts /etc/netns/NS/* over /etc).
		rm -rf "/etc/netns/${ns:?}"
	done
	rm -rf "${LAB_RUN_ROOT:?}/$LAB_ID"
	return 0
}

# Tear the lab down when the calling script exits, however it exits.
lab_trap() {
	trap 'lab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Run a command inside a node. Hosts of a proxyonly site get the proxy in
# their environment, as a managed desktop would.
lab_exec() {
	local node=${1:?usage: lab_exec NODE CMD...} where ns proxy
	shift
	[ "${1:-}" != -- ] || shift
	where=$(lab__call lab__exec_where "$node") || return
	ns=${where%%|*} proxy=${where#*|}
	if [ -n "$proxy" ]; then
		ip netns exec "$ns" env http_proxy="$proxy" https_proxy="$proxy" \
			HTTP_PROXY="$proxy" HTTPS_PROXY="$proxy" "$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

lab__exec_where() {
	lab__select
	[ -e "/run/netns/$(lab__ns "$1")" ] || lab__die "no node '$1' in lab $LAB_ID"
	printf '%s|%s\n' "$(lab__ns "$1")" "$(lab__proxy "$1" 2>/dev/null || true)"
}

lab__spawn_node() {
	local node=$1 name=$2 run
	shift 2
	run=$(lab__run)
	# Started from a subshell, so that it is not our child: a bare "wait"
	# in the caller must not wait for lab daemons.
	(
		ip netns exec "$(lab__ns "$node")" "$@" </dev/null >"$run/log/$name.log" 2>&1 &
		echo $! >"$run/pid/$name.pid"
	)
}

# Start a background command in NODE, logging to the run dir; prints its
# pid. lab_down stops it (as it stops anything left in the lab).
lab_spawn() { lab__call lab__spawn "$@"; }
lab__spawn() {
	local node=${1:?usage: lab_spawn NODE NAME CMD...} name=${2:?usage: lab_spawn NODE NAME CMD...}
	shift 2
	lab__select
	[ -e "/run/netns/$(lab__ns "$node")" ] || lab__die "no node '$node' in lab $LAB_ID"
	lab__spawn_node "$node" "$name" "$@"
	cat "$(lab__run)/pid/$name.pid"
}

# Stop a process started by lab_spawn: TERM, then KILL after 3 s.
lab_stop() { lab__call lab__stop "$@"; }
lab__stop() {
	local pidf pid
	lab__select
	pidf="$(lab__run)/pid/${1:?usage: lab_stop NAME}.pid"
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidf"
}

# The lab's run directory: a place for a test's files that lab_down removes.
lab_rundir() { lab__call lab__rundir; }
lab__rundir() {
	lab__select
	lab__run
	echo
}

lab_log_file() { lab__call lab__log_file "$@"; }
lab__log_file() {
	lab__select
	printf '%s/log/%s.log\n' "$(lab__run)" "${1:?usage: lab_log_file NAME}"
}

lab_hosts() { lab__call lab__hosts; }
lab__hosts() {
	local f
	lab__select
	for f in "$(lab__run)"/host/*; do
		[ "${f##*/}" = server ] || echo "${f##*/}"
	done | sort -V
}

# The host's current IPv4 address, or IPv6 with -6 (empty if it has none).
lab_addr() { lab__call lab__addr "$@"; }
lab__addr() {
	lab__select
	lab__host_load "${1:?usage: lab_addr HOST [-6]}"
	if [ "${2:-}" = -6 ]; then echo "$h_addr6"; else echo "$h_addr4"; fi
}

# The server's address: primary, "alt" (the second one), -6 or -6alt.
lab_server_addr() {
	case ${1:-} in
	"") echo "$LAB_INET4.1" ;;
	alt) echo "$LAB_INET4.2" ;;
	-6) echo "${LAB_INET6}:1" ;;
	-6alt) echo "${LAB_INET6}:2" ;;
	*)
		lab__die "usage: lab_server_addr [alt|-6|-6alt]"
		return 2
		;;
	esac
}

# The IPv4 address the internet sees for HOST: its NAT's, or its own.
lab_public_addr() { lab__call lab__public_addr "$@"; }
lab__public_addr() {
	local sf
	lab__select
	lab__host_load "${1:?usage: lab_public_addr HOST}"
	if [ "$site" = inet ]; then
		echo "$h_addr4"
		return
	fi
	sf=$(lab__site_file "$site")
	if [ "$(lab__kv_get "$sf" kind)" = public ]; then
		echo "$h_addr4"
	else
		lab__kv_get "$sf" wan4
	fi
}

# The public IPv4 address of SITE's link to the internet.
lab_wan_addr() { lab__call lab__wan_addr "$@"; }
lab__wan_addr() {
	local f
	lab__select
	f=$(lab__site_file "${1:?usage: lab_wan_addr SITE}")
	[ -f "$f" ] || lab__die "no site '$1'"
	lab__kv_get "$f" wan4
}

lab_site() { lab__call lab__site "$@"; }
lab__site() {
	lab__select
	lab__host_load "${1:?usage: lab_site HOST}"
	echo "$site"
}

lab_ifname() { lab__call lab__ifname "$@"; }
lab__ifname() {
	lab__select
	lab__host_load "${1:?usage: lab_ifname HOST}"
	echo "$h_if"
}

# The proxy URL of HOST's site; fails if it has none.
lab_proxy() { lab__call lab__proxy "$@"; }
# The certificate of the CA an intercept site's squid signs with (what a
# managed desktop would have installed; roam must not need it).
lab_intercept_ca() { lab__call lab__intercept_ca; }
lab__intercept_ca() {
	lab__select
	[ -e "$(lab__run)/intercept-ca.crt" ] || lab__die "no intercept site in lab $LAB_ID"
	echo "$(lab__run)/intercept-ca.crt"
}
lab__proxy() {
	local p
	lab__select
	lab__host_load "${1:?usage: lab_proxy HOST}"
	[ "$site" != inet ] || return 1
	p=$(lab__kv_get "$(lab__site_file "$site")" proxy)
	[ -n "$p" ] || return 1
	echo "$p"
}

# Move a mobile host's active uplink to SITE: the old link goes down and
# loses its address (break before make), the new one comes up.
lab_roam() { lab__call lab__roam "$@"; }
lab__roam() {
	local host=${1:?usage: lab_roam HOST SITE} to=${2:?usage: lab_roam HOST SITE}
	lab__select
	lab__host_load "$host"
	[ "$mobile" = 1 ] || lab__die "$host is not mobile (make it with NAME:mobile:SITE,SITE)"
	[[ " $sites " == *" $to "* ]] || lab__die "$host has no uplink into '$to' (uplinks: $sites)"
	[ "$to" != "$site" ] || return 0
	lab__ip "$host" addr flush dev "$h_if"
	lab__ip "$host" link set "$h_if" down
	lab__uplink_on "$host" "$to"
}

# Give HOST a new address in its current site (as a new DHCP lease would);
# prints it.
lab_readdr() { lab__call lab__readdr "$@"; }
lab__readdr() {
	local host=${1:?usage: lab_readdr HOST} sf hf k new4 new6
	lab__select
	lab__host_load "$host"
	[ "$site" != inet ] || lab__die "the server's address is fixed"
	sf=$(lab__site_file "$site")
	. "$sf"
	k=$((readdrs + 1))
	[ "$k" -le 9 ] || lab__die "site $site: out of readdr addresses (9)"
	lab__kv_put "$sf" readdrs "$k"
	hf=$(lab__host_file "$host")
	new4="$prefix$((first + 20 + k))"
	lab__ip "$host" addr add "$new4/$plen" dev "$h_if"
	lab__ip "$host" addr del "$h_addr4/$plen" dev "$h_if"
	lab__ip "$host" route replace default via "$h_gw4" dev "$h_if"
	lab__kv_put "$hf" "addr4_$site" "$new4"
	if [ -n "$h_addr6" ]; then
		new6="$net6$((20 + k))"
		lab__ip "$host" addr add "$new6/64" dev "$h_if" nodad
		lab__ip "$host" addr del "$h_addr6/64" dev "$h_if"
		lab__ip "$host" -6 route replace default via "$h_gw6" dev "$h_if"
		lab__kv_put "$hf" "addr6_$site" "$new6"
	fi
	echo "$new4"
}

# Cut TARGET's link at the far end, as pulling a cable would: the host keeps
# its address and sees the carrier go away; "up" restores it. For a mobile
# host, its active uplink.
lab_link() { lab__call lab__link "$@"; }
lab__link() {
	local target=${1:?usage: lab_link TARGET up|down} state=${2:?usage: lab_link TARGET up|down}
	local links far
	lab__select
	[ "$state" = up ] || [ "$state" = down ] || lab__die "usage: lab_link TARGET up|down"
	links=$(lab__target_links "$target" current)
	while read -r near far; do
		lab__ip "${far%%:*}" link set "${far#*:}" "$state"
		# Neighbour entries that failed while the cable was out would hold
		# traffic back for seconds after it is plugged in again: start afresh.
		if [ "$state" = up ]; then
			lab__ip "${far%%:*}" neigh flush dev "${far#*:}" 2>/dev/null || true
			lab__ip "${near%%:*}" neigh flush dev "${near#*:}" 2>/dev/null || true
		fi
		# Routes through a link, and link-local addresses, die with it; the
		# internet's come back.
		if [ "$state" = up ] && [ "${far%%:*}" = inet ]; then
			lab__ip inet addr replace fe80::1/64 dev "${far#*:}" nodad
			while read -r family route; do
				# shellcheck disable=SC2086 # the route is words
				lab__ip inet "$family" route replace $route
			done <"$(lab__run)/routes/${far#*:p-}"
		fi
	done <<<"$links"
}

# A multihomed host's uplink into SITE (NAME:multi:SITE,SITE): "down" / "up"
# cut and restore it at the site's end (the host sees the carrier go);
# "silent" makes the site's router drop everything from and to the host's
# address there while the link stays up (Wi-Fi out of range, a dead
# upstream: nothing for the kernel to report); "heal" ends that.
lab_uplink() { lab__call lab__uplink "$@"; }
lab__uplink() {
	local host=${1:?usage: lab_uplink HOST SITE up|down|silent|heal} s=${2:?usage: lab_uplink HOST SITE ...}
	local what=${3:?usage: lab_uplink HOST SITE up|down|silent|heal} hf gw a4 a6
	lab__select
	hf=$(lab__host_file "$host")
	[ -f "$hf" ] || lab__die "no host '$host'"
	[ -n "$(lab__kv_get "$hf" "if_$s")" ] || lab__die "$host has no uplink into '$s'"
	gw=$(lab__kv_get "$(lab__site_file "$s")" gw)
	a4=$(lab__kv_get "$hf" "addr4_$s")
	a6=$(lab__kv_get "$hf" "addr6_$s")
	case $what in
	down | up)
		lab__ip "$gw" link set "p-$host" "$what"
		if [ "$what" = up ]; then
			lab__ip "$gw" neigh flush dev "p-$host" 2>/dev/null || true
			lab__ip "$host" neigh flush dev "$(lab__kv_get "$hf" "if_$s")" 2>/dev/null || true
		fi
		;;
	silent)
		lab__in "$gw" nft -f - <<-NFT
			table inet lab_silent_$host {
				chain forward { type filter hook forward priority -20;
					ip saddr $a4 drop; ip daddr $a4 drop;
					${a6:+ip6 saddr $a6 drop; ip6 daddr $a6 drop;} }
				chain input { type filter hook input priority -20; ip saddr $a4 drop; }
			}
		NFT
		;;
	heal) lab__in "$gw" nft delete table inet "lab_silent_$host" 2>/dev/null || true ;;
	*) lab__die "usage: lab_uplink HOST SITE up|down|silent|heal" ;;
	esac
}

lab_status() { lab__call lab__status; }
lab__status() {
	local run host kind notes proxy f
	lab__select
	run=$(lab__run)
	printf 'lab %s (%s): %s\n' "$LAB_ID" "$run" "$(cat "$run/spec")"
	printf '%-8s %-6s %-15s %-16s %-14s %s\n' NODE SITE KIND ADDRESS PUBLIC NOTES
	for host in server $(lab__hosts); do
		lab__host_load "$host"
		kind=internet notes=""
		if [ "$site" != inet ]; then
			kind=$(lab__kv_get "$(lab__site_file "$site")" kind)
			[ "$(lab__kv_get "$(lab__site_file "$site")" hairpin)" != 1 ] || notes+="hairpin "
		fi
		[ "$mobile" != 1 ] || notes+="mobile($sites) "
		[ "$mobile" != 2 ] || notes+="multi($sites) "
		[ -z "$h_addr6" ] || notes+="$h_addr6 "
		proxy=$(lab__proxy "$host" 2>/dev/null) || proxy=""
		[ -z "$proxy" ] || notes+="proxy $proxy "
		printf '%-8s %-6s %-15s %-16s %-14s %s\n' "$host" "$site" "$kind" "$h_addr4" \
			"$(lab__public_addr "$host")" "$notes"
	done
	for f in "$run"/impair/*; do
		case $f in *.delay | */queues) continue ;; esac
		[ -f "$f" ] || continue
		notes=$(grep -v "=''$" "$f" | tr '\n' ' ')
		[ -z "$notes" ] || printf 'impairment %s: %s\n' "${f##*/}" "$notes"
	done
}

lab_usage() {
	cat <<-EOF
		usage: lab.sh COMMAND [ARGS]    (LAB_ID selects the lab; with one lab, it is found)
		  up SPEC...            build a lab; prints "export LAB_ID=..."
		                        SPEC: NAME:KIND[:N][:hairpin][:v6][:squid|:digest]  N hosts NAME1..NAMEN (default 1);
		                              v6: global IPv6 behind a stateful firewall
		                              squid: a proxyonly site with squid (no auth), not tinyproxy;
		                              digest: a proxyauth site asking for Digest, not Basic
		                              (intercept: squid-openssl that intercepts TLS, ssl-bump)
		                              NAME:mobile:SITE,SITE[:N] mobile host(s) NAME1.. with an
		                              uplink into each SITE, the first one active
		                              NAME:multi:SITE,SITE[:N] multihomed host(s): every uplink up,
		                              default routes by metric (first site lowest)
		                        KIND: $LAB_KINDS
		  down                  stop everything and remove the lab (needs LAB_ID)
		  exec NODE CMD...      run CMD in NODE (a host, server, gw-SITE, cgn-SITE, inet)
		  spawn NODE NAME CMD.. run CMD in the background (log: lab.sh log NAME); prints pid
		  stop NAME             stop a spawned command
		  log NAME              path of a spawned command's log
		  rundir                the lab's run directory (removed by down)
		  hosts                 list the hosts
		  addr HOST [-6]        the host's current address
		  public-addr HOST      the IPv4 address the internet sees for HOST
		  wan-addr SITE         the public IPv4 address of SITE's router
		  server-addr [alt|-6|-6alt]
		  site HOST | ifname HOST | proxy HOST
		  roam HOST SITE        move a mobile host to its uplink into SITE
		  readdr HOST           give HOST a new address in its site; prints it
		  link TARGET down|up   cut or restore TARGET's link (far end)
		  uplink HOST SITE up|down|silent|heal
		                        a multihomed host's uplink into SITE: cut/restore,
		                        or drop everything at the site's router with the link up
		  loss TARGET PCT       random loss in each direction (0 removes)
		  rate TARGET RATE      token-bucket limit each direction (e.g. 10mbit; off)
		  delay TARGET MS [J]   add latency each direction, jitter J (0 removes)
		  status                show nodes, addresses and impairments
		TARGET is a host, a site (its link to the internet) or "server".
	EOF
}

lab_main() {
	set -euo pipefail
	local cmd=${1:-help}
	[ $# -gt 0 ] && shift
	case $cmd in
	up)
		lab_up "$@"
		lab_status >&2
		echo "export LAB_ID=$LAB_ID"
		;;
	down) lab_down ;;
	exec) lab_exec "$@" ;;
	spawn) lab_spawn "$@" ;;
	stop) lab_stop "$@" ;;
	log) lab_log_file "$@" ;;
	rundir) lab_rundir ;;
	hosts) lab_hosts ;;
	addr) lab_addr "$@" ;;
	public-addr) lab_public_addr "$@" ;;
	wan-addr) lab_wan_addr "$@" ;;
	server-addr) lab_server_addr "$@" ;;
	site) lab_site "$@" ;;
	ifname) lab_ifname "$@" ;;
	proxy) lab_proxy "$@" ;;
	intercept-ca) lab_intercept_ca "$@" ;;
	roam) lab_roam "$@" ;;
	readdr) lab_readdr "$@" ;;
	link) lab_link "$@" ;;
	uplink) lab_uplink "$@" ;;
	loss) lab_loss "$@" ;;
	rate) lab_rate "$@" ;;
	delay) lab_delay "$@" ;;
	status) lab_status ;;
	help | -h | --help) lab_usage ;;
	*)
		lab_usage >&2
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	lab_main "$@"
fi
