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
# 10.i.0.0/24, public sites a /27 of 198.51.100.0/24 and 2001:db8:i::/64.
# Host n of a site is .(10+n) in it; "readdr" hands out .(20+k).
#
# Use it as a command (lab.sh help) or source it and call the lab_* functions:
#   source tests/lab/lab.sh; lab_up a:symmetric b:public; lab_trap
#   lab_exec a1 ping -c1 "$(lab_server_addr)"
# Everything of one lab carries its LAB_ID: namespaces "$LAB_ID-<node>" and
# the run directory /run/roam-lab/$LAB_ID. lab_down removes all of it.

# State files are sourced, so shellcheck cannot see where their keys come from.
# shellcheck disable=SC1090,SC2154

LAB_RUN_ROOT=${LAB_RUN_ROOT:-/run/roam-lab}
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_INET4=203.0.113
LAB_INET6=2001:db8:
LAB_KINDS="public fullcone restricted portrestricted symmetric cgnat udpblocked httponly proxyonly"
LAB_PROXY_PORT=3128
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

# ---------------------------------------------------------------- building

lab__node_add() {
	local node=$1
	ip netns add "$(lab__ns "$node")"
	lab__ip "$node" link set lo up
	# Quiet, predictable IPv6 (no router adverts, no DAD waits) and keep
	# other addresses when a primary one is removed (readdr).
	lab__in "$node" sysctl -q -w net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1 \
		net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.default.promote_secondaries=1 \
		net.ipv4.conf.all.accept_redirects=0 net.ipv6.conf.all.accept_redirects=0 >/dev/null
}

lab__router_sysctls() {
	lab__in "$1" sysctl -q -w net.ipv4.ip_forward="${2:-1}" net.ipv6.conf.all.forwarding="${2:-1}" \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 >/dev/null
}

# A veth pair created straight inside the two namespaces, so that the
# interface names never meet in the root namespace.
lab__veth() {
	local node_a=$1 if_a=$2 node_b=$3 if_b=$4
	lab__ip "$node_a" link add "$if_a" type veth peer name "$if_b" netns "$(lab__ns "$node_b")"
	lab__ip "$node_a" link set "$if_a" up
	lab__ip "$node_b" link set "$if_b" up
}

# A bridge whose bridged frames stay out of nftables (br_netfilter is built
# in and would otherwise make LAN-internal traffic pass the router's rules).
lab__bridge() {
	local node=$1 br=$2
	lab__ip "$node" link add "$br" type bridge forward_delay 0
	lab__ip "$node" link set "$br" up
	lab__in "$node" sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 >/dev/null
}

# The internet is a router with one link per attached network (no shared
# segment), so that every packet between networks crosses its IP layer: it
# forwards, and impairments placed there never hold a sender's own packets.
lab__inet_up() {
	lab__node_add inet
	lab__router_sysctls inet
	lab__node_add server
	lab__inet_link server eth0 "$LAB_INET4.1 $LAB_INET4.2" "${LAB_INET6}:1 ${LAB_INET6}:2"
	{
		echo "site=inet"
		echo "sites=inet"
		echo "mobile=0"
		echo "if_inet=eth0"
		echo "addr4_inet=$LAB_INET4.1"
		echo "addr6_inet=${LAB_INET6}:1"
		echo "gw4_inet=$LAB_INET4.254"
		echo "gw6_inet=fe80::1"
	} >"$(lab__host_file server)"
}

# lab__inet_route NODE -4|-6 ROUTE...: a route in the internet router towards
# NODE, remembered so that "link NODE up" can restore it (taking a link down
# deletes the routes through it).
lab__inet_route() {
	local node=$1 family=$2
	shift 2
	lab__ip inet "$family" route add "$@"
	echo "$family $*" >>"$(lab__run)/routes/$node"
}

