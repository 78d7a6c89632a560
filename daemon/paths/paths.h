/* The path manager: lib/path wired into roamd's privileged monitor (managed
 * mode). Per managed peer a path set (its candidates: the server's relay,
 * its public and private endpoints, what CALLMEs and authenticated traffic
 * taught us), probe keys derived once from our private key, a replay window
 * and a table of our unanswered PINGs. The path set's policy picks the
 * path the engine sends on (wg_peer_set_endpoint); this module sends the
 * probes the policy asks for and feeds back what arrives.
 *
 * Only the monitor holds the node key, so probes are built and checked
 * here; the agent only tells us each peer's candidates (struct
 * managed_peer_info). A node probes only addresses from the server's view,
 * from a CALLME the server relayed, or the source of an authenticated PONG
 * or WireGuard message of that peer: never an address only because an
 * unauthenticated datagram came from it. */
#ifndef ROAM_DAEMON_PATHS_PATHS_H
#define ROAM_DAEMON_PATHS_PATHS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/managed/managed_host.h"
#include "net/endpoint.h"
#include "path/path.h"
#include "wg/device.h"

struct roamd;
struct wg_peer;
typedef struct cJSON cJSON;

/* Start and stop with managed mode (host.c); stop removes nothing from
 * the engine, the host does. 0 or -ENOMEM. */
int roamd_paths_start(struct roamd *d);
void roamd_paths_stop(struct roamd *d);

/* A managed peer was added or its view changed (online, candidates).
 * peer->user must be a struct paths_peer from roamd_paths_peer_new. */
struct paths_peer *roamd_paths_peer_new(struct roamd *d, struct wg_peer *peer); /* NULL: no memory or bad key */
void roamd_paths_peer_update(struct roamd *d, struct wg_peer *peer, const struct managed_peer_info *info);
void roamd_paths_peer_free(struct roamd *d, struct wg_peer *peer); /* keys wiped; before wg_peer_remove */
/* The view says the peer is offline (host.c, on the change or when it is
 * first listed so). roamd_paths_session_predates_absence: whether our
 * newest session with it is older than that (it may have restarted and
 * lost it: start a new one) or was made since (first contact can beat the
 * server's view of a new node coming online: keep it). */
void roamd_paths_peer_went_offline(struct roamd *d, struct wg_peer *peer);
bool roamd_paths_session_predates_absence(const struct wg_peer *peer);
/* Relay `relay` stopped answering (the agent's RELAY_PINGs): every path
 * through it goes now, whatever taught it; the next relay's path (a
 * standby, probed all along) takes over at once. */
void roamd_paths_relay_dead(struct roamd *d, uint8_t relay);
/* Something every peer's candidates depend on changed (the server's UDP address). */
void roamd_paths_view_changed(struct roamd *d);

/* The engine (managed mode's ops->endpoint_seen): an authenticated message
 * of peer came from src, which is not its current endpoint. */
void roamd_paths_endpoint_seen(void *ctx, struct wg_peer *peer, const struct endpoint *src);
/* The engine (managed mode's ops->rejected and ops->repeated, tamper.c):
 * a bad packet from src, counted against the path it names (quarantined
 * past the threshold); a second copy of a data packet, a redundant
 * sender's duplicate or a replay. */
void roamd_paths_rejected(void *ctx, struct wg_peer *peer, const struct endpoint *src, enum wg_reject why);
void roamd_paths_repeated(void *ctx, struct wg_peer *peer, const struct endpoint *src, const struct endpoint *first,
			  bool duplicate);
/* The engine sends msg to peer at `to` (dataplane.c's ops->send): feeds
 * the path layer's check; true if the datagram was queued instead (no path
 * is usable for a moment: it leaves on the next one), false: send it. */
bool roamd_paths_data_out(struct roamd *d, struct wg_peer *peer, const struct endpoint *to, const uint8_t *msg,
			  size_t len);
/* Our own underlay address changed: every path is probed again at once. */
void roamd_paths_local_change(struct roamd *d);
/* A probe (0x85..0x87), direct or relayed, from dataplane.c's demultiplexer. */
void roamd_probe_input(struct roamd *d, const uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now);
/* The last phase of a loop turn: the timer follows the earliest path deadline. */
void roamd_paths_rearm(struct roamd *d);

/* `roam status --json`: a managed peer's "paths", "active_path" and
 * "observed" go into o; the node's "probe_drops" into root. */
void roamd_paths_peer_json(const struct roamd *d, const struct wg_peer *peer, cJSON *o);
void roamd_paths_status_json(const struct roamd *d, cJSON *root);
/* "direct", "relayed" or "none": the one-word summary `roam status` shows. */
const char *roamd_paths_summary(const struct wg_peer *peer);
/* The active path's smoothed round trip, in ms; 0: none or not measured. */
uint32_t roamd_paths_rtt_ms(const struct wg_peer *peer);

/* `roam set` (settings.c): settings (a JSON object, node_settings.h; NULL:
 * only show them) merged, saved and applied live; the reply
 * {"settings":{...}} or {"error":...}; NULL: no memory. */
char *roamd_settings_request(struct roamd *d, const char *settings);
/* `roam path use PEER ID|--auto` (settings.c): id a path's id as `roam
 * status --json` shows it, or "auto" (the best). {"ok":true} or {"error":...}. */
char *roamd_path_use_request(struct roamd *d, const char *peer, const char *id);

/* `roam ping`. */
struct paths_ping_result {
	bool answered;              /* false: timed out, nothing answered */
	struct endpoint ep;         /* the path that answered first (prefer direct: see below) */
	enum path_transport transport;
	uint64_t rtt_ns;
	unsigned probed, answers;   /* paths probed, answers received before reporting */
};
typedef void (*paths_ping_cb)(void *ctx, const struct paths_ping_result *r);
/* Probe every path of the peer now (outside the path timers: these PINGs
 * have their own txids and do not count as the timers' probes). Report
 * once: when a direct path answers, or at timeout_ns with the best answer
 * so far (a relay), or with answered = false. -ENOENT no paths (or not a
 * managed peer), -EBUSY more than PATHS_PING_MAX pings outstanding. */
#define PATHS_PING_MAX 8
int roamd_paths_ping(struct roamd *d, struct wg_peer *peer, uint64_t timeout_ns, paths_ping_cb cb, void *ctx);
void roamd_paths_ping_cancel(struct roamd *d, void *ctx); /* the control connection closed */

#endif
