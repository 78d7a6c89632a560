/* Token buckets for unauthenticated work a remote party can ask of us (path
 * probes: each costs a mac check and maybe an answer): one bucket per
 * source address and one for everything, as WireGuard's ratelimiter does
 * for handshakes. Pure: no clock (the caller passes monotonic ns in), memory
 * fixed at init.
 *
 * The per-source key is the IP address (an IPv6 address by its /64), not
 * the port: a host that sprays source ports is still one source. Sources
 * live in an open-addressing table (SipHash with a random key, so nobody
 * can aim at one chain); a source whose bucket has refilled completely is
 * as good as new, so its slot is reused. When every slot in a chain holds a
 * recent source the new one is refused (-ENOBUFS): under a flood from more
 * sources than slots, the global bucket is what keeps us serving. */
#ifndef ROAM_COORD_RATELIMIT_H
#define ROAM_COORD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

/* Defaults for probes: a node probes a peer's few paths a few times a
 * second at most, and answers every peer of a large group. */
#define COORD_PROBE_RL_SOURCE_RATE 20   /* per second */
#define COORD_PROBE_RL_SOURCE_BURST 40
#define COORD_PROBE_RL_GLOBAL_RATE 2000
#define COORD_PROBE_RL_GLOBAL_BURST 4000
#define COORD_PROBE_RL_SLOTS 4096

struct coord_ratelimit_bucket {
	uint64_t tokens_ns; /* credit, in ns of refill time */
	uint64_t last_ns;
};

struct coord_ratelimit_entry {
	uint8_t key[17]; /* family (4 or 6), address (IPv6: the /64, rest zero) */
	uint8_t used;
	struct coord_ratelimit_bucket b;
};

struct coord_ratelimit {
	struct coord_ratelimit_entry *table;
	size_t slots; /* a power of two */
	uint64_t source_cost_ns, source_cap_ns, global_cost_ns, global_cap_ns;
	struct coord_ratelimit_bucket global;
	uint8_t hash_key[16];
};

/* slots: rounded up to a power of two (at least 16). A rate of 0 or a burst
 * of 0 is -EINVAL; -ENOMEM. Buckets start full. */
int coord_ratelimit_init(struct coord_ratelimit *rl, size_t slots, uint32_t source_rate, uint32_t source_burst,
			 uint32_t global_rate, uint32_t global_burst, uint64_t now_ns);
void coord_ratelimit_free(struct coord_ratelimit *rl); /* accepts a zeroed struct */

/* One message from src at now_ns: 0 allowed (one token taken from both
 * buckets); -EBUSY the source is over its rate; -EAGAIN everyone is over the
 * global rate; -ENOBUFS no room for a new source; -EAFNOSUPPORT src is not
 * IPv4/IPv6. Refused messages take no tokens. */
int coord_ratelimit_allow(struct coord_ratelimit *rl, const struct sockaddr_any *src, uint64_t now_ns);

#endif
