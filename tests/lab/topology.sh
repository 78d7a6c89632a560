# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Part of the lab (sourced by lab.sh, not on its own): building the
# namespaces, links, the internet router, sites with their NAT and firewall
# rules, the proxy, and hosts.
# shellcheck disable=SC1090,SC2154 # state files are sourced

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
	symmetric | upnp | dual) echo "random conntrack all" ;;
	udpblocked) echo "eim conntrack tcp" ;;
	httponly) echo "eim conntrack web" ;;
	proxyonly | proxyauth | intercept) echo "eim conntrack none" ;;
	esac
}

# The IPv6 side of a NAT site with global addresses (kind dual, or option
# v6): no translation, only a stateful firewall that lets replies in, as
# RFC 6092 routers do; everything new from outside is dropped, silently.
# Neighbour discovery on the WAN link has to pass, or nothing routes.
lab__fw6_rules() {
	cat <<-EOF
		table ip6 lab6 {
			chain forward {
				type filter hook forward priority filter; policy drop;
				ct state established,related accept
				iifname "lan0" oifname "wan0" accept
			}
			chain input {
				type filter hook input priority filter; policy accept;
				iifname "wan0" ct state established,related accept
				iifname "wan0" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, echo-request } accept
				iifname "wan0" drop
			}
		}
	EOF
}

# The lab's own STUN server, on the server's two addresses but on ports of
# its own (tests run stund on 3478 themselves). miniupnpd needs it: our WAN
# addresses are in 203.0.113.0/24, which miniupnpd calls reserved, so it
# refuses to map ports unless STUN shows that the address is reachable.
lab__stun_up() {
	[ ! -f "$(lab__run)/pid/lab-stund.pid" ] || return 0
	lab__spawn_node server lab-stund stund -h "$LAB_INET4.1" -a "$LAB_INET4.2" \
		-p "$LAB_STUN_PORT" -o $((LAB_STUN_PORT + 1))
	for _ in $(seq 50); do
		lab__in server ss -Hlun "sport = :$LAB_STUN_PORT" | grep -q . && return 0
		sleep 0.1
	done
	lab__die "the lab's stund did not start; see $(lab__run)/log/lab-stund.log"
}

