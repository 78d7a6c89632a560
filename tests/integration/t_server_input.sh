#!/usr/bin/env bash
# roam-server and what a client sends it (issue 7): a node that sends 64 MiB
# up its open /v1/stream (nodes only listen there) costs the server at most a
# few MiB and its stream keeps working; requests with two Content-Lengths,
# or Content-Length and Transfer-Encoding, are refused (400) and the
# connection closed.
#
#   a1 198.51.100.11  stream_upload (node U), openssl s_client ---+
#   a2 198.51.100.12  node B (bench/coord_sim)                    ---+--- inet --- server 203.0.113.1
#                                                                               roam-server :443
set -euo pipefail
source "$(dirname "$0")/roam_lib.sh"

SERVER=$ROAM_BUILD_DIR/server/roam-server
SIM=$ROAM_BUILD_DIR/bench/coord_sim
for bin in "$SERVER" "$SIM" "$ROAM_BUILD_DIR/libroam.a"; do
	[ -e "$bin" ] || fail "$bin not built"
done
command -v cc >/dev/null || fail "cc not installed (builds tests/integration/stream_upload.c)"

UPLOAD_MIB=64
RSS_MAX_KIB=$((8 * 1024)) # growth allowed for the whole upload

# Under ASan, freed buffers sit in its quarantine (256 MiB): keep it small so
# RSS shows what the server holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1

lab_up a:public:2 >/dev/null
lab_trap
d=$(roam_dir)
state=$d/server
srv_addr=$(lab_server_addr)
root=$(cd "$(dirname "$0")/../.." && pwd)
# Linked with the build's libroam.a (an ASan build's needs the sanitizers too).
build_tool() {
	# shellcheck disable=SC2046
	cc -O2 "$@" -I"$root/lib" -I"$root" -o "$d/stream_upload" "$root/tests/integration/stream_upload.c" \
		"$ROAM_BUILD_DIR/libroam.a" $(pkg-config --libs libsodium libb2 libssl libcrypto libcjson libmnl)
}
build_tool 2>/dev/null || build_tool -fsanitize=address,undefined
lab_exec server "$SERVER" init --state "$state" --host "$srv_addr" --port 443 >/dev/null
srv() { lab_exec server "$SERVER" "$@" --state "$state"; }
server_pid=$(lab_spawn server roam-server "$SERVER" run --state "$state")
wait_for 10 "roam-server listening" lab_exec a1 curl -skf --max-time 1 "https://$srv_addr/v1/info"
srv groups create g >/dev/null
tok=$(srv keys create --reusable --group g | grep -o 'roam1\.[A-Za-z0-9_-]*')
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status"; }

say "node B (coord_sim) on a2; node U on a1 opens its stream"
(umask 077 && openssl rand -base64 32 >"$d/nodeB.key")
mkfifo "$d/nodeB.in"
exec {b_fd}<>"$d/nodeB.in"
lab_spawn a2 sim-nodeB sh -c "exec '$SIM' node --server '$srv_addr:443' --token '$tok' --name nodeB \
	--key '$d/nodeB.key' <'$d/nodeB.in'" >/dev/null
wait_for 10 "B streaming" grep -q '^stream {"type":"peers"' "$(lab_log_file sim-nodeB)"
lab_spawn a1 upload "$d/stream_upload" "$srv_addr" 443 "$tok" nodeU "$UPLOAD_MIB" >/dev/null
wait_for 10 "U streaming" grep -q '^streaming' "$(lab_log_file upload)"
rss0=$(rss)

say "U sends $UPLOAD_MIB MiB up its stream"
wait_for 60 "upload done" grep -q '^uploaded' "$(lab_log_file upload)"
sleep 1
rss1=$(rss)
say "$(grep '^uploaded' "$(lab_log_file upload)"); server RSS ${rss0} KiB -> ${rss1} KiB"
grep -q "^uploaded $UPLOAD_MIB MiB" "$(lab_log_file upload)" || fail "the upload stalled"
[ $((rss1 - rss0)) -le "$RSS_MAX_KIB" ] || fail "server RSS grew by $((rss1 - rss0)) KiB"
grep -q 'discarded' "$(lab_log_file roam-server)" || fail "no 'discarded' log line"

say "U's stream still works: B moves, U hears of it"
echo bind >&"$b_fd"
wait_for 5 "B's ack" grep -q '^ack ' "$(lab_log_file sim-nodeB)"
old=$(sed -n 's/^ack //p' "$(lab_log_file sim-nodeB)" | tail -1)
echo rebind >&"$b_fd"
wait_for 5 "B's new ack" sh -c "sed -n 's/^ack //p' '$(lab_log_file sim-nodeB)' | tail -1 | grep -vqx '$old'"
new=$(sed -n 's/^ack //p' "$(lab_log_file sim-nodeB)" | tail -1)
wait_for 5 "U sees B at $new" grep -q "\"public_endpoint\":\"$new\"" "$(lab_log_file upload)"
lab_stop upload

# raw REQUEST: the status line of the answer over TLS (the server closes).
raw() {
	local out
	out=$(printf '%b' "$1" | lab_exec a1 timeout 10 openssl s_client -quiet -connect "$srv_addr:443" 2>/dev/null) || true
	printf '%s\n' "$out" | head -1 | tr -d '\r'
}
say "two Content-Lengths: 400"
got=$(raw 'POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}')
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "duplicate Content-Length: got '$got'"
got=$(raw 'POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}')
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "repeated Content-Length: got '$got'"
say "Content-Length with Transfer-Encoding: 400"
got=$(raw 'POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n')
[ "$got" = "HTTP/1.1 400 Bad Request" ] || fail "Content-Length + Transfer-Encoding: got '$got'"
say "one Content-Length: the request reaches Roam-Auth (401)"
got=$(raw 'POST /v1/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}')
[ "$got" = "HTTP/1.1 401 Unauthorized" ] || fail "a plain request: got '$got'"
lab_exec a1 curl -skf --max-time 2 -o /dev/null "https://$srv_addr/v1/info" || fail "server not answering"
say "PASS"
