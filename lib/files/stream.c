/* The streaming encryptor and decryptor: a header, record 0 with the
 * metadata, then crypto_secretstream_xchacha20poly1305 over fixed-size
 * chunks, the last one tagged FINAL. Layouts: docs/files.md. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"
#include "files/stream_internal.h"

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

int files_enc_init(struct files_enc *e, uint8_t hdr[FILES_HEADER_LEN], const struct files_keypair *sender,
		   const uint8_t recipient_pub[FILES_KEY_LEN], const struct files_meta *meta, uint32_t chunk_size)
{
	uint8_t out[FILES_HEADER_LEN], key[FILES_KEY_LEN], encoded[FILES_META_LEN];
	struct files_enc t;
	int r;

	memset(&t, 0, sizeof(t));
	r = files_meta_put(encoded, meta);
	if (r < 0)
		goto out;
	t.h.chunk_size = chunk_size;
	t.h.total_size = meta->size;
	if (chunk_size < FILES_CHUNK_MIN || chunk_size > FILES_CHUNK_MAX || meta->size > FILES_MAX_SIZE ||
	    meta->size / chunk_size + (meta->size % chunk_size != 0) > FILES_MAX_CHUNKS) {
		r = -EFBIG;
		goto out;
	}
	t.h.chunk_count = (uint32_t)(meta->size / chunk_size + (meta->size % chunk_size != 0));
	crypto_random(t.h.file_id, FILES_ID_LEN);
	memcpy(t.h.sender_pub, sender->pub, FILES_KEY_LEN);
	memcpy(t.h.recipient_pub, recipient_pub, FILES_KEY_LEN);
	files_header_put(out, &t.h);
	crypto_secretstream_xchacha20poly1305_keygen(key);
	if (crypto_box_seal(out + FH_SEALED, key, sizeof(key), recipient_pub) != 0 ||
	    crypto_secretstream_xchacha20poly1305_init_push(&t.ss, out + FH_STREAM, key) != 0) {
		r = -EINVAL;
		goto out;
	}
	r = files_header_mac(out + FH_MAC, out, sender->sec, recipient_pub);
	if (r < 0)
		goto out;
	t.meta = *meta;
	crypto_generichash_init(&t.hs, NULL, 0, FILES_HASH_LEN);
	t.state = FILES_ST_META;
	memcpy(hdr, out, sizeof(out));
	*e = t;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(encoded, sizeof(encoded));
	crypto_wipe(&t, sizeof(t));
	return r;
}

int files_enc_meta(struct files_enc *e, uint8_t out[FILES_META_RECORD_LEN])
{
	uint8_t encoded[FILES_META_LEN];
	uint8_t tag = e->h.chunk_count == 0 ? TAG_FINAL : TAG_MESSAGE;
	int r;

	if (e->state != FILES_ST_META)
		return -EINVAL;
	r = files_meta_put(encoded, &e->meta);
	if (r == 0)
		crypto_secretstream_xchacha20poly1305_push(&e->ss, out, NULL, encoded, sizeof(encoded), NULL, 0, tag);
	crypto_wipe(encoded, sizeof(encoded));
	if (r < 0)
		return r;
	e->next = 1;
	e->state = FILES_ST_DATA;
	if (e->h.chunk_count == 0) {
		crypto_generichash_final(&e->hs, e->hash, FILES_HASH_LEN);
		e->state = FILES_ST_DONE;
		if (!crypto_equal(e->hash, e->meta.hash, FILES_HASH_LEN))
			return -ESTALE;
	}
	return 0;
}

int files_enc_chunk(struct files_enc *e, const uint8_t *plain, size_t len, uint8_t *out, size_t *outlen)
{
	uint64_t off;
	size_t want;
	int last;

	if (e->state != FILES_ST_DATA || files_record_span(&e->h, e->next, &off, &want) < 0)
		return -EINVAL;
	if (len + FILES_ABYTES != want)
		return -EINVAL;
	last = e->next == e->h.chunk_count;
	crypto_generichash_update(&e->hs, plain, len);
	crypto_secretstream_xchacha20poly1305_push(&e->ss, out, NULL, plain, len, NULL, 0,
						   last ? TAG_FINAL : TAG_MESSAGE);
	*outlen = want;
	e->next++;
	if (last) {
		e->state = FILES_ST_DONE;
		crypto_generichash_final(&e->hs, e->hash, FILES_HASH_LEN);
		/* the file changed between hashing and sending: the recipient
		 * would refuse it, so say so now */
		if (!crypto_equal(e->hash, e->meta.hash, FILES_HASH_LEN))
			return -ESTALE;
	}
	return 0;
}

