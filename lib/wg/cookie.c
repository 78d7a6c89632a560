#include "wg/cookie.h"

#include <errno.h>
#include <string.h>

#define NS_PER_SEC 1000000000ULL

static void derive_label_key(uint8_t out[WG_HASH_LEN], const char *label, const uint8_t pub[WG_KEY_LEN])
{
	blake2s_hash2(out, label, strlen(label), pub, WG_KEY_LEN);
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[WG_KEY_LEN])
{
	memset(c, 0, sizeof(*c));
	derive_label_key(c->mac1_key, WG_LABEL_MAC1, our_public);
	derive_label_key(c->cookie_key, WG_LABEL_COOKIE, our_public);
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t their_public[WG_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	derive_label_key(m->mac1_key, WG_LABEL_MAC1, their_public);
	derive_label_key(m->cookie_key, WG_LABEL_COOKIE, their_public);
}

static bool expired(uint64_t birth, uint64_t now, uint64_t max_age_ns)
{
	return birth == 0 || now - birth >= max_age_ns;
}

/* The cookie a sender at src should present: MAC(R_m, src). */
static void cookie_for_source(struct cookie_checker *c, uint8_t cookie[WG_COOKIE_LEN], const void *src,
			      size_t src_len, uint64_t now, noise_random_fn rng, void *rng_ctx)
{
	if (expired(c->secret_birth, now, WG_COOKIE_SECRET_MAX_AGE * NS_PER_SEC)) {
		rng(rng_ctx, c->secret, sizeof(c->secret));
		c->secret_birth = now ? now : 1;
	}
	blake2s_mac(cookie, c->secret, sizeof(c->secret), src, src_len);
}

void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now_ns)
{
	struct wg_msg_macs *macs = (struct wg_msg_macs *)((uint8_t *)msg + len - sizeof(*macs));
	size_t mac1_off = len - sizeof(*macs);
	size_t mac2_off = len - sizeof(macs->mac2);

	blake2s_mac(macs->mac1, m->mac1_key, WG_HASH_LEN, msg, mac1_off);
	memcpy(m->last_mac1_sent, macs->mac1, WG_MAC_LEN);
	m->have_sent_mac1 = true;

	/* A cookie is good for two minutes minus the time it may have spent
	 * in flight; after that we send a zero mac2 as if we had none. */
	if (!expired(m->cookie_birth, now_ns,
		     (WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY) * NS_PER_SEC))
		blake2s_mac(macs->mac2, m->cookie, WG_COOKIE_LEN, msg, mac2_off);
	else
		memset(macs->mac2, 0, WG_MAC_LEN);
}

enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg, size_t len,
				      const void *src, size_t src_len, bool check_mac2, uint64_t now_ns,
				      noise_random_fn rng, void *rng_ctx)
{
	const struct wg_msg_macs *macs = (const struct wg_msg_macs *)((const uint8_t *)msg + len - sizeof(*macs));
	uint8_t computed[WG_MAC_LEN], cookie[WG_COOKIE_LEN];
	enum cookie_mac_state state = COOKIE_MAC_INVALID;

	blake2s_mac(computed, c->mac1_key, WG_HASH_LEN, msg, len - sizeof(*macs));
	if (!crypto_equal(computed, macs->mac1, WG_MAC_LEN))
		goto out;
	state = COOKIE_MAC_VALID_MAC1;
	if (!check_mac2)
		goto out;
	cookie_for_source(c, cookie, src, src_len, now_ns, rng, rng_ctx);
	blake2s_mac(computed, cookie, WG_COOKIE_LEN, msg, len - sizeof(macs->mac2));
	if (crypto_equal(computed, macs->mac2, WG_MAC_LEN))
		state = COOKIE_MAC_VALID_MAC1_MAC2;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return state;
}

void cookie_create_reply(struct cookie_checker *c, struct wg_msg_cookie *reply, const void *msg, size_t len,
			 uint32_t receiver_index, const void *src, size_t src_len, uint64_t now_ns,
			 noise_random_fn rng, void *rng_ctx)
{
	const struct wg_msg_macs *macs = (const struct wg_msg_macs *)((const uint8_t *)msg + len - sizeof(*macs));
	uint8_t cookie[WG_COOKIE_LEN];

	memset(reply, 0, sizeof(*reply));
	reply->type = WG_MSG_COOKIE;
	wg_le32_put(reply->receiver_index, receiver_index);
	rng(rng_ctx, reply->nonce, sizeof(reply->nonce));
	cookie_for_source(c, cookie, src, src_len, now_ns, rng, rng_ctx);
	/* The mac1 of the message we answer is the AEAD's associated data, so
	 * only its real sender can use the reply. */
	xaead_seal(reply->encrypted_cookie, c->cookie_key, reply->nonce, cookie, WG_COOKIE_LEN, macs->mac1,
		   WG_MAC_LEN);
	crypto_wipe(cookie, sizeof(cookie));
}

int cookie_consume_reply(struct cookie_maker *m, const struct wg_msg_cookie *reply, uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];

	if (!m->have_sent_mac1)
		return -EINVAL;
	if (xaead_open(cookie, m->cookie_key, reply->nonce, reply->encrypted_cookie,
		       sizeof(reply->encrypted_cookie), m->last_mac1_sent, WG_MAC_LEN) < 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, WG_COOKIE_LEN);
	m->cookie_birth = now_ns ? now_ns : 1;
	m->have_sent_mac1 = false;
	crypto_wipe(cookie, sizeof(cookie));
	return 0;
}
