/* GET /metrics on the admin listener: Prometheus text format 0.0.4
 * (docs/admin-api.md, "Metrics", names every series). */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "server/admin/admin.h"
#include "server/server.h"

static void metric(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(struct evbuffer *b, const char *name, const char *labels, double v)
{
	evbuffer_add_printf(b, "%s%s %.17g\n", name, labels, v);
}

static void nodes_metrics(struct server *s, struct evbuffer *b)
{
	size_t online = 0, pending = 0, via_udp = 0;

	for (size_t id = 0; id < s->dir.by_id_cap; id++) {
		const struct dir_node *n = s->dir.by_id[id];
		if (!n)
			continue;
		online += n->online;
		pending += !n->rec.approved;
		via_udp += n->online && n->public_ep.len;
	}
	metric(b, "roam_server_nodes", "gauge", "Nodes registered (approved, pending or expired).");
	value(b, "roam_server_nodes", "", (double)s->dir.count);
	metric(b, "roam_server_nodes_online", "gauge", "Nodes online, by how they reach the server.");
	value(b, "roam_server_nodes_online", "{via=\"udp\"}", (double)via_udp);
	value(b, "roam_server_nodes_online", "{via=\"relay_link\"}", (double)(online - via_udp));
	metric(b, "roam_server_nodes_pending", "gauge", "Nodes waiting for an admin's approval.");
	value(b, "roam_server_nodes_pending", "", (double)pending);
	metric(b, "roam_server_streams_open", "gauge", "Open node streams (GET /v1/stream).");
	value(b, "roam_server_streams_open", "", (double)s->streams_count);
	metric(b, "roam_server_views_total", "counter", "Views sent on stream opens: whole, or as a delta (?view=).");
	value(b, "roam_server_views_total", "{kind=\"full\"}", (double)s->view.full_views);
	value(b, "roam_server_views_total", "{kind=\"delta\"}", (double)s->view.deltas);
	metric(b, "roam_server_view_delta_lines_total", "counter", "Lines the view deltas held.");
	value(b, "roam_server_view_delta_lines_total", "", (double)s->view.delta_lines);
	metric(b, "roam_server_peer_pushes_skipped_total", "counter", "Peer lines not pushed: the same as the last one.");
	value(b, "roam_server_peer_pushes_skipped_total", "", (double)s->view.pushes_skipped);
	metric(b, "roam_server_presence_writes_total", "counter",
	       "Presence rows written to the store, and the transactions that held them (batched).");
	value(b, "roam_server_presence_writes_total", "{unit=\"row\"}", (double)s->stats.presence_rows);
	value(b, "roam_server_presence_writes_total", "{unit=\"transaction\"}", (double)s->stats.presence_batches);
}

/* The push channel (server/pushchan/): the stream over UDP. */
static void push_metrics(struct server *s, struct evbuffer *b)
{
	const struct server_stats *st = &s->stats;
	const struct {
		const char *name, *help;
		uint64_t n;
	} c[] = {
		{ "roam_server_push_streams_total", "Push streams opened (the node stream over UDP).", st->push_streams },
		{ "roam_server_push_data_total", "PUSH_DATA datagrams sent, resends included.", st->push_data },
		{ "roam_server_push_resent_total", "PUSH_DATA chunks sent again (no acknowledgement in time).", st->push_resent },
		{ "roam_server_push_acks_total", "PUSH_ACKs accepted.", st->push_acks },
		{ "roam_server_udp_handed_back_total", "Datagrams the relay thread handed to the main loop (BINDINGs, PUSH_ACKs, ...).", st->udp_handed_back },
		{ "roam_server_udp_handback_wakes_total", "Main-loop wakes for them (coalesced while the rate is high).", st->udp_handback_wakes },
		{ "roam_server_push_keeps_total", "PUSH_ACKs with KEEP accepted (each refreshes the binding, as a BINDING).", st->push_keeps },
		{ "roam_server_push_acks_bad_total", "PUSH_ACKs refused (mac, stale, replayed, not from the bound endpoint, bad offset).", st->push_bad },
		{ "roam_server_push_too_big_total", "Push streams ended with TOO_BIG (the node takes its view over HTTPS).", st->push_too_big },
		{ "roam_server_push_dead_total", "Push streams closed: retransmissions unanswered.", st->push_dead },
	};
	size_t open = 0;

	for (const struct srv_stream *x = s->streams; x; x = x->next)
		open += x->push != NULL;
	metric(b, "roam_server_push_streams_open", "gauge", "Node streams held over UDP (the push channel).");
	value(b, "roam_server_push_streams_open", "", (double)open);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		metric(b, c[i].name, "counter", c[i].help);
		value(b, c[i].name, "", (double)c[i].n);
	}
}

