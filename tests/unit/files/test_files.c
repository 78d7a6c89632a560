/* lib/files: the encrypted file format, resumption, the delivery receipt
 * and the group index; every rejection the format promises. With
 * `--corpus DIR` it also writes real outputs as the fuzz targets' seeds
 * (keys as in fuzz/fuzz_file_*.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "crypto/crypto.h"
#include "files/files.h"

static struct files_keypair alice, bob, carol, mallory;

static void key_from_byte(struct files_keypair *kp, uint8_t b)
{
	uint8_t sec[FILES_KEY_LEN];

	memset(sec, b, sizeof(sec));
	if (files_keypair_from_secret(kp, sec) < 0)
		abort();
}

/* A whole encrypted file in memory: header then records. */
struct blob {
	uint8_t *buf;
	size_t len;
};

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void meta_for(struct files_meta *m, const char *name, const uint8_t *plain, size_t len)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->size = len;
	m->mtime = 1764892800;
	crypto_generichash(m->hash, FILES_HASH_LEN, plain, len, NULL, 0);
}

static int encrypt(struct blob *out, const struct files_keypair *from, const uint8_t *to, const uint8_t *plain,
		   size_t len, uint32_t chunk)
{
	struct files_enc e;
	struct files_meta m;
	uint64_t total, off;
	size_t rl, n;
	int r;

	meta_for(&m, "report.pdf", plain, len);
	r = files_encrypted_size(chunk, len, &total);
	if (r < 0)
		return r;
	out->buf = malloc(total);
	out->len = total;
	if (!out->buf)
		abort();
	r = files_enc_init(&e, out->buf, from, to, &m, chunk);
	if (r == 0)
		r = files_enc_meta(&e, out->buf + FILES_HEADER_LEN);
	for (uint32_t i = 1; r == 0 && !files_enc_done(&e); i++) {
		struct files_header h;

		if (files_header_parse(out->buf, FILES_HEADER_LEN, &h) < 0 || files_record_span(&h, i, &off, &rl) < 0)
			abort();
		r = files_enc_chunk(&e, plain + (size_t)(i - 1) * chunk, rl - FILES_ABYTES, out->buf + off, &n);
	}
	files_enc_wipe(&e);
	return r;
}

/* Decrypts records [first, end) with d; plain gets the data. */
static int decrypt_from(struct files_dec *d, const struct blob *b, uint32_t first, uint8_t *plain)
{
	const struct files_header *h = &d->h;
	uint64_t off;
	size_t rl, n;
	int r = 0;

	for (uint32_t i = first; r == 0 && i <= h->chunk_count; i++) {
		if (files_record_span(h, i, &off, &rl) < 0 || off + rl > b->len)
			return -EBADMSG; /* truncated */
		r = files_dec_record(d, b->buf + off, rl, i ? plain + (size_t)(i - 1) * h->chunk_size : NULL, &n);
	}
	if (r == 0 && !files_dec_done(d))
		r = -EBADMSG;
	return r;
}

static int decrypt(const struct blob *b, const struct files_keypair *self, const uint8_t *sender, uint8_t *plain)
{
	struct files_dec d;
	int r = files_dec_init(&d, b->buf, b->len < FILES_HEADER_LEN ? b->len : FILES_HEADER_LEN, self, sender);

	if (r == 0)
		r = decrypt_from(&d, b, 0, plain);
	if (r == 0) { /* and nothing after the last record */
		uint64_t total;

		if (files_encrypted_size(d.h.chunk_size, d.h.total_size, &total) < 0 || total != b->len)
			r = -EBADMSG;
	}
	files_dec_wipe(&d);
	return r;
}

static void test_round_trips(void)
{
	static const size_t sizes[] = {0, 1, FILES_CHUNK_DEFAULT, FILES_CHUNK_DEFAULT + 1, 10u << 20};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];
		uint8_t *plain = malloc(len + 1), *back = malloc(len + 1);
		struct blob b;
		uint64_t total;
		struct files_dec d;

		fill(plain, len, (uint32_t)k);
		CHECK_EQ(encrypt(&b, &alice, bob.pub, plain, len, FILES_CHUNK_DEFAULT), 0);
		CHECK_EQ(files_encrypted_size(FILES_CHUNK_DEFAULT, len, &total), 0);
		CHECK_EQ(b.len, total);
		CHECK_EQ(decrypt(&b, &bob, alice.pub, back), 0);
		CHECK(len == 0 || memcmp(plain, back, len) == 0);
		/* the name travels only inside the stream */
		CHECK(memmem(b.buf, b.len, "report.pdf", 10) == NULL);
		CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
		CHECK(files_dec_meta(&d) == NULL);
		CHECK_EQ(decrypt_from(&d, &b, 0, back), 0);
		CHECK(files_dec_meta(&d) && strcmp(files_dec_meta(&d)->name, "report.pdf") == 0);
		CHECK(files_dec_meta(&d) && files_dec_meta(&d)->size == len && files_dec_meta(&d)->mtime == 1764892800);
		files_dec_wipe(&d);
		free(b.buf);
		free(plain);
		free(back);
	}
}

