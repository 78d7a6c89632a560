#include "server/netcheck.h"

#include <errno.h>
#include <string.h>

#include "coord/netcheck.h"

int server_netcheck_init(struct server_netcheck *nc, const struct sockaddr_any *addrs, size_t count,
			 const struct server_netcheck_ops *ops, void *ctx, uint64_t now_ns)
{
	memset(nc, 0, sizeof(*nc));
	for (size_t i = 0; i < count && nc->count < SERVER_NETCHECK_ADDRS_MAX; i++)
		if (addrs[i].len && (addrs[i].sa.sa_family == AF_INET || addrs[i].sa.sa_family == AF_INET6))
			nc->addrs[nc->count++] = addrs[i];
	nc->ops = *ops;
	nc->ctx = ctx;
	return coord_ratelimit_init(&nc->rl, COORD_NETCHECK_RL_SLOTS, COORD_NETCHECK_RL_SOURCE_RATE,
				    COORD_NETCHECK_RL_SOURCE_BURST, COORD_NETCHECK_RL_GLOBAL_RATE,
				    COORD_NETCHECK_RL_GLOBAL_BURST, now_ns);
}

void server_netcheck_free(struct server_netcheck *nc)
{
	coord_ratelimit_free(&nc->rl);
}

static const struct sockaddr_any *find_own(const struct server_netcheck *nc, const struct sockaddr_any *a)
{
	for (size_t i = 0; i < nc->count; i++)
		if (sockaddr_any_equal(&nc->addrs[i], a))
			return &nc->addrs[i];
	return NULL;
}

/* Our first address of family other than `not` (NULL: any of the family). */
static const struct sockaddr_any *other_of(const struct server_netcheck *nc, int family, const struct sockaddr_any *not)
{
	for (size_t i = 0; i < nc->count; i++)
		if (nc->addrs[i].sa.sa_family == family && (!not || !sockaddr_any_equal(&nc->addrs[i], not)))
			return &nc->addrs[i];
	return NULL;
}

void server_netcheck_input(struct server_netcheck *nc, const uint8_t *buf, size_t len,
			   const struct sockaddr_any *from, uint64_t now_ns)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	uint8_t out[sizeof(struct coord_msg_netcheck_ack)];
	struct coord_netcheck_ack ack;
	struct sockaddr_any claimed;
	const struct sockaddr_any *own;

	/* The cheap check first: a flood of garbage costs one length test. */
	if (coord_netcheck_parse(buf, len, ack.txid, &claimed) < 0) {
		nc->stats.malformed++;
		return;
	}
	if (coord_ratelimit_allow(&nc->rl, from, now_ns) < 0) {
		nc->stats.rate_limited++;
		return;
	}
	own = find_own(nc, &claimed);
	memset(&ack.other, 0, sizeof(ack.other));
	ack.server = claimed;
	ack.observed = *from;
	for (int i = 0; i < 2; i++) {
		const struct sockaddr_any *o = other_of(nc, families[i], own);
		if (o)
			ack.other[i] = *o;
	}
	if (coord_netcheck_ack_build(out, &ack) < 0) {
		nc->stats.malformed++;
		return;
	}
	static_assert(sizeof(out) <= sizeof(struct coord_msg_netcheck), "an answer is never bigger than the request");
	if (nc->ops.send_from(nc->ctx, own, from, out, sizeof(out)) < 0) {
		nc->stats.send_failed++;
		return;
	}
	nc->stats.answered++;
}