int files_enc_done(const struct files_enc *e)
{
	return e->state == FILES_ST_DONE;
}

void files_enc_wipe(struct files_enc *e)
{
	if (e)
		crypto_wipe(e, sizeof(*e));
}

int files_dec_init(struct files_dec *d, const uint8_t *hdr, size_t len, const struct files_keypair *self,
		   const uint8_t expected_sender[FILES_KEY_LEN])
{
	uint8_t mac[FILES_MAC_LEN], key[FILES_KEY_LEN];
	struct files_dec t;
	int r;

	memset(&t, 0, sizeof(t));
	r = files_header_parse(hdr, len, &t.h);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	if (!crypto_equal(t.h.recipient_pub, self->pub, FILES_KEY_LEN) ||
	    !crypto_equal(t.h.sender_pub, expected_sender, FILES_KEY_LEN))
		goto out;
	if (files_header_mac(mac, hdr, self->sec, expected_sender) < 0 ||
	    !crypto_equal(mac, hdr + FH_MAC, FILES_MAC_LEN))
		goto out;
	if (crypto_box_seal_open(key, hdr + FH_SEALED, FILES_SEALED_KEY_LEN, self->pub, self->sec) != 0 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&t.ss, hdr + FH_STREAM, key) != 0)
		goto out;
	crypto_generichash_init(&t.hs, NULL, 0, FILES_HASH_LEN);
	t.state = FILES_ST_META;
	*d = t;
	r = 0;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&t, sizeof(t));
	return r;
}

/* Ends the stream: the hash of everything decrypted must be record 0's. */
static int files_dec_finish(struct files_dec *d)
{
	uint8_t hash[FILES_HASH_LEN];

	crypto_generichash_final(&d->hs, hash, sizeof(hash));
	if (!crypto_equal(hash, d->meta.hash, sizeof(hash)))
		return -EBADMSG;
	d->state = FILES_ST_DONE;
	return 0;
}

static int files_dec_meta_record(struct files_dec *d, const uint8_t *rec)
{
	uint8_t plain[FILES_META_LEN];
	struct files_meta m;
	unsigned char tag = 0;
	int r = -EBADMSG;

	if (crypto_secretstream_xchacha20poly1305_pull(&d->ss, plain, NULL, &tag, rec, FILES_META_RECORD_LEN, NULL,
						       0) != 0 ||
	    tag != (d->h.chunk_count == 0 ? TAG_FINAL : TAG_MESSAGE) || files_meta_get(plain, &m) < 0 ||
	    m.size != d->h.total_size)
		goto out;
	d->meta = m;
	d->state = FILES_ST_DATA;
	r = d->h.chunk_count == 0 ? files_dec_finish(d) : 0;
out:
	crypto_wipe(plain, sizeof(plain));
	crypto_wipe(&m, sizeof(m));
	return r;
}

static int files_dec_data_record(struct files_dec *d, const uint8_t *rec, size_t len, uint8_t *out)
{
	unsigned char tag = 0;
	int last = d->next == d->h.chunk_count;

	if (crypto_secretstream_xchacha20poly1305_pull(&d->ss, out, NULL, &tag, rec, len, NULL, 0) != 0 ||
	    tag != (last ? TAG_FINAL : TAG_MESSAGE))
		return -EBADMSG;
	crypto_generichash_update(&d->hs, out, len - FILES_ABYTES);
	return last ? files_dec_finish(d) : 0;
}

int files_dec_record(struct files_dec *d, const uint8_t *rec, size_t len, uint8_t *out, size_t *outlen)
{
	uint64_t off;
	size_t want;
	int r;

	if (d->state != FILES_ST_META && d->state != FILES_ST_DATA)
		return -EINVAL;
	if (files_record_span(&d->h, d->next, &off, &want) < 0 || len != want) {
		r = -EBADMSG;
		goto fail;
	}
	if (d->next == 0)
		r = files_dec_meta_record(d, rec);
	else
		r = files_dec_data_record(d, rec, len, out);
	if (r < 0)
		goto fail;
	*outlen = d->next == 0 ? 0 : len - FILES_ABYTES;
	d->next++;
	return 0;
fail:
	/* a stream that failed once is never trusted again */
	files_dec_wipe(d);
	return r;
}

const struct files_meta *files_dec_meta(const struct files_dec *d)
{
	return d->state == FILES_ST_DATA || d->state == FILES_ST_DONE ? &d->meta : NULL;
}

int files_dec_done(const struct files_dec *d)
{
	return d->state == FILES_ST_DONE;
}

void files_dec_wipe(struct files_dec *d)
{
	if (d)
		crypto_wipe(d, sizeof(*d));
}
