#include "wg/noise.h"

#include <errno.h>
#include <string.h>

/* The handshake's starting chaining key, HASH(CONSTRUCTION), and hash,
 * HASH(HASH(CONSTRUCTION) || IDENTIFIER) (paper 5.4.2): constants, so they are
 * written out; tests/unit/test_crypto.c recomputes them from the strings. */
const uint8_t noise_initial_chaining_key[WG_HASH_LEN] = {
	0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
	0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
};
const uint8_t noise_initial_hash[WG_HASH_LEN] = {
	0x22, 0x11, 0xb3, 0x61, 0x08, 0x1a, 0xc5, 0x66, 0x69, 0x12, 0x43, 0xdb, 0x45, 0x8a, 0xd5, 0x32,
	0x2d, 0x9c, 0x6c, 0x66, 0x22, 0x93, 0xe8, 0xb7, 0x0e, 0xe1, 0x9c, 0x65, 0xba, 0x07, 0x9e, 0xf3,
};

static void mix_hash(uint8_t hash[WG_HASH_LEN], const void *in, size_t len)
{
	blake2s_hash2(hash, hash, WG_HASH_LEN, in, len);
}

/* MixKey(DH(priv, pub)): fails on an all-zero shared secret. */
static int mix_dh(uint8_t chaining_key[WG_HASH_LEN], uint8_t key[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
		  const uint8_t pub[WG_KEY_LEN])
{
	uint8_t shared[WG_KEY_LEN];
	if (x25519_shared(shared, priv, pub) < 0)
		return -EINVAL;
	noise_kdf(chaining_key, key, NULL, chaining_key, shared, sizeof(shared));
	crypto_wipe(shared, sizeof(shared));
	return 0;
}

/* MixKey with a precomputed DH(s, S), which is zero when S is low-order. */
static int mix_precomputed_dh(uint8_t chaining_key[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
			      const uint8_t precomputed[WG_KEY_LEN])
{
	if (crypto_is_zero(precomputed, WG_KEY_LEN))
		return -EINVAL;
	noise_kdf(chaining_key, key, NULL, chaining_key, precomputed, WG_KEY_LEN);
	return 0;
}

static void mix_psk(uint8_t chaining_key[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
		    const uint8_t psk[WG_KEY_LEN])
{
	uint8_t temp[WG_HASH_LEN];
	noise_kdf(chaining_key, temp, key, chaining_key, psk, WG_KEY_LEN);
	mix_hash(hash, temp, sizeof(temp));
	crypto_wipe(temp, sizeof(temp));
}

static void encrypt_and_hash(uint8_t *out, const void *plain, size_t len, const uint8_t key[WG_KEY_LEN],
			     uint8_t hash[WG_HASH_LEN])
{
	aead_seal(out, key, 0, plain, len, hash, WG_HASH_LEN);
	mix_hash(hash, out, len + WG_TAG_LEN);
}

static int decrypt_and_hash(uint8_t *out, const uint8_t *sealed, size_t sealed_len, const uint8_t key[WG_KEY_LEN],
			    uint8_t hash[WG_HASH_LEN])
{
	if (aead_open(out, key, 0, sealed, sealed_len, hash, WG_HASH_LEN) < 0)
		return -EBADMSG;
	mix_hash(hash, sealed, sealed_len);
	return 0;
}

/* e: generate an ephemeral, MixHash(e.pub), MixKey(e.pub) (IKpsk2 mixes the
 * ephemeral into the chaining key because of the psk modifier). */
static int message_ephemeral(uint8_t ephemeral_out[WG_KEY_LEN], const uint8_t ephemeral_in[WG_KEY_LEN],
			     uint8_t chaining_key[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN])
{
	if (ephemeral_out != ephemeral_in)
		memcpy(ephemeral_out, ephemeral_in, WG_KEY_LEN);
	mix_hash(hash, ephemeral_in, WG_KEY_LEN);
	noise_kdf(chaining_key, NULL, NULL, chaining_key, ephemeral_in, WG_KEY_LEN);
	return 0;
}

int noise_identity_set(struct noise_identity *id, const uint8_t private_key[WG_KEY_LEN])
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	memcpy(priv, private_key, WG_KEY_LEN);
	x25519_clamp(priv);
	if (x25519_public(pub, priv) < 0) {
		crypto_wipe(priv, sizeof(priv));
		return -EINVAL;
	}
	memcpy(id->private_key, priv, WG_KEY_LEN);
	memcpy(id->public_key, pub, WG_KEY_LEN);
	id->has_identity = true;
	crypto_wipe(priv, sizeof(priv));
	return 0;
}

void noise_identity_clear(struct noise_identity *id)
{
	crypto_wipe(id, sizeof(*id));
}

void noise_handshake_rekey_static(struct noise_handshake *hs, const struct noise_identity *id)
{
	if (!id->has_identity || x25519_shared(hs->precomputed_static_static, id->private_key, hs->remote_static) < 0)
		memset(hs->precomputed_static_static, 0, WG_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_identity *id,
			  const uint8_t remote_static[WG_KEY_LEN], const uint8_t psk[WG_KEY_LEN])
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, WG_KEY_LEN);
	if (psk)
		memcpy(hs->preshared_key, psk, WG_KEY_LEN);
	noise_handshake_rekey_static(hs, id);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	crypto_wipe(hs->ephemeral_private, WG_KEY_LEN);
	crypto_wipe(hs->remote_ephemeral, WG_KEY_LEN);
	crypto_wipe(hs->hash, WG_HASH_LEN);
	crypto_wipe(hs->chaining_key, WG_HASH_LEN);
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = NOISE_HANDSHAKE_ZEROED;
}

void noise_tai64n(uint8_t out[WG_TIMESTAMP_LEN], int64_t unix_ns)
{
	/* TAI64 label 2^62 + 10 + seconds, big-endian. Nanoseconds are rounded
	 * down to 2^24 ns (the largest power of two under 1s/50), as the kernel
	 * does, so the timestamp reveals less about the local clock. */
	uint64_t sec = (uint64_t)(unix_ns / 1000000000) + 0x400000000000000aULL;
	uint32_t nsec = (uint32_t)(unix_ns % 1000000000) & ~((1u << 24) - 1);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

/* The running state of one handshake step, computed in locals and copied
 * into the handshake only when the whole step succeeded; wiped either way. */
struct noise_work {
	uint8_t ck[WG_HASH_LEN];
	uint8_t h[WG_HASH_LEN];
	uint8_t key[WG_KEY_LEN];
	uint8_t ephemeral[WG_KEY_LEN]; /* our private one, or the peer's public one */
};

static void work_begin(struct noise_work *w, const uint8_t ck[WG_HASH_LEN], const uint8_t h[WG_HASH_LEN])
{
	memcpy(w->ck, ck, WG_HASH_LEN);
	memcpy(w->h, h, WG_HASH_LEN);
}

static void work_commit(struct noise_handshake *hs, const struct noise_work *w, enum noise_handshake_state state)
{
	memcpy(hs->chaining_key, w->ck, WG_HASH_LEN);
	memcpy(hs->hash, w->h, WG_HASH_LEN);
	hs->state = state;
}

/* e: a fresh ephemeral key pair from rng, into w->ephemeral and out_pub. */
static int work_new_ephemeral(struct noise_work *w, uint8_t out_pub[WG_KEY_LEN], noise_random_fn rng, void *rng_ctx)
{
	rng(rng_ctx, w->ephemeral, WG_KEY_LEN);
	x25519_clamp(w->ephemeral);
	if (x25519_public(out_pub, w->ephemeral) < 0)
		return -EINVAL;
	message_ephemeral(out_pub, out_pub, w->ck, w->h);
	return 0;
}

int noise_create_initiation(struct noise_handshake *hs, const struct noise_identity *id,
			    struct wg_msg_initiation *msg, uint32_t local_index,
			    const uint8_t timestamp[WG_TIMESTAMP_LEN], noise_random_fn rng, void *rng_ctx)
{
	struct noise_work w;
	int ret = -EINVAL;

	if (!id->has_identity)
		return -EINVAL;
	work_begin(&w, noise_initial_chaining_key, noise_initial_hash);
	mix_hash(w.h, hs->remote_static, WG_KEY_LEN);

	memset(msg, 0, sizeof(*msg));
	msg->type = WG_MSG_INITIATION;
	wg_le32_put(msg->sender_index, local_index);

	/* e */
	if (work_new_ephemeral(&w, msg->ephemeral, rng, rng_ctx) < 0)
		goto out;
	/* es */
	if (mix_dh(w.ck, w.key, w.ephemeral, hs->remote_static) < 0)
		goto out;
	/* s */
	encrypt_and_hash(msg->encrypted_static, id->public_key, WG_KEY_LEN, w.key, w.h);
	/* ss */
	if (mix_precomputed_dh(w.ck, w.key, hs->precomputed_static_static) < 0)
		goto out;
	/* {t} */
	encrypt_and_hash(msg->encrypted_timestamp, timestamp, WG_TIMESTAMP_LEN, w.key, w.h);

	memcpy(hs->ephemeral_private, w.ephemeral, WG_KEY_LEN);
	hs->local_index = local_index;
	work_commit(hs, &w, NOISE_HANDSHAKE_CREATED_INITIATION);
	ret = 0;
out:
	crypto_wipe(&w, sizeof(w));
	return ret;
}

int noise_consume_initiation_static(const struct noise_identity *id, const struct wg_msg_initiation *msg,
				    struct noise_initiation_partial *out)
{
	struct noise_initiation_partial p;
	uint8_t key[WG_KEY_LEN];
	int ret = -EINVAL;

	if (!id->has_identity)
		return -EINVAL;
	memcpy(p.chaining_key, noise_initial_chaining_key, WG_HASH_LEN);
	memcpy(p.hash, noise_initial_hash, WG_HASH_LEN);
	mix_hash(p.hash, id->public_key, WG_KEY_LEN);

	/* e */
	message_ephemeral(p.remote_ephemeral, msg->ephemeral, p.chaining_key, p.hash);
	/* es */
	if (mix_dh(p.chaining_key, key, id->private_key, msg->ephemeral) < 0)
		goto out;
	/* s */
	if (decrypt_and_hash(p.remote_static, msg->encrypted_static, sizeof(msg->encrypted_static), key, p.hash) < 0) {
		ret = -EBADMSG;
		goto out;
	}
	p.sender_index = wg_le32_get(msg->sender_index);
	*out = p;
	ret = 0;
out:
	crypto_wipe(&p, sizeof(p));
	crypto_wipe(key, sizeof(key));
	return ret;
}

int noise_consume_initiation_finish(struct noise_handshake *hs, const struct noise_identity *id,
				    const struct wg_msg_initiation *msg,
				    const struct noise_initiation_partial *partial, uint64_t now_ns,
				    uint64_t min_interval_ns)
{
	struct noise_work w;
	uint8_t t[WG_TIMESTAMP_LEN];
	int ret = -EINVAL;

	(void)id;
	if (!crypto_equal(partial->remote_static, hs->remote_static, WG_KEY_LEN))
		return -EINVAL;
	work_begin(&w, partial->chaining_key, partial->hash);

	/* ss */
	if (mix_precomputed_dh(w.ck, w.key, hs->precomputed_static_static) < 0)
		goto out;
	/* {t} */
	if (decrypt_and_hash(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), w.key, w.h) < 0) {
		ret = -EBADMSG;
		goto out;
	}
	/* Replay: the TAI64N timestamp must grow (big-endian compare). */
	if (memcmp(t, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0) {
		ret = -EALREADY;
		goto out;
	}
	/* Flood: at most WG_INITIATIONS_PER_SECOND consumed per peer. */
	if (hs->last_initiation_consumption && now_ns - hs->last_initiation_consumption < min_interval_ns) {
		ret = -EBUSY;
		goto out;
	}

	memcpy(hs->remote_ephemeral, partial->remote_ephemeral, WG_KEY_LEN);
	memcpy(hs->latest_timestamp, t, WG_TIMESTAMP_LEN);
	hs->remote_index = partial->sender_index;
	hs->last_initiation_consumption = now_ns;
	work_commit(hs, &w, NOISE_HANDSHAKE_CONSUMED_INITIATION);
	ret = 0;
out:
	crypto_wipe(&w, sizeof(w));
	crypto_wipe(t, sizeof(t));
	return ret;
}

int noise_create_response(struct noise_handshake *hs, struct wg_msg_response *msg, uint32_t local_index,
			  noise_random_fn rng, void *rng_ctx)
{
	struct noise_work w;
	int ret = -EINVAL;

	if (hs->state != NOISE_HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;
	work_begin(&w, hs->chaining_key, hs->hash);

	memset(msg, 0, sizeof(*msg));
	msg->type = WG_MSG_RESPONSE;
	wg_le32_put(msg->sender_index, local_index);
	wg_le32_put(msg->receiver_index, hs->remote_index);

	/* e */
	if (work_new_ephemeral(&w, msg->ephemeral, rng, rng_ctx) < 0)
		goto out;
	/* ee */
	if (mix_dh(w.ck, NULL, w.ephemeral, hs->remote_ephemeral) < 0)
		goto out;
	/* se */
	if (mix_dh(w.ck, NULL, w.ephemeral, hs->remote_static) < 0)
		goto out;
	/* psk */
	mix_psk(w.ck, w.h, w.key, hs->preshared_key);
	/* {} */
	encrypt_and_hash(msg->encrypted_nothing, NULL, 0, w.key, w.h);

	memcpy(hs->ephemeral_private, w.ephemeral, WG_KEY_LEN);
	hs->local_index = local_index;
	work_commit(hs, &w, NOISE_HANDSHAKE_CREATED_RESPONSE);
	ret = 0;
out:
	crypto_wipe(&w, sizeof(w));
	return ret;
}

int noise_consume_response(struct noise_handshake *hs, const struct noise_identity *id,
			   const struct wg_msg_response *msg)
{
	struct noise_work w;
	uint8_t nothing[1];
	int ret = -EINVAL;

	if (hs->state != NOISE_HANDSHAKE_CREATED_INITIATION || !id->has_identity)
		return -EINVAL;
	if (wg_le32_get(msg->receiver_index) != hs->local_index)
		return -EINVAL;
	work_begin(&w, hs->chaining_key, hs->hash);

	/* e (the responder's public ephemeral) */
	message_ephemeral(w.ephemeral, msg->ephemeral, w.ck, w.h);
	/* ee */
	if (mix_dh(w.ck, NULL, hs->ephemeral_private, w.ephemeral) < 0)
		goto out;
	/* se */
	if (mix_dh(w.ck, NULL, id->private_key, w.ephemeral) < 0)
		goto out;
	/* psk */
	mix_psk(w.ck, w.h, w.key, hs->preshared_key);
	/* {} */
	if (decrypt_and_hash(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), w.key, w.h) < 0) {
		ret = -EBADMSG;
		goto out;
	}

	memcpy(hs->remote_ephemeral, w.ephemeral, WG_KEY_LEN);
	hs->remote_index = wg_le32_get(msg->sender_index);
	work_commit(hs, &w, NOISE_HANDSHAKE_CONSUMED_RESPONSE);
	ret = 0;
out:
	crypto_wipe(&w, sizeof(w));
	return ret;
}

int noise_derive_session(struct noise_handshake *hs, struct noise_session_keys *out)
{
	uint8_t first[WG_KEY_LEN], second[WG_KEY_LEN];
	bool initiator;

	if (hs->state == NOISE_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == NOISE_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return -EINVAL;

	noise_kdf(first, second, NULL, hs->chaining_key, NULL, 0);
	memcpy(out->send, initiator ? first : second, WG_KEY_LEN);
	memcpy(out->recv, initiator ? second : first, WG_KEY_LEN);
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	out->is_initiator = initiator;
	crypto_wipe(first, sizeof(first));
	crypto_wipe(second, sizeof(second));
	noise_handshake_clear(hs);
	return 0;
}
