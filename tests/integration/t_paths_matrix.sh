#!/usr/bin/env bash
# The path matrix (issue 9, section 4): every pair of the site kinds that let
# UDP out ends on the path the table below expects, and passes traffic both
# ways. Two sites of each kind, one managed node in each; every pair of kinds
# is one pair of nodes sharing a group of its own (so a node sees only its
# partners, 4 or 5 of them), all on one server, all pairs at once.
#
#              +-- puba1 pubb1 (public)        syma1 symb1 (symmetric) --+
#              +-- fula1 fulb1 (fullcone)      cgna1 cgnb1 (cgnat) ------+
#   server ----+-- resa1 resb1 (restricted)    upna1 upnb1 (upnp) -------+-- inet
#  roam-server +-- prta1 prtb1 (portrestr.)    duaa1 duab1 (dual) -------+
#
# Which nodes pair up: paths_lib.sh, paths_matrix_pairs. Expected, from the NATs' behaviour (tests/lab/README.md):
#   D  direct (an active UDP path on both sides) within DIRECT_S of joining;
#   B  direct through birthday probing (one per-destination NAT against an
#      endpoint-independent, port-filtering one): within BIRTHDAY_S;
#   R  relayed: two per-destination NATs and no port mapping or IPv6 between them.
# dual's IPv4 is symmetric, so dual x symmetric stays relayed, but dual x dual
# goes direct over IPv6; upnp maps a port, so upnp x anything is direct.
# A pair ending otherwise fails the test with both sides' paths printed.
# roam-test: timing
# roam-test: serial (16 sites and 16 nodes, and it times how soon each pair goes direct: alone, CI load does not decide the figures)
set -euo pipefail
source "$(dirname "$0")/paths_lib.sh"

EXPECT='
         public fullcone restricted portrestricted symmetric cgnat upnp dual
public         D        D          D              D         D     D    D    D
fullcone       .        D          D              D         D     D    D    D
restricted     .        .          D              D         D     D    D    D
portrestricted .        .          .              D         B     D    D    B
symmetric      .        .          .              .         R     B    D    R
cgnat          .        .          .              .         .     D    D    B
upnp           .        .          .              .         .     .    D    D
dual           .        .          .              .         .     .    .    D
'
# Doubled in a sanitizer build (goal_ms): 16 roamds under ASan on 2 cores
# took up to 20 s for a public pair once.
DIRECT_S=${DIRECT_S:-$(($(goal_ms 15000) / 1000))}
BIRTHDAY_S=${BIRTHDAY_S:-$(($(goal_ms 40000) / 1000))}

need_root
need_built "$ROAMD" "$ROAM" "$SERVER"
read -r -a KINDS <<<"$(echo "$EXPECT" | sed -n 2p)"
[ "${KINDS[*]}" = "${PATHS_KINDS[*]}" ] || fail "the table's kinds are not paths_lib.sh's PATHS_KINDS"
# expect I J: the table's letter for kinds I <= J (indexes into KINDS).
expect() { echo "$EXPECT" | sed -n "$(($1 + 3))p" | awk -v c=$(($2 + 2)) '{ print $c }'; }

# shellcheck disable=SC2046 # one word per site
lab_up $(paths_matrix_specs) >/dev/null
lab_trap
coord_server_up
d=$(roam_dir)
read -r -a hosts <<<"$(paths_matrix_hosts | tr '\n' ' ')"

# The pairs: "I J HOST_A HOST_B EXPECTED", each in a group of its own.
pairs=()
declare -A groups_of=()
while read -r i j a b; do
	pairs+=("$i $j $a $b $(expect "$i" "$j")")
	coord_srv groups create "g-$a-$b" >/dev/null
	groups_of[$a]+=" --group g-$a-$b"
	groups_of[$b]+=" --group g-$a-$b"
done < <(paths_matrix_pairs)
say "${#pairs[@]} pairs of ${#KINDS[@]} kinds over ${#hosts[@]} nodes"

for h in "${hosts[@]}"; do coord_node "$h"; done
joins=()
for h in "${hosts[@]}"; do
	# shellcheck disable=SC2086 # the --group options
	tok=$(coord_token ${groups_of[$h]})
	coord_join "$h" "$tok" >"$d/join-$h.txt" 2>&1 &
	joins+=($!)
done
for p in "${joins[@]}"; do wait "$p" || fail "a roam up failed: $(cat "$d"/join-*.txt)"; done
t0=$SECONDS
t0_ms=$(date +%s%3N)

snapshot() { paths_snapshot "$d" "${hosts[@]}"; }
class() { echo "${PATHS_CLS[$1:$2]:-none}"; }
overlay4() { jq -r '.managed.ipv4' "$d/st-$1.json" | cut -d/ -f1; }
want_class() { case $1 in R) echo relay ;; *) echo direct ;; esac; }

# Everyone sees its partners, then the first packets (the relay carries them at once).
seen_all() {
	local pr i j a b e
	snapshot
	for pr in "${pairs[@]}"; do
		read -r i j a b e <<<"$pr"
		jq -e --arg n "$b" 'any(.peers[]; .name == $n and .online)' "$d/st-$a.json" >/dev/null || return 1
		jq -e --arg n "$a" 'any(.peers[]; .name == $n and .online)' "$d/st-$b.json" >/dev/null || return 1
	done
}
wait_for 20 "every node sees its partners online" seen_all
need_path_layer "${hosts[0]}"

