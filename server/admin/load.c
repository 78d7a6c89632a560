/* The overview's live numbers (admin.h, "load"): pairs of nodes talking
 * directly and through a relay (from the nodes' path reports), and what
 * is relayed now, per second: by this server (relay 0, sampled from its
 * counters) and by each relay-only server (its last load report). Sent
 * with the overview and every ADMIN_LOAD_PUSH_S on the live-update streams. */
#include <cjson/cJSON.h>

#include "server/admin/admin.h"
#include "server/admin/records.h"
#include "server/admin/stats.h"
#include "server/server.h"

#define LOAD_SAMPLE_MIN_US 1000000u /* rates over at least a second */

/* Relay 0's rates: the counters' change since the last sample. */
static void load_sample(struct admin_http *ah)
{
	const struct server_stats *st = &ah->srv->stats;
	struct admin_load *l = &ah->load;
	uint64_t now = admin_stats_now_us();

	if (l->at_us && now - l->at_us < LOAD_SAMPLE_MIN_US)
		return;
	if (l->at_us) {
		double dt = (double)(now - l->at_us) / 1e6;
		l->datagrams_per_s = (double)(st->relayed - l->datagrams) / dt;
		l->bytes_per_s = (double)(st->relayed_bytes - l->bytes) / dt;
	}
	l->at_us = now;
	l->datagrams = st->relayed;
	l->bytes = st->relayed_bytes;
}

static void add_relay(cJSON *list, const char *name, bool online, double clients, double dps, double bps)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "online", online);
	cJSON_AddNumberToObject(o, "clients", clients);
	cJSON_AddNumberToObject(o, "datagrams_per_s", dps);
	cJSON_AddNumberToObject(o, "bytes_per_s", bps);
}

/* Nodes on relay 0: online without a UDP binding of their own. */
static size_t relay0_clients(const struct server *s)
{
	size_t n = 0;

	for (size_t id = 0; id < s->dir.by_id_cap; id++)
		n += s->dir.by_id[id] && s->dir.by_id[id]->online && !s->dir.by_id[id]->public_ep.len;
	return n;
}

cJSON *admin_load_json(struct admin_http *ah, int64_t now)
{
	struct server *s = ah->srv;
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "relays");
	double dps, bps;
	size_t direct, relayed;

	if (!list)
		return o;
	load_sample(ah);
	server_paths_count(s, &direct, &relayed);
	cJSON_AddNumberToObject(o, "pairs_direct", (double)direct);
	cJSON_AddNumberToObject(o, "pairs_relayed", (double)relayed);
	dps = ah->load.datagrams_per_s;
	bps = ah->load.bytes_per_s;
	add_relay(list, "relay 0 (this server)", true, (double)relay0_clients(s), dps, bps);
	for (size_t i = 1; s->relays && i <= STORE_RELAYS_MAX; i++) {
		const struct srv_relay *rl = s->relays->by_id[i];
		bool on;
		double clients, rdps, rbps;
		if (!rl)
			continue;
		on = admin_relay_online(&rl->rec, now);
		clients = on ? (double)rl->rec.clients : 0;
		rdps = on ? (double)rl->rec.pps : 0;
		rbps = on ? (double)rl->rec.bps / 8 : 0; /* it reports bits/s */
		add_relay(list, rl->rec.name, on, clients, rdps, rbps);
		dps += rdps;
		bps += rbps;
	}
	cJSON_AddNumberToObject(o, "relayed_datagrams_per_s", dps);
	cJSON_AddNumberToObject(o, "relayed_bytes_per_s", bps);
	return o;
}