static void relay_metrics(struct server *s, struct evbuffer *b)
{
	const struct server_stats *st = &s->stats;
	const struct {
		const char *reason;
		uint64_t n;
	} drops[] = {
		{ "malformed", st->relay_drop_malformed }, { "not_wireguard", st->relay_drop_not_wg },
		{ "bad_size", st->relay_drop_bad_size },   { "unknown_sender", st->relay_drop_sender },
		{ "unknown_destination", st->relay_drop_dest }, { "send_failed", st->relay_drop_send },
		{ "slow_link", st->relay_drop_slow },      { "rate_limit", st->relay_drop_rate },
	};
	char labels[64];

	metric(b, "roam_server_relayed_datagrams_total", "counter", "Datagrams relayed between nodes.");
	value(b, "roam_server_relayed_datagrams_total", "", (double)st->relayed);
	metric(b, "roam_server_relayed_bytes_total", "counter", "Bytes relayed between nodes (relay headers included).");
	value(b, "roam_server_relayed_bytes_total", "", (double)st->relayed_bytes);
	metric(b, "roam_server_relay_drops_total", "counter", "Datagrams the relay dropped, by reason.");
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		snprintf(labels, sizeof(labels), "{reason=\"%s\"}", drops[i].reason);
		value(b, "roam_server_relay_drops_total", labels, (double)drops[i].n);
	}
}

/* NAME_requests_total and NAME_request_duration_seconds by route. */
static void route_metrics(struct evbuffer *b, const char *prefix, const char *what,
			  const struct admin_route_stats *st, const char *const *names, size_t count)
{
	static const char *const le[ADMIN_LATENCY_BUCKETS] = { "0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf" };
	char name[96], help[128], labels[96];

	snprintf(name, sizeof(name), "%s_requests_total", prefix);
	snprintf(help, sizeof(help), "Requests on %s, by route.", what);
	metric(b, name, "counter", help);
	for (size_t r = 0; r < count; r++) {
		snprintf(labels, sizeof(labels), "{route=\"%s\"}", names[r]);
		value(b, name, labels, (double)st[r].requests);
	}
	snprintf(name, sizeof(name), "%s_request_duration_seconds", prefix);
	snprintf(help, sizeof(help), "Time to answer a request on %s, by route.", what);
	metric(b, name, "histogram", help);
	for (size_t r = 0; r < count; r++) {
		uint64_t cum = 0;
		for (size_t i = 0; i < ADMIN_LATENCY_BUCKETS; i++) {
			cum += st[r].buckets[i];
			snprintf(labels, sizeof(labels), "{route=\"%s\",le=\"%s\"}", names[r], le[i]);
			evbuffer_add_printf(b, "%s_bucket%s %llu\n", name, labels, (unsigned long long)cum);
		}
		snprintf(labels, sizeof(labels), "{route=\"%s\"}", names[r]);
		evbuffer_add_printf(b, "%s_sum%s %.6f\n", name, labels, (double)st[r].latency_us_sum / 1e6);
		evbuffer_add_printf(b, "%s_count%s %llu\n", name, labels, (unsigned long long)cum);
	}
}

static void api_metrics(struct server *s, struct admin_http *ah, struct evbuffer *b)
{
	route_metrics(b, "roam_server_node_api", "the nodes' HTTPS API", s->node_api, node_route_names, NODE_ROUTE_COUNT);
	route_metrics(b, "roam_server_admin", "the admin listener", ah->routes, admin_route_names, ADMIN_ROUTE_COUNT);
}

static void auth_metrics(struct server *s, struct admin_http *ah, struct evbuffer *b)
{
	char labels[64];

	metric(b, "roam_server_auth_failures_total", "counter", "Refused authentications, by kind.");
	value(b, "roam_server_auth_failures_total", "{kind=\"node\"}", (double)s->stats.rejected_auth);
	value(b, "roam_server_auth_failures_total", "{kind=\"admin_login\"}", (double)ah->auth.login_failed);
	value(b, "roam_server_auth_failures_total", "{kind=\"admin_login_limited\"}", (double)ah->auth.login_limited);
	value(b, "roam_server_auth_failures_total", "{kind=\"admin_token\"}", (double)ah->auth.token_refused);
	value(b, "roam_server_auth_failures_total", "{kind=\"admin_csrf\"}", (double)ah->auth.csrf_refused);
	metric(b, "roam_server_events_total", "counter", "Events stored in the event log, by kind.");
	for (size_t k = 0; k < sizeof(events_kinds) / sizeof(events_kinds[0]); k++) {
		snprintf(labels, sizeof(labels), "{kind=\"%s\"}", events_kinds[k]);
		value(b, "roam_server_events_total", labels, (double)s->events.by_kind[k]);
	}
	metric(b, "roam_server_events_dropped_total", "counter", "Events not stored (over the rate cap, or a store error).");
	value(b, "roam_server_events_dropped_total", "", (double)s->events.dropped);
}

void admin_metrics(struct admin_req *r)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;

	if (!b) {
		admin_reply_error(r, 500, "out of memory");
		return;
	}
	nodes_metrics(r->srv, b);
	relay_metrics(r->srv, b);
	push_metrics(r->srv, b);
	api_metrics(r->srv, r->ah, b);
	auth_metrics(r->srv, r->ah, b);
	len = evbuffer_get_length(b);
	admin_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}
