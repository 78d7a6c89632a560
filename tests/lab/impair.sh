# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Part of the lab (sourced by lab.sh, not on its own): impairments of a
# host's, a site's or the server's link: loss (nftables), rate (tc tbf) and
# delay (NFQUEUE and lab-nfq-delay, as the kernel has no netem).
# shellcheck disable=SC1090,SC2154 # state files are sourced

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
	local links node ifs="" near bp
	lab__select
	[[ "$pct" =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] || lab__die "loss: PCT like 5 or 0.5"
	bp=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 100 + 0.5 }')
	[ "$bp" -le 10000 ] || lab__die "loss: at most 100"
	links=$(lab__target_links "$target")
	while read -r near _; do
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