# A port-mapping router (kind upnp): miniupnpd in the router's namespace,
# answering UPnP-IGD, NAT-PMP and PCP on the LAN. Its rules live in a table
# of their own, "inet miniupnpd", with the chains its nftables backend fills
# (it does not create them since 2.3.0): a DNAT per mapping in prerouting,
# accepts in forward. The lab's own forward chain lets DNATed flows through
# (ct status dnat), so a mapping is reachable from any outside address.
lab__upnp_up() {
	local site=$1 gw=$2 lan_addr=$3 lan_net=$4 index=$5 wan4=$6 run conf
	run=$(lab__run)
	conf="$run/miniupnpd-$site.conf"
	lab__stun_up
	lab__in "$gw" nft -f - <<-EOF
		table inet miniupnpd {
			chain forward { type filter hook forward priority filter; policy accept; jump miniupnpd; }
			chain miniupnpd { }
			chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
			chain postrouting { type nat hook postrouting priority srcnat; policy accept; jump postrouting_miniupnpd; }
			chain prerouting_miniupnpd { }
			chain postrouting_miniupnpd { }
		}
		# STUN must see the router's own address and ports unchanged (the
		# NAT rules would give each of its sockets a random port), and the
		# answers from the other address and port are no replies conntrack
		# knows of: let them in, or the router looks like it is behind a NAT.
		insert rule ip lab srcnat oifname "wan0" ip saddr $wan4 accept
		insert rule ip lab input iifname "wan0" ip saddr { $LAB_INET4.1, $LAB_INET4.2 } udp sport { $LAB_STUN_PORT, $((LAB_STUN_PORT + 1)) } accept
	EOF
	# secure_mode: a host maps ports to itself only, any port: with a
	# narrower "allow", a PCP request for a port outside it makes miniupnpd
	# 2.3.1 try every other external port (it spun for minutes on one
	# request for port 80). The uuid is fixed per site so that runs are
	# repeatable; files stay in the run dir.
	cat >"$conf" <<-EOF
		ext_ifname=wan0
		listening_ip=lan0
		http_port=$LAB_UPNP_HTTP_PORT
		ipv6_disable=yes
		enable_upnp=yes
		enable_natpmp=yes
		secure_mode=yes
		ext_perform_stun=yes
		ext_stun_host=$LAB_INET4.1
		ext_stun_port=$LAB_STUN_PORT
		upnp_table_name=miniupnpd
		upnp_nat_table_name=miniupnpd
		upnp_forward_chain=miniupnpd
		upnp_nat_chain=prerouting_miniupnpd
		upnp_nat_postrouting_chain=postrouting_miniupnpd
		lease_file=$run/miniupnpd-$site.leases
		minissdpdsocket=$run/minissdpd-$site.sock
		system_uptime=no
		notify_interval=60
		min_lifetime=30
		max_lifetime=86400
		uuid=$(printf '4c61624e-0000-4000-8000-%012x' "$index")
		allow 1-65535 $lan_net 1-65535
		deny 0-65535 0.0.0.0/0 0-65535
	EOF
	lab__spawn_node "$gw" "miniupnpd-$site" miniupnpd -d -f "$conf" -P "$run/miniupnpd-$site.pid"
	for _ in $(seq 50); do
		lab__in "$gw" ss -Hlun "sport = :5351" | grep -q "$lan_addr:" && return 0
		sleep 0.1
	done
	lab__die "miniupnpd in $gw did not start; see $run/log/miniupnpd-$site.log"
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

# squid in the router, its state only in the run dir (no cache, no spool,
# no system service): CONNECT only to 443, plain requests only to 80, from
# the LAN only; AUTH none, or basic (basic_ncsa_auth, an apr1 htpasswd) or
# digest (digest_file_auth) for LAB_PROXY_USER, or bump: no auth, and TLS
# intercepted (ssl-bump, lab__squid_bump).
lab__squid_up() {
	local site=$1 gw=$2 lan_addr=$3 lan_net=$4 auth=$5 run conf access pw port_opts=""
	run=$(lab__run)
	conf="$run/squid-$site.conf"
	pw="$run/squid-$site.passwd"
	access="http_access allow lan"
	case $auth in
	bump)
		port_opts=$(lab__squid_bump "$site")
		access+=$'\n'"sslcrtd_program /usr/lib/squid/security_file_certgen -s $run/squid-$site.certdb -M 4MB"
		access+=$'\n'"sslcrtd_children 2 startup=1 idle=1"
		access+=$'\n'"ssl_bump bump all"
		access+=$'\n'"tls_outgoing_options flags=DONT_VERIFY_PEER"
		access+=$'\n'"sslproxy_cert_error allow all"
		;;
	basic)
		printf '%s:%s\n' "$LAB_PROXY_USER" "$(openssl passwd -apr1 "$LAB_PROXY_PASS")" >"$pw"
		access="auth_param basic program /usr/lib/squid/basic_ncsa_auth $pw"
		;;
	digest)
		printf '%s:%s\n' "$LAB_PROXY_USER" "$LAB_PROXY_PASS" >"$pw"
		access="auth_param digest program /usr/lib/squid/digest_file_auth $pw"
		;;
	esac
	if [ "$auth" = basic ] || [ "$auth" = digest ]; then
		access+=$'\n'"auth_param $auth realm roam-lab"$'\n'"acl authed proxy_auth REQUIRED"
		access+=$'\n'"http_access allow lan authed"
		chmod 600 "$pw"
		chown proxy "$pw"
	fi
	# squid drops to its user (proxy) for its logs and the password file.
	touch "$run/log/squid-$site.access.log" "$run/log/squid-$site.cache.log"
	chown proxy "$run/log/squid-$site.access.log" "$run/log/squid-$site.cache.log"
	cat >"$conf" <<-EOF
		http_port $lan_addr:$LAB_PROXY_PORT$port_opts
		pid_filename none
		cache deny all
		cache_mem 1 MB
		cache_log $run/log/squid-$site.cache.log
		access_log stdio:$run/log/squid-$site.access.log
		cache_store_log none
		coredump_dir $run
		visible_hostname gw-$site.lab
		shutdown_lifetime 1 seconds
		via off
		forwarded_for delete
		acl lan src $lan_net
		acl SSL_ports port 443
		acl Web_ports port 80 443
		acl CONNECT method CONNECT
		http_access deny CONNECT !SSL_ports
		http_access deny !Web_ports
		http_upgrade_request_protocols WebSocket allow all
		http_upgrade_request_protocols OTHER allow all
		$access
		http_access deny all
	EOF
	lab__spawn_node "$gw" "squid-$site" squid -N -f "$conf"
	lab__wait_listen "$gw" "$lan_addr:$LAB_PROXY_PORT" ||
		lab__die "squid in $gw did not start; see $run/log/squid-$site.log and squid-$site.cache.log"
}

