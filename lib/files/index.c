/* The PUBLISH index: entries (relative path, size, mtime, hash, optional
 * thumbnail) encrypted under a fresh group key, that key sealed to each
 * member's file public key, and one MAC per member with the key publisher
 * and member share, so no member can forge the publisher's index to the
 * others. Layout: docs/files.md. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"

#define AEAD_ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AEAD_NPUB crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

enum {
	FX_MAGIC = 0, /* then 2 reserved zero bytes */
	FX_MEMBERS = 6,
	FX_SEQ = 8,
	FX_PUBLISHER = 16,
	FX_NONCE = FX_PUBLISHER + FILES_KEY_LEN,
	FX_BODYLEN = FX_NONCE + AEAD_NPUB,
};
_Static_assert(FX_BODYLEN + 4 == FILES_INDEX_FIXED_LEN, "index layout");
_Static_assert(FILES_INDEX_ENTRY_FIXED == 2 + 4 + 8 + 8 + FILES_HASH_LEN + FILES_HASH_LEN, "entry layout");

int files_index_path_valid(const char *path, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > FILES_INDEX_PATH_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		size_t part;

		if (i < len && path[i] == '\0')
			return 0;
		if (i < len && path[i] != '/')
			continue;
		part = i - start;
		/* no absolute path, no empty part, no "." or ".." */
		if (part == 0 || (part == 1 && path[start] == '.') ||
		    (part == 2 && path[start] == '.' && path[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

static bool any_cached(const struct files_index_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (entries[i].cached)
			return true;
	return false;
}

int files_index_body_len(const struct files_index_entry *entries, size_t n, size_t *out)
{
	size_t total = 4, extra = any_cached(entries, n) ? FILES_INDEX_CACHE_LEN : 0;

	if (n > FILES_INDEX_MAX_ENTRIES)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		if (!files_index_path_valid(entries[i].path, entries[i].path_len) ||
		    entries[i].thumb_len > FILES_INDEX_THUMB_MAX || entries[i].size > FILES_MAX_SIZE)
			return -EINVAL;
		total += FILES_INDEX_ENTRY_FIXED + extra + entries[i].path_len + entries[i].thumb_len;
		if (total > FILES_INDEX_BODY_MAX)
			return -E2BIG;
	}
	*out = total;
	return 0;
}

int files_index_body_put(uint8_t *out, size_t outlen, const struct files_index_entry *entries, size_t n)
{
	size_t need, pos = 4;
	int r = files_index_body_len(entries, n, &need);

	if (r < 0)
		return r;
	if (outlen != need)
		return -EINVAL;
	bool cached = any_cached(entries, n);
	le32_put(out, (uint32_t)n | (cached ? FILES_INDEX_CACHED_FLAG : 0));
	for (size_t i = 0; i < n; i++) {
		const struct files_index_entry *e = &entries[i];

		le16_put(out + pos, (uint16_t)e->path_len);
		le32_put(out + pos + 2, (uint32_t)e->thumb_len);
		le64_put(out + pos + 6, e->size);
		le64_put(out + pos + 14, (uint64_t)e->mtime);
		memcpy(out + pos + 22, e->hash, FILES_HASH_LEN);
		memcpy(out + pos + 54, e->root, FILES_HASH_LEN);
		pos += FILES_INDEX_ENTRY_FIXED;
		if (cached) {
			memset(out + pos, 0, FILES_INDEX_CACHE_LEN);
			if (e->cached) {
				memcpy(out + pos, e->cache_id, FILES_INDEX_CACHE_ID_LEN);
				memcpy(out + pos + FILES_INDEX_CACHE_ID_LEN, e->cache_key, FILES_KEY_LEN);
			}
			pos += FILES_INDEX_CACHE_LEN;
		}
		memcpy(out + pos, e->path, e->path_len);
		pos += e->path_len;
		if (e->thumb_len)
			memcpy(out + pos, e->thumb, e->thumb_len);
		pos += e->thumb_len;
	}
	return 0;
}

int files_index_iter_init(struct files_index_iter *it, const uint8_t *body, size_t len)
{
	uint32_t count;

	if (len < 4 || len > FILES_INDEX_BODY_MAX)
		return -EBADMSG;
	count = le32_get(body);
	bool flagged = count & FILES_INDEX_CACHED_FLAG;
	count &= ~FILES_INDEX_CACHED_FLAG;
	if (count > FILES_INDEX_MAX_ENTRIES)
		return -EBADMSG;
	*it = (struct files_index_iter){.body = body, .len = len, .pos = 4, .count = count, .flagged = flagged};
	return 0;
}

int files_index_next(struct files_index_iter *it, struct files_index_entry *e)
{
	const uint8_t *p = it->body + it->pos;
	size_t left = it->len - it->pos, plen, tlen, fixed = FILES_INDEX_ENTRY_FIXED;
	struct files_index_entry t = { 0 };
	static const uint8_t zero[FILES_INDEX_CACHE_LEN];

	if (it->seen == it->count) /* no trailing bytes; the flag only with a cached entry (one encoding) */
		return left == 0 && it->flagged == it->any_cached ? 0 : -EBADMSG;
	if (it->flagged) {
		fixed += FILES_INDEX_CACHE_LEN;
		if (left >= fixed && memcmp(p + FILES_INDEX_ENTRY_FIXED, zero, FILES_INDEX_CACHE_LEN) != 0) {
			t.cached = true;
			memcpy(t.cache_id, p + FILES_INDEX_ENTRY_FIXED, FILES_INDEX_CACHE_ID_LEN);
			memcpy(t.cache_key, p + FILES_INDEX_ENTRY_FIXED + FILES_INDEX_CACHE_ID_LEN, FILES_KEY_LEN);
		}
	}
	if (left < fixed)
		return -EBADMSG;
	plen = le16_get(p);
	tlen = le32_get(p + 2);
	if (tlen > FILES_INDEX_THUMB_MAX || plen + tlen > left - fixed)
		return -EBADMSG;
	t.path = (const char *)p + fixed;
	t.path_len = plen;
	t.size = le64_get(p + 6);
	t.mtime = (int64_t)le64_get(p + 14);
	memcpy(t.hash, p + 22, FILES_HASH_LEN);
	memcpy(t.root, p + 54, FILES_HASH_LEN);
	t.thumb = tlen ? p + fixed + plen : NULL;
	t.thumb_len = tlen;
	if (!files_index_path_valid(t.path, plen) || t.size > FILES_MAX_SIZE)
		return -EBADMSG;
	it->pos += fixed + plen + tlen;
	it->seen++;
	it->any_cached |= t.cached;
	*e = t;
	return 1;
}

int files_index_sealed_len(size_t members, size_t body_len, size_t *out)
{
	if (members == 0 || members > FILES_INDEX_MAX_MEMBERS)
		return -EINVAL;
	if (body_len < 4 || body_len > FILES_INDEX_BODY_MAX)
		return -E2BIG;
	*out = FILES_INDEX_FIXED_LEN + members * (FILES_INDEX_SLOT_LEN + FILES_MAC_LEN) + body_len + AEAD_ABYTES;
	return 0;
}

/* Member i's MAC over the digest of everything before the MACs. */
static int files_index_mac(uint8_t mac[FILES_MAC_LEN], const uint8_t digest[FILES_HASH_LEN],
			   const uint8_t self_sec[FILES_KEY_LEN], const uint8_t peer_pub[FILES_KEY_LEN],
			   const uint8_t publisher[FILES_KEY_LEN], const uint8_t member[FILES_KEY_LEN])
{
	uint8_t key[FILES_KEY_LEN];
	int r = files_pair_key(key, self_sec, peer_pub, FILES_LABEL_INDEX, publisher, member);

	if (r == 0)
		crypto_generichash(mac, FILES_MAC_LEN, digest, FILES_HASH_LEN, key, sizeof(key));
	crypto_wipe(key, sizeof(key));
	return r;
}

static int files_index_members_distinct(const uint8_t *slots, size_t n, size_t stride)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (memcmp(slots + i * stride, slots + j * stride, FILES_KEY_LEN) == 0)
				return 0;
	return 1;
}

int files_index_seal(uint8_t *out, size_t outlen, const struct files_keypair *publisher, uint64_t seq,
		     const uint8_t (*members)[FILES_KEY_LEN], size_t n_members, const uint8_t *body, size_t body_len)
{
	uint8_t gk[FILES_KEY_LEN], digest[FILES_HASH_LEN];
	size_t need, ad_len = FILES_INDEX_FIXED_LEN + n_members * FILES_INDEX_SLOT_LEN;
	uint8_t *macs;
	int r = files_index_sealed_len(n_members, body_len, &need);

	if (r < 0)
		return r;
	if (outlen != need || !files_index_members_distinct(members[0], n_members, FILES_KEY_LEN))
		return -EINVAL;
	memcpy(out + FX_MAGIC, FILES_INDEX_MAGIC, 4);
	memset(out + 4, 0, 2);
	le16_put(out + FX_MEMBERS, (uint16_t)n_members);
	le64_put(out + FX_SEQ, seq);
	memcpy(out + FX_PUBLISHER, publisher->pub, FILES_KEY_LEN);
	crypto_random(out + FX_NONCE, AEAD_NPUB);
	le32_put(out + FX_BODYLEN, (uint32_t)(body_len + AEAD_ABYTES));
	crypto_aead_xchacha20poly1305_ietf_keygen(gk);
	r = -EINVAL;
	for (size_t i = 0; i < n_members; i++) {
		uint8_t *slot = out + FILES_INDEX_FIXED_LEN + i * FILES_INDEX_SLOT_LEN;

		memcpy(slot, members[i], FILES_KEY_LEN);
		if (crypto_box_seal(slot + FILES_KEY_LEN, gk, sizeof(gk), members[i]) != 0)
			goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + ad_len, NULL, body, body_len, out, ad_len, NULL,
						   out + FX_NONCE, gk);
	macs = out + ad_len + body_len + AEAD_ABYTES;
	crypto_generichash(digest, sizeof(digest), out, (size_t)(macs - out), NULL, 0);
	for (size_t i = 0; i < n_members; i++) {
		r = files_index_mac(macs + i * FILES_MAC_LEN, digest, publisher->sec, members[i], publisher->pub,
				    members[i]);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	crypto_wipe(gk, sizeof(gk));
	if (r < 0)
		crypto_wipe(out, outlen);
	return r;
}

/* Checks the clear part: exact length, caps, the publisher, our slot. */
static int files_index_locate(const uint8_t *buf, size_t len, const struct files_keypair *self,
			      const uint8_t publisher_pub[FILES_KEY_LEN], size_t *n, size_t *body_len, size_t *slot)
{
	size_t members, blen, need;

	if (len < FILES_INDEX_FIXED_LEN || memcmp(buf + FX_MAGIC, FILES_INDEX_MAGIC, 4) != 0 || buf[4] || buf[5])
		return -EBADMSG;
	members = le16_get(buf + FX_MEMBERS);
	blen = le32_get(buf + FX_BODYLEN);
	if (blen < AEAD_ABYTES || files_index_sealed_len(members, blen - AEAD_ABYTES, &need) < 0 || need != len ||
	    !crypto_equal(buf + FX_PUBLISHER, publisher_pub, FILES_KEY_LEN) ||
	    !files_index_members_distinct(buf + FILES_INDEX_FIXED_LEN, members, FILES_INDEX_SLOT_LEN))
		return -EBADMSG;
	for (size_t i = 0; i < members; i++) {
		if (memcmp(buf + FILES_INDEX_FIXED_LEN + i * FILES_INDEX_SLOT_LEN, self->pub, FILES_KEY_LEN) == 0) {
			*n = members;
			*body_len = blen - AEAD_ABYTES;
			*slot = i;
			return 0;
		}
	}
	return -EBADMSG; /* not for us */
}

static int files_index_body_check(const uint8_t *body, size_t len)
{
	struct files_index_iter it;
	struct files_index_entry e;
	int r = files_index_iter_init(&it, body, len);

	while (r >= 0 && (r = files_index_next(&it, &e)) == 1)
		;
	return r;
}

int files_index_open(const uint8_t *buf, size_t len, const struct files_keypair *self,
		     const uint8_t publisher_pub[FILES_KEY_LEN], uint64_t *seq, uint8_t *body, size_t bodycap,
		     size_t *body_len)
{
	uint8_t digest[FILES_HASH_LEN], mac[FILES_MAC_LEN], gk[FILES_KEY_LEN];
	size_t n, blen, slot, ad_len;
	const uint8_t *macs, *mine;
	int r = files_index_locate(buf, len, self, publisher_pub, &n, &blen, &slot);

	if (r < 0)
		return r;
	if (bodycap < blen)
		return -ENOBUFS;
	ad_len = FILES_INDEX_FIXED_LEN + n * FILES_INDEX_SLOT_LEN;
	macs = buf + ad_len + blen + AEAD_ABYTES;
	mine = buf + FILES_INDEX_FIXED_LEN + slot * FILES_INDEX_SLOT_LEN;
	crypto_generichash(digest, sizeof(digest), buf, (size_t)(macs - buf), NULL, 0);
	r = -EBADMSG;
	if (files_index_mac(mac, digest, self->sec, publisher_pub, publisher_pub, self->pub) < 0 ||
	    !crypto_equal(mac, macs + slot * FILES_MAC_LEN, sizeof(mac)))
		goto out;
	if (crypto_box_seal_open(gk, mine + FILES_KEY_LEN, FILES_SEALED_KEY_LEN, self->pub, self->sec) != 0 ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(body, NULL, NULL, buf + ad_len, blen + AEAD_ABYTES, buf, ad_len,
						       buf + FX_NONCE, gk) != 0)
		goto out;
	if (files_index_body_check(body, blen) < 0) {
		crypto_wipe(body, blen);
		goto out;
	}
	*seq = le64_get(buf + FX_SEQ);
	*body_len = blen;
	r = 0;
out:
	crypto_wipe(gk, sizeof(gk));
	return r;
}

int files_cached_size(uint64_t size, uint64_t *out)
{
	uint64_t chunks = size ? (size + FILES_CHUNK_DEFAULT - 1) / FILES_CHUNK_DEFAULT : 1;

	if (size > FILES_MAX_SIZE)
		return -E2BIG;
	*out = size + chunks * FILES_CACHED_CHUNK_OVERHEAD;
	return 0;
}

/* Chunk index's nonce and additional data; -EINVAL when index and len do
 * not make a chunk of a file of that size. */
static int cached_chunk_params(uint8_t nonce[AEAD_NPUB], uint8_t ad[12], size_t len, uint64_t size, uint32_t index)
{
	uint64_t start = (uint64_t)index * FILES_CHUNK_DEFAULT;
	uint64_t want = size - start < FILES_CHUNK_DEFAULT ? size - start : FILES_CHUNK_DEFAULT;

	if (size > FILES_MAX_SIZE || (start >= size && !(size == 0 && index == 0)) || len != want)
		return -EINVAL;
	memset(nonce, 0, AEAD_NPUB);
	memcpy(nonce, "RFC1", 4);
	le64_put(nonce + 4, index);
	le64_put(ad, size);
	le32_put(ad + 8, index);
	return 0;
}

int files_cached_chunk_seal(uint8_t *out, const uint8_t *plain, size_t len, uint64_t size, uint32_t index,
			    const uint8_t key[FILES_KEY_LEN])
{
	uint8_t nonce[AEAD_NPUB], ad[12];
	int r = cached_chunk_params(nonce, ad, len, size, index);

	if (r < 0)
		return r;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, sizeof(ad), NULL, nonce, key);
	return 0;
}

int files_cached_chunk_open(uint8_t *out, const uint8_t *cipher, size_t len, uint64_t size, uint32_t index,
			    const uint8_t key[FILES_KEY_LEN])
{
	uint8_t nonce[AEAD_NPUB], ad[12];

	if (len < FILES_CACHED_CHUNK_OVERHEAD ||
	    cached_chunk_params(nonce, ad, len - FILES_CACHED_CHUNK_OVERHEAD, size, index) < 0 ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, cipher, len, ad, sizeof(ad), nonce, key) != 0)
		return -EBADMSG;
	return 0;
}
