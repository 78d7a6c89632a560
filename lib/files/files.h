/* End-to-end file encryption for roam's file features (issue 11): the
 * offline PUSH through the server's cache, its delivery receipt, and the
 * PUBLISH index encrypted to a group. Pure: bytes and keys in, bytes out; no
 * I/O, no allocation, no printing. Byte layouts, key design and what the
 * server can see: docs/files.md. All functions return 0 or a negative errno;
 * outputs are written only on success; every struct holding a secret is
 * wiped by its *_wipe() (which accepts NULL). crypto_init() first. */
#ifndef ROAM_FILES_FILES_H
#define ROAM_FILES_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define FILES_KEY_LEN 32
#define FILES_HASH_LEN 32 /* BLAKE2b-256 of the plaintext */
#define FILES_ID_LEN 16
#define FILES_MAC_LEN 32
#define FILES_SEALED_KEY_LEN (crypto_box_SEALBYTES + FILES_KEY_LEN) /* 80 */
#define FILES_ABYTES 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */

/* Limits: every size a remote party writes is checked against these. */
#define FILES_CHUNK_DEFAULT (64u * 1024)
#define FILES_CHUNK_MIN 1024u
#define FILES_CHUNK_MAX (1024u * 1024)
#define FILES_MAX_SIZE (256ull << 30) /* 256 GiB */
#define FILES_MAX_CHUNKS (1u << 22)    /* 4 Mi records: 256 GiB at 64 KiB */
#define FILES_NAME_MAX 255             /* bytes of a file name, no '/' or NUL */

/* A node's file key pair: X25519, separate from its WireGuard key (why:
 * docs/files.md, "Keys"). */
struct files_keypair {
	uint8_t pub[FILES_KEY_LEN];
	uint8_t sec[FILES_KEY_LEN];
};
void files_keypair_generate(struct files_keypair *kp);
int files_keypair_from_secret(struct files_keypair *kp, const uint8_t sec[FILES_KEY_LEN]); /* -EINVAL */
void files_keypair_wipe(struct files_keypair *kp);

/* ---- encrypted file: header, metadata record, chunk records ---- */
#define FILES_MAGIC "RFE1"
#define FILES_VERSION 1
#define FILES_HEADER_LEN 236
#define FILES_META_LEN 308 /* plaintext of record 0 */
#define FILES_META_RECORD_LEN (FILES_META_LEN + FILES_ABYTES)

/* The header's clear fields, which the server may read too. */
struct files_header {
	uint32_t chunk_size;
	uint64_t total_size;
	uint32_t chunk_count; /* data records after the metadata record */
	uint8_t file_id[FILES_ID_LEN];
	uint8_t sender_pub[FILES_KEY_LEN];
	uint8_t recipient_pub[FILES_KEY_LEN];
};
/* Parses and range-checks a header without keys (the server's view): exact
 * length, magic, version, limits. Authenticity is checked by files_dec_init. */
int files_header_parse(const uint8_t *buf, size_t len, struct files_header *h);
/* Length of record i (0 = metadata) and its offset in the encrypted file
 * (header included), so a download can resume at any record. -ERANGE past
 * the end. */
int files_record_span(const struct files_header *h, uint32_t index, uint64_t *offset, size_t *len);
/* Total length of the encrypted file for a plaintext of this size. */
int files_encrypted_size(uint32_t chunk_size, uint64_t total_size, uint64_t *out);

/* What travels encrypted in record 0. name is NUL-terminated. */
struct files_meta {
	char name[FILES_NAME_MAX + 1];
	uint64_t size;
	int64_t mtime; /* seconds since the epoch */
	uint8_t hash[FILES_HASH_LEN];
};
int files_name_valid(const char *name, size_t len); /* 1 or 0 */

enum files_stream_state { FILES_ST_NONE, FILES_ST_META, FILES_ST_DATA, FILES_ST_DONE };

struct files_enc {
	enum files_stream_state state;
	struct files_header h;
	uint32_t next; /* index of the next record to emit */
	uint8_t hash[FILES_HASH_LEN];
	struct files_meta meta;
	crypto_secretstream_xchacha20poly1305_state ss;
	crypto_generichash_state hs;
};
/* Starts a file from sender to recipient: writes the header. meta->hash
 * must be the BLAKE2b-256 of the plaintext that will follow (the sender
 * hashes the file first); a mismatch at the end is -ESTALE (it changed). */
int files_enc_init(struct files_enc *e, uint8_t hdr[FILES_HEADER_LEN], const struct files_keypair *sender,
		   const uint8_t recipient_pub[FILES_KEY_LEN], const struct files_meta *meta, uint32_t chunk_size);