# lab__inet_link NODE IF "ADDR4..." "ADDR6...": link NODE's IF to the
# internet router (whose end is p-NODE) with these public addresses. Each
# side sees the other through host routes: the router is 203.0.113.254 and
# fe80::1 on every link.
lab__inet_link() {
	local node=$1 ifname=$2 addrs4=$3 addrs6=$4 a
	lab__veth "$node" "$ifname" inet "p-$node"
	lab__ip inet addr add "$LAB_INET4.254/32" dev "p-$node"
	lab__ip inet addr add fe80::1/64 dev "p-$node" nodad
	for a in $addrs4; do
		lab__ip "$node" addr add "$a/32" dev "$ifname"
		lab__inet_route "$node" -4 "$a/32" dev "p-$node"
	done
	lab__ip "$node" route add default via "$LAB_INET4.254" dev "$ifname" onlink
	[ -n "$addrs6" ] || return 0
	for a in $addrs6; do
		lab__ip "$node" addr add "$a/128" dev "$ifname" nodad
		lab__inet_route "$node" -6 "$a/128" dev "p-$node"
	done
	lab__ip "$node" -6 route add default via fe80::1 dev "$ifname"
}

# The nftables rules of a NAT router. RFC 4787 terms:
#   mapping   eim: endpoint-independent, external UDP port = 2048*slot +
#                  (internal port mod 2048), slot from the host's address, so
#                  the same internal endpoint always gets the same port and
#                  hosts never share one;
#             random: a new random port per flow (endpoint-dependent).
#   filtering none (full cone), addr (address-dependent), conntrack
#             (address-and-port-dependent, what conntrack does by itself).
#   out       what may leave: all, tcp (no UDP), web (TCP 80/443), none.
# Inbound UDP that does not belong to a flow is steered by the learned
# "udp_in" map (external port -> internal endpoint); hairpinning uses the same
# map for packets that come from the LAN to our own public address.
lab__nat_rules() {
	local wan_addr=$1 lan_if=$2 mapping=$3 filtering=$4 out=$5 hairpin=$6 slots=$7
	local addr slot slot_addr port_expr
	echo "table ip lab {"
	echo "	map udp_in { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 300s; }"
	echo "	set udp_seen { type inet_service . ipv4_addr; flags dynamic,timeout; timeout 300s; }"
	echo "	chain dstnat {"
	echo "		type nat hook prerouting priority dstnat; policy accept;"
	case $filtering in
	none) echo "		iifname \"wan0\" ip daddr $wan_addr dnat ip to udp dport map @udp_in" ;;
	addr) echo "		iifname \"wan0\" ip daddr $wan_addr udp dport . ip saddr @udp_seen dnat ip to udp dport map @udp_in" ;;
	esac
	[ "$hairpin" = 1 ] && echo "		iifname \"$lan_if\" ip daddr $wan_addr dnat ip to udp dport map @udp_in"
	echo "	}"
	echo "	chain srcnat {"
	echo "		type nat hook postrouting priority srcnat; policy accept;"
	for slot_addr in $slots; do
		[ "$mapping" = eim ] || break
		addr=${slot_addr%=*}
		slot=${slot_addr#*=}
		port_expr="udp sport & 0x07ff | $((slot * 2048))"
		echo "		oifname \"wan0\" ip saddr $addr meta l4proto udp snat ip to $wan_addr : $port_expr"
		[ "$hairpin" = 1 ] && echo "		iifname \"$lan_if\" oifname \"$lan_if\" ct status dnat ip saddr $addr meta l4proto udp snat ip to $wan_addr : $port_expr"
	done
	if [ "$mapping" = random ]; then
		echo "		oifname \"wan0\" meta l4proto udp snat ip to $wan_addr fully-random"
		[ "$hairpin" = 1 ] && echo "		iifname \"$lan_if\" oifname \"$lan_if\" ct status dnat snat ip to $wan_addr fully-random"
	fi
	[ "$hairpin" = 1 ] && echo "		iifname \"$lan_if\" oifname \"$lan_if\" ct status dnat snat ip to $wan_addr"
	echo "		oifname \"wan0\" snat ip to $wan_addr"
	echo "	}"
	# After srcnat, so that "udp sport" is the external port.
	echo "	chain learn {"
	echo "		type filter hook postrouting priority srcnat + 10; policy accept;"
	echo "		oifname \"wan0\" ct direction original meta l4proto udp update @udp_in { udp sport : ct original ip saddr . ct original proto-src }"
	echo "		oifname \"wan0\" ct direction original meta l4proto udp update @udp_seen { udp sport . ip daddr }"
	echo "	}"
	echo "	chain forward {"
	echo "		type filter hook forward priority filter; policy drop;"
	echo "		ct state established,related accept"
	echo "		ct status dnat accept"
	case $out in
	all) echo "		iifname \"$lan_if\" oifname \"wan0\" accept" ;;
	tcp) echo "		iifname \"$lan_if\" oifname \"wan0\" meta l4proto != udp accept" ;;
	web) echo "		iifname \"$lan_if\" oifname \"wan0\" tcp dport { 80, 443 } accept" ;;
	esac
	echo "	}"
	# Unsolicited traffic to the router itself is dropped silently, as
	# NATs do, rather than answered with port unreachables.
	echo "	chain input {"
	echo "		type filter hook input priority filter; policy accept;"
	echo "		iifname \"wan0\" ct state established,related accept"
	echo "		iifname \"wan0\" icmp type echo-request accept"
	echo "		iifname \"wan0\" drop"
	echo "	}"
	echo "}"
}

