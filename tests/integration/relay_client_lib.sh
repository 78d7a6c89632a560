# shellcheck shell=bash
# A control server for tests with hand-made nodes (relay_client.c), on top
# of roam_lib.sh:
#   CLIENT                      the relay_client program
#   rcl_server_init             roam-server init on the lab's server (port 443);
#                               sets d (roam_dir), state, srv_addr
#   rcl_server_start [ENV...]   roam-server run (log "roam-server"), until it answers
#   rcl_relay_start HOST TOKEN ARG...  roam-server relay on HOST:443 with its
#                               join token and ARGs (log "relay", new at each
#                               start), until its control stream is open
#   srv ARGS...                 the roam-server CLI on that state
# shellcheck source=roam_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/roam_lib.sh"

# shellcheck disable=SC2034 # the tests'
CLIENT=$ROAM_BUILD_DIR/tests/integration/relay_client

rcl_server_init() {
	d=$(roam_dir)
	state=$d/server
	srv_addr=$(lab_server_addr)
	lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >/dev/null
}

rcl_server_start() {
	lab_spawn server roam-server env "$@" "$SERVER" run --state "$state" --log-level debug >/dev/null
	wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
}

rcl_relay_start() {
	local host=$1 token=$2
	shift 2
	lab_spawn "$host" relay "$SERVER" relay --server "https://$srv_addr:443" --token "$token" --listen :443 \
		--state "$d/relay" "$@" >/dev/null
	wait_for 15 "the relay's control stream open" grep -q 'control stream from .* open' "$(lab_log_file relay)"
}

srv() { lab_exec server "$SERVER" "$@" --state "$state"; }

# rcl_g1_and_relay HOST [RELAY OPTIONS]: group g1 and a reusable key for it
# ($tok), relay r1 registered at HOST's public address ($relay_addr, $rtok)
# and started there with the options.
rcl_g1_and_relay() {
	local host=$1
	shift
	relay_addr=$(lab_public_addr "$host")
	srv groups create g1 >/dev/null
	tok=$(srv keys create --reusable --group g1 | grep -o 'roam1\.[A-Za-z0-9_-]*')
	rtok=$(srv relays add r1 --url "https://$relay_addr:443" --region lab | grep -o 'roamrelay1\.[A-Za-z0-9_-]*')
	rcl_relay_start "$host" "$rtok" "$@"
}
