/* Relay tickets: see ticket.h. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "coord/ticket.h"
#include "util/le.h"

_Static_assert(TICKET_PUB_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(TICKET_SECRET_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(TICKET_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");

int ticket_keypair(uint8_t pub[TICKET_PUB_LEN], uint8_t sec[TICKET_SECRET_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_sign_keypair(pub, sec) == 0 ? 0 : -EIO;
}

void ticket_public_of(uint8_t pub[TICKET_PUB_LEN], const uint8_t sec[TICKET_SECRET_LEN])
{
	memcpy(pub, sec + TICKET_SECRET_LEN - TICKET_PUB_LEN, TICKET_PUB_LEN);
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
