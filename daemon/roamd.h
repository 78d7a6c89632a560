/* The roamd daemon: one event loop that owns the TUN device, the underlay
 * UDP socket, the WireGuard engine and the control socket. */
#ifndef ROAM_DAEMON_ROAMD_H
#define ROAM_DAEMON_ROAMD_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/managed/managed_host.h"
#include "daemon/netcheck_host.h"
#include "daemon/node_settings.h"
#include "daemon/node_state.h"
#include "daemon/paths/paths.h" /* the path manager: roam ping, status */
#include "daemon/static_mode.h"
#include "daemon/transport/dgram_pair.h"
#include "daemon/transport/transport.h"
#include "ev/loop.h"
#include "net/addrwatch.h"
#include "net/netlink.h"
#include "net/tun_offload.h"
#include "net/udp.h"
#include "wg/device.h"

struct roamd_options {
	const char *config_path; /* static mode; NULL: managed mode */
	const char *state_dir;   /* managed mode */
	uint16_t port;           /* managed mode's UDP port */
	const char *interface; /* name hint for the TUN device */
	const char *socket_path;
	const char *agent_user; /* managed mode: the unprivileged agent's user (NULL: default) */
	const char *inbox;      /* managed mode: where pushed files land (NULL: STATE_DIR/inbox) */
};

/* One overlay address family on the TUN device (managed mode). */
struct roamd_overlay_addr {
	bool wanted;     /* the server gave us one */
	int err;         /* 0 configured, else why not (-EAFNOSUPPORT: family off on this host) */
	struct ip_prefix addr, network;
	bool fallback;   /* our unreachable route for the network is in place */
};

struct privsep_parent;
struct roamd_files_host;
struct roamd_paths;

/* Managed mode's data-plane side, in the privileged process: what the
 * agent (daemon/agent.c, unprivileged) asked for and told us. */
struct roamd_host {
	const char *state_dir;
	struct node_state st;           /* node.key and state.json */
	struct node_settings settings;  /* settings.json: `roam set` (node_settings.h) */
	struct managed_status status;   /* as the agent last published it */
	bool have_status;
	struct sockaddr_any server_udp; /* relayed datagrams come from there */
	struct endpoint server_ep;      /* the same, as an endpoint */
	struct roamd_birthday *birthday; /* daemon/paths/birthday_roamd.c: hard-NAT probing */
	uint32_t up_seq;
	struct roamd_overlay_addr addr[2]; /* [0] IPv6, [1] IPv4 */
	uint64_t forward_window_start;  /* rate limit of control datagrams to the agent */
	unsigned forward_count;
	unsigned forward_push_count; /* PUSH_DATA in the same window: their own budget */
	uint64_t forward_dropped;
	uint64_t rebind_at;             /* the last PS_REBIND (rate limit) */
	struct privsep_parent *agent;
	struct roamd_files_host *files; /* daemon/files/: the file service */
	struct roamd_paths *paths; /* daemon/paths/: the path manager */
	struct roamd_netcheck nc;       /* netcheck_host.c */
	/* The relay link (transport/relay_udp.c): the agent says which; for a
	 * TCP one, EP_RELAY datagrams go through the datagram pair. */
	enum managed_relay_link relay_link;
	/* Relay-only servers' links and liveness, by relay id (the agent
	 * says: PS_RELAY_LINK); [0] unused (relay_link above). */
	uint8_t relay_links[256];   /* enum managed_relay_link */
	uint8_t relay_dead[256];    /* 1: no PONG: its paths are dropped */
	struct dgram_pair relay_pair;
	struct ev_io relay_io;
	uint64_t relay_dropped;         /* from the pair: not a RELAY, or malformed */
	/* Relay-only servers (several relays): their UDP addresses, as the
	 * agent read them in the relay map; EP_RELAY(id, node) goes there. */
	size_t relays_count;
	struct roamd_relay_addr {
		uint8_t id; /* 1..255 */
		struct sockaddr_any udp;
		struct endpoint ep;
	} relays[COORD_RELAYS_MAX];
	/* Peers on demand (ondemand_host.c): the questions to the server,
	 * when they expire, and the sweep of idle on-demand peers. */
	struct ondemand od;
	struct ev_timer od_timer, od_idle_timer;
};

struct roamd_stats {
	uint64_t udp_send_errors;  /* datagrams the kernel refused or a full socket dropped */
	uint64_t udp_truncated;    /* datagrams larger than our buffers */
	uint64_t tun_write_errors; /* packets the TUN device refused */
	uint64_t tun_read_errors;
	uint64_t control_dropped;  /* control datagrams from the wrong source or malformed */
};

struct roamd {
	struct ev_loop *loop;
	struct roam_config *cfg;
	struct wg_device *wg;
	struct roamd_stats stats;

	char ifname[IFNAMSIZ];
	int tun_fd;
	struct ev_io tun_io;
	uint8_t *tun_buf; /* one packet with WG_HEADROOM and WG_TAILROOM around it */
	size_t tun_buf_cap;
	/* TUN offloads (IFF_VNET_HDR): reads may be 64 KiB TCP super-packets
	 * that we segment; decrypted TCP segments are coalesced (GRO) before
	 * they are written. NULL/false in plain mode. */
	bool tun_vnet;
	uint8_t *tun_read_buf;   /* TUN_OFFLOAD_READ_MAX bytes */
	struct tun_gro *tun_gro; /* 8 flows x 64 KiB */
	struct netlink_ctx *nl;

