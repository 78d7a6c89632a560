/* A relay-only server's directory of nodes by ticket (relayonly.h): a
 * node is admitted with a valid ticket (signature, expiry, at or above
 * its floor and the serial it holds), refreshed by newer ones, and dropped
 * (links, binding) when its ticket expires or a floor voids it. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "server/relayonly/relayonly.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define SWEEP_MS 500 /* a floored or expired node goes within this */

static uint64_t floor_of(const struct relayonly *ro, uint32_t id)
{
	return id < ro->floors_cap ? ro->floors[id] : 0;
}

int relayonly_admit_raw(struct server *s, const uint8_t *ticket, size_t len, const uint8_t node_pub[32],
			int64_t now)
{
	struct relayonly *ro = s->ro;
	struct store_node rec;
	struct dir_node *n;
	struct ticket t;
	bool changed;
	int r;

	if ((r = ticket_verify(ticket, len, ro->ticket_key, (uint64_t)now, &t)) < 0) {
		if (r == -ETIMEDOUT)
			ro->tickets_expired++;
		else
			ro->tickets_bad++;
		return -EACCES;
	}
	if (t.node_id == 0 || t.node_id >= RELAYONLY_NODE_ID_MAX || t.group_count > COORD_GROUPS_MAX ||
	    !crypto_equal(t.node_pub, node_pub, 32)) {
		ro->tickets_bad++;
		return -EACCES;
	}
	n = dir_node_get(&s->dir, t.node_id);
	if (t.serial < floor_of(ro, t.node_id) || (n && crypto_equal(n->rec.public_key, node_pub, 32) &&
						   t.serial < n->ticket_serial)) {
		ro->tickets_old++;
		return -EACCES;
	}
	if (n && crypto_equal(n->rec.public_key, node_pub, 32) && t.serial == n->ticket_serial)
		return 0; /* the ticket it holds */
	memset(&rec, 0, sizeof(rec));
	rec.id = t.node_id;
	memcpy(rec.public_key, t.node_pub, 32);
	snprintf(rec.name, sizeof(rec.name), "node-%u", t.node_id);
	rec.approved = true;
	rec.expires_at = (int64_t)t.expires;
	rec.groups_count = t.group_count;
	memcpy(rec.groups, t.groups, t.group_count * sizeof(uint32_t));
	if (n && !crypto_equal(n->rec.public_key, node_pub, 32))
		server_node_forget(s, n); /* the id's key changed: a newer, signed truth */
	if ((r = dir_node_set(&s->dir, &rec, &n, &changed)) < 0)
		return r;
	n->ticket_serial = t.serial;
	return 0;
}

int relayonly_admit(struct server *s, const char *ticket_b64, const uint8_t auth_pub[32], int64_t now)
{
	uint8_t raw[TICKET_LEN_MAX];
	size_t n = strlen(ticket_b64);

	/* the length decides the ticket's size: try each plausible one */
	for (size_t len = TICKET_LEN_MIN; len <= TICKET_LEN_MAX; len += 4) {
		if ((len + 2) / 3 * 4 != n)
			continue;
		if (coord_b64_decode(raw, len, ticket_b64, n, 0) == 0)
			return relayonly_admit_raw(s, raw, len, auth_pub, now);
	}
	s->ro->tickets_bad++;
	return -EACCES;
}

int relayonly_udp_admit(void *ctx, const uint8_t *ticket, size_t len, int64_t now, uint32_t node_id)
{
	struct server *s = ctx;
	struct ticket t;

	if (ticket_parse(ticket, len, &t) < 0 || t.node_id != node_id) {
		s->ro->tickets_bad++;
		return -EACCES;
	}
	return relayonly_admit_raw(s, ticket, len, t.node_pub, now);
}

static void relayonly_drop(struct server *s, struct dir_node *n, const char *why)
{
	log_info("node %u: %s, dropped from this relay", n->rec.id, why);
	server_node_forget(s, n);
}