# "addr=slot" pairs for every address the lab may give a host of the site.
lab__slots() {
	local prefix=$1 first=$2 n
	for n in 1 2 3 4 5 6 7 8 9 11 12 13 14 15 16 17 18 19; do
		printf '%s%s=%s ' "$prefix" $((first + 10 + n)) "$n"
	done
}

lab__kind_policy() {
	case $1 in
	fullcone) echo "eim none all" ;;
	restricted) echo "eim addr all" ;;
	portrestricted | cgnat) echo "eim conntrack all" ;;
	symmetric) echo "random conntrack all" ;;
	udpblocked) echo "eim conntrack tcp" ;;
	httponly) echo "eim conntrack web" ;;
	proxyonly) echo "eim conntrack none" ;;
	esac
}

lab__proxy_up() {
	local site=$1 gw=$2 lan_addr=$3 lan_net=$4 run conf
	run=$(lab__run)
	conf="$run/tinyproxy-$site.conf"
	cat >"$conf" <<-EOF
		User nobody
		Group nogroup
		Listen $lan_addr
		Port $LAB_PROXY_PORT
		Timeout 600
		MaxClients 64
		Allow $lan_net
		ConnectPort 443
		DisableViaHeader Yes
		LogLevel Connect
	EOF
	lab__spawn_node "$gw" "tinyproxy-$site" tinyproxy -d -c "$conf"
	lab__wait_listen "$gw" "$lan_addr:$LAB_PROXY_PORT" ||
		lab__die "tinyproxy in $gw did not start; see $run/log/tinyproxy-$site.log"
}

