#include "server/reg_limit.h"

#include <string.h>

#include "crypto/crypto.h"

void reg_limit_init(struct reg_limit *l, uint32_t burst, uint32_t refill_s)
{
	memset(l, 0, sizeof(*l));
	l->burst = burst ? burst : 1;
	l->refill_s = refill_s ? refill_s : 1;
	crypto_random(&l->seed, sizeof(l->seed));
}

static bool make_key(const struct sockaddr_any *a, uint8_t key[17])
{
	memset(key, 0, 17);
	if (a->len && a->sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &a->in4.sin_addr, 4);
	} else if (a->len && a->sa.sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &a->in6.sin6_addr, 8); /* the /64 */
	} else {
		return false;
	}
	return true;
}

static size_t key_home(const struct reg_limit *l, const uint8_t key[17])
{
	uint64_t h = l->seed;

	for (size_t i = 0; i < 17; i++)
		h = (h ^ key[i]) * UINT64_C(0x100000001b3);
	h ^= h >> 29;
	return (size_t)(h % REG_LIMIT_SLOTS);
}

/* The slot for from, refilled to now; a new (or reused) one is full. */
static struct reg_limit_slot *slot_for(struct reg_limit *l, const struct sockaddr_any *from, int64_t now)
{
	static const uint8_t empty[17];
	struct reg_limit_slot *s, *oldest = NULL, *free_slot = NULL;
	uint8_t key[17];
	size_t home;

	if (!make_key(from, key))
		return NULL;
	home = key_home(l, key);
	for (size_t i = 0; i < REG_LIMIT_PROBE; i++) {
		s = &l->slots[(home + i) % REG_LIMIT_SLOTS];
		if (memcmp(s->key, key, 17) == 0) {
			if (now > s->stamp) {
				uint64_t add = (uint64_t)(now - s->stamp) / l->refill_s;
				if (add) {
					s->tokens = add >= l->burst - s->tokens ? l->burst : s->tokens + (uint32_t)add;
					s->stamp += (int64_t)(add * l->refill_s);
				}
			}
			if (s->tokens >= l->burst)
				s->stamp = now;
			return s;
		}
		if (memcmp(s->key, empty, 17) == 0) {
			if (!free_slot)
				free_slot = s;
		} else if (!oldest || s->stamp < oldest->stamp) {
			oldest = s;
		}
	}
	s = free_slot ? free_slot : oldest;
	memcpy(s->key, key, 17);
	s->tokens = l->burst;
	s->stamp = now;
	return s;
}

bool reg_limit_allows(struct reg_limit *l, const struct sockaddr_any *from, int64_t now)
{
	struct reg_limit_slot *s = slot_for(l, from, now);

	return !s || s->tokens > 0;
}

void reg_limit_spend(struct reg_limit *l, const struct sockaddr_any *from, int64_t now)
{
	struct reg_limit_slot *s = slot_for(l, from, now);

	if (s && s->tokens)
		s->tokens--;
}
