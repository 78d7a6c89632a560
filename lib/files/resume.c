/* Saving and restoring a stream between records, for uploads and downloads
 * that resume after a restart. Layout (docs/files.md): magic "RFS1" with the
 * role in its last byte ('E' encryptor, 'D' decryptor), next record (le32),
 * file id, metadata record plaintext, secretstream state, hash state, MAC. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"
#include "files/stream_internal.h"

#define FILES_LABEL_RESUME "roam files resume v1"

enum {
	FS_MAGIC = 0,
	FS_NEXT = 4,
	FS_ID = 8,
	FS_META = FS_ID + FILES_ID_LEN,
	FS_SS = FS_META + FILES_META_LEN,
	FS_HS = FS_SS + sizeof(crypto_secretstream_xchacha20poly1305_state),
	FS_MAC = FS_HS + sizeof(crypto_generichash_state),
};
_Static_assert(FS_MAC + FILES_MAC_LEN == FILES_SAVE_LEN, "resume layout");

/* The fields a stream carries from one record to the next. */
struct files_saved {
	const struct files_header *h;
	uint32_t next;
	struct files_meta *meta;
	crypto_secretstream_xchacha20poly1305_state *ss;
	crypto_generichash_state *hs;
};

static int files_save_mac(uint8_t mac[FILES_MAC_LEN], const uint8_t blob[FS_MAC], const struct files_header *h,
			  const struct files_keypair *self, const uint8_t peer_pub[FILES_KEY_LEN])
{
	uint8_t key[FILES_KEY_LEN];
	int r = files_pair_key(key, self->sec, peer_pub, FILES_LABEL_RESUME, h->sender_pub, h->recipient_pub);

	if (r == 0)
		crypto_generichash(mac, FILES_MAC_LEN, blob, FS_MAC, key, sizeof(key));
	crypto_wipe(key, sizeof(key));
	return r;
}

/* What a save reads: the same fields, read-only. */
struct files_saving {
	const struct files_header *h;
	uint32_t next;
	const struct files_meta *meta;
	const crypto_secretstream_xchacha20poly1305_state *ss;
	const crypto_generichash_state *hs;
};

static int files_save(uint8_t out[FILES_SAVE_LEN], char role, const struct files_saving *s,
		      const struct files_keypair *self, const uint8_t peer_pub[FILES_KEY_LEN])
{
	uint8_t blob[FILES_SAVE_LEN];
	int r;

	memcpy(blob + FS_MAGIC, "RFS", 3);
	blob[FS_MAGIC + 3] = (uint8_t)role;
	le32_put(blob + FS_NEXT, s->next);
	memcpy(blob + FS_ID, s->h->file_id, FILES_ID_LEN);
	r = files_meta_put(blob + FS_META, s->meta);
	if (r == 0) {
		memcpy(blob + FS_SS, s->ss, sizeof(*s->ss));
		memcpy(blob + FS_HS, s->hs, sizeof(*s->hs));
		r = files_save_mac(blob + FS_MAC, blob, s->h, self, peer_pub);
	}
	if (r == 0)
		memcpy(out, blob, sizeof(blob));
	crypto_wipe(blob, sizeof(blob));
	return r;
}

/* Checks a blob against the header the stream was restarted from and
 * fills s; nothing of the blob reaches libsodium before its MAC passed. */
static int files_restore(const uint8_t *blob, size_t len, char role, struct files_saved *s,
			 const struct files_keypair *self, const uint8_t peer_pub[FILES_KEY_LEN])
{
	uint8_t mac[FILES_MAC_LEN];
	uint32_t next;

	if (len != FILES_SAVE_LEN || memcmp(blob + FS_MAGIC, "RFS", 3) != 0 || blob[FS_MAGIC + 3] != (uint8_t)role ||
	    !crypto_equal(blob + FS_ID, s->h->file_id, FILES_ID_LEN))
		return -EBADMSG;
	if (files_save_mac(mac, blob, s->h, self, peer_pub) < 0 || !crypto_equal(mac, blob + FS_MAC, sizeof(mac)))
		return -EBADMSG;
	next = le32_get(blob + FS_NEXT);
	if (next < 1 || next > s->h->chunk_count || files_meta_get(blob + FS_META, s->meta) < 0 ||
	    s->meta->size != s->h->total_size)
		return -EBADMSG;
	s->next = next;
	memcpy(s->ss, blob + FS_SS, sizeof(*s->ss));
	memcpy(s->hs, blob + FS_HS, sizeof(*s->hs));
	return 0;
}

int files_dec_save(const struct files_dec *d, const struct files_keypair *self, uint8_t out[FILES_SAVE_LEN])
{
	struct files_saving s = {&d->h, d->next, &d->meta, &d->ss, &d->hs};

	if (d->state != FILES_ST_DATA)
		return -EINVAL;
	return files_save(out, 'D', &s, self, d->h.sender_pub);
}

int files_dec_restore(struct files_dec *d, const uint8_t *hdr, size_t hdrlen, const struct files_keypair *self,
		      const uint8_t expected_sender[FILES_KEY_LEN], const uint8_t *saved, size_t len)
{
	struct files_dec t;
	struct files_saved s;
	int r = files_dec_init(&t, hdr, hdrlen, self, expected_sender);

	if (r < 0)
		return r;
	s = (struct files_saved){&t.h, 0, &t.meta, &t.ss, &t.hs};
	r = files_restore(saved, len, 'D', &s, self, expected_sender);
	if (r == 0) {
		t.next = s.next;
		t.state = FILES_ST_DATA;
		*d = t;
	}
	files_dec_wipe(&t);
	return r;
}

int files_enc_save(const struct files_enc *e, const struct files_keypair *self, uint8_t out[FILES_SAVE_LEN])
{
	struct files_saving s = {&e->h, e->next, &e->meta, &e->ss, &e->hs};

	if (e->state != FILES_ST_DATA)
		return -EINVAL;
	return files_save(out, 'E', &s, self, e->h.recipient_pub);
}

int files_enc_restore(struct files_enc *e, const uint8_t *hdr, size_t hdrlen, const struct files_keypair *self,
		      const uint8_t *saved, size_t len)
{
	uint8_t mac[FILES_MAC_LEN];
	struct files_enc t;
	struct files_saved s;
	int r;

	memset(&t, 0, sizeof(t));
	r = files_header_parse(hdr, hdrlen, &t.h);
	if (r < 0)
		goto out;
	/* only the header this sender wrote, to that recipient, unaltered */
	r = -EBADMSG;
	if (!crypto_equal(t.h.sender_pub, self->pub, FILES_KEY_LEN) ||
	    files_header_mac(mac, hdr, self->sec, t.h.recipient_pub) < 0 || !crypto_equal(mac, hdr + FH_MAC, sizeof(mac)))
		goto out;
	s = (struct files_saved){&t.h, 0, &t.meta, &t.ss, &t.hs};
	r = files_restore(saved, len, 'E', &s, self, t.h.recipient_pub);
	if (r < 0)
		goto out;
	t.next = s.next;
	t.state = FILES_ST_DATA;
	*e = t;
out:
	crypto_wipe(&t, sizeof(t));
	return r;
}