lab__wait_listen() {
	local node=$1 addr=$2 i
	for i in $(seq 50); do
		lab__in "$node" ss -Hltn "src $addr" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

lab__site_up() {
	local name=$1 kind=$2 index=$3 hairpin=$4 pubidx=$5
	local gw="gw-$name" outer="gw-$name" wan4="$LAB_INET4.$((10 + index))"
	local prefix first plen net6="" gw6="" proxy="" mapping filtering out
	lab__node_add "$gw"
	if [ "$kind" = public ]; then
		prefix=198.51.100.
		first=$((32 * (pubidx - 1)))
		plen=27
		net6="${LAB_INET6}$index::"
		gw6="${net6}1"
	else
		prefix="10.$index.0."
		first=0
		plen=24
	fi
	if [ "$kind" = cgnat ]; then
		outer="cgn-$name"
		lab__node_add "$outer"
		lab__router_sysctls "$outer"
		lab__inet_link "$outer" wan0 "$wan4" ""
		lab__veth "$outer" cpe0 "$gw" wan0
		lab__ip "$outer" addr add "100.64.$index.1/24" dev cpe0
		lab__ip "$gw" addr add "100.64.$index.2/24" dev wan0
		lab__ip "$gw" route add default via "100.64.$index.1"
		lab__nat_rules "$wan4" cpe0 eim conntrack all "$hairpin" "100.64.$index.2=1" |
			lab__in "$outer" nft -f -
	else
		lab__inet_link "$gw" wan0 "$wan4" "$([ "$kind" = public ] && echo "${LAB_INET6}:$((10 + index))")"
	fi
	lab__router_sysctls "$gw" "$([ "$kind" = proxyonly ] && echo 0 || echo 1)"
	lab__bridge "$gw" lan0
	lab__ip "$gw" addr add "$prefix$((first + 1))/$plen" dev lan0
	if [ "$kind" = public ]; then
		lab__ip "$gw" addr add "${gw6}/64" dev lan0 nodad
		lab__inet_route "$gw" -4 "$prefix$first/$plen" via "$wan4"
		lab__inet_route "$gw" -6 "${net6}/64" via "${LAB_INET6}:$((10 + index))"
	else
		local nat_wan=$wan4
		[ "$kind" = cgnat ] && nat_wan="100.64.$index.2"
		read -r mapping filtering out <<<"$(lab__kind_policy "$kind")"
		lab__nat_rules "$nat_wan" lan0 "$mapping" "$filtering" "$out" "$hairpin" \
			"$(lab__slots "$prefix" "$first")" | lab__in "$gw" nft -f -
	fi
	if [ "$kind" = proxyonly ]; then
		lab__proxy_up "$name" "$gw" "$prefix$((first + 1))" "$prefix$first/$plen"
		proxy="http://$prefix$((first + 1)):$LAB_PROXY_PORT"
	fi
	{
		echo "kind=$kind"
		echo "index=$index"
		echo "gw=$gw"
		echo "outer=$outer"
		echo "wan4=$wan4"
		echo "prefix=$prefix"
		echo "first=$first"
		echo "plen=$plen"
		echo "net6=$net6"
		echo "gw6=$gw6"
		echo "hairpin=$hairpin"
		echo "proxy=$proxy"
		echo "hosts=0"
		echo "readdrs=0"
	} >"$(lab__site_file "$name")"
}

# Give HOST an uplink into SITE: veth "IFNAME" into the site's LAN bridge.
# Only an active uplink gets its address and routes; others stay down.
lab__uplink_add() {
	local host=$1 site=$2 ifname=$3 active=$4 sf hf n
	sf=$(lab__site_file "$site")
	hf=$(lab__host_file "$host")
	(
		. "$sf"
		n=$((hosts + 1))
		[ "$n" -le "$LAB_MAX_HOSTS" ] || lab__die "site $site: more than $LAB_MAX_HOSTS hosts"
		lab__kv_put "$sf" hosts "$n"
		lab__veth "$host" "$ifname" "$gw" "p-$host"
		lab__ip "$gw" link set "p-$host" master lan0
		lab__kv_put "$hf" "if_$site" "$ifname"
		lab__kv_put "$hf" "addr4_$site" "$prefix$((first + 10 + n))"
		lab__kv_put "$hf" "plen4_$site" "$plen"
		lab__kv_put "$hf" "gw4_$site" "$prefix$((first + 1))"
		lab__kv_put "$hf" "addr6_$site" "${net6:+$net6$((10 + n))}"
		lab__kv_put "$hf" "gw6_$site" "$gw6"
	)
	if [ "$active" = 1 ]; then
		lab__uplink_on "$host" "$site"
	else
		lab__ip "$host" link set "$ifname" down
	fi
}

# Bring HOST's uplink into SITE up with its address and default routes.
lab__uplink_on() {
	local host=$1 site=$2 hf ifname addr4 plen4 gw4 addr6 gw6
	hf=$(lab__host_file "$host")
	ifname=$(lab__kv_get "$hf" "if_$site")
	addr4=$(lab__kv_get "$hf" "addr4_$site")
	plen4=$(lab__kv_get "$hf" "plen4_$site")
	gw4=$(lab__kv_get "$hf" "gw4_$site")
	addr6=$(lab__kv_get "$hf" "addr6_$site")
	gw6=$(lab__kv_get "$hf" "gw6_$site")
	lab__ip "$host" link set "$ifname" up
	lab__ip "$host" addr replace "$addr4/$plen4" dev "$ifname"
	lab__ip "$host" route replace default via "$gw4" dev "$ifname"
	if [ -n "$addr6" ]; then
		lab__ip "$host" addr replace "$addr6/64" dev "$ifname" nodad
		lab__ip "$host" -6 route replace default via "$gw6" dev "$ifname"
	fi
	lab__kv_put "$hf" site "$site"
}

lab__host_up() {
	local host=$1 mobile=$2 sites=$3 s first=1
	lab__node_add "$host"
	# A mobile host answers on whichever uplink is active.
	[ "$mobile" = 1 ] && lab__in "$host" sysctl -q -w net.ipv4.conf.all.rp_filter=0 >/dev/null
	printf 'mobile=%s\nsites=%q\nsite=\n' "$mobile" "$sites" >"$(lab__host_file "$host")"
	for s in $sites; do
		if [ "$mobile" = 1 ]; then
			lab__uplink_add "$host" "$s" "eth-$s" "$first"
		else
			lab__uplink_add "$host" "$s" eth0 1
		fi
		first=0
	done
}

lab__new_id() { printf 'rl%s' "$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"; }

# Parse "NAME:KIND[:COUNT][:hairpin|:nohairpin]" and
# "NAME:mobile:SITE,SITE[,...][:COUNT]", then build everything.
lab__up_impl() {
	local spec name kind count hairpin field i=0 pubidx=0 started
	local site_names=() site_specs=() mobile_specs=()
	started=$(date +%s%N)
	for spec in "$@"; do
		IFS=: read -r name kind _ <<<"$spec"
		[[ "$name" =~ ^[a-z][a-z0-9]{0,5}$ ]] || lab__die "bad site name '$name' in '$spec' (a-z0-9, at most 6)"
		[[ " ${site_names[*]} " != *" $name "* ]] || lab__die "site '$name' given twice"
		case $name in server | inet) lab__die "'$name' is a node name, not a site name" ;; esac
		site_names+=("$name")
		if [ "$kind" = mobile ]; then
			mobile_specs+=("$spec")
		elif [[ " $LAB_KINDS " == *" $kind "* ]]; then
			site_specs+=("$spec")
		else
			lab__die "unknown kind '$kind' in '$spec' (kinds: $LAB_KINDS mobile)"
		fi
	done
	[ ${#site_specs[@]} -le "$LAB_MAX_SITES" ] || lab__die "at most $LAB_MAX_SITES sites"

	mkdir "$(lab__run)"/{host,site,pid,log,impair,routes}
	printf '%s\n' "$*" >"$(lab__run)/spec"
	lab__inet_up

	for spec in "${site_specs[@]}"; do
		IFS=: read -r -a field <<<"$spec"
		name=${field[0]} kind=${field[1]} count=1 hairpin=0
		for f in "${field[@]:2}"; do
			case $f in
			hairpin) hairpin=1 ;;
			nohairpin) hairpin=0 ;;
			[0-9]) count=$f ;;
			*) lab__die "bad option '$f' in '$spec'" ;;
			esac
		done
		i=$((i + 1))
		if [ "$kind" = public ]; then
			pubidx=$((pubidx + 1))
			[ "$pubidx" -le "$LAB_MAX_PUBLIC" ] || lab__die "at most $LAB_MAX_PUBLIC public sites"
		fi
		lab__site_up "$name" "$kind" "$i" "$hairpin" "$pubidx"
		for n in $(seq "$count"); do
			lab__host_up "$name$n" 0 "$name"
		done
	done
	for spec in "${mobile_specs[@]}"; do
		IFS=: read -r name kind field count _ <<<"$spec"
		local sites=${field//,/ } s
		[ -n "$sites" ] || lab__die "mobile '$name' needs sites, e.g. $name:mobile:a,b"
		for s in $sites; do
			[ -f "$(lab__site_file "$s")" ] || lab__die "mobile '$name': no site '$s'"
		done
		for n in $(seq "${count:-1}"); do
			lab__host_up "$name$n" 1 "$sites"
		done
	done
	lab__log "$LAB_ID up: ${#site_specs[@]} sites, $(lab__hosts | wc -l) hosts in $((($(date +%s%N) - started) / 1000000)) ms"
}

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
		lab__die "usage: lab_up SITE:KIND[:N][:hairpin] ..."
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
			if [ "$i" -eq 1 ]; then
				kill -TERM "$pid" 2>/dev/null
			elif [ "$i" -gt 20 ]; then
				kill -KILL "$pid" 2>/dev/null
			fi
		done
		sleep 0.1
	done
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null
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

