/* Peers on demand: the data plane's questions (daemon/ondemand.h). A
 * fixed table, searched linearly: it is small, and touched only by packets
 * that found no peer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/ondemand.h"
#include "wg/messages.h"

void ondemand_init(struct ondemand *od)
{
	memset(od, 0, sizeof(*od));
}

static void entry_clear(struct ondemand *od, struct ondemand_entry *e)
{
	if (e->state == ONDEMAND_ASKING && od->in_flight)
		od->in_flight--;
	free(e->pkt);
	memset(e, 0, sizeof(*e));
}

void ondemand_free(struct ondemand *od)
{
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++)
		entry_clear(od, &od->e[i]);
	od->in_flight = 0;
}

void ondemand_reset(struct ondemand *od)
{
	struct ondemand_stats keep = od->stats;
	ondemand_free(od);
	od->stats = keep;
}

int ondemand_query_address(struct ondemand_query *q, int family, const uint8_t *addr)
{
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->kind = ONDEMAND_ADDRESS;
	q->family = (uint8_t)family;
	memcpy(q->bytes, addr, family == AF_INET ? 4 : 16);
	return 0;
}

void ondemand_query_key(struct ondemand_query *q, const uint8_t key[32])
{
	memset(q, 0, sizeof(*q));
	q->kind = ONDEMAND_KEY;
	memcpy(q->bytes, key, 32);
}

static bool zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

bool ondemand_query_ok(const struct ondemand_query *q)
{
	if (q->pad[0] || q->pad[1])
		return false;
	if (q->kind == ONDEMAND_KEY)
		return q->family == 0;
	if (q->kind != ONDEMAND_ADDRESS)
		return false;
	if (q->family == AF_INET)
		return zero(q->bytes + 4, sizeof(q->bytes) - 4);
	if (q->family == AF_INET6)
		return zero(q->bytes + 16, sizeof(q->bytes) - 16);
	return false;
}

static bool query_equal(const struct ondemand_query *a, const struct ondemand_query *b)
{
	return a->kind == b->kind && a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static struct ondemand_entry *find(struct ondemand *od, const struct ondemand_query *q)
{
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++)
		if (od->e[i].state != ONDEMAND_FREE && query_equal(&od->e[i].q, q))
			return &od->e[i];
	return NULL;
}

/* A free slot, else the oldest negative one (never a question in flight:
 * at most ONDEMAND_IN_FLIGHT_MAX of them, fewer than the table). */
static struct ondemand_entry *slot_for_new(struct ondemand *od)
{
	struct ondemand_entry *oldest = NULL;
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++) {
		struct ondemand_entry *e = &od->e[i];
		if (e->state == ONDEMAND_FREE)
			return e;
		if (e->state == ONDEMAND_NEGATIVE && (!oldest || e->since < oldest->since))
			oldest = e;
	}
	if (oldest) {
		od->stats.evicted++;
		entry_clear(od, oldest);
	}
	return oldest;
}

static void keep_packet(struct ondemand_entry *e, const uint8_t *pkt, size_t len, uint64_t now)
{
	if (!pkt || !len || len > ONDEMAND_PACKET_MAX)
		return;
	size_t cap = WG_HEADROOM + len + WG_TAILROOM;
	struct ondemand_packet *p = e->pkt && e->pkt->cap >= cap ? e->pkt : malloc(sizeof(*p) + cap);
	if (!p)
		return; /* the question goes on without it */
	if (p != e->pkt) {
		free(e->pkt);
		p->cap = cap;
	}
	memcpy(p->buf + WG_HEADROOM, pkt, len);
	p->len = len;
	e->pkt = p;
	e->pkt_at = now;
}

bool ondemand_want(struct ondemand *od, const struct ondemand_query *q, const uint8_t *pkt, size_t len,
		   uint64_t now)
{
	struct ondemand_entry *e = find(od, q);
	if (e && e->state == ONDEMAND_ASKING && now < e->until) {
		keep_packet(e, pkt, len, now); /* the newest, like a neighbour entry */
		od->stats.suppressed++;
		return false;
	}
	if (e && e->state == ONDEMAND_NEGATIVE && now < e->until) {
		od->stats.suppressed++;
		return false;
	}
	if (e)
		entry_clear(od, e); /* expired: ask again */
	if (od->in_flight >= ONDEMAND_IN_FLIGHT_MAX || !(e = slot_for_new(od))) {
		od->stats.suppressed++;
		return false;
	}
	e->q = *q;
	e->state = ONDEMAND_ASKING;
	e->since = now;
	e->until = now + ONDEMAND_ASK_TIMEOUT_NS;
	od->in_flight++;
	od->stats.asked++;
	keep_packet(e, pkt, len, now);
	return true;
}

struct ondemand_packet *ondemand_answer(struct ondemand *od, const struct ondemand_query *q,
					enum ondemand_result r, uint64_t now)
{
	struct ondemand_entry *e = find(od, q);
	struct ondemand_packet *pkt = NULL;
	if (!e || e->state != ONDEMAND_ASKING)
		return NULL;
	od->in_flight--;
	switch (r) {
	case ONDEMAND_FOUND:
		od->stats.found++;
		if (e->pkt && now - e->pkt_at <= ONDEMAND_HOLD_NS) {
			pkt = e->pkt; /* ownership to the caller */
			e->pkt = NULL;
			od->stats.packets_sent++;
		}
		/* Quiet a moment: a peer the engine still lacks (refused
		 * there) must not be asked for again at once, in a loop. */
		free(e->pkt);
		e->pkt = NULL;
		e->state = ONDEMAND_NEGATIVE;
		e->until = now + ONDEMAND_FOUND_QUIET_NS;
		return pkt;
	case ONDEMAND_NOT_FOUND:
	case ONDEMAND_FAILED:
	default:
		if (r == ONDEMAND_NOT_FOUND)
			od->stats.not_found++;
		else
			od->stats.failed++;
		free(e->pkt);
		e->pkt = NULL;
		e->state = ONDEMAND_NEGATIVE;
		e->until = now + (r == ONDEMAND_NOT_FOUND ? ONDEMAND_NEGATIVE_NS : ONDEMAND_FAILED_NS);
		return NULL;
	}
}

uint64_t ondemand_expire(struct ondemand *od, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++) {
		struct ondemand_entry *e = &od->e[i];
		if (e->state == ONDEMAND_FREE)
			continue;
		if (now >= e->until) {
			entry_clear(od, e);
			continue;
		}
		if (e->pkt && now - e->pkt_at >= ONDEMAND_HOLD_NS) {
			free(e->pkt);
			e->pkt = NULL;
			od->stats.packets_expired++;
		}
		if (e->until < next)
			next = e->until;
		if (e->pkt && e->pkt_at + ONDEMAND_HOLD_NS < next)
			next = e->pkt_at + ONDEMAND_HOLD_NS;
	}
	return next;
}

bool ondemand_idle(uint64_t last_data, uint64_t now, uint64_t limit_ns)
{
	return now > last_data && now - last_data >= limit_ns;
}
