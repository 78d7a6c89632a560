/* The path manager in `roam status --json` (names fixed with the CLI:
 * docs/control-protocol.md). */
#include <cjson/cJSON.h>
#include <string.h>

#include "daemon/paths/birthday_roamd.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"

static const char *transport_name(const struct endpoint *ep)
{
	return endpoint_transport_name(endpoint_transport(ep));
}

static double ms(uint64_t ns)
{
	return (double)(ns / 1000) / 1000.0;
}

static void add_path(cJSON *o, const struct path *p)
{
	struct endpoint ep;
	char text[ENDPOINT_STRLEN];
	if (paths_path_endpoint(p, &ep) < 0 || endpoint_format(&ep, text, sizeof(text)) < 0)
		return;
	cJSON_AddStringToObject(o, "transport", transport_name(&ep));
	cJSON_AddStringToObject(o, "address", text);
}

/* Tamper detection and the redundant receiver (tamper.c), only when
 * something happened. */
static void tamper_json(cJSON *o, const struct path *p, uint64_t now)
{
	if (p->tampered)
		cJSON_AddNumberToObject(o, "bad_packets", (double)p->tampered);
	if (p->quarantines)
		cJSON_AddNumberToObject(o, "quarantines", p->quarantines);
	if (p->state == PATH_QUARANTINED)
		cJSON_AddNumberToObject(o, "quarantine_left_ms",
					(double)((p->quarantine_until_ns > now ? p->quarantine_until_ns - now : 0) /
						 EV_NSEC_PER_MSEC));
	if (p->copies_won)
		cJSON_AddNumberToObject(o, "copies_won", (double)p->copies_won);
}

static cJSON *path_json(const struct path *p, const struct paths_iface *iface, uint64_t now)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", p->id);
	add_path(o, p);
	cJSON_AddStringToObject(o, "state", path_state_name(p->state));
	if (iface)
		cJSON_AddStringToObject(o, "interface", iface->name);
	if (p->has_rtt) {
		cJSON_AddNumberToObject(o, "rtt_ms", ms(p->srtt_ns));
		cJSON_AddNumberToObject(o, "jitter_ms", ms(p->jitter_ns));
	}
	if (p->degraded)
		cJSON_AddTrueToObject(o, "degraded");
	if (p->metered)
		cJSON_AddTrueToObject(o, "metered");
	if (p->suspect_count)
		cJSON_AddNumberToObject(o, "suspect_count", (double)p->suspect_count);
	cJSON_AddNumberToObject(o, "loss_permille", path_loss_permille(p));
	tamper_json(o, p, now);
	cJSON_AddNumberToObject(o, "since_ms", (double)((now - p->state_since_ns) / EV_NSEC_PER_MSEC));
	if (p->last_rx_ns)
		cJSON_AddNumberToObject(o, "last_rx_ms", (double)((now - p->last_rx_ns) / EV_NSEC_PER_MSEC));
	if (p->bytes_sent) {
		/* Measured: the bandwidth policy's figure (lib/path/path_choice.c). */
		cJSON_AddNumberToObject(o, "bytes_sent", (double)p->bytes_sent);
		cJSON_AddNumberToObject(o, "tx_kbps", (double)(path_rate(p, now) * 8 / 1000));
	}
	return o;
}

/* The interface a path leaves by (multihomed), or its address. */
static void add_via(cJSON *o, const char *key, const struct roamd *d, const struct path *p)
{
	const struct paths_iface *iface = paths_iface_of(d, p);
	struct endpoint ep;
	char text[ENDPOINT_STRLEN];
	if (iface)
		cJSON_AddStringToObject(o, key, iface->name);
	else if (paths_path_endpoint(p, &ep) == 0 && endpoint_format(&ep, text, sizeof(text)) == 0)
		cJSON_AddStringToObject(o, key, text);
}

/* Each application class that carried data to this peer: its policy, the
 * path (and copy, or spread) it takes now, packets and copies sent. */
static void classes_json(const struct roamd *d, const struct paths_peer *pp, cJSON *o)
{
	const struct node_settings *s = &d->host.settings;
	cJSON *arr = NULL;
	for (unsigned k = 0; k <= s->n_classes && k <= PATH_CLASS_MAX; k++) {
		if (!pp->class_packets[k])
			continue;
		if (!arr && !(arr = cJSON_AddArrayToObject(o, "classes")))
			return;
		enum path_policy pol = k ? s->classes[k - 1].policy : pp->set.policy;
		const struct path *second, *p = path_choice(&pp->set, pol, 0, &second);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "class", k ? s->classes[k - 1].name : "default");
		cJSON_AddStringToObject(c, "policy", path_policy_name(pol));
		if (pol == PATH_POLICY_BANDWIDTH && pp->set.spread_n) {
			cJSON *sp = cJSON_AddArrayToObject(c, "spread");
			for (unsigned i = 0; i < pp->set.spread_n; i++)
				cJSON_AddItemToArray(sp, cJSON_CreateNumber(pp->set.paths[pp->set.spread_slot[i]].id));
		} else if (p) {
			cJSON_AddNumberToObject(c, "path", p->id);
			add_via(c, "via", d, p);
		}
		if (second) {
			cJSON_AddNumberToObject(c, "duplicate_path", second->id);
			add_via(c, "duplicate_via", d, second);
		}
		cJSON_AddNumberToObject(c, "packets", (double)pp->class_packets[k]);
		cJSON_AddNumberToObject(c, "duplicates", (double)pp->class_dups[k]);
		cJSON_AddItemToArray(arr, c);
	}
}