/* A small file of three data records for the tamper tests. */
#define SMALL_CHUNK 1024u
#define SMALL_LEN 2500u

static void test_tamper_every_byte(void)
{
	uint8_t plain[SMALL_LEN], back[SMALL_LEN];
	struct blob b;
	int all_fail = 1;

	fill(plain, sizeof(plain), 7);
	CHECK_EQ(encrypt(&b, &alice, bob.pub, plain, sizeof(plain), SMALL_CHUNK), 0);
	CHECK_EQ(decrypt(&b, &bob, alice.pub, back), 0);
	for (size_t i = 0; i < b.len; i++) {
		b.buf[i] ^= 0x01;
		if (decrypt(&b, &bob, alice.pub, back) == 0) {
			all_fail = 0;
			fprintf(stderr, "byte %zu flipped still decrypts\n", i);
		}
		b.buf[i] ^= 0x01;
	}
	CHECK(all_fail);
	free(b.buf);
}

static void test_stream_attacks(void)
{
	uint8_t plain[SMALL_LEN], back[SMALL_LEN], tmp[SMALL_CHUNK + FILES_ABYTES];
	struct files_header h;
	struct blob b, cut;
	uint64_t o1, o2, o3;
	size_t l1, l2, l3, n;
	struct files_dec d;

	fill(plain, sizeof(plain), 9);
	CHECK_EQ(encrypt(&b, &alice, bob.pub, plain, sizeof(plain), SMALL_CHUNK), 0);
	CHECK_EQ(files_header_parse(b.buf, FILES_HEADER_LEN, &h), 0);
	CHECK_EQ(h.chunk_count, 3);
	CHECK_EQ(files_record_span(&h, 1, &o1, &l1), 0);
	CHECK_EQ(files_record_span(&h, 2, &o2, &l2), 0);
	CHECK_EQ(files_record_span(&h, 3, &o3, &l3), 0);
	CHECK_EQ(files_record_span(&h, 4, &o3, &l3), -ERANGE);
	CHECK_EQ(l3, SMALL_LEN - 2 * SMALL_CHUNK + FILES_ABYTES);

	/* truncation: the last record missing, or one byte short */
	cut = (struct blob){b.buf, (size_t)o3};
	CHECK(decrypt(&cut, &bob, alice.pub, back) < 0);
	cut.len = b.len - 1;
	CHECK(decrypt(&cut, &bob, alice.pub, back) < 0);
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + FILES_HEADER_LEN, FILES_META_RECORD_LEN, NULL, &n), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + o1, l1 - 1, back, &n), -EBADMSG);
	CHECK_EQ(files_dec_record(&d, b.buf + o1, l1, back, &n), -EINVAL); /* unusable after a failure */
	/* a duplicated record */
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + FILES_HEADER_LEN, FILES_META_RECORD_LEN, NULL, &n), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + o1, l1, back, &n), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + o1, l1, back, &n), -EBADMSG);
	/* the metadata record twice, or a data record first */
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + o1, FILES_META_RECORD_LEN, NULL, &n), -EBADMSG);
	/* reordering: records 1 and 2 swapped */
	memcpy(tmp, b.buf + o1, l1);
	memcpy(b.buf + o1, b.buf + o2, l2);
	memcpy(b.buf + o2, tmp, l1);
	CHECK(decrypt(&b, &bob, alice.pub, back) < 0);
	memcpy(b.buf + o2, b.buf + o1, l2);
	memcpy(b.buf + o1, tmp, l1);
	CHECK_EQ(decrypt(&b, &bob, alice.pub, back), 0);
	/* wrong recipient, wrong sender, a header resealed by someone else */
	CHECK_EQ(decrypt(&b, &carol, alice.pub, back), -EBADMSG);
	CHECK_EQ(decrypt(&b, &bob, carol.pub, back), -EBADMSG);
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN - 1, &bob, alice.pub), -EBADMSG);
	free(b.buf);
	/* mallory sends as herself and claims to be alice: the header MAC is hers */
	CHECK_EQ(encrypt(&b, &mallory, bob.pub, plain, sizeof(plain), SMALL_CHUNK), 0);
	memcpy(b.buf + 20 + FILES_ID_LEN, alice.pub, FILES_KEY_LEN);
	CHECK_EQ(decrypt(&b, &bob, alice.pub, back), -EBADMSG);
	free(b.buf);
}

