/* Relay tickets: see ticket.h. */
#include <blake2.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "coord/token.h"
#include "crypto/crypto.h"
#include "util/le.h"

_Static_assert(TICKET_PUB_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(TICKET_SECRET_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(TICKET_SEED_LEN == crypto_sign_SEEDBYTES, "Ed25519 seed size");
_Static_assert(TICKET_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(RELAY_SECRET_LEN == COORD_PINNED_SECRET_LEN && RELAY_TOKEN_RAW_LEN == COORD_TOKEN_RAW_LEN &&
		       RELAY_TOKEN_STRLEN == sizeof(RELAY_TOKEN_PREFIX) - 1 + COORD_TOKEN_B64_LEN,
	       "the relay token is a pinned token (lib/coord/token.h)");

int ticket_keypair(uint8_t pub[TICKET_PUB_LEN], uint8_t sec[TICKET_SECRET_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_sign_keypair(pub, sec) == 0 ? 0 : -EIO;
}

int ticket_keypair_from_seed(uint8_t pub[TICKET_PUB_LEN], uint8_t sec[TICKET_SECRET_LEN],
			     const uint8_t seed[TICKET_SEED_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_sign_seed_keypair(pub, sec, seed) == 0 ? 0 : -EIO;
}

void ticket_public_of(uint8_t pub[TICKET_PUB_LEN], const uint8_t sec[TICKET_SECRET_LEN])
{
	memcpy(pub, &sec[TICKET_SECRET_LEN - TICKET_PUB_LEN], TICKET_PUB_LEN);
}

static bool ticket_groups_ok(const uint32_t *g, size_t n)
{
	if (n > TICKET_GROUPS_MAX)
		return false;
	for (size_t i = 1; i < n; i++)
		if (g[i] <= g[i - 1])
			return false;
	return true;
}

int ticket_build(const struct ticket *t, const uint8_t sec[TICKET_SECRET_LEN], uint8_t *out, size_t cap)
{
	size_t body = TICKET_FIXED_LEN + 4 * (size_t)t->group_count;

	if (!ticket_groups_ok(t->groups, t->group_count))
		return -EINVAL;
	if (cap < body + TICKET_SIG_LEN)
		return -ENOSPC;
	memset(out, 0, 4);
	out[0] = TICKET_VERSION;
	le64_put(out + 4, t->serial);
	le32_put(out + 12, t->node_id);
	le64_put(out + 16, t->expires);
	memcpy(out + 24, t->node_pub, TICKET_NODE_PUB_LEN);
	le16_put(out + 56, t->group_count);
	for (size_t i = 0; i < t->group_count; i++)
		le32_put(out + TICKET_FIXED_LEN + 4 * i, t->groups[i]);
	if (crypto_sign_detached(out + body, NULL, out, body, sec) != 0)
		return -EIO;
	return (int)(body + TICKET_SIG_LEN);
}

int ticket_parse(const uint8_t *in, size_t len, struct ticket *out)
{
	if (len < TICKET_LEN_MIN || len > TICKET_LEN_MAX || in[0] != TICKET_VERSION || in[1] || in[2] || in[3])
		return -EPROTO;
	size_t count = le16_get(in + 56);
	if (count > TICKET_GROUPS_MAX || len != TICKET_LEN_MIN + 4 * count)
		return -EPROTO;
	memset(out, 0, sizeof(*out)); /* groups beyond the count too: tickets compare whole */
	out->serial = le64_get(in + 4);
	out->node_id = le32_get(in + 12);
	out->expires = le64_get(in + 16);
	memcpy(out->node_pub, in + 24, TICKET_NODE_PUB_LEN);
	out->group_count = (uint16_t)count;
	for (size_t i = 0; i < count; i++)
		out->groups[i] = le32_get(in + TICKET_FIXED_LEN + 4 * i);
	return ticket_groups_ok(out->groups, count) ? 0 : -EPROTO;
}

int ticket_verify(const uint8_t *in, size_t len, const uint8_t pub[TICKET_PUB_LEN], uint64_t now,
		  struct ticket *out)
{
	struct ticket t;
	int r = ticket_parse(in, len, &t);

	if (r < 0)
		return r;
	if (crypto_sign_verify_detached(in + len - TICKET_SIG_LEN, in, len - TICKET_SIG_LEN, pub) != 0)
		return -EBADMSG;
	if (t.expires <= now)
		return -ETIMEDOUT;
	*out = t;
	return 0;
}

bool ticket_share_group(const struct ticket *a, const struct ticket *b)
{
	size_t i = 0, j = 0;

	while (i < a->group_count && j < b->group_count) {
		if (a->groups[i] == b->groups[j])
			return true;
		if (a->groups[i] < b->groups[j])
			i++;
		else
			j++;
	}
	return false;
}

int relay_token_encode(const struct relay_token *t, char *buf, size_t size)
{
	return coord_pinned_token_encode(RELAY_TOKEN_PREFIX, t->tls_pin, t->server_pub, t->secret, buf, size);
}

int relay_token_decode(const char *text, struct relay_token *out)
{
	return coord_pinned_token_decode(RELAY_TOKEN_PREFIX, text, out->tls_pin, out->server_pub, out->secret);
}

int relay_key_derive(uint8_t k_out[32], const uint8_t my_priv[32], const uint8_t their_pub[32], const char *label)
{
	uint8_t shared[32];

	if (x25519_shared(shared, my_priv, their_pub) < 0)
		return -EKEYREJECTED;
	blake2s(k_out, label, shared, 32, strlen(label), sizeof(shared));
	crypto_wipe(shared, sizeof(shared));
	return 0;
}

int relay_bind_build(uint8_t *out, size_t cap, uint32_t node_id, uint64_t ts_ns, const uint8_t nonce[8],
		     const uint8_t *ticket, size_t ticket_len, const uint8_t k[32])
{
	size_t len = RELAY_BIND_HDR_LEN + ticket_len + 16;

	if (ticket_len < TICKET_LEN_MIN || ticket_len > TICKET_LEN_MAX)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	memset(out, 0, 4);
	out[0] = 0x8D;
	le32_put(out + 4, node_id);
	le64_put(out + 8, ts_ns);
	memcpy(out + 16, nonce, 8);
	le16_put(out + 24, (uint16_t)ticket_len);
	memcpy(out + RELAY_BIND_HDR_LEN, ticket, ticket_len);
	blake2s_mac(out + len - 16, k, 32, out, len - 16);
	return (int)len;
}

int relay_bind_parse(const uint8_t *buf, size_t len, uint32_t *node_id, uint64_t *ts_ns, const uint8_t **ticket,
		     size_t *ticket_len)
{
	if (len < RELAY_BIND_HDR_LEN + TICKET_LEN_MIN + 16 || len > RELAY_BIND_LEN_MAX || buf[0] != 0x8D || buf[1] ||
	    buf[2] || buf[3] || le16_get(buf + 24) != len - RELAY_BIND_HDR_LEN - 16)
		return -EPROTO;
	*node_id = le32_get(buf + 4);
	*ts_ns = le64_get(buf + 8);
	*ticket = buf + RELAY_BIND_HDR_LEN;
	*ticket_len = len - RELAY_BIND_HDR_LEN - 16;
	return 0;
}

int relay_bind_verify(const uint8_t *buf, size_t len, const uint8_t k[32])
{
	uint8_t mac[16];

	if (len < RELAY_BIND_HDR_LEN + 16)
		return -EPROTO;
	blake2s_mac(mac, k, 32, buf, len - 16);
	return crypto_equal(mac, buf + len - 16, 16) ? 0 : -EBADMSG;
}