/* Record 0: the encrypted metadata. */
int files_enc_meta(struct files_enc *e, uint8_t out[FILES_META_RECORD_LEN]);
/* Next data record: len must be chunk_size, or the remainder for the last
 * one; out has room for len + FILES_ABYTES. */
int files_enc_chunk(struct files_enc *e, const uint8_t *plain, size_t len, uint8_t *out, size_t *outlen);
int files_enc_done(const struct files_enc *e); /* 1 when every record was emitted */
void files_enc_wipe(struct files_enc *e);

struct files_dec {
	enum files_stream_state state;
	struct files_header h;
	uint32_t next;
	struct files_meta meta;
	crypto_secretstream_xchacha20poly1305_state ss;
	crypto_generichash_state hs;
};
/* Verifies the header for us (recipient) from expected_sender (the file
 * public key the directory lists for the node the server says sent it):
 * -EBADMSG when it is not for us, not from that sender, or altered. */
int files_dec_init(struct files_dec *d, const uint8_t *hdr, size_t len, const struct files_keypair *self,
		   const uint8_t expected_sender[FILES_KEY_LEN]);
/* Takes record d->next: the metadata record (nothing out; see
 * files_dec_meta) or a data record (its plaintext out: room for
 * files_record_span's len - FILES_ABYTES; each record is authenticated
 * before it is written, the whole-file hash only at the last one, so keep
 * the output aside until files_dec_done()). Wrong length, tampering,
 * reordering, a repeated or a missing record, a final tag in the wrong
 * place, a hash that does not match at the end: -EBADMSG, and the
 * decryptor is wiped and refuses everything after (-EINVAL). */
int files_dec_record(struct files_dec *d, const uint8_t *rec, size_t len, uint8_t *out, size_t *outlen);
const struct files_meta *files_dec_meta(const struct files_dec *d); /* NULL before record 0 */
int files_dec_done(const struct files_dec *d); /* 1 when verified to the end */
void files_dec_wipe(struct files_dec *d);

/* Resumption: an encryptor or a decryptor saved between records (a local
 * file, mode 0600: it holds the stream key) continues at record `next` after
 * a restart of either side, so an upload or a download goes on from the
 * record it reached (files_record_span gives the byte offset). The blob is
 * MACed with a key only sender and recipient can derive (it is fed to
 * libsodium's state as is), and is tied to this libsodium build and to the
 * header it came from. Saving before record 0 or after the end: -EINVAL. */
#define FILES_SAVE_LEN (4 + 4 + FILES_ID_LEN + FILES_META_LEN + \
	sizeof(crypto_secretstream_xchacha20poly1305_state) + sizeof(crypto_generichash_state) + FILES_MAC_LEN)
int files_dec_save(const struct files_dec *d, const struct files_keypair *self, uint8_t out[FILES_SAVE_LEN]);
int files_dec_restore(struct files_dec *d, const uint8_t *hdr, size_t hdrlen, const struct files_keypair *self,
		      const uint8_t expected_sender[FILES_KEY_LEN], const uint8_t *saved, size_t len);
int files_enc_save(const struct files_enc *e, const struct files_keypair *self, uint8_t out[FILES_SAVE_LEN]);
/* The sender resumes from the header it wrote and its saved blob. */
int files_enc_restore(struct files_enc *e, const uint8_t *hdr, size_t hdrlen, const struct files_keypair *self,
		      const uint8_t *saved, size_t len);

/* ---- delivery receipt: recipient -> sender, through the server ---- */
#define FILES_RECEIPT_MAGIC "RFR1"
#define FILES_RECEIPT_LEN 120
int files_receipt_build(uint8_t out[FILES_RECEIPT_LEN], const struct files_keypair *recipient,
			const uint8_t sender_pub[FILES_KEY_LEN], const uint8_t file_id[FILES_ID_LEN],
			const uint8_t hash[FILES_HASH_LEN]);
/* The sender checks a receipt for a file it sent: -EBADMSG unless the
 * recipient decrypted exactly that plaintext. */
int files_receipt_verify(const uint8_t *buf, size_t len, const struct files_keypair *sender,
			 const uint8_t recipient_pub[FILES_KEY_LEN], const uint8_t file_id[FILES_ID_LEN],
			 const uint8_t hash[FILES_HASH_LEN]);
/* The clear fields, for the server to route it (no keys needed). */
int files_receipt_peek(const uint8_t *buf, size_t len, uint8_t file_id[FILES_ID_LEN],
		       uint8_t sender_pub[FILES_KEY_LEN], uint8_t recipient_pub[FILES_KEY_LEN]);