static void test_limits_and_hash(void)
{
	uint8_t plain[SMALL_LEN], hdr[FILES_HEADER_LEN], rec[FILES_META_RECORD_LEN], out[SMALL_CHUNK + FILES_ABYTES];
	struct files_enc e;
	struct files_meta m;
	struct blob b;
	uint64_t total;
	size_t n;

	fill(plain, sizeof(plain), 3);
	meta_for(&m, "x", plain, sizeof(plain));
	CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, FILES_CHUNK_MIN - 1), -EFBIG);
	CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, FILES_CHUNK_MAX + 1), -EFBIG);
	CHECK_EQ(files_encrypted_size(FILES_CHUNK_DEFAULT, FILES_MAX_SIZE + 1, &total), -EFBIG);
	CHECK_EQ(files_encrypted_size(FILES_CHUNK_MIN, FILES_MAX_SIZE, &total), -EFBIG); /* too many chunks */
	snprintf(m.name, sizeof(m.name), "a/b");
	CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, SMALL_CHUNK), -EINVAL);
	snprintf(m.name, sizeof(m.name), "..");
	CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, SMALL_CHUNK), -EINVAL);
	/* the file changed between hashing and encrypting */
	meta_for(&m, "x", plain, sizeof(plain));
	m.hash[0] ^= 1;
	CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, SMALL_CHUNK), 0);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_CHUNK, out, &n), -EINVAL); /* metadata first */
	CHECK_EQ(files_enc_meta(&e, rec), 0);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_CHUNK - 1, out, &n), -EINVAL);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_CHUNK, out, &n), 0);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_CHUNK, out, &n), 0);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_LEN - 2 * SMALL_CHUNK, out, &n), -ESTALE);
	CHECK_EQ(files_enc_chunk(&e, plain, SMALL_LEN - 2 * SMALL_CHUNK, out, &n), -EINVAL);
	files_enc_wipe(&e);
	/* and a recipient refuses such a file at its last record */
	CHECK_EQ(encrypt(&b, &alice, bob.pub, plain, sizeof(plain), SMALL_CHUNK), 0);
	free(b.buf);
	{
		struct files_enc e2;
		struct files_meta m2;
		struct files_header h;
		uint64_t off;
		size_t rl;
		uint8_t back[SMALL_LEN];

		meta_for(&m2, "x", plain, sizeof(plain));
		plain[100] ^= 0x55; /* changes after hashing */
		CHECK_EQ(files_encrypted_size(SMALL_CHUNK, sizeof(plain), &total), 0);
		b.buf = malloc(total);
		b.len = total;
		CHECK_EQ(files_enc_init(&e2, b.buf, &alice, bob.pub, &m2, SMALL_CHUNK), 0);
		CHECK_EQ(files_enc_meta(&e2, b.buf + FILES_HEADER_LEN), 0);
		CHECK_EQ(files_header_parse(b.buf, FILES_HEADER_LEN, &h), 0);
		for (uint32_t i = 1; i <= 3; i++) {
			CHECK_EQ(files_record_span(&h, i, &off, &rl), 0);
			CHECK_EQ(files_enc_chunk(&e2, plain + (i - 1) * SMALL_CHUNK, rl - FILES_ABYTES, b.buf + off, &n),
				 i == 3 ? -ESTALE : 0);
		}
		CHECK_EQ(decrypt(&b, &bob, alice.pub, back), -EBADMSG);
		files_enc_wipe(&e2);
		free(b.buf);
	}
}

