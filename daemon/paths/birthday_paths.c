/* The path manager's side of hard-NAT probing: the operations the glue
 * (daemon/paths/birthday_glue.h) needs, over the path manager's peers, and
 * the calls the path manager makes into it. Needs the path manager
 * (paths_internal.h, branch "paths") and the NATs' mapping kinds (netcheck:
 * ours in the status, the peer's in managed_peer_info), so it joins
 * paths_sources when those are merged. Call sites:
 *   paths.c  roamd_paths_start: roamd_birthday_start(d, &paths_birthday_ops)
 *            roamd_paths_stop:  roamd_birthday_stop(d)
 *            on_timer, after path_run_timers(&pp->set, now): paths_birthday_consider(pp, now)
 *            roamd_paths_peer_free, first: birthday_glue_peer_gone(roamd_birthday_glue(d), pp, now)
 *   probe_rx.c pong_input, when coord_probe_pending_take fails:
 *              if (paths_birthday_pong(pp, pong.txid, src, now)) return;
 *            ping_input, after the PONG is sent (any direct source: EP_UDP or EP_UDP_AUX):
 *              paths_birthday_ping_seen(pp, src, now);
 *   status.c roamd_paths_status_json: roamd_birthday_status_json(d, root) */
#include <errno.h>
#include "daemon/paths/birthday_roamd.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

/* Our PING, not a pending one of the path manager's: 1024 of them must not
 * push its own probes out of the pending table. */
static void op_send_ping(void *peer, const struct endpoint *to, const uint8_t txid[COORD_PROBE_TXID_LEN])
{
	struct paths_peer *pp = peer;
	uint8_t msg[sizeof(struct coord_msg_probe_ping)];
	coord_probe_ping_build(msg, &pp->keys, txid, paths_wall_ns());
	roamd_transport_send(pp->d, to, msg, sizeof(msg));
}

/* Probed at once like any candidate: it carries data only after its own
 * probe is answered, which the NATs now let through. */
static void op_path_found(void *peer, const struct endpoint *path)
{
	struct paths_peer *pp = peer;
	paths_learn(pp, path, PATHS_FROM_OBSERVED, ev_now(pp->d->loop));
}

static bool op_path_in_use(void *peer, const struct endpoint *path)
{
	const struct paths_peer *pp = peer;
	return paths_find_endpoint(&pp->set, path) != NULL;
}

const struct birthday_glue_ops paths_birthday_ops = {
	.send_ping = op_send_ping,
	.path_found = op_path_found,
	.path_in_use = op_path_in_use,
};

/* A NAT that maps per destination is easy anyway when it mapped us a port. */
static enum birthday_nat nat_kind(enum coord_mapping mapping, bool port_mapped)
{
	if (port_mapped || mapping == COORD_MAPPING_EIM)
		return BIRTHDAY_NAT_EASY;
	return mapping == COORD_MAPPING_PER_DEST ? BIRTHDAY_NAT_HARD : BIRTHDAY_NAT_UNKNOWN;
}

int paths_birthday_consider(struct paths_peer *pp, uint64_t now)
{
	struct birthday_glue *g = roamd_birthday_glue(pp->d);
	const struct managed_netcheck_result *nc = &pp->d->host.status.netcheck;
	if (!g || !pp->info.online)
		return -ENOENT;
	struct birthday_glue_view v = {
		.node_id = pp->info.node_id,
		.ours = nat_kind(nc->mapping, nc->portmap_proto != 0),
		.peers = nat_kind(pp->info.mapping, pp->info.mapped_endpoint.len != 0),
		.peer_public = pp->info.public_endpoint,
	};
	return birthday_glue_consider(g, pp, &pp->set, &v, now);
}

bool paths_birthday_pong(struct paths_peer *pp, const uint8_t txid[COORD_PROBE_TXID_LEN], const struct endpoint *src,
			 uint64_t now)
{
	struct birthday_glue *g = roamd_birthday_glue(pp->d);
	return g && birthday_glue_pong(g, pp, txid, src, now);
}

void paths_birthday_ping_seen(struct paths_peer *pp, const struct endpoint *src, uint64_t now)
{
	struct birthday_glue *g = roamd_birthday_glue(pp->d);
	if (g)
		birthday_glue_ping_seen(g, pp, src, now);
}