/* The load report the control thread sends next (every RELAYONLY_LOAD_S). */
static void load_update(struct server *s, int64_t now)
{
	struct relayonly *ro = s->ro;
	static int64_t last;
	size_t udp = 0;

	if (now - last < RELAYONLY_LOAD_S)
		return;
	for (uint32_t id = 0; id < s->dir.by_id_cap; id++)
		if (s->dir.by_id[id] && s->dir.by_id[id]->public_ep.len)
			udp++;
	uint64_t pps = last ? (s->stats.relayed - ro->load_relayed) / (uint64_t)(now - last) : 0;
	uint64_t bps = last ? (s->stats.relayed_bytes - ro->load_bytes) * 8 / (uint64_t)(now - last) : 0;
	pthread_mutex_lock(&ro->load_lock);
	snprintf(ro->load_json, sizeof(ro->load_json),
		 "{\"clients\":%zu,\"links\":{\"udp\":%zu,\"tls\":%zu,\"websocket\":%zu,\"long-poll\":%zu},"
		 "\"pps\":%llu,\"bps\":%llu,\"dropped\":%llu}",
		 s->dir.count, udp, s->links.count[DIR_LINK_TLS], s->links.count[DIR_LINK_WS], s->links.count[DIR_LINK_POLL],
		 (unsigned long long)pps, (unsigned long long)bps, (unsigned long long)s->stats.relay_dropped);
	pthread_mutex_unlock(&ro->load_lock);
	ro->load_relayed = s->stats.relayed;
	ro->load_bytes = s->stats.relayed_bytes;
	last = now;
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	int64_t now = server_wall_now();

	(void)fd;
	(void)what;
	load_update(s, now);
	for (uint32_t id = 0; id < s->dir.by_id_cap; id++) {
		struct dir_node *n = s->dir.by_id[id];
		if (!n)
			continue;
		if (n->rec.expires_at <= now)
			relayonly_drop(s, n, "ticket expired");
		else if (n->ticket_serial < floor_of(s->ro, id))
			relayonly_drop(s, n, "ticket voided");
	}
}

static int floor_set(struct relayonly *ro, uint32_t id, uint64_t serial)
{
	if (id >= RELAYONLY_NODE_ID_MAX)
		return -ERANGE;
	if (id >= ro->floors_cap) {
		size_t cap = ro->floors_cap ? ro->floors_cap : 1024;
		while (cap <= id)
			cap *= 2;
		uint64_t *f = realloc(ro->floors, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		memset(f + ro->floors_cap, 0, (cap - ro->floors_cap) * sizeof(*f));
		ro->floors = f;
		ro->floors_cap = cap;
	}
	if (serial > ro->floors[id])
		ro->floors[id] = serial;
	return 0;
}

static void floors_in(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct relayonly_floor f[64];
	ssize_t n = read(fd, f, sizeof(f));

	(void)what;
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(f[0]); i++) {
		struct dir_node *node;
		if (floor_set(s->ro, f[i].node_id, f[i].serial) < 0)
			continue;
		if ((node = dir_node_get(&s->dir, f[i].node_id)) && node->ticket_serial < f[i].serial)
			relayonly_drop(s, node, "ticket voided");
	}
}

int relayonly_loop_open(struct server *s)
{
	struct relayonly *ro = s->ro;
	struct timeval tv = { 0, SWEEP_MS * 1000 };

	ro->floor_ev = event_new(s->base, ro->pipe[0], EV_READ | EV_PERSIST, floors_in, s);
	ro->sweep_ev = event_new(s->base, -1, EV_PERSIST, sweep, s);
	if (!ro->floor_ev || !ro->sweep_ev || event_add(ro->floor_ev, NULL) < 0 || event_add(ro->sweep_ev, &tv) < 0)
		return -ENOMEM;
	return 0;
}

void relayonly_loop_close(struct server *s)
{
	struct relayonly *ro = s->ro;

	if (!ro)
		return;
	if (ro->floor_ev)
		event_free(ro->floor_ev);
	if (ro->sweep_ev)
		event_free(ro->sweep_ev);
	ro->floor_ev = ro->sweep_ev = NULL;
	free(ro->floors);
	ro->floors = NULL;
	ro->floors_cap = 0;
}
