#!/usr/bin/env bash
# roam-server started by root on a state directory owned by an unprivileged
# user becomes that user before it opens anything: `run` serves nodes on
# port 443 with CAP_NET_BIND_SERVICE as its only capability, and admin
# commands run by root leave every file in the state directory owned by
# that user (never a root-owned database or WAL the server cannot write).
#
#   a1 (public 198.51.100.11) --- inet --- server 203.0.113.1
#   coord_sim node "n1"                    roam-server run :443, as user roampdNNN
set -euo pipefail
source "$(dirname "$0")/coord_lib.sh"

SIM=$ROAM_BUILD_DIR/bench/coord_sim
[ -x "$SERVER" ] && [ -x "$SIM" ] || fail "roam-server or coord_sim not built"
command -v useradd >/dev/null || fail "useradd not installed"

user=roampd$$
top=$(mktemp -d /tmp/roam-privdrop.XXXXXX)
lab_up a:public:1 >/dev/null
lab_trap
# After lab_down (which stops the server), the user and its files.
trap 'lab_down; userdel "$user" 2>/dev/null || true; groupdel "$user" 2>/dev/null || true; rm -rf "$top"' EXIT
useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
chmod 711 "$top"
state=$top/srv
mkdir -m 700 "$state"
chown "$user:$user" "$state"
srv_addr=$(lab_server_addr)
d=$(roam_dir)

# not_owned: files in the state directory that are not the user's.
not_owned() { find "$state" ! -user "$user" -o ! -group "$user"; }

say "roam-server init, run by root, on a directory owned by $user (uid $uid)"
lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >"$d/init.txt"
token=$(grep -o 'roam1\.[A-Za-z0-9_-]*' "$d/init.txt" | head -n 1)
[ -n "$token" ] || fail "init printed no token"
[ -z "$(not_owned)" ] || fail "init left files not owned by $user: $(not_owned)"

say "roam-server run, started by root: serves on port 443 as $user"
lab_spawn server roam-server "$SERVER" run --state "$state" --log-level debug >/dev/null
wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
pid=$(cat "$(lab_rundir)/pid/roam-server.pid")
uids=$(awk '/^Uid:/{print $2, $3, $4, $5}' "/proc/$pid/status")
[ "$uids" = "$uid $uid $uid $uid" ] || fail "roam-server runs with uids $uids, not $uid"
capeff=$(awk '/^CapEff:/{print $2}' "/proc/$pid/status")
capprm=$(awk '/^CapPrm:/{print $2}' "/proc/$pid/status")
# CAP_NET_BIND_SERVICE is bit 10: 0x400, and nothing else.
[ "$capeff" = 0000000000000400 ] && [ "$capprm" = 0000000000000400 ] ||
	fail "capabilities effective $capeff permitted $capprm, want only CAP_NET_BIND_SERVICE"
groups=$(awk '/^Groups:/{print $2}' "/proc/$pid/status")
[ -z "$groups" ] || fail "supplementary groups kept: $groups"

say "a node registers and gets its stream"
(umask 077 && openssl rand -base64 32 >"$d/n1.key")
lab_spawn a1 sim-n1 "$SIM" node --server "$srv_addr:443" --token "$token" --name n1 --key "$d/n1.key" >/dev/null
wait_for 10 "n1 registered" grep -q '^registered ' "$(lab_log_file sim-n1)"
wait_for 10 "n1 stream" grep -q '^stream {"type":"peers"' "$(lab_log_file sim-n1)"

say "admin commands as root: nodes, groups, keys; every file stays $user's"
lab_exec server "$SERVER" nodes --state "$state" | grep -q n1 || fail "nodes does not list n1"
# every spelling of the state option the commands accept
lab_exec server "$SERVER" groups create ops --state="$state" >/dev/null
lab_exec server "$SERVER" keys create --reusable -s "$state" >/dev/null
lab_exec server "$SERVER" nodes --state "$state" >/dev/null
[ -z "$(not_owned)" ] || fail "files not owned by $user: $(not_owned)"
lab_exec a1 curl -skf --max-time 2 "https://$srv_addr/v1/info" >/dev/null || fail "server stopped answering"
kill -0 "$pid" || fail "roam-server died"

say "a state directory owned by root: no switch (root stays root)"
mkdir -m 700 "$top/rootsrv"
lab_exec server "$SERVER" init --state "$top/rootsrv" --host "$srv_addr" --port 8443 >/dev/null
[ "$(stat -c %U "$top/rootsrv/state.db")" = root ] || fail "a root-owned state got another owner"
say "ok"