void roamd_paths_peer_json(const struct roamd *d, const struct wg_peer *peer, cJSON *o)
{
	const struct paths_peer *pp = paths_peer_of(peer);
	uint64_t now = ev_now(d->loop);
	if (!pp)
		return;
	cJSON *arr = cJSON_AddArrayToObject(o, "paths");
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &pp->set.paths[i];
		if (!p->in_use)
			continue;
		cJSON *pj = path_json(p, paths_iface_of(d, p), now);
		paths_trace_path_json(d, pp, p, pj);
		if (p->id == pp->set.duplicate_id) /* the redundant policy's second path */
			cJSON_AddTrueToObject(pj, "duplicate");
		cJSON_AddItemToArray(arr, pj);
	}
	cJSON_AddStringToObject(o, "policy", path_policy_name(pp->set.policy));
	if (node_settings_peer_policy(&d->host.settings, pp->info.name) != d->host.settings.policy ||
	    pp->set.policy != d->host.settings.policy)
		cJSON_AddTrueToObject(o, "policy_own"); /* roam policy set --peer */
	classes_json(d, pp, o);
	if (pp->set.better_id) /* confirm mode: waits for `roam path use` */
		cJSON_AddNumberToObject(o, "better_path", pp->set.better_id);
	if (pp->dup_sent)
		cJSON_AddNumberToObject(o, "duplicates_sent", (double)pp->dup_sent);
	if (pp->dup_received)
		cJSON_AddNumberToObject(o, "duplicates_received", (double)pp->dup_received);
	if (pp->replays)
		cJSON_AddNumberToObject(o, "replays", (double)pp->replays);
	if (pp->quarantine_event_ns) {
		cJSON *q = cJSON_AddObjectToObject(o, "last_quarantine");
		cJSON_AddNumberToObject(q, "path", pp->quarantine_event_path);
		cJSON_AddNumberToObject(q, "ago_ms", (double)((now - pp->quarantine_event_ns) / EV_NSEC_PER_MSEC));
	}
	const struct path *a = path_active(&pp->set);
	if (a) {
		cJSON *ap = cJSON_AddObjectToObject(o, "active_path");
		add_path(ap, a);
		cJSON_AddNumberToObject(ap, "since_ms", (double)((now - pp->active_since_ns) / EV_NSEC_PER_MSEC));
		cJSON_AddStringToObject(ap, "why", paths_why_name(pp->active_why));
		if (pp->direct_since_ns) /* through switches between direct paths */
			cJSON_AddNumberToObject(ap, "direct_since_ms",
						(double)((now - pp->direct_since_ns) / EV_NSEC_PER_MSEC));
	} else {
		cJSON_AddNullToObject(o, "active_path");
	}
	if (pp->queue_buf) {
		/* Datagrams held while no path was usable (handover.c). */
		const struct path_queue_stats *qs = &pp->queue.stats;
		cJSON *q = cJSON_AddObjectToObject(o, "held");
		cJSON_AddNumberToObject(q, "queued", (double)qs->queued);
		cJSON_AddNumberToObject(q, "sent", (double)qs->sent);
		cJSON_AddNumberToObject(q, "dropped_age", (double)qs->dropped_age);
		cJSON_AddNumberToObject(q, "dropped_bytes", (double)qs->dropped_bytes);
		cJSON_AddNumberToObject(q, "waiting", path_queue_count(&pp->queue));
	}
	if (pp->observed.len) {
		char text[SOCKADDR_ANY_STRLEN];
		sockaddr_any_format(&pp->observed, text, sizeof(text));
		cJSON_AddStringToObject(o, "observed", text);
	}
}

uint32_t roamd_paths_rtt_ms(const struct wg_peer *peer)
{
	const struct paths_peer *pp = paths_peer_of(peer);
	const struct path *a = pp ? path_active(&pp->set) : NULL;

	return a && a->has_rtt ? (uint32_t)(a->srtt_ns / 1000000u) : 0;
}

const char *roamd_paths_summary(const struct wg_peer *peer)
{
	const struct paths_peer *pp = paths_peer_of(peer);
	const struct path *a = pp ? path_active(&pp->set) : NULL;
	if (!a)
		return "none";
	return a->transport == PATH_TRANSPORT_UDP_DIRECT ? "direct" : "relayed";
}

void roamd_paths_status_json(const struct roamd *d, cJSON *root)
{
	const struct roamd_paths *ps = paths_of(d);
	if (!ps)
		return;
	const struct paths_drops *dr = &ps->drops;
	cJSON *o = cJSON_AddObjectToObject(root, "probe_drops");
	const struct {
		const char *name;
		uint64_t n;
	} rows[] = {
		{ "malformed", dr->malformed },     { "probe_unknown", dr->unknown }, { "not_managed", dr->not_managed },
		{ "ratelimited", dr->ratelimited }, { "bad_mac", dr->bad_mac },       { "replayed", dr->replayed },
		{ "unanswered", dr->unanswered },   { "wrong_path", dr->wrong_path }, { "callme_direct", dr->callme_direct },
		{ "quarantined", dr->quarantined },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cJSON_AddNumberToObject(o, rows[i].name, (double)rows[i].n);
	cJSON_AddNumberToObject(root, "bad_packets_unattributed", (double)ps->tamper_unattributed);
	roamd_birthday_status_json(d, root); /* "hard_nat" */
	paths_ifaces_status_json(d, root);    /* "interfaces" */
}