# An intercepting squid (kind intercept): the lab's CA (made once per lab
# by openssl, in the run dir: lab_intercept_ca prints its certificate's
# path) signs a certificate for every host a client CONNECTs to, made by
# security_file_certgen with its database in the run dir. Prints the
# http_port options.
lab__squid_bump() {
	local site=$1 run ca
	run=$(lab__run)
	ca="$run/intercept-ca.pem"
	if [ ! -e "$ca" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=roam lab intercepting CA" \
			-addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$run/intercept-ca.key" -out "$run/intercept-ca.crt" 2>/dev/null ||
			lab__die "openssl could not make the intercepting CA"
		cat "$run/intercept-ca.crt" "$run/intercept-ca.key" >"$ca"
		chmod 600 "$ca" "$run/intercept-ca.key"
		chown proxy "$ca"
	fi
	/usr/lib/squid/security_file_certgen -c -s "$run/squid-$site.certdb" -M 4MB >/dev/null 2>&1 ||
		lab__die "security_file_certgen could not make its database (is squid-openssl installed?)"
	chown -R proxy "$run/squid-$site.certdb"
	printf ' ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=4MB tls-cert=%s' "$ca"
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
	local name=$1 kind=$2 index=$3 hairpin=$4 pubidx=$5 v6=$6 proxyd=${7:-}
	local gw="gw-$name" outer="gw-$name" wan4="$LAB_INET4.$((10 + index))"
	local prefix first plen net6="" gw6="" proxy="" mapping filtering out
	lab__node_add "$gw"
	if [ "$kind" = public ]; then
		prefix=198.51.100.
		first=$((32 * (pubidx - 1)))
		plen=27
		v6=1
	else
		prefix="10.$index.0."
		first=0
		plen=24
	fi
	if [ "$v6" = 1 ]; then
		net6="${LAB_INET6}$index::"
		gw6="${net6}1"
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
		lab__inet_link "$gw" wan0 "$wan4" "$([ "$v6" = 1 ] && echo "${LAB_INET6}:$((10 + index))")"
	fi
	lab__router_sysctls "$gw" "$(case $kind in proxyonly | proxyauth | intercept) echo 0 ;; *) echo 1 ;; esac)"
	lab__bridge "$gw" lan0
	lab__ip "$gw" addr add "$prefix$((first + 1))/$plen" dev lan0
	if [ "$v6" = 1 ]; then
		lab__ip "$gw" addr add "${gw6}/64" dev lan0 nodad
		lab__inet_route "$gw" -6 "${net6}/64" via "${LAB_INET6}:$((10 + index))"
		[ "$kind" = public ] || lab__fw6_rules | lab__in "$gw" nft -f -
	fi
	if [ "$kind" = public ]; then
		lab__inet_route "$gw" -4 "$prefix$first/$plen" via "$wan4"
	else
		local nat_wan=$wan4
		[ "$kind" = cgnat ] && nat_wan="100.64.$index.2"
		read -r mapping filtering out <<<"$(lab__kind_policy "$kind")"
		lab__nat_rules "$nat_wan" lan0 "$mapping" "$filtering" "$out" "$hairpin" \
			"$(lab__slots "$prefix" "$first")" | lab__in "$gw" nft -f -
	fi
	[ "$kind" != upnp ] || lab__upnp_up "$name" "$gw" "$prefix$((first + 1))" "$prefix$first/$plen" "$index" "$wan4"
	case $proxyd in
	tinyproxy) lab__proxy_up "$name" "$gw" "$prefix$((first + 1))" "$prefix$first/$plen" ;;
	squid) lab__squid_up "$name" "$gw" "$prefix$((first + 1))" "$prefix$first/$plen" none ;;
	basic | digest | bump) lab__squid_up "$name" "$gw" "$prefix$((first + 1))" "$prefix$first/$plen" "$proxyd" ;;
	esac
	[ -z "$proxyd" ] || proxy="http://$prefix$((first + 1)):$LAB_PROXY_PORT"
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
		echo "v6=$v6"
		echo "proxy=$proxy"
		echo "hosts=0"
		echo "readdrs=0"
	} >"$(lab__site_file "$name")"
}