# TARGET's links as "NODE:IF NODE:IF" pairs, near end (in the target) first:
# a host's uplinks (all of them, or with "current" only the active one), a
# site's link to the internet, or the server's.
lab__target_links() {
	local target=$1 which=${2:-all} sf hf s
	sf=$(lab__site_file "$target")
	hf=$(lab__host_file "$target")
	if [ -f "$hf" ]; then
		. "$hf"
		[ "$which" = all ] || sites=$site
		for s in $sites; do
			if [ "$s" = inet ]; then
				echo "$target:$(lab__kv_get "$hf" "if_$s") inet:p-$target"
			else
				echo "$target:$(lab__kv_get "$hf" "if_$s") $(lab__kv_get "$(lab__site_file "$s")" gw):p-$target"
			fi
		done
	elif [ -f "$sf" ]; then
		s=$(lab__kv_get "$sf" outer)
		echo "$s:wan0 inet:p-$s"
	else
		lab__die "no host or site '$target' (hosts: $(lab__hosts | tr '\n' ' '))"
	fi
}

lab__impair_note() {
	lab__kv_put "$(lab__run)/impair/$1" "$2" "$3"
}

# Drop PCT percent (0-100, up to two decimals) of the packets in each
# direction of TARGET's link(s), in the target's namespace. 0 removes it.
lab_loss() { lab__call lab__loss "$@"; }
lab__loss() {
	local target=${1:?usage: lab_loss TARGET PCT} pct=${2:?usage: lab_loss TARGET PCT}
	local links node ifs="" near far bp
	lab__select
	[[ "$pct" =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] || lab__die "loss: PCT like 5 or 0.5"
	bp=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 100 + 0.5 }')
	[ "$bp" -le 10000 ] || lab__die "loss: at most 100"
	links=$(lab__target_links "$target")
	while read -r near far; do
		node=${near%%:*}
		ifs+="\"${near#*:}\", "
	done <<<"$links"
	lab__in "$node" nft delete table inet lab_loss 2>/dev/null || true
	if [ "$bp" -gt 0 ]; then
		lab__in "$node" nft -f - <<-EOF
			table inet lab_loss {
				chain in {
					type filter hook prerouting priority -300; policy accept;
					iifname { ${ifs%, } } numgen random mod 10000 < $bp drop
				}
				chain out {
					type filter hook postrouting priority 300; policy accept;
					oifname { ${ifs%, } } numgen random mod 10000 < $bp drop
				}
			}
		EOF
		lab__impair_note "$target" loss "$pct%"
	else
		lab__impair_note "$target" loss ""
	fi
}

