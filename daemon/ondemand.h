/* Peers on demand (docs/architecture.md, "Peers on demand"): members of a
 * big group are not in each other's views; the data plane asks the server
 * for a peer when a packet goes to an overlay address it has no peer for,
 * or an initiation comes from a key it does not know. This is the data
 * plane's bookkeeping of those questions, a pure core (no I/O, time passed
 * in): one question in flight per address or key, a negative cache after
 * "no such peer", the newest packet per asked address kept until the
 * answer, and hard bounds, so that a flood of packets to random overlay
 * addresses costs a fixed table and at most ONDEMAND_IN_FLIGHT_MAX
 * requests, never more. */
#ifndef ROAM_DAEMON_ONDEMAND_H
#define ROAM_DAEMON_ONDEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ONDEMAND_TABLE_MAX 256     /* questions remembered (asking or negative); the oldest goes */
#define ONDEMAND_IN_FLIGHT_MAX 64  /* questions asked and not yet answered */
#define ONDEMAND_NEGATIVE_NS (30 * 1000000000ull) /* after a 404: not asked again for this long */
#define ONDEMAND_FOUND_QUIET_NS (1 * 1000000000ull) /* after a peer was found */
#define ONDEMAND_FAILED_NS (5 * 1000000000ull)    /* after a failed request (server down) */
#define ONDEMAND_HOLD_NS (5 * 1000000000ull)      /* a packet kept for an answer, at most */
/* A question the agent never answers (it restarted): forgotten after this. */
#define ONDEMAND_ASK_TIMEOUT_NS (20 * 1000000000ull)
#define ONDEMAND_PACKET_MAX 16384 /* longest packet kept (larger: asked for, not kept) */
/* Idle on-demand peers (no data either way) are dropped after this. */
#define ONDEMAND_IDLE_NS (600 * 1000000000ull)

enum ondemand_kind {
	ONDEMAND_ADDRESS = 1, /* an overlay address (family 4 or 16 bytes) */
	ONDEMAND_KEY = 2,     /* a WireGuard public key (32 bytes) */
};

/* What was asked: the same bytes in the data plane, over privsep and in
 * the agent's request. */
struct ondemand_query {
	uint8_t kind;   /* enum ondemand_kind */
	uint8_t family; /* ONDEMAND_ADDRESS: AF_INET or AF_INET6; else 0 */
	uint8_t pad[2];
	uint8_t bytes[32]; /* the address (4 or 16 bytes, the rest zero), or the key */
};

enum ondemand_result {
	ONDEMAND_FOUND = 1,     /* the peer is added (before this answer) */
	ONDEMAND_NOT_FOUND = 2, /* the server says no such peer shares a group with us */
	ONDEMAND_FAILED = 3,    /* no answer (not connected, transport error, a bad reply) */
};

/* A kept packet: WG_HEADROOM bytes before it, WG_TAILROOM after, so the
 * engine can encrypt it in place (struct ondemand_packet_buf). */
struct ondemand_packet {
	size_t len;
	size_t cap; /* of buf */
	uint8_t buf[];
};

enum ondemand_state { ONDEMAND_FREE, ONDEMAND_ASKING, ONDEMAND_NEGATIVE };

struct ondemand_entry {
	struct ondemand_query q;
	enum ondemand_state state;
	uint64_t since; /* created (ns): the oldest goes when the table is full */
	uint64_t until; /* ASKING: forgotten then; NEGATIVE: asked again after */
	struct ondemand_packet *pkt; /* owned; NULL: none */
	uint64_t pkt_at;
};

struct ondemand_stats {
	uint64_t asked, found, not_found, failed;
	uint64_t suppressed; /* packets not asked for: in flight, negative, or too many in flight */
	uint64_t evicted;    /* entries pushed out of a full table */
	uint64_t packets_sent, packets_expired;
};

struct ondemand {
	struct ondemand_entry e[ONDEMAND_TABLE_MAX];
	unsigned in_flight;
	struct ondemand_stats stats;
};

void ondemand_init(struct ondemand *od);
void ondemand_free(struct ondemand *od); /* frees kept packets */

/* A query for an address (4 or 16 bytes of family) or a key. -EINVAL for
 * a family that is neither. */
int ondemand_query_address(struct ondemand_query *q, int family, const uint8_t *addr);
void ondemand_query_key(struct ondemand_query *q, const uint8_t key[32]);
bool ondemand_query_ok(const struct ondemand_query *q); /* well-formed (from another process) */

/* A packet (may be NULL) needs the peer q names, at now. True: ask now
 * (the caller sends the question; an answer must follow with
 * ondemand_answer); false: already asked, answered "no" recently, or too
 * many questions in flight. The packet is copied (the newest replaces the
 * one kept) while the question is in flight. */
bool ondemand_want(struct ondemand *od, const struct ondemand_query *q, const uint8_t *pkt, size_t len,
		   uint64_t now);

/* The answer to q. Returns the packet kept for it (the caller owns it and
 * frees it with free()) when found and not older than ONDEMAND_HOLD_NS;
 * else NULL. An answer to nothing asked is ignored. */
struct ondemand_packet *ondemand_answer(struct ondemand *od, const struct ondemand_query *q,
					enum ondemand_result r, uint64_t now);

/* Drops kept packets older than ONDEMAND_HOLD_NS, and forgets expired
 * entries. The next time something expires (UINT64_MAX: nothing). */
uint64_t ondemand_expire(struct ondemand *od, uint64_t now);

/* Forget everything (the agent restarted: its questions are lost). */
void ondemand_reset(struct ondemand *od);

/* An on-demand peer last used (data sent or received) at last_data
 * (ns; the time it was asked for counts): idle for limit_ns (normally
 * ONDEMAND_IDLE_NS) or longer, to be dropped? */
bool ondemand_idle(uint64_t last_data, uint64_t now, uint64_t limit_ns);

#endif
