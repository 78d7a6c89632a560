#include "wg/allowedips.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct aip_node {
	struct aip_node *child[2];
	struct wg_peer *peer; /* NULL for pure branching nodes */
	uint8_t key[16];      /* masked to cidr bits */
	uint8_t cidr;
};

static inline unsigned key_bit(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* Number of leading bits a and b share, at most limit. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
	unsigned n = 0;
	for (unsigned byte = 0; n < limit; byte++) {
		uint8_t diff = a[byte] ^ b[byte];
		if (diff == 0) {
			n += 8;
			continue;
		}
		n += (unsigned)__builtin_clz((unsigned)diff) - 24;
		break;
	}
	return n < limit ? n : limit;
}

static void mask_key(uint8_t out[16], const uint8_t *addr, unsigned len, unsigned cidr)
{
	memset(out, 0, 16);
	memcpy(out, addr, len);
	for (unsigned i = cidr; i < len * 8; i++)
		out[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

static struct aip_node *node_new(const uint8_t key[16], uint8_t cidr, struct wg_peer *peer)
{
	struct aip_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n->key, key, 16);
	n->cidr = cidr;
	n->peer = peer;
	return n;
}

static void free_subtree(struct aip_node *n)
{
	if (!n)
		return;
	free_subtree(n->child[0]);
	free_subtree(n->child[1]);
	free(n);
}

void allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

void allowedips_free(struct allowedips *t)
{
	if (!t)
		return;
	free_subtree(t->root4);
	free_subtree(t->root6);
	memset(t, 0, sizeof(*t));
}

static int family_bits(int family, unsigned *bits, struct aip_node ***root, struct allowedips *t)
{
	if (family == AF_INET) {
		*bits = 32;
		*root = &t->root4;
	} else if (family == AF_INET6) {
		*bits = 128;
		*root = &t->root6;
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, struct wg_peer *peer)
{
	struct aip_node **slot, *n, *fresh, *mid;
	uint8_t key[16];
	unsigned bits, common;

	if (family_bits(family, &bits, &slot, t) < 0 || cidr > bits || !peer)
		return -EINVAL;
	mask_key(key, addr, bits / 8, cidr);

	while ((n = *slot)) {
		common = common_bits(n->key, key, n->cidr < cidr ? n->cidr : cidr);
		if (common < n->cidr)
			break; /* n diverges from us, or is longer than us: insert above it */
		if (n->cidr == cidr) {
			if (!n->peer)
				t->count++;
			n->peer = peer;
			return 0;
		}
		slot = &n->child[key_bit(key, n->cidr)];
	}
	if (!n) {
		if (!(*slot = node_new(key, cidr, peer)))
			return -ENOMEM;
		t->count++;
		return 0;
	}
	common = common_bits(n->key, key, cidr);
	if (common == cidr) {
		/* We are a prefix of n: become its parent. */
		if (!(fresh = node_new(key, cidr, peer)))
			return -ENOMEM;
		fresh->child[key_bit(n->key, cidr)] = n;
		*slot = fresh;
		t->count++;
		return 0;
	}
	/* Diverge at bit `common`: a branching node with both below it. */
	uint8_t mid_key[16];
	mask_key(mid_key, key, 16, common);
	fresh = node_new(key, cidr, peer);
	mid = node_new(mid_key, (uint8_t)common, NULL);
	if (!fresh || !mid) {
		free(fresh);
		free(mid);
		return -ENOMEM;
	}
	mid->child[key_bit(key, common)] = fresh;
	mid->child[key_bit(n->key, common)] = n;
	*slot = mid;
	t->count++;
	return 0;
}

struct wg_peer *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	const struct aip_node *n;
	struct wg_peer *best = NULL;
	unsigned bits;

	if (family == AF_INET) {
		n = t->root4;
		bits = 32;
	} else if (family == AF_INET6) {
		n = t->root6;
		bits = 128;
	} else {
		return NULL;
	}
	while (n) {
		if (common_bits(n->key, addr, n->cidr) < n->cidr)
			break;
		if (n->peer)
			best = n->peer;
		if (n->cidr == bits)
			break;
		n = n->child[key_bit(addr, n->cidr)];
	}
	return best;
}

/* Drops peer's prefixes below *slot and collapses nodes left useless. */
static void prune(struct aip_node **slot, const struct wg_peer *peer, unsigned *count)
{
	struct aip_node *n = *slot;
	if (!n)
		return;
	prune(&n->child[0], peer, count);
	prune(&n->child[1], peer, count);
	if (n->peer && n->peer == peer) {
		n->peer = NULL;
		(*count)--;
	}
	if (n->peer)
		return;
	if (!n->child[0] || !n->child[1]) {
		*slot = n->child[0] ? n->child[0] : n->child[1];
		free(n);
	}
}

void allowedips_remove_peer(struct allowedips *t, const struct wg_peer *peer)
{
	prune(&t->root4, peer, &t->count);
	prune(&t->root6, peer, &t->count);
}

static int walk(const struct aip_node *n, int family, const struct wg_peer *peer,
		int (*fn)(void *, int, const uint8_t *, uint8_t), void *ctx)
{
	int ret;
	if (!n)
		return 0;
	if (n->peer == peer && (ret = fn(ctx, family, n->key, n->cidr)))
		return ret;
	if ((ret = walk(n->child[0], family, peer, fn, ctx)))
		return ret;
	return walk(n->child[1], family, peer, fn, ctx);
}

int allowedips_walk_peer(const struct allowedips *t, const struct wg_peer *peer,
			 int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	int ret = walk(t->root4, AF_INET, peer, fn, ctx);
	return ret ? ret : walk(t->root6, AF_INET6, peer, fn, ctx);
}