# Limit each direction of TARGET's link(s) to RATE (tc syntax: 10mbit,
# 500kbit) with a token bucket on both ends; "off" removes it.
lab_rate() { lab__call lab__rate "$@"; }
lab__rate() {
	local target=${1:?usage: lab_rate TARGET RATE} rate=${2:?usage: lab_rate TARGET RATE}
	local links bits burst end
	lab__select
	links=$(lab__target_links "$target")
	if [ "$rate" != off ]; then
		bits=$(lab__rate_bits "$rate") || lab__die "rate: like 10mbit, 500kbit or off"
		# 10 ms worth of tokens, and at least a few full frames.
		burst=$((bits / 800 > 4500 ? bits / 800 : 4500))
	fi
	for end in $links; do
		lab__in "${end%%:*}" tc qdisc del dev "${end#*:}" root 2>/dev/null || true
		[ "$rate" != off ] || continue
		lab__in "${end%%:*}" tc qdisc add dev "${end#*:}" root tbf rate "$rate" burst "$burst" latency 100ms
	done
	lab__impair_note "$target" rate "${rate#off}"
}

lab__rate_bits() {
	local v=${1,,} num unit
	[[ "$v" =~ ^([0-9]+)(bit|kbit|mbit|gbit)$ ]] || return 1
	num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
	case $unit in
	bit) echo "$num" ;;
	kbit) echo $((num * 1000)) ;;
	mbit) echo $((num * 1000000)) ;;
	gbit) echo $((num * 1000000000)) ;;
	esac
}