static void test_resume(void)
{
	uint8_t plain[SMALL_LEN], back[SMALL_LEN], saved[FILES_SAVE_LEN], r1[SMALL_CHUNK + FILES_ABYTES],
		r2[SMALL_CHUNK + FILES_ABYTES];
	struct files_dec d, d2;
	struct files_enc e, e2;
	struct files_header h;
	struct files_meta m;
	struct blob b;
	uint64_t off;
	size_t rl, n, n2;

	fill(plain, sizeof(plain), 11);
	CHECK_EQ(encrypt(&b, &alice, bob.pub, plain, sizeof(plain), SMALL_CHUNK), 0);
	CHECK_EQ(files_header_parse(b.buf, FILES_HEADER_LEN, &h), 0);
	/* download: records 0 and 1, save, a fresh process goes on from 2 */
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
	CHECK_EQ(files_dec_save(&d, &bob, saved), -EINVAL); /* nothing to save before record 0 */
	CHECK_EQ(files_dec_record(&d, b.buf + FILES_HEADER_LEN, FILES_META_RECORD_LEN, NULL, &n), 0);
	CHECK_EQ(files_record_span(&h, 1, &off, &rl), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + off, rl, back, &n), 0);
	CHECK_EQ(files_dec_save(&d, &bob, saved), 0);
	files_dec_wipe(&d);
	CHECK_EQ(files_dec_restore(&d2, b.buf, FILES_HEADER_LEN, &bob, alice.pub, saved, sizeof(saved)), 0);
	CHECK_EQ(d2.next, 2);
	CHECK(files_dec_meta(&d2) && strcmp(files_dec_meta(&d2)->name, "report.pdf") == 0);
	CHECK_EQ(decrypt_from(&d2, &b, 2, back), 0);
	CHECK_MEM(back, plain, sizeof(plain));
	CHECK_EQ(files_dec_save(&d2, &bob, saved), -EINVAL); /* done */
	/* a saved state altered anywhere, or from another file, or for carol */
	CHECK_EQ(files_dec_init(&d, b.buf, FILES_HEADER_LEN, &bob, alice.pub), 0);
	CHECK_EQ(files_dec_record(&d, b.buf + FILES_HEADER_LEN, FILES_META_RECORD_LEN, NULL, &n), 0);
	CHECK_EQ(files_dec_save(&d, &bob, saved), 0);
	for (size_t i = 0; i < sizeof(saved); i += 7) {
		saved[i] ^= 0x80;
		CHECK_EQ(files_dec_restore(&d2, b.buf, FILES_HEADER_LEN, &bob, alice.pub, saved, sizeof(saved)), -EBADMSG);
		saved[i] ^= 0x80;
	}
	CHECK_EQ(files_dec_restore(&d2, b.buf, FILES_HEADER_LEN, &bob, alice.pub, saved, sizeof(saved) - 1), -EBADMSG);
	CHECK_EQ(files_dec_restore(&d2, b.buf, FILES_HEADER_LEN, &carol, alice.pub, saved, sizeof(saved)), -EBADMSG);
	CHECK_EQ(files_enc_restore(&e2, b.buf, FILES_HEADER_LEN, &alice, saved, sizeof(saved)), -EBADMSG); /* role */
	free(b.buf);

	/* upload: the sender saves after record 1; the restored encryptor
	 * emits exactly what the original would have */
	meta_for(&m, "report.pdf", plain, sizeof(plain));
	{
		uint8_t hdr[FILES_HEADER_LEN], rec0[FILES_META_RECORD_LEN];

		CHECK_EQ(files_enc_init(&e, hdr, &alice, bob.pub, &m, SMALL_CHUNK), 0);
		CHECK_EQ(files_enc_meta(&e, rec0), 0);
		CHECK_EQ(files_enc_chunk(&e, plain, SMALL_CHUNK, r1, &n), 0);
		CHECK_EQ(files_enc_save(&e, &alice, saved), 0);
		CHECK_EQ(files_enc_restore(&e2, hdr, sizeof(hdr), &alice, saved, sizeof(saved)), 0);
		CHECK_EQ(files_enc_restore(&e2, hdr, sizeof(hdr), &carol, saved, sizeof(saved)), -EBADMSG);
		CHECK_EQ(files_enc_restore(&e2, hdr, sizeof(hdr), &alice, saved, sizeof(saved)), 0);
		CHECK_EQ(files_enc_chunk(&e, plain + SMALL_CHUNK, SMALL_CHUNK, r1, &n), 0);
		CHECK_EQ(files_enc_chunk(&e2, plain + SMALL_CHUNK, SMALL_CHUNK, r2, &n2), 0);
		CHECK(n == n2 && memcmp(r1, r2, n) == 0);
		files_enc_wipe(&e);
		files_enc_wipe(&e2);
	}
}

