/* The encrypted file's clear header, its metadata record's plaintext, and
 * where each record lies. Layouts: docs/files.md. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"
#include "files/stream_internal.h"

_Static_assert(FILES_HEADER_LEN == 4 + 4 + 4 + 8 + FILES_ID_LEN + 2 * FILES_KEY_LEN + FILES_SEALED_KEY_LEN +
				   crypto_secretstream_xchacha20poly1305_HEADERBYTES + FILES_MAC_LEN,
	       "header layout");
_Static_assert(FILES_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "record overhead");
_Static_assert(FILES_META_LEN == 4 + 8 + 8 + FILES_HASH_LEN + FILES_NAME_MAX + 1, "metadata layout");

static int files_chunks(uint32_t chunk_size, uint64_t total, uint32_t *count)
{
	uint64_t n;

	if (chunk_size < FILES_CHUNK_MIN || chunk_size > FILES_CHUNK_MAX || total > FILES_MAX_SIZE)
		return -EFBIG;
	n = total / chunk_size + (total % chunk_size != 0);
	if (n > FILES_MAX_CHUNKS)
		return -EFBIG;
	*count = (uint32_t)n;
	return 0;
}

int files_header_parse(const uint8_t *buf, size_t len, struct files_header *h)
{
	struct files_header t;
	int r;

	if (len != FILES_HEADER_LEN || memcmp(buf + FH_MAGIC, FILES_MAGIC, 4) != 0 || buf[FH_VERSION] != FILES_VERSION ||
	    buf[FH_VERSION + 1] || buf[FH_VERSION + 2] || buf[FH_VERSION + 3])
		return -EBADMSG;
	t.chunk_size = le32_get(buf + FH_CHUNK);
	t.total_size = le64_get(buf + FH_TOTAL);
	r = files_chunks(t.chunk_size, t.total_size, &t.chunk_count);
	if (r < 0)
		return -EBADMSG;
	memcpy(t.file_id, buf + FH_ID, FILES_ID_LEN);
	memcpy(t.sender_pub, buf + FH_SENDER, FILES_KEY_LEN);
	memcpy(t.recipient_pub, buf + FH_RECIPIENT, FILES_KEY_LEN);
	*h = t;
	return 0;
}

void files_header_put(uint8_t hdr[FILES_HEADER_LEN], const struct files_header *h)
{
	memcpy(hdr + FH_MAGIC, FILES_MAGIC, 4);
	hdr[FH_VERSION] = FILES_VERSION;
	memset(hdr + FH_VERSION + 1, 0, 3);
	le32_put(hdr + FH_CHUNK, h->chunk_size);
	le64_put(hdr + FH_TOTAL, h->total_size);
	memcpy(hdr + FH_ID, h->file_id, FILES_ID_LEN);
	memcpy(hdr + FH_SENDER, h->sender_pub, FILES_KEY_LEN);
	memcpy(hdr + FH_RECIPIENT, h->recipient_pub, FILES_KEY_LEN);
}

/* The header's MAC, over every byte before it, with the key sender and
 * recipient share: binds the sealed file key and the stream to both. */
int files_header_mac(uint8_t mac[FILES_MAC_LEN], const uint8_t hdr[FILES_HEADER_LEN], const uint8_t self_sec[FILES_KEY_LEN],
		     const uint8_t peer_pub[FILES_KEY_LEN])
{
	uint8_t key[FILES_KEY_LEN];
	int r = files_pair_key(key, self_sec, peer_pub, FILES_LABEL_HEADER, hdr + FH_SENDER, hdr + FH_RECIPIENT);

	if (r == 0)
		crypto_generichash(mac, FILES_MAC_LEN, hdr, FH_MAC, key, sizeof(key));
	crypto_wipe(key, sizeof(key));
	return r;
}

int files_record_span(const struct files_header *h, uint32_t index, uint64_t *offset, size_t *len)
{
	uint64_t rec = (uint64_t)h->chunk_size + FILES_ABYTES;
	uint64_t last;

	if (index > h->chunk_count)
		return -ERANGE;
	if (index == 0) {
		*offset = FILES_HEADER_LEN;
		*len = FILES_META_RECORD_LEN;
		return 0;
	}
	last = h->total_size - (uint64_t)(h->chunk_count - 1) * h->chunk_size;
	*offset = FILES_HEADER_LEN + FILES_META_RECORD_LEN + (uint64_t)(index - 1) * rec;
	*len = (size_t)(index == h->chunk_count ? last + FILES_ABYTES : rec);
	return 0;
}

int files_encrypted_size(uint32_t chunk_size, uint64_t total_size, uint64_t *out)
{
	uint32_t n;
	int r = files_chunks(chunk_size, total_size, &n);

	if (r < 0)
		return r;
	*out = FILES_HEADER_LEN + FILES_META_RECORD_LEN + total_size + (uint64_t)n * FILES_ABYTES;
	return 0;
}

int files_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > FILES_NAME_MAX || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return 0;
	return 1;
}

int files_meta_put(uint8_t out[FILES_META_LEN], const struct files_meta *m)
{
	size_t n = strnlen(m->name, sizeof(m->name));

	if (!files_name_valid(m->name, n))
		return -EINVAL;
	memset(out, 0, FILES_META_LEN);
	le16_put(out + FM_NAMELEN, (uint16_t)n);
	le64_put(out + FM_SIZE, m->size);
	le64_put(out + FM_MTIME, (uint64_t)m->mtime);
	memcpy(out + FM_HASH, m->hash, FILES_HASH_LEN);
	memcpy(out + FM_NAME, m->name, n);
	return 0;
}

int files_meta_get(const uint8_t in[FILES_META_LEN], struct files_meta *m)
{
	size_t n = le16_get(in + FM_NAMELEN);

	/* one encoding only: reserved bytes and the name's padding are zero */
	if (le16_get(in + FM_NAMELEN + 2) != 0 || !files_name_valid((const char *)in + FM_NAME, n) ||
	    !crypto_is_zero(in + FM_NAME + n, FILES_NAME_MAX + 1 - n))
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	memcpy(m->name, in + FM_NAME, n);
	m->size = le64_get(in + FM_SIZE);
	m->mtime = (int64_t)le64_get(in + FM_MTIME);
	memcpy(m->hash, in + FM_HASH, FILES_HASH_LEN);
	return 0;
}