# The delay helper: the meson build's, or one compiled into the run dir.
lab__delay_bin() {
	local built="${ROAM_BUILD_DIR:-$LAB_DIR/../../build}/tests/lab/lab-nfq-delay"
	local own
	own="$(lab__run)/lab-nfq-delay"
	if [ -x "$built" ]; then
		echo "$built"
	elif [ -x "$own" ]; then
		echo "$own"
	else
		# shellcheck disable=SC2046 # pkg-config prints several words
		cc -std=c17 -O2 -Wall -Wextra -o "$own" "$LAB_DIR/delay/nfq_delay.c" \
			$(pkg-config --cflags --libs libnetfilter_queue libmnl) >&2 ||
			lab__die "cannot build lab-nfq-delay (install libnetfilter-queue-dev)"
		echo "$own"
	fi
}

# Where TARGET's packets are held, as "NODE CHAIN MATCH..." lines: never in
# the sender's own namespace, because a held packet still counts against its
# socket and TCP Small Queues would throttle the sender to a trickle (netem
# orphans the packets it delays; NFQUEUE cannot).
#   host:          from it in its router(s), matched by MAC; to it on arrival
#   site, server:  both directions in the internet router, on their link
lab__delay_plan() {
	local target=$1 hf sf s ifn mac port
	hf=$(lab__host_file "$target")
	sf=$(lab__site_file "$target")
	if [ "$target" = server ] || [ -f "$sf" ]; then
		port="p-server"
		[ ! -f "$sf" ] || port="p-$(lab__kv_get "$sf" outer)"
		echo "inet PREROUTING -i $port"
		echo "inet POSTROUTING -o $port"
	elif [ -f "$hf" ]; then
		for s in $(lab__kv_get "$hf" sites); do
			ifn=$(lab__kv_get "$hf" "if_$s")
			mac=$(lab__ip "$target" -br link show "$ifn" | awk '{ print $3 }')
			echo "$target PREROUTING -i $ifn"
			echo "$(lab__kv_get "$(lab__site_file "$s")" gw) PREROUTING -i lan0 -m mac --mac-source $mac"
		done
	else
		lab__die "no host or site '$target'"
	fi
}

# Each delayed target has its own NFQUEUE number, so that targets sharing a
# namespace (the internet router) have their own helper.
lab__delay_queue() {
	local f q
	f="$(lab__run)/impair/queues"
	touch "$f"
	q=$(awk -v t="$1" '$1 == t { print $2 }' "$f")
	if [ -z "$q" ]; then
		q=$(($(awk '$2 > m { m = $2 } END { print m + 0 }' "$f") + 1))
		echo "$1 $q" >>"$f"
	fi
	echo "$q"
}