static void test_receipt(void)
{
	uint8_t id[FILES_ID_LEN], hash[FILES_HASH_LEN], rc[FILES_RECEIPT_LEN], id2[FILES_ID_LEN],
		s[FILES_KEY_LEN], r[FILES_KEY_LEN];
	int all_fail = 1;

	memset(id, 0x42, sizeof(id));
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)"hello", 5, NULL, 0);
	CHECK_EQ(files_receipt_build(rc, &bob, alice.pub, id, hash), 0);
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &alice, bob.pub, id, hash), 0);
	CHECK_EQ(files_receipt_peek(rc, sizeof(rc), id2, s, r), 0);
	CHECK(memcmp(id2, id, sizeof(id)) == 0 && memcmp(s, alice.pub, 32) == 0 && memcmp(r, bob.pub, 32) == 0);
	CHECK(memmem(rc, sizeof(rc), hash, sizeof(hash)) == NULL); /* the server never sees the hash */
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc) - 1, &alice, bob.pub, id, hash), -EBADMSG);
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &alice, carol.pub, id, hash), -EBADMSG);
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &carol, bob.pub, id, hash), -EBADMSG);
	hash[5] ^= 1; /* the recipient decrypted something else */
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &alice, bob.pub, id, hash), -EBADMSG);
	hash[5] ^= 1;
	id[0] ^= 1;
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &alice, bob.pub, id, hash), -EBADMSG);
	id[0] ^= 1;
	for (size_t i = 0; i < sizeof(rc); i++) {
		rc[i] ^= 0x10;
		if (files_receipt_verify(rc, sizeof(rc), &alice, bob.pub, id, hash) == 0)
			all_fail = 0;
		rc[i] ^= 0x10;
	}
	CHECK(all_fail);
	/* carol (or the server) makes one claiming to be bob */
	CHECK_EQ(files_receipt_build(rc, &carol, alice.pub, id, hash), 0);
	memcpy(rc + 8 + FILES_ID_LEN + FILES_KEY_LEN, bob.pub, FILES_KEY_LEN);
	CHECK_EQ(files_receipt_verify(rc, sizeof(rc), &alice, bob.pub, id, hash), -EBADMSG);
}

static const uint8_t thumb[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3};

static size_t sample_index(uint8_t *body, size_t cap, struct files_index_entry *e)
{
	size_t len = 0;

	memset(e, 0, 3 * sizeof(*e));
	e[0] = (struct files_index_entry){.path = "photos/2026/beach.jpg", .path_len = 21, .size = 123456,
					  .mtime = 1764892800, .thumb = thumb, .thumb_len = sizeof(thumb)};
	e[1] = (struct files_index_entry){.path = "notes.txt", .path_len = 9, .size = 0, .mtime = -1};
	e[2] = (struct files_index_entry){.path = "a/b/c/d", .path_len = 7, .size = 1};
	memset(e[0].hash, 0xaa, FILES_HASH_LEN);
	memset(e[2].root, 0x5b, FILES_HASH_LEN);
	if (files_index_body_len(e, 3, &len) < 0 || len > cap || files_index_body_put(body, len, e, 3) < 0)
		abort();
	return len;
}

/* --cache: entries carrying the server's id and key of a copy (the body
 * flagged), next to one without; a flagged body with no cached entry, or
 * cut inside the extra bytes, is refused; the copy's chunks round-trip and
 * fail with another key, index, size or a flipped byte. */
