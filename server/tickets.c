/* Relay tickets issued by the control server (docs/control-protocol.md,
 * "Several relays"): a node's stream gets {"type":"ticket","ticket":B64}
 * when it connects, every TICKET_REISSUE_S, and at once when its record
 * (groups) changes; each valid TICKET_LIFETIME_S. Serials are server-wide
 * and never go back: the store keeps a reserved ceiling (meta
 * "ticket_serial"), moved up SERVER_TICKET_SERIAL_BLOCK at a time so that a
 * ticket costs no write; a restart starts above everything issued, and
 * servers sharing one PostgreSQL each reserve their own blocks. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "server/server.h"
#include "util/log.h"

#define SERVER_TICKET_SERIAL_BLOCK 4096

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

int server_tickets_open(struct server *s)
{
	char text[32];
	char *end;

	s->ticket_serial = s->ticket_serial_ceiling = 1;
	if (store_meta_get(s->store, "ticket_serial", text, sizeof(text)) < 0)
		return 0; /* none issued yet */
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || v == 0)
		return -EBADMSG;
	s->ticket_serial = s->ticket_serial_ceiling = v;
	return 0;
}

int server_ticket_serial_next(struct server *s, uint64_t *out)
{
	if (s->ticket_serial >= s->ticket_serial_ceiling) {
		/* Reserved in one statement: two servers on one PostgreSQL
		 * never get the same block (tested by test_coord_store_pg). */
		uint64_t end;
		int r = store_meta_reserve(s->store, "ticket_serial", 1, SERVER_TICKET_SERIAL_BLOCK, &end);
		if (r < 0)
			return r;
		s->ticket_serial = end - SERVER_TICKET_SERIAL_BLOCK;
		s->ticket_serial_ceiling = end;
	}
	*out = s->ticket_serial++;
	return 0;
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