# Give HOST an uplink into SITE: veth "IFNAME" into the site's LAN bridge.
# Only an active uplink gets its address and routes; others stay down.
lab__uplink_add() {
	local host=$1 site=$2 ifname=$3 active=$4 metric=${5:-} sf hf n
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
		lab__kv_put "$hf" "metric_$site" "$metric"
	)
	if [ "$active" = 1 ]; then
		lab__uplink_on "$host" "$site"
	else
		lab__ip "$host" link set "$ifname" down
	fi
}

# Bring HOST's uplink into SITE up with its address and default routes.
lab__uplink_on() {
	local host=$1 site=$2 hf ifname addr4 plen4 gw4 addr6 gw6 metric
	hf=$(lab__host_file "$host")
	metric=$(lab__kv_get "$hf" "metric_$site")
	ifname=$(lab__kv_get "$hf" "if_$site")
	addr4=$(lab__kv_get "$hf" "addr4_$site")
	plen4=$(lab__kv_get "$hf" "plen4_$site")
	gw4=$(lab__kv_get "$hf" "gw4_$site")
	addr6=$(lab__kv_get "$hf" "addr6_$site")
	gw6=$(lab__kv_get "$hf" "gw6_$site")
	lab__ip "$host" link set "$ifname" up
	lab__ip "$host" addr replace "$addr4/$plen4" dev "$ifname"
	# A multihomed host has a default route per uplink, by metric.
	lab__ip "$host" route replace default via "$gw4" dev "$ifname" ${metric:+metric "$metric"}
	if [ -n "$addr6" ]; then
		lab__ip "$host" addr replace "$addr6/64" dev "$ifname" nodad
		lab__ip "$host" -6 route replace default via "$gw6" dev "$ifname" ${metric:+metric "$metric"}
	fi
	lab__kv_put "$hf" site "$site"
}

