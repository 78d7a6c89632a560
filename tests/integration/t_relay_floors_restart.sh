#!/usr/bin/env bash
# Ticket floors survive a restart of the control server (issue 10): a node
# removed while the relay-only server was away, then the control server
# restarted, then the relay back: the relay must still refuse the removed
# node's ticket (a ticket lives up to 10 min). The control server keeps the
# live floors in its store and replays them on the relay's control stream.
#
#   a1 D, E (relay_client, tls) +--- inet --- server 203.0.113.1  roam-server run (control)
#                               +------------ a4  roam-server relay :443 (relay 1)
#
# D opens a link on the relay with its ticket; the relay stops (D's link
# closes); D is removed; the control server restarts; the relay starts
# again; D reopens with the same ticket: 403. Without the floors in the
# store the restarted control server has none to replay, and D gets in.
# E is removed while the control server is stopped (roam-server writes the
# database itself): its floor, at the stored ticket serial ceiling, goes to
# the store too, and E's old ticket is refused the same way.
set -euo pipefail
source "$(dirname "$0")/relay_client_lib.sh"

need_built "$SERVER" "$CLIENT"

lab_up a:public:4 >/dev/null
lab_trap
rcl_server_init
rcl_server_start
rcl_g1_and_relay a4 --log-level debug
go=$d/go
for n in D E; do
	(umask 077 && openssl rand -base64 32 >"$d/$n.key")
	lab_spawn a1 "rc-$n" "$CLIENT" --server "$srv_addr:443" --relay "$relay_addr:443" --token "$tok" \
		--key "$d/$n.key" --name "$n" --kind tls "closed 30000" "waitfile $go 40000" "reopen" "hold 500" >/dev/null
done
for n in D E; do
	wait_for 10 "$n's link on the relay" grep -q '^ready' "$(lab_log_file "rc-$n")"
done

say "the relay goes away; D is removed; the control server restarts; the relay comes back"
lab_stop relay
for n in D E; do
	wait_for 5 "$n's link closed with the relay" grep -q '^closed' "$(lab_log_file "rc-$n")"
done
srv nodes remove D >/dev/null ||
	fail "nodes remove D refused; the server's log: $(tail -20 "$(lab_log_file roam-server)")"
wait_for 10 "the control server saw D go (its floor kept)" grep -q 'ticket floors: 1 alive, kept in the store' \
	"$(lab_log_file roam-server)"
lab_stop roam-server
say "E removed while the control server is stopped"
srv nodes remove E >"$d/offline.out" 2>&1 || fail "offline remove: $(cat "$d/offline.out")"
grep -q '1 ticket floor(s) kept' "$d/offline.out" || fail "no floor for E: $(cat "$d/offline.out")"
rcl_server_start
grep -q '2 ticket floors from before the restart' "$(lab_log_file roam-server)" ||
	fail "the control server did not read both floors: $(grep floor "$(lab_log_file roam-server)")"
rcl_relay_start a4 "$rtok" --log-level debug
sleep 1 # the replayed floors: read by the relay's loop
touch "$go"
for n in D E; do
	wait_for 10 "$n's reopen" sh -c "grep -q 'upgrade refused\|reopened' '$(lab_log_file "rc-$n")'"
	grep -q 'upgrade refused: 403' "$(lab_log_file "rc-$n")" ||
		fail "the relay took removed $n's ticket after the restart: $(cat "$(lab_log_file "rc-$n")")"
done
say "D's and E's old tickets refused by the relay after both restarted"
lab_stop relay
lab_stop roam-server
say "PASS"