# Add MS milliseconds (+/- JITTER, no reordering) to each direction of
# TARGET's link(s). Packets go through NFQUEUE to lab-nfq-delay; the rules
# are iptables ones because this kernel's nftables lacks "queue" (only the
# xtables NFQUEUE target is built). 0 or off removes the delay.
lab_delay() { lab__call lab__delay "$@"; }
lab__delay() {
	local target=${1:?usage: lab_delay TARGET MS [JITTER]} ms=${2:?usage: lab_delay TARGET MS [JITTER]}
	local jitter=${3:-0} run rules plan node ipt rule chain match pidf queue bin nodes note=""
	lab__select
	[ "$ms" != off ] || ms=0
	[[ "$ms$jitter" =~ ^[0-9]+$ ]] || lab__die "delay: MS and JITTER in whole milliseconds"
	run=$(lab__run)
	rules="$run/impair/$target.delay"
	plan=$(lab__delay_plan "$target")
	if [ -f "$rules" ]; then
		while read -r node ipt rule; do
			# shellcheck disable=SC2086 # the rule is words
			lab__in "$node" "$ipt" -t mangle -D $rule 2>/dev/null || true
		done <"$rules"
		rm -f "$rules"
	fi
	for pidf in "$run/pid/delay-$target@"*.pid; do
		[ ! -e "$pidf" ] || lab__stop "$(basename "$pidf" .pid)"
	done
	if [ "$ms" -gt 0 ]; then
		queue=$(lab__delay_queue "$target")
		bin=$(lab__delay_bin)
		mapfile -t nodes < <(awk '{ print $1 }' <<<"$plan" | sort -u)
		for node in "${nodes[@]}"; do
			lab__spawn_node "$node" "delay-$target@$node" "$bin" -q "$queue" -d "$ms" -j "$jitter"
		done
		sleep 0.1
		for pidf in "$run/pid/delay-$target@"*.pid; do
			kill -0 "$(cat "$pidf")" 2>/dev/null ||
				lab__die "lab-nfq-delay did not start: $(cat "$run/log/$(basename "$pidf" .pid).log")"
		done
		while read -r node chain match; do
			for ipt in iptables ip6tables; do
				rule="$chain $match -j NFQUEUE --queue-num $queue --queue-bypass"
				# shellcheck disable=SC2086 # the rule is words
				lab__in "$node" "$ipt" -t mangle -A $rule
				echo "$node $ipt $rule" >>"$rules"
			done
		done <<<"$plan"
		note="${ms}ms"
		[ "$jitter" -eq 0 ] || note+=" +/-${jitter}ms"
	fi
	lab__impair_note "$target" delay "$note"
}

# Cut TARGET's link at the far end, as pulling a cable would: the host keeps
# its address and sees the carrier go away; "up" restores it. For a mobile
# host, its active uplink.
lab_link() { lab__call lab__link "$@"; }
lab__link() {
	local target=${1:?usage: lab_link TARGET up|down} state=${2:?usage: lab_link TARGET up|down}
	local links near far
	lab__select
	[ "$state" = up ] || [ "$state" = down ] || lab__die "usage: lab_link TARGET up|down"
	links=$(lab__target_links "$target" current)
	while read -r near far; do
		lab__ip "${far%%:*}" link set "${far#*:}" "$state"
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
		                        SPEC: NAME:KIND[:N][:hairpin]  N hosts NAME1..NAMEN (default 1)
		                              NAME:mobile:SITE,SITE[:N] mobile host(s) NAME1.. with an
		                              uplink into each SITE, the first one active
		                        KIND: $LAB_KINDS
		  down                  stop everything and remove the lab
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
	roam) lab_roam "$@" ;;
	readdr) lab_readdr "$@" ;;
	link) lab_link "$@" ;;
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