static void test_index_cached(void)
{
	struct files_index_entry e[2] = {
		{ .path = "a.jpg", .path_len = 5, .size = 70000, .cached = true },
		{ .path = "b.txt", .path_len = 5, .size = 3 },
	}, got;
	struct files_index_iter it;
	uint8_t body[512];
	size_t len;
	memset(e[0].cache_id, 0x11, sizeof(e[0].cache_id));
	memset(e[0].cache_key, 0x22, sizeof(e[0].cache_key));
	CHECK_EQ(files_index_body_len(e, 2, &len), 0);
	CHECK_EQ(len, 4 + 2 * (FILES_INDEX_ENTRY_FIXED + FILES_INDEX_CACHE_LEN + 5));
	CHECK_EQ(files_index_body_put(body, len, e, 2), 0);
	CHECK(body[3] & 0x80);
	CHECK_EQ(files_index_iter_init(&it, body, len), 0);
	CHECK_EQ(files_index_next(&it, &got), 1);
	CHECK(got.cached && got.cache_id[15] == 0x11 && got.cache_key[31] == 0x22 && got.path_len == 5);
	CHECK_EQ(files_index_next(&it, &got), 1);
	CHECK(!got.cached && memcmp(got.path, "b.txt", 5) == 0);
	CHECK_EQ(files_index_next(&it, &got), 0);
	/* flagged, but nothing cached: not the one encoding */
	e[0].cached = false;
	uint8_t plain[512];
	CHECK_EQ(files_index_body_len(e, 2, &len), 0);
	CHECK_EQ(files_index_body_put(plain, len, e, 2), 0);
	CHECK(!(plain[3] & 0x80));
	memset(body + 4 + FILES_INDEX_ENTRY_FIXED, 0, FILES_INDEX_CACHE_LEN);
	CHECK_EQ(files_index_iter_init(&it, body, 4 + 2 * (FILES_INDEX_ENTRY_FIXED + FILES_INDEX_CACHE_LEN + 5)), 0);
	int r;
	while ((r = files_index_next(&it, &got)) == 1)
		;
	CHECK_EQ(r, -EBADMSG);
	CHECK_EQ(files_index_iter_init(&it, body, 4 + FILES_INDEX_ENTRY_FIXED + 10), 0);
	CHECK_EQ(files_index_next(&it, &got), -EBADMSG);
	/* the copy's chunks */
	uint64_t csize;
	CHECK_EQ(files_cached_size(0, &csize), 0);
	CHECK_EQ(csize, 16);
	CHECK_EQ(files_cached_size(70000, &csize), 0);
	CHECK_EQ(csize, 70000 + 32);
	static uint8_t p[FILES_CHUNK_DEFAULT], c[FILES_CHUNK_DEFAULT + 16], back[FILES_CHUNK_DEFAULT];
	uint8_t key[FILES_KEY_LEN], other[FILES_KEY_LEN];
	memset(key, 3, sizeof(key));
	memset(other, 4, sizeof(other));
	memset(p, 'x', sizeof(p));
	CHECK_EQ(files_cached_chunk_seal(c, p, 70000 - FILES_CHUNK_DEFAULT, 70000, 1, key), 0);
	CHECK_EQ(files_cached_chunk_open(back, c, 70000 - FILES_CHUNK_DEFAULT + 16, 70000, 1, key), 0);
	CHECK_MEM(back, p, 70000 - FILES_CHUNK_DEFAULT);
	CHECK_EQ(files_cached_chunk_open(back, c, 70000 - FILES_CHUNK_DEFAULT + 16, 70000, 1, other), -EBADMSG);
	CHECK_EQ(files_cached_chunk_open(back, c, 70000 - FILES_CHUNK_DEFAULT + 16, 70001, 1, key), -EBADMSG);
	CHECK_EQ(files_cached_chunk_seal(c, p, FILES_CHUNK_DEFAULT, 70000, 1, key), -EINVAL); /* the wrong length */
	CHECK_EQ(files_cached_chunk_seal(c, p, FILES_CHUNK_DEFAULT, 70000, 0, key), 0);
	CHECK_EQ(files_cached_chunk_open(back, c, FILES_CHUNK_DEFAULT + 16, 70000, 0, key), 0);
	c[100] ^= 1;
	CHECK_EQ(files_cached_chunk_open(back, c, FILES_CHUNK_DEFAULT + 16, 70000, 0, key), -EBADMSG);
	CHECK_EQ(files_cached_chunk_seal(c, p, 0, 0, 0, key), 0);
	CHECK_EQ(files_cached_chunk_open(back, c, 16, 0, 0, key), 0);
	CHECK_EQ(files_cached_chunk_seal(c, p, 0, 0, 1, key), -EINVAL);
}

