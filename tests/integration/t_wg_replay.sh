#!/usr/bin/env bash
# A captured transport packet sent again is dropped and counted as a
# replay; the tunnel keeps working.
set -euo pipefail
source "$(dirname "$0")/interop_lib.sh"

interop_lab_up
interop_wgo
interop_roamd
ping_ok a1 10.10.0.2 || fail "no tunnel"

say "capture one data packet from wireguard-go to roamd"
cap="$(roam_dir)/cap.txt"
lab_spawn a1 tcpdump tcpdump -Z root --immediate-mode -l -n -x -c 1 -i "$(lab_ifname a1)" \
	"udp dst port 51820 and src host $B4 and udp[8] = 4 and greater 100" >/dev/null
sleep 1
lab_exec b1 ping -c 1 -W 1 10.10.0.1 >/dev/null || fail "ping for the capture failed"
wait_for 5 "captured packet" grep -q 0x0010 "$(lab_log_file tcpdump)"
# tcpdump -x prints the IP packet; the UDP payload starts after 20 + 8 bytes.
hex=$(grep -E '^\s+0x' "$(lab_log_file tcpdump)" | sed 's/^\s*0x[0-9a-f]*:\s*//' | tr -d ' \n')
payload=${hex:56}
[ "${payload:0:8}" = 04000000 ] || fail "captured something that is not a data message: ${payload:0:16}"

before=$(roam_json a1 r '.drops.replay')
say "send it again from b1 ($(( ${#payload} / 2 )) bytes)"
perl -e 'print pack("H*", $ARGV[0])' "$payload" >"$(roam_dir)/replay.bin"
lab_exec b1 socat -u "OPEN:$(roam_dir)/replay.bin" "UDP-SENDTO:$A4:51820,sourceport=51821"
replay_counted() { [ "$(roam_json a1 r '.drops.replay')" -gt "$before" ]; }
wait_for 5 "replay counted" replay_counted
ping_ok a1 10.10.0.2 || fail "tunnel broken after the replay"
say "ok"