/* ---- PUBLISH index, encrypted to a group ---- */
#define FILES_INDEX_MAGIC "RFX1"
#define FILES_INDEX_FIXED_LEN 76
#define FILES_INDEX_SLOT_LEN (FILES_KEY_LEN + FILES_SEALED_KEY_LEN) /* 112 */
#define FILES_INDEX_MAX_MEMBERS 256
#define FILES_INDEX_MAX_ENTRIES 65536
#define FILES_INDEX_PATH_MAX 1024
#define FILES_INDEX_THUMB_MAX (16u * 1024)
#define FILES_INDEX_BODY_MAX (16u << 20) /* plaintext of the entries */
#define FILES_INDEX_ENTRY_FIXED 86 /* path_len 2, thumb_len 4, size 8, mtime 8, hash 32, tree root 32 */
/* `roam publish --cache`: with this bit in the body's count, every entry
 * carries 48 more bytes after its fixed part: the server's id of the file's
 * encrypted copy (16) and its key (32); all zero for a file not cached. */
#define FILES_INDEX_CACHED_FLAG 0x80000000u
#define FILES_INDEX_CACHE_ID_LEN 16
#define FILES_INDEX_CACHE_LEN (FILES_INDEX_CACHE_ID_LEN + FILES_KEY_LEN)

struct files_index_entry {
	const char *path; /* relative, '/'-separated; not NUL-terminated */
	size_t path_len;
	uint64_t size;
	int64_t mtime;
	uint8_t hash[FILES_HASH_LEN];
	/* root of the chunk hash tree at FILES_CHUNK_DEFAULT (files/pull.h): a
	 * puller checks every chunk, from any holder, against it */
	uint8_t root[FILES_HASH_LEN];
	const uint8_t *thumb; /* optional image thumbnail; NULL when thumb_len is 0 */
	size_t thumb_len;
	/* --cache: a copy on the server, by this id, encrypted with this key
	 * (files_cached_chunk_*); cached is false when both are all zero */
	bool cached;
	uint8_t cache_id[FILES_INDEX_CACHE_ID_LEN];
	uint8_t cache_key[FILES_KEY_LEN];
};
int files_index_path_valid(const char *path, size_t len); /* 1 or 0: relative, no '.', '..', empty part */
/* Plaintext body of n entries: its exact length, then the body. */
int files_index_body_len(const struct files_index_entry *entries, size_t n, size_t *out);
int files_index_body_put(uint8_t *out, size_t outlen, const struct files_index_entry *entries, size_t n);
/* The encrypted index: a fresh group key sealed to each member, the body
 * under it, and one MAC per member with the key publisher and member share. */
int files_index_sealed_len(size_t members, size_t body_len, size_t *out);
int files_index_seal(uint8_t *out, size_t outlen, const struct files_keypair *publisher, uint64_t seq,
		     const uint8_t (*members)[FILES_KEY_LEN], size_t n_members, const uint8_t *body, size_t body_len);
/* A member opens it: -EBADMSG when not for us, not from that publisher or
 * altered. body gets the plaintext (room for *body_len: at most
 * FILES_INDEX_BODY_MAX). */
int files_index_open(const uint8_t *buf, size_t len, const struct files_keypair *self,
		     const uint8_t publisher_pub[FILES_KEY_LEN], uint64_t *seq, uint8_t *body, size_t bodycap,
		     size_t *body_len);
/* Walks a decrypted body: *pos starts at 0; returns 1 with the next entry,
 * 0 at a clean end, -EBADMSG on a malformed body. Entries point into body. */
struct files_index_iter {
	const uint8_t *body;
	size_t len, pos;
	uint32_t count, seen;
	bool flagged, any_cached; /* FILES_INDEX_CACHED_FLAG; an entry cached */
};
int files_index_iter_init(struct files_index_iter *it, const uint8_t *body, size_t len);
int files_index_next(struct files_index_iter *it, struct files_index_entry *e);

/* A published file's copy on the server (`roam publish --cache`): chunk i
 * of FILES_CHUNK_DEFAULT bytes (the last one shorter; an empty file is one
 * empty chunk) becomes XChaCha20-Poly1305 under the entry's cache key,
 * nonce "RFC1" || le64 i || 12 zero bytes, additional data le64 size ||
 * le32 i; the copy is the chunks' ciphertexts one after the other, so chunk
 * i starts at i * (FILES_CHUNK_DEFAULT + 16). Each key encrypts one file. */
#define FILES_CACHED_CHUNK_OVERHEAD 16
int files_cached_size(uint64_t size, uint64_t *out); /* the copy's length */
int files_cached_chunk_seal(uint8_t *out, const uint8_t *plain, size_t len, uint64_t size, uint32_t index,
			    const uint8_t key[FILES_KEY_LEN]);
/* -EBADMSG when altered, not chunk index of a file of that size, or the wrong key. */
int files_cached_chunk_open(uint8_t *out, const uint8_t *cipher, size_t len, uint64_t size, uint32_t index,
			    const uint8_t key[FILES_KEY_LEN]);

#endif