static void test_index(void)
{
	uint8_t members[3][FILES_KEY_LEN];
	const uint8_t (*cm)[FILES_KEY_LEN] = (const uint8_t (*)[FILES_KEY_LEN])members;
	uint8_t body[512], back[512], sealed[2048];
	struct files_index_entry e[3], got;
	struct files_index_iter it;
	size_t blen = sample_index(body, sizeof(body), e), slen, outlen, n = 0;
	uint64_t seq = 0;
	int all_fail = 1;

	memcpy(members[0], alice.pub, 32);
	memcpy(members[1], bob.pub, 32);
	memcpy(members[2], carol.pub, 32);
	CHECK_EQ(files_index_sealed_len(3, blen, &slen), 0);
	CHECK(slen <= sizeof(sealed));
	CHECK_EQ(files_index_seal(sealed, slen, &alice, 7, cm, 3, body, blen), 0);
	CHECK(memmem(sealed, slen, "beach", 5) == NULL);
	/* every member opens it, and walks the same entries */
	CHECK_EQ(files_index_open(sealed, slen, &bob, alice.pub, &seq, back, sizeof(back), &outlen), 0);
	CHECK_EQ(seq, 7);
	CHECK(outlen == blen && memcmp(back, body, blen) == 0);
	CHECK_EQ(files_index_open(sealed, slen, &carol, alice.pub, &seq, back, sizeof(back), &outlen), 0);
	CHECK_EQ(files_index_open(sealed, slen, &alice, alice.pub, &seq, back, sizeof(back), &outlen), 0);
	CHECK_EQ(files_index_iter_init(&it, back, outlen), 0);
	while (files_index_next(&it, &got) == 1) {
		CHECK(got.path_len == e[n].path_len && memcmp(got.path, e[n].path, got.path_len) == 0);
		CHECK(got.size == e[n].size && got.mtime == e[n].mtime && got.thumb_len == e[n].thumb_len);
		CHECK_MEM(got.hash, e[n].hash, FILES_HASH_LEN);
		CHECK_MEM(got.root, e[n].root, FILES_HASH_LEN);
		n++;
	}
	CHECK_EQ(n, 3);
	CHECK(got.thumb == NULL);
	/* not a member, the wrong publisher, too little room, any byte altered */
	CHECK_EQ(files_index_open(sealed, slen, &mallory, alice.pub, &seq, back, sizeof(back), &outlen), -EBADMSG);
	CHECK_EQ(files_index_open(sealed, slen, &bob, carol.pub, &seq, back, sizeof(back), &outlen), -EBADMSG);
	CHECK_EQ(files_index_open(sealed, slen, &bob, alice.pub, &seq, back, blen - 1, &outlen), -ENOBUFS);
	CHECK_EQ(files_index_open(sealed, slen - 1, &bob, alice.pub, &seq, back, sizeof(back), &outlen), -EBADMSG);
	/* (each member checks only its own MAC: altering another member's MAC
	 * denies that member, nothing more, so bob's check skips those bytes) */
	for (size_t i = 0; i < slen; i++) {
		size_t macs = slen - 3 * FILES_MAC_LEN;
		int own = i < macs || (i - macs) / FILES_MAC_LEN == 1;
		struct files_keypair *reader = own ? &bob : (i - macs) / FILES_MAC_LEN ? &carol : &alice;

		sealed[i] ^= 0x04;
		if (files_index_open(sealed, slen, reader, alice.pub, &seq, back, sizeof(back), &outlen) == 0)
			all_fail = 0;
		sealed[i] ^= 0x04;
	}
	CHECK(all_fail);
	/* carol, a member, makes her own index and claims it is alice's: bob
	 * refuses it (the MACs are per member) */
	CHECK_EQ(files_index_seal(sealed, slen, &carol, 8, cm, 3, body, blen), 0);
	memcpy(sealed + 16, alice.pub, FILES_KEY_LEN);
	CHECK_EQ(files_index_open(sealed, slen, &bob, alice.pub, &seq, back, sizeof(back), &outlen), -EBADMSG);
	/* duplicated members, none, too many */
	memcpy(members[2], bob.pub, 32);
	CHECK_EQ(files_index_seal(sealed, slen, &alice, 7, cm, 3, body, blen), -EINVAL);
	CHECK_EQ(files_index_sealed_len(0, blen, &slen), -EINVAL);
	CHECK_EQ(files_index_sealed_len(FILES_INDEX_MAX_MEMBERS + 1, blen, &slen), -EINVAL);
}

