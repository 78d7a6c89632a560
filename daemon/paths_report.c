/* The peers' paths for the server (paths_report.h). */
#include "daemon/paths_report.h"

#include <string.h>

#include "daemon/paths/candidates.h"
#include "daemon/paths/paths.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"

static uint8_t path_kind(const struct wg_peer *p)
{
	const char *s = roamd_paths_summary(p);

	return strcmp(s, "direct") == 0 ? COORD_PATH_DIRECT : strcmp(s, "relayed") == 0 ? COORD_PATH_RELAYED
											 : COORD_PATH_NONE;
}

/* The active path's transport, relay and age (lib/path's transports, in
 * their order, are coord's from COORD_TRANSPORT_DIRECT on). */
/* A relayed path goes to its relay on that relay's link (UDP, TLS,
 * WebSocket, long-poll): what the console calls its transport. */
static uint8_t relay_transport(const struct roamd *d, uint8_t relay)
{
	static const uint8_t by_link[MANAGED_RELAY_LINK_COUNT] = {
		[MANAGED_RELAY_LINK_NONE] = COORD_TRANSPORT_UDP_RELAY,
		[MANAGED_RELAY_LINK_UDP] = COORD_TRANSPORT_UDP_RELAY,
		[MANAGED_RELAY_LINK_TLS] = COORD_TRANSPORT_TLS_RELAY,
		[MANAGED_RELAY_LINK_WEBSOCKET] = COORD_TRANSPORT_WS_RELAY,
		[MANAGED_RELAY_LINK_LONG_POLL] = COORD_TRANSPORT_POLL_RELAY,
	};
	unsigned link = relay ? d->host.relay_links[relay] : (unsigned)d->host.relay_link;

	return link < MANAGED_RELAY_LINK_COUNT ? by_link[link] : COORD_TRANSPORT_UDP_RELAY;
}

static void active_path(const struct roamd *d, const struct wg_peer *p, uint64_t now, struct coord_path_entry *e)
{
	const struct paths_peer *pp = paths_peer_of(p);
	const struct path *a = pp ? path_active(&pp->set) : NULL;
	struct endpoint ep;
	int relay;

	_Static_assert(COORD_TRANSPORT_POLL_RELAY - COORD_TRANSPORT_DIRECT ==
			       PATH_TRANSPORT_POLL_RELAY - PATH_TRANSPORT_UDP_DIRECT,
		       "the same transports in the same order");
	if (!a || (unsigned)a->transport >= PATH_TRANSPORT_COUNT)
		return;
	e->transport = (uint8_t)(COORD_TRANSPORT_DIRECT + (a->transport - PATH_TRANSPORT_UDP_DIRECT));
	if (a->transport != PATH_TRANSPORT_UDP_DIRECT && paths_path_endpoint(a, &ep) == 0 &&
	    (relay = endpoint_relay_index(&ep)) > 0 && relay <= UINT8_MAX)
		e->relay = (uint8_t)relay;
	if (a->transport == PATH_TRANSPORT_UDP_RELAY)
		e->transport = relay_transport(d, e->relay);
	e->active_s = now > pp->active_since_ns ? (uint32_t)((now - pp->active_since_ns) / EV_NSEC_PER_SEC) : 0;
	if (e->active_s > COORD_PATH_ACTIVE_S_MAX)
		e->active_s = COORD_PATH_ACTIVE_S_MAX;
}

/* Same peers, same kinds, transports and relays (round trips and ages move
 * all the time: not a change). */
static bool same_kinds(const struct coord_paths_report *a, const struct coord_paths_report *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (memcmp(a->e[i].peer, b->e[i].peer, COORD_KEY_LEN) != 0 || a->e[i].path != b->e[i].path ||
		    a->e[i].transport != b->e[i].transport || a->e[i].relay != b->e[i].relay)
			return false;
	return true;
}

struct coord_paths_report *roamd_paths_report_due(struct roamd *d, struct roamd_paths_report *st)
{
	static struct coord_paths_report now_r; /* one data plane, one timer */
	uint64_t now = ev_now(d->loop);

	memset(&now_r, 0, sizeof(now_r)); /* no stack or padding bytes to the agent */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p && now_r.count < COORD_PATHS_REPORT_MAX;
	     p = wg_device_next_peer(p)) {
		struct coord_path_entry *e;
		if (!p->user)
			continue; /* not a managed peer: the server does not know it */
		e = &now_r.e[now_r.count++];
		memcpy(e->peer, p->public_key, COORD_KEY_LEN);
		e->path = path_kind(p);
		e->rtt_ms = roamd_paths_rtt_ms(p);
		active_path(d, p, now, e);
	}
	if (st->sent_at && same_kinds(&now_r, &st->last) && now - st->sent_at < ROAMD_PATHS_REFRESH_S * EV_NSEC_PER_SEC)
		return NULL;
	if (!now_r.count && !st->sent_at)
		return NULL; /* nothing to say yet */
	st->last = now_r;
	st->sent_at = now;
	return &now_r;
}