# ping_pairs TAG: 3 pings each way in every pair, all at once; the pairs
# where either way got no answer are listed in $d/noping-TAG.
ping_pairs() {
	local pr i j a b e
	: >"$d/noping-$1"
	for pr in "${pairs[@]}"; do
		read -r i j a b e <<<"$pr"
		{ lab_exec "$a" ping -c 3 -i 0.2 -W 1 -w 6 "$(overlay4 "$b")" >/dev/null 2>&1 || echo "$a -> $b" >>"$d/noping-$1"; } &
		{ lab_exec "$b" ping -c 3 -i 0.2 -W 1 -w 6 "$(overlay4 "$a")" >/dev/null 2>&1 || echo "$b -> $a" >>"$d/noping-$1"; } &
	done
	wait
}
ping_pairs first
[ ! -s "$d/noping-first" ] || say "no first packets: $(tr '\n' ' ' <"$d/noping-first")"

# Wait for every pair to reach its expected class; note when it did (ms
# after joining, by the later side's active_path.since_ms).
declare -A reached=()
settled() {
	local pr i j a b e want ca cb since other all=0
	snapshot
	for pr in "${pairs[@]}"; do
		read -r i j a b e <<<"$pr"
		[ -z "${reached[$a-$b]:-}" ] || continue
		want=$(want_class "$e")
		ca=$(class "$a" "$b") cb=$(class "$b" "$a")
		if [ "$ca" = "$want" ] && [ "$cb" = "$want" ]; then
			since=${PATHS_SINCE[$a:$b]} other=${PATHS_SINCE[$b:$a]}
			((other < since)) || since=$other
			reached[$a-$b]=$((since > t0_ms ? since - t0_ms : 0))
		else all=1; fi
	done
	return $all
}
# Not wait_until: one look at 16 nodes takes about a second, so count time, not tries.
until settled || ((SECONDS - t0 > BIRTHDAY_S)); do sleep 0.5; done
# A relayed pair must stay relayed: look once more, after the direct ones had their time.
snapshot

report=$d/matrix.txt
bad=()
printf '%-15s' "" >"$report"
for k in "${KINDS[@]}"; do printf '%-8s' "${PATHS_ABBR[$k]}" >>"$report"; done
declare -A cell=()
for pr in "${pairs[@]}"; do
	read -r i j a b e <<<"$pr"
	want=$(want_class "$e")
	ca=$(class "$a" "$b") cb=$(class "$b" "$a")
	t=${reached[$a-$b]:-}
	lim=$((DIRECT_S * 1000))
	[ "$e" != B ] || lim=$((BIRTHDAY_S * 1000))
	if [ "$ca" != "$want" ] || [ "$cb" != "$want" ]; then
		bad+=("$a x $b (${KINDS[i]} x ${KINDS[j]}): want $want, got $a:$ca $b:$cb")
		cell[$i-$j]="FAIL"
	elif [ "$e" != R ] && { [ -z "$t" ] || [ "$t" -gt "$lim" ]; }; then
		bad+=("$a x $b (${KINDS[i]} x ${KINDS[j]}): direct after ${t:-?} ms, more than $lim ms")
		cell[$i-$j]="SLOW"
	else
		cell[$i-$j]="$e $(awk -v t="$t" 'BEGIN { printf "%.1fs", t / 1000 }')"
		[ "$e" != R ] || cell[$i-$j]=R
	fi
done
for ((i = 0; i < ${#KINDS[@]}; i++)); do
	printf '\n%-15s' "${KINDS[i]}" >>"$report"
	for ((j = 0; j < ${#KINDS[@]}; j++)); do
		if ((j < i)); then printf '%-8s' . >>"$report"; else printf '%-8s' "${cell[$i-$j]}" >>"$report"; fi
	done
done
printf '\n(D direct, B direct by birthday probing, R relayed; seconds from the last roam up to the direct path, 0.0: direct by then)\n' >>"$report"
cat "$report"
cat "$report" >>"${ROAM_TEST_REPORT:-/dev/null}"

say "traffic both ways in every pair, on the final paths"
ping_pairs last
snapshot
for pr in "${pairs[@]}"; do
	read -r i j a b e <<<"$pr"
	if grep -q -e "^$a -> $b\$" -e "^$b -> $a\$" "$d/noping-last"; then
		bad+=("$a x $b (${KINDS[i]} x ${KINDS[j]}): no traffic: $(grep -e "^$a -> $b\$" -e "^$b -> $a\$" "$d/noping-last" | tr '\n' ' ')")
	fi
done

if [ ${#bad[@]} -gt 0 ]; then
	for line in "${bad[@]}"; do
		say "BAD: $line"
		read -r a _ b _ <<<"$line"
		path_show "$a" "$b" || true
		path_show "$b" "$a" || true
	done
	fail "${#bad[@]} of ${#pairs[@]} pairs did not end as expected"
fi
say "all ${#pairs[@]} pairs as expected, traffic both ways ($((SECONDS - t0)) s after joining)"
say "ok"