static void test_index_paths(void)
{
	static const char *bad[] = {"", "/etc/passwd", "..", "../x", "a/../b", "a/..", "./a", "a/./b", "a//b", "a/", "."};
	static const char *good[] = {"a", "a/b", "...", "a/.b", "..a/b..", "x y/z"};
	struct files_index_entry e = {.size = 1};
	uint8_t body[128];
	struct files_index_iter it;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!files_index_path_valid(bad[i], strlen(bad[i])));
		e.path = bad[i];
		e.path_len = strlen(bad[i]);
		CHECK_EQ(files_index_body_len(&e, 1, &len), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(files_index_path_valid(good[i], strlen(good[i])));
	CHECK(!files_index_path_valid("a\0b", 3));
	/* a body whose parser sees "../x": refused while walking too */
	e.path = "a/xx";
	e.path_len = 4;
	CHECK_EQ(files_index_body_len(&e, 1, &len), 0);
	CHECK_EQ(files_index_body_put(body, len, &e, 1), 0);
	memcpy(body + 4 + FILES_INDEX_ENTRY_FIXED, "../x", 4);
	CHECK_EQ(files_index_iter_init(&it, body, len), 0);
	CHECK_EQ(files_index_next(&it, &e), -EBADMSG);
	/* a count larger than the entries, a trailing byte, a thumbnail past the end */
	CHECK_EQ(files_index_body_put(body, len, &e, 0), -EINVAL);
	body[0] = 2;
	memcpy(body + 4 + FILES_INDEX_ENTRY_FIXED, "a/xx", 4);
	CHECK_EQ(files_index_iter_init(&it, body, len), 0);
	CHECK_EQ(files_index_next(&it, &e), 1);
	CHECK_EQ(files_index_next(&it, &e), -EBADMSG);
	body[0] = 1;
	CHECK_EQ(files_index_iter_init(&it, body, len + 1), 0);
	CHECK_EQ(files_index_next(&it, &e), 1);
	CHECK_EQ(files_index_next(&it, &e), -EBADMSG);
	body[4 + 2] = 1;
	CHECK_EQ(files_index_iter_init(&it, body, len), 0);
	CHECK_EQ(files_index_next(&it, &e), -EBADMSG);
}

static void test_keys(void)
{
	struct files_keypair a, b;
	uint8_t zero[FILES_KEY_LEN] = {0};

	files_keypair_generate(&a);
	files_keypair_generate(&b);
	CHECK(memcmp(a.pub, b.pub, FILES_KEY_LEN) != 0);
	CHECK_EQ(files_keypair_from_secret(&b, a.sec), 0);
	CHECK_MEM(a.pub, b.pub, FILES_KEY_LEN);
	/* a zero secret is clamped into a valid key, still distinct */
	CHECK_EQ(files_keypair_from_secret(&b, zero), 0);
	CHECK(memcmp(a.pub, b.pub, FILES_KEY_LEN) != 0);
	files_keypair_wipe(&a);
	CHECK(crypto_is_zero(&a, sizeof(a)));
	files_keypair_wipe(NULL);
}

/* Seeds for the fuzz targets: real outputs, with their keys. */
static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		return -1;
	return 0;
}

static int write_corpus(const char *root)
{
	static const size_t sizes[] = {0, 1, SMALL_CHUNK, SMALL_CHUNK + 1, SMALL_LEN};
	uint8_t plain[SMALL_LEN], body[512], sealed[2048], rc[FILES_RECEIPT_LEN], id[FILES_ID_LEN],
		hash[FILES_HASH_LEN], members[2][FILES_KEY_LEN];
	struct files_index_entry e[3];
	char dir[4096], name[64];
	size_t blen, slen;
	struct blob b;
	int r = 0;

	fill(plain, sizeof(plain), 5);
	snprintf(dir, sizeof(dir), "%s/file_records", root);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		if (encrypt(&b, &alice, bob.pub, plain, sizes[k], SMALL_CHUNK) < 0)
			return -1;
		snprintf(name, sizeof(name), "file_%zu", sizes[k]);
		r |= write_file(dir, name, b.buf, b.len);
		free(b.buf);
	}
	snprintf(dir, sizeof(dir), "%s/file_index", root);
	blen = sample_index(body, sizeof(body), e);
	memcpy(members[0], bob.pub, 32);
	memcpy(members[1], carol.pub, 32);
	if (files_index_sealed_len(2, blen, &slen) < 0 || files_index_seal(sealed, slen, &alice, 1, (const uint8_t(*)[32])members, 2, body, blen) < 0)
		return -1;
	r |= write_file(dir, "sealed_3_entries", sealed, slen);
	r |= write_file(dir, "body_3_entries", body, blen);
	snprintf(dir, sizeof(dir), "%s/file_receipt", root);
	memset(id, 0x42, sizeof(id));
	crypto_generichash(hash, sizeof(hash), plain, 0, NULL, 0);
	if (files_receipt_build(rc, &bob, alice.pub, id, hash) < 0)
		return -1;
	r |= write_file(dir, "receipt", rc, sizeof(rc));
	return r ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (crypto_init() < 0)
		return 1;
	key_from_byte(&alice, 0x11);
	key_from_byte(&bob, 0x22);
	key_from_byte(&carol, 0x33);
	key_from_byte(&mallory, 0x44);
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]) < 0;
	test_keys();
	test_round_trips();
	test_tamper_every_byte();
	test_stream_attacks();
	test_limits_and_hash();
	test_resume();
	test_receipt();
	test_index();
	test_index_cached();
	test_index_paths();
	return check_report("test_files");
}
