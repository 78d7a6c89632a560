#include "coord/ratelimit.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

/* Slots looked at per source; every one of them, so reusing a slot in the
 * middle of a chain never hides a source further on. */
#define RL_CHAIN 8

int coord_ratelimit_init(struct coord_ratelimit *rl, size_t slots, uint32_t source_rate, uint32_t source_burst,
			 uint32_t global_rate, uint32_t global_burst, uint64_t now_ns)
{
	size_t n = 16;

	memset(rl, 0, sizeof(*rl));
	if (!source_rate || !source_burst || !global_rate || !global_burst || slots > (SIZE_MAX / 2) / 64)
		return -EINVAL;
	while (n < slots)
		n <<= 1;
	rl->table = calloc(n, sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	rl->slots = n;
	rl->source_cost_ns = UINT64_C(1000000000) / source_rate;
	rl->source_cap_ns = rl->source_cost_ns * source_burst;
	rl->global_cost_ns = UINT64_C(1000000000) / global_rate;
	rl->global_cap_ns = rl->global_cost_ns * global_burst;
	rl->global.tokens_ns = rl->global_cap_ns;
	rl->global.last_ns = now_ns;
	crypto_random(rl->hash_key, sizeof(rl->hash_key));
	return 0;
}

void coord_ratelimit_free(struct coord_ratelimit *rl)
{
	free(rl->table);
	crypto_wipe(rl->hash_key, sizeof(rl->hash_key));
	memset(rl, 0, sizeof(*rl));
}

static int rl_key(uint8_t key[17], const struct sockaddr_any *src)
{
	memset(key, 0, 17);
	if (src->len && src->sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &src->in4.sin_addr, 4);
	} else if (src->len && src->sa.sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &src->in6.sin6_addr, 8); /* the /64: one site, one source */
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* Credit as of now, capped; a clock that goes back adds nothing. */
static uint64_t rl_refill(const struct coord_ratelimit_bucket *b, uint64_t cap, uint64_t now_ns)
{
	uint64_t t = b->tokens_ns;

	if (now_ns > b->last_ns)
		t = now_ns - b->last_ns >= cap - t ? cap : t + (now_ns - b->last_ns);
	return t;
}

static struct coord_ratelimit_entry *rl_find(struct coord_ratelimit *rl, const uint8_t key[17], uint64_t now_ns)
{
	struct coord_ratelimit_entry *spare = NULL;
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, key, 17, rl->hash_key);
	for (size_t i = 0; i < RL_CHAIN; i++) {
		struct coord_ratelimit_entry *e = &rl->table[(h + i) & (rl->slots - 1)];

		if (e->used && memcmp(e->key, key, 17) == 0)
			return e;
		if (!spare && (!e->used || rl_refill(&e->b, rl->source_cap_ns, now_ns) == rl->source_cap_ns))
			spare = e;
	}
	if (spare) {
		memcpy(spare->key, key, 17);
		spare->used = 1;
		spare->b.tokens_ns = rl->source_cap_ns;
		spare->b.last_ns = now_ns;
	}
	return spare;
}

int coord_ratelimit_allow(struct coord_ratelimit *rl, const struct sockaddr_any *src, uint64_t now_ns)
{
	struct coord_ratelimit_entry *e;
	uint64_t src_tokens, all_tokens;
	uint8_t key[17];

	if (rl_key(key, src) < 0)
		return -EAFNOSUPPORT;
	e = rl_find(rl, key, now_ns);
	if (!e)
		return -ENOBUFS;
	src_tokens = rl_refill(&e->b, rl->source_cap_ns, now_ns);
	all_tokens = rl_refill(&rl->global, rl->global_cap_ns, now_ns);
	/* Commit the refill either way; take tokens only if both allow. */
	e->b.tokens_ns = src_tokens;
	e->b.last_ns = now_ns > e->b.last_ns ? now_ns : e->b.last_ns;
	rl->global.tokens_ns = all_tokens;
	rl->global.last_ns = now_ns > rl->global.last_ns ? now_ns : rl->global.last_ns;
	if (src_tokens < rl->source_cost_ns)
		return -EBUSY;
	if (all_tokens < rl->global_cost_ns)
		return -EAGAIN;
	e->b.tokens_ns -= rl->source_cost_ns;
	rl->global.tokens_ns -= rl->global_cost_ns;
	return 0;
}
