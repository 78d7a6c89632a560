/* Relay tickets issued by the control server (docs/control-protocol.md,
 * "Several relays"): a node's stream gets {"type":"ticket","ticket":B64}
 * when it connects, every TICKET_REISSUE_S, and at once when its record
 * (groups) changes; each valid TICKET_LIFETIME_S. Serials never go back and
 * have one order across the servers of a network (ticket_serials.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "server/server.h"
#include "server/ticket_serials.h"
#include "util/log.h"

/* Test builds can shorten it so a test sees tickets expire. */
static unsigned ticket_lifetime_s(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *text = getenv("ROAM_TEST_TICKET_LIFETIME_S");
	if (text && strtoul(text, NULL, 10) > 0)
		return (unsigned)strtoul(text, NULL, 10);
#endif
	return TICKET_LIFETIME_S;
}

int ticket_serials_open(struct ticket_serials *ts, struct store *st)
{
	char text[32];
	char *end;

	ts->store = st;
	ts->by_time = store_shared(st);
	ts->next = ts->ceiling = 1;
	if (store_meta_get(st, "ticket_serial", text, sizeof(text)) < 0)
		return 0; /* none issued yet (or by time: none stored) */
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || v == 0)
		return -EBADMSG;
	/* By time too: the counter of a version before it, below any time */
	ts->next = ts->ceiling = v;
	return 0;
}

int ticket_serials_next(struct ticket_serials *ts, uint64_t now_ms, uint64_t *out)
{
	if (ts->by_time) {
		uint64_t t = ticket_serial_of_ms(now_ms);
		*out = ts->next > t ? ts->next : t;
		ts->next = *out + 1;
		return 0;
	}
	if (ts->next >= ts->ceiling) {
		/* Reserved in one statement: atomic (test_coord_store). */
		uint64_t end;
		int r = store_meta_reserve(ts->store, "ticket_serial", 1, TICKET_SERIAL_BLOCK, &end);
		if (r < 0)
			return r;
		ts->next = end - TICKET_SERIAL_BLOCK;
		ts->ceiling = end;
	}
	*out = ts->next++;
	return 0;
}

int ticket_serials_floor(struct ticket_serials *ts, uint64_t now_ms, uint64_t issued, uint64_t *out)
{
	if (!ts->by_time)
		return ticket_serials_next(ts, now_ms, out); /* above all issued, below all to come */
	uint64_t f = ticket_serial_of_ms(now_ms > TICKET_FLOOR_MARGIN_MS ? now_ms - TICKET_FLOOR_MARGIN_MS : 0);
	if (issued >= f)
		f = issued + 1;
	if (ts->next < f)
		ts->next = f; /* our own next tickets stay at or above it */
	*out = f;
	return 0;
}

static uint64_t wall_now_ms(void) { return server_wall_now_ns() / 1000000u; }

int server_tickets_open(struct server *s) { return ticket_serials_open(&s->serials, s->store); }

int server_ticket_serial_next(struct server *s, uint64_t *out)
{
	return ticket_serials_next(&s->serials, wall_now_ms(), out);
}

int server_ticket_floor(struct server *s, uint32_t node_id, uint64_t *out)
{
	const struct dir_node *n = dir_node_get(&s->dir, node_id);
	return ticket_serials_floor(&s->serials, wall_now_ms(), n ? n->ticket_serial : 0, out);
}

/* n's ticket, signed now: its length in out, or -errno. */
int server_ticket_build(struct server *s, const struct dir_node *n, int64_t now, uint8_t *out, size_t cap,
			uint64_t *serial)
{
	struct ticket t;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = server_ticket_serial_next(s, &t.serial)) < 0)
		return r;
	t.node_id = n->rec.id;
	t.expires = (uint64_t)now + ticket_lifetime_s();
	memcpy(t.node_pub, n->rec.public_key, sizeof(t.node_pub));
	/* the store keeps them ascending, at most COORD_GROUPS_MAX (< 64) */
	t.group_count = (uint16_t)n->rec.groups_count;
	memcpy(t.groups, n->rec.groups, n->rec.groups_count * sizeof(uint32_t));
	*serial = t.serial;
	return ticket_build(&t, s->id.ticket_sec, out, cap);
}

void server_ticket_send(struct server *s, struct dir_node *n)
{
	uint8_t raw[TICKET_LEN_MAX];
	char line[64 + 2 * TICKET_LEN_MAX];
	int64_t now = server_wall_now();
	uint64_t serial;
	int len, at;

	if (!n->stream || !dir_node_active(n, now))
		return;
	if ((len = server_ticket_build(s, n, now, raw, sizeof(raw), &serial)) < 0) {
		log_err("ticket for node %u: %s", n->rec.id, strerror(-len));
		return;
	}
	at = snprintf(line, sizeof(line), "{\"type\":\"ticket\",\"ticket\":\"");
	coord_b64_encode(line + at, sizeof(line) - (size_t)at, raw, (size_t)len, 0);
	at += (int)strlen(line + at);
	snprintf(line + at, sizeof(line) - (size_t)at, "\"}\n");
	n->ticket_at = now;
	n->ticket_serial = serial;
	s->stats.tickets++;
	stream_send(n->stream, line, strlen(line));
}

void server_tickets_tick(struct server *s)
{
	int64_t now = server_wall_now();

	if (!s->store)
		return; /* a relay-only server issues none */
	for (struct srv_stream *st = s->streams, *next; st; st = next) {
		next = st->next; /* stream_send may close st */
		if (st->node && now - st->node->ticket_at >= TICKET_REISSUE_S)
			server_ticket_send(s, st->node);
	}
}
