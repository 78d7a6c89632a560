#!/usr/bin/env bash
# The lab proves itself before anything is tested in it: every site kind is
# classified with a real STUN client and socat probes, the firewall kinds
# with curl, port mapping (miniupnpd) with upnpc, natpmpc and PCP, the IPv6
# firewall of dual sites with ping and a hole punch, roaming, re-addressing,
# link loss and the impairments measured.
# See tests/lab/selftest.sh for the topology and the checks.
# roam-test: serial (it measures a rate limit, added delay and TCP throughput)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

need_root
exec bash "$ROAM_ROOT/tests/lab/selftest.sh"