	struct udp_socket udp;
	struct ev_io udp_io;
	struct udp_batch *rx; /* received datagrams, decrypted in place */
	struct udp_batch *tx; /* datagrams queued for one sendmmsg */

	struct ev_timer wg_timer; /* the engine's earliest protocol deadline */

	struct addrwatch *addrwatch; /* our own address changes: announce a roam */
	struct ev_io addrwatch_io;
	struct ev_timer roam_timer; /* settles a burst of address events */
	struct ev_signal sigint, sigterm, sighup; /* sighup: managed mode's (static mode has its own) */

	int ctl_fd;
	struct ev_io ctl_io;
	const char *ctl_path;

	bool is_managed;
	/* The TUN packet being encrypted now (dataplane.c): its application
	 * class and flow, for the path it takes (daemon/paths/handover.c);
	 * !valid outside of it (keepalives, handshakes, staged packets). */
	struct path_flow tx_flow;
	struct roamd_host host;
	struct roamd_static static_mode; /* static_mode.c: reloads, DNS */
};

/* dataplane.c: the packet paths between TUN, engine and UDP. */
extern const struct wg_device_ops roamd_wg_ops;
int roamd_dataplane_start(struct roamd *d);
void roamd_dataplane_stop(struct roamd *d);
void roamd_wg_timer_rearm(struct roamd *d);
void roamd_dataplane_flush(struct roamd *d); /* send what the engine queued */
/* An IP packet at buf + WG_HEADROOM (cap bytes in all) into the engine, as from the TUN. */
void roamd_tun_input(struct roamd *d, uint8_t *buf, size_t len, size_t cap, uint64_t now);

/* ondemand_host.c: peers on demand, the data plane's side (daemon/ondemand.h). */
void roamd_ondemand_init(struct roamd *d);
void roamd_ondemand_stop(struct roamd *d);
void roamd_ondemand_no_peer(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt, size_t len);
void roamd_ondemand_unknown_initiator(void *ctx, const uint8_t remote_static[32]);
struct ps_peer_answer;
void roamd_ondemand_answer(struct roamd *d, const struct ps_peer_answer *a);
void roamd_ondemand_agent_started(struct roamd *d); /* questions to the old agent are lost */

/* roaming.c: tell peers at once when our underlay address changes. */
int roamd_roaming_start(struct roamd *d);
void roamd_roaming_stop(struct roamd *d);

/* iface.c: the TUN device, its addresses and routes. */
int roamd_iface_open(struct roamd *d, const char *name_hint);
int roamd_iface_configure(struct roamd *d);
void roamd_iface_close(struct roamd *d);

/* control.c: the local control socket and `roam status`. */
int roamd_control_start(struct roamd *d, const char *path);
void roamd_control_stop(struct roamd *d);
char *roamd_status_json(const struct roamd *d); /* malloc'ed */
/* a as "addr:port" under name, or null when there is none. */
struct cJSON;
void roamd_json_add_endpoint(struct cJSON *o, const char *name, const struct sockaddr_any *a);

/* host.c: managed mode's requests, applied to the data plane. */
bool roamd_overlay_ok(const struct ip_prefix *addr, const struct ip_prefix *net); /* ULA / 100.64/10 only */
int roamd_host_start(struct roamd *d, const struct roamd_options *opt);
void roamd_host_stop(struct roamd *d);
void roamd_host_set_addresses(struct roamd *d, const struct coord_node *self);
void roamd_host_peer_set(struct roamd *d, const struct managed_peer_info *info);
void roamd_host_peer_remove(struct roamd *d, const uint8_t public_key[32]);
void roamd_host_peers_clear(struct roamd *d);
void roamd_host_set_server_udp(struct roamd *d, const struct sockaddr_any *server);
void roamd_host_send_udp(struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len);
void roamd_host_publish_status(struct roamd *d, const struct managed_status *st);
void roamd_host_save_membership(struct roamd *d, const struct managed_membership *ms);
void roamd_host_membership(const struct roamd *d, struct managed_membership *out);
/* `roam up` / `roam down` from the control socket: 0, or -errno with a
 * message in why. *seq_out identifies the request in the status. proxy:
 * NULL keeps the node's, "none" clears it, else a URL (daemon/proxy.h). */
int roamd_host_up(struct roamd *d, const char *server, const char *token, const char *name, const char *proxy,
		  bool force, uint8_t tls_interception, uint32_t *seq_out, char *why, size_t why_size);
void roamd_host_down(struct roamd *d);
void roamd_host_address_changed(struct roamd *d);
void roamd_host_rebind(struct roamd *d); /* the relay stopped answering us */

/* control.c: a request answered later (ping, netcheck). The handler takes a
 * ticket instead of replying; the answer goes out when ready, within the
 * connection's deadline (5 s; after it the client has been told "timed
 * out"). Answering a ticket whose connection has gone only frees json. */
uint64_t roamd_control_defer(struct roamd *d);
/* {"error": message}, malloc'ed. */
char *roamd_control_error(const char *message);
/* A managed peer by name, overlay address or public key, or NULL. */
struct wg_peer *roamd_peer_by_query(struct roamd *d, const char *query);
void roamd_control_answer(struct roamd *d, uint64_t ticket, char *json /* malloc'ed, taken */);

/* test_hooks.c: protocol timing and a fixed ephemeral key from ROAM_TEST_*
 * (test builds only; a release build warns and ignores them). */
void roamd_apply_test_hooks(struct wg_device_ops *ops, struct wg_timing *timing);

#endif
