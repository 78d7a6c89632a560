/* The online PUSH protocol (docs/files.md, "Online push"): what a sender
 * and the file service of the receiving roamd say to each other over TCP
 * inside the overlay. Pure: bytes in, structs out; no I/O, no allocation.
 * All integers little-endian; every message starts with the magic "RFP1"
 * and its type, and has one exact length (the offer: 56 + its name). */
#ifndef ROAM_FILES_PUSH_H
#define ROAM_FILES_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

#define FILES_PUSH_PORT 7301
#define FILES_PUSH_MAGIC "RFP1"

enum files_push_type {
	FILES_PUSH_OFFER = 1,  /* sender -> receiver: name, size, mtime, hash */
	FILES_PUSH_ANSWER = 2, /* receiver -> sender: accept at an offset, or why not */
	FILES_PUSH_RESULT = 3, /* receiver -> sender, after the hash: hash checked, file in the inbox */
	FILES_PUSH_HASH = 4,   /* sender -> receiver, after the last byte: BLAKE2b of the whole file */
};

/* The answer's and the result's status. */
enum files_push_status {
	FILES_PUSH_OK = 0,          /* accept (answer) / stored (result) */
	FILES_PUSH_NO_SPACE = 1,    /* statvfs: not enough free space in the inbox */
	FILES_PUSH_TOO_BIG = 2,     /* over the receiver's size limit (its quota) */
	FILES_PUSH_NOT_ALLOWED = 3, /* the source is not a peer of ours (no shared group) */
	FILES_PUSH_BAD_NAME = 4,    /* '/', '..', a control character, ... */
	FILES_PUSH_BUSY = 5,        /* the same file is being received already, or too many at once */
	FILES_PUSH_BAD_HASH = 6,    /* result: the bytes do not hash to the offer's hash (the part is dropped) */
	FILES_PUSH_IO_ERROR = 7,    /* the receiver could not write */
	FILES_PUSH_STATUS_MAX = 7,
};

#define FILES_PUSH_OFFER_FIXED 56 /* magic 4, type 1, reserved 1, name length 2, size 8, mtime 8, hash 32 */
#define FILES_PUSH_OFFER_MAX (FILES_PUSH_OFFER_FIXED + FILES_NAME_MAX)
#define FILES_PUSH_ANSWER_LEN 16 /* magic 4, type 1, status 1, reserved 2, offset 8 */
#define FILES_PUSH_RESULT_LEN 8  /* magic 4, type 1, status 1, reserved 2 */
#define FILES_PUSH_HASH_LEN 40   /* magic 4, type 1, reserved 3, hash 32 */

struct files_push_offer {
	char name[FILES_NAME_MAX + 1]; /* NUL-terminated; checked by files_push_name_ok */
	uint64_t size;                 /* at most FILES_MAX_SIZE */
	int64_t mtime;
	/* The transfer's identity, not the file's hash: the sender hashes
	 * while it sends and sends the hash after the data (FILES_PUSH_HASH).
	 * BLAKE2b-256 of the name, size, mtime and the first and last 64 KiB
	 * (daemon/files/transfer_send.c): the receiver names its partial file after it,
	 * so the same file offered again continues where it broke. */
	uint8_t hash[FILES_HASH_LEN];
};

/* A name a receiver will write: 1..255 bytes, not "." or "..", no '/', no
 * NUL, no control character (C0, DEL), not starting with '.' (no hidden
 * files, and the receiver's partial files are ".*.part"), valid per
 * files_name_valid. 1 or 0. */
int files_push_name_ok(const char *name, size_t len);

/* The total length of the offer whose first bytes are in buf (at least 8):
 * 56 + its name length, or -EBADMSG (bad magic, type, reserved, length). */
int files_push_offer_len(const uint8_t *buf, size_t len, size_t *total);
int files_push_offer_build(uint8_t *out, size_t outlen, const struct files_push_offer *o, size_t *written);
/* Exactly one offer: -EBADMSG on any other length, magic, type, non-zero
 * reserved byte, a size over FILES_MAX_SIZE; -EINVAL for a name that is
 * not files_push_name_ok (the receiver answers BAD_NAME). */
int files_push_offer_parse(const uint8_t *buf, size_t len, struct files_push_offer *o);

void files_push_answer_build(uint8_t out[FILES_PUSH_ANSWER_LEN], enum files_push_status status, uint64_t offset);
/* -EBADMSG unless exactly an answer with a known status (and offset 0
 * unless accepted). */
int files_push_answer_parse(const uint8_t *buf, size_t len, enum files_push_status *status, uint64_t *offset);
void files_push_result_build(uint8_t out[FILES_PUSH_RESULT_LEN], enum files_push_status status);
int files_push_result_parse(const uint8_t *buf, size_t len, enum files_push_status *status);
const char *files_push_status_text(enum files_push_status status);
void files_push_hash_build(uint8_t out[FILES_PUSH_HASH_LEN], const uint8_t hash[FILES_HASH_LEN]);
/* -EBADMSG unless exactly a hash message (reserved bytes zero). */
int files_push_hash_parse(const uint8_t *buf, size_t len, uint8_t hash[FILES_HASH_LEN]);

/* The name a received file gets when `name` is taken: "name (n).ext" (the
 * extension is what follows the last '.', unless the dot is the first
 * byte), cut so it still fits FILES_NAME_MAX. n >= 1. -ENAMETOOLONG if out
 * is too small. */
int files_push_alt_name(const char *name, unsigned n, char *out, size_t outlen);

#endif