lab__host_up() {
	local host=$1 mobile=$2 sites=$3 s first=1 metric=100
	lab__node_add "$host"
	# A mobile host answers on whichever uplink is active; a multihomed
	# one (mobile=2) on all of them.
	[ "$mobile" != 0 ] && lab__in "$host" sysctl -q -w net.ipv4.conf.all.rp_filter=0 >/dev/null
	# An uplink that loses its carrier loses its routes, as a network
	# manager would remove them: the next default route takes over.
	if [ "$mobile" = 2 ]; then
		lab__in "$host" sysctl -q -w net.ipv4.conf.all.ignore_routes_with_linkdown=1 >/dev/null
		lab__in "$host" sysctl -q -w net.ipv6.conf.all.ignore_routes_with_linkdown=1 >/dev/null
	fi
	printf 'mobile=%s\nsites=%q\nsite=\n' "$mobile" "$sites" >"$(lab__host_file "$host")"
	for s in $sites; do
		if [ "$mobile" = 1 ]; then
			lab__uplink_add "$host" "$s" "eth-$s" "$first"
		elif [ "$mobile" = 2 ]; then
			# Every uplink up; the first site's default route wins (lowest metric).
			lab__uplink_add "$host" "$s" "eth-$s" 1 "$metric"
			metric=$((metric + 100))
		else
			lab__uplink_add "$host" "$s" eth0 1
		fi
		first=0
	done
	# A multihomed host's "site" is the first: its default route wins.
	[ "$mobile" != 2 ] || lab__kv_put "$(lab__host_file "$host")" site "${sites%% *}"
}

lab__new_id() { printf 'rl%s' "$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"; }

# Parse "NAME:KIND[:COUNT][:hairpin|:nohairpin][:v6]" and
# "NAME:mobile:SITE,SITE[,...][:COUNT]", "NAME:multi:SITE,SITE[,...][:COUNT]",
# then build everything.
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
		if [ "$kind" = mobile ] || [ "$kind" = multi ]; then
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
		name=${field[0]} kind=${field[1]} count=1 hairpin=0 v6=0 proxyd=""
		[ "$kind" != dual ] || v6=1
		[ "$kind" != proxyonly ] || proxyd=tinyproxy
		[ "$kind" != proxyauth ] || proxyd=basic
		[ "$kind" != intercept ] || proxyd=bump
		for f in "${field[@]:2}"; do
			case $f in
			hairpin) hairpin=1 ;;
			nohairpin) hairpin=0 ;;
			v6)
				[[ " $LAB_V6_KINDS " == *" $kind "* ]] || lab__die "option v6: only for $LAB_V6_KINDS, not '$kind'"
				v6=1
				;;
			squid)
				[ "$kind" = proxyonly ] || lab__die "option squid: only for proxyonly, not '$kind'"
				proxyd=squid
				;;
			digest)
				[ "$kind" = proxyauth ] || lab__die "option digest: only for proxyauth, not '$kind'"
				proxyd=digest
				;;
			[0-9]) count=$f ;;
			*) lab__die "bad option '$f' in '$spec'" ;;
			esac
		done
		i=$((i + 1))
		if [ "$kind" = public ]; then
			pubidx=$((pubidx + 1))
			[ "$pubidx" -le "$LAB_MAX_PUBLIC" ] || lab__die "at most $LAB_MAX_PUBLIC public sites"
		fi
		lab__site_up "$name" "$kind" "$i" "$hairpin" "$pubidx" "$v6" "$proxyd"
		for n in $(seq "$count"); do
			lab__host_up "$name$n" 0 "$name"
		done
	done
	for spec in "${mobile_specs[@]}"; do
		IFS=: read -r name kind field count _ <<<"$spec"
		local sites=${field//,/ } s
		[ -n "$sites" ] || lab__die "$kind '$name' needs sites, e.g. $name:$kind:a,b"
		for s in $sites; do
			[ -f "$(lab__site_file "$s")" ] || lab__die "$kind '$name': no site '$s'"
		done
		for n in $(seq "${count:-1}"); do
			lab__host_up "$name$n" "$([ "$kind" = multi ] && echo 2 || echo 1)" "$sites"
		done
	done
	lab__log "$LAB_ID up: ${#site_specs[@]} sites, $(lab__hosts | wc -l) hosts in $((($(date +%s%N) - started) / 1000000)) ms"
}
