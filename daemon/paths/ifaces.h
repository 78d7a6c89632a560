/* Every interface (issue 13): on a host with two or more usable uplinks,
 * one UDP socket per interface, bound to it (SO_BINDTODEVICE), and for
 * every peer a path per direct candidate x interface, so a multihomed node
 * really sends on the interface a path names, whatever the default route
 * says, and keeps the other interfaces' paths probed and their NAT mappings
 * alive as standbys.
 *
 * Why SO_BINDTODEVICE rather than one socket with IP_PKTINFO source
 * selection: with a source address alone the kernel still routes by the
 * main table, so a packet from the Wi-Fi address would leave through the
 * wired default route (and be dropped by the next router's reverse-path
 * filter, or NATed on the wrong network); binding to the device makes the
 * route lookup keep to that device's own routes (its default route
 * included) without policy routing rules. The sockets are extra sockets of
 * the monitor (daemon/paths/aux_sockets.h, shared with hard-NAT probing),
 * and a path on one is an EP_UDP_AUX endpoint: its slot names the local
 * side, so the path's opaque address carries it.
 *
 * Paths through the default route (the tunnels' own socket) stay, at a
 * cost (PATHS_IFACE_DEFAULT_ROUTE_COST_US), so that the interface-bound
 * ones carry the data: an interface's paths go the moment it loses its
 * carrier or address (this module watches rtnetlink itself, with no
 * settling delay), and the next best path takes over at once.
 *
 * Behind a NAT that filters by address or port (the peer's or ours), an
 * interface's paths work only once the peer sends to that interface's own
 * mapping (its socket's, not the tunnels' socket's, which the server's
 * BINDING sees). So each interface sends a NETCHECK to the server from its
 * socket (at once, after an address change, then every 25 s) and keeps
 * the observed address as its mapping; our CALLMEs carry the mappings
 * (daemon/paths/probe_rx.c), and a new one sends a CALLME to every online peer: it probes there while we
 * probe it, and both NATs' filters open. A NETCHECK rather than a BINDING:
 * the server keeps one bound endpoint per node, and a BINDING from another
 * socket would move it; a NETCHECK changes nothing at the server.
 *
 * Interface class and cost: wired (0), Wi-Fi (/sys/class/net/IF/wireless:
 * 2 ms), cellular (DEVTYPE=wwan in /sys/class/net/IF/uevent: 30 ms), added
 * to the RTT when paths are compared; `roam set --iface-cost IF=MS` overrides
 * (daemon/node_settings.h), and `--metered IF` makes its paths rank below
 * every healthy unmetered one. ROAMD_SINGLE_PATH=1 turns multihoming off (the comparisons in
 * bench/handover.sh). */
#ifndef ROAM_DAEMON_PATHS_IFACES_H
#define ROAM_DAEMON_PATHS_IFACES_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"
#include "path/path.h"

struct roamd;
struct paths_peer;
typedef struct cJSON cJSON;

#define PATHS_IFACES_MAX 8
#define PATHS_IFACE_DEFAULT_ROUTE_COST_US 50000u

enum paths_iface_class { PATHS_IFACE_WIRED, PATHS_IFACE_WIFI, PATHS_IFACE_CELLULAR };

struct paths_iface {
	bool open;
	char name[IF_NAMESIZE];
	uint8_t slot;       /* its aux socket */
	bool v4, v6;        /* has a usable address of the family */
	enum paths_iface_class cls;
	uint32_t cost_us;
	bool metered;       /* cellular, or `roam set --metered` */
	/* Its own NAT mapping (len 0: not known yet), from a NETCHECK sent to
	 * the server from its socket: the candidate peers behind filtering
	 * NATs must send to before its paths can work (CALLME carries it). */
	struct sockaddr_any mapped;
	uint8_t nc_txid[COORD_NETCHECK_TXID_LEN];
	uint64_t nc_sent_ns, nc_interval_ns;
};

/* With the path manager: 0 or -errno (no rtnetlink: multihoming off). */
int paths_ifaces_start(struct roamd *d);
void paths_ifaces_stop(struct roamd *d);
/* Look at the interfaces again now (after a local change). */
void paths_ifaces_refresh(struct roamd *d);
/* pp's interface paths follow its direct candidates and our interfaces. */
void paths_ifaces_sync_peer(struct paths_peer *pp, uint64_t now);
/* The interface a path is bound to; NULL for the default route's. */
const struct paths_iface *paths_iface_of(const struct roamd *d, const struct path *p);
/* A NETCHECK_ACK received on an extra socket (the transport's
 * demultiplexer): an interface's mapping, if it answers that interface's
 * latest NETCHECK and came from the server. */
void paths_ifaces_netcheck_input(struct roamd *d, uint8_t slot, const uint8_t *buf, size_t len,
				 const struct sockaddr_any *from, uint64_t now);
/* Appends the interfaces' mappings not among out[0..n) (at most max in
 * all) to our CALLME candidates; returns the new count. */
size_t paths_ifaces_own_candidates(const struct roamd *d, struct sockaddr_any *out, size_t n, size_t max);
/* `roam status --json`: "interfaces". */
void paths_ifaces_status_json(const struct roamd *d, cJSON *root);
const char *paths_iface_class_name(enum paths_iface_class c);

#endif
