/* The online PUSH messages: offer, answer, result (files/push.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files/push.h"

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_head(uint8_t *out, enum files_push_type type, uint8_t status)
{
	memcpy(out, FILES_PUSH_MAGIC, 4);
	out[4] = (uint8_t)type;
	out[5] = status;
}

static bool head_ok(const uint8_t *buf, enum files_push_type type)
{
	return memcmp(buf, FILES_PUSH_MAGIC, 4) == 0 && buf[4] == type;
}

int files_push_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > FILES_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return files_name_valid(name, len);
}

int files_push_offer_len(const uint8_t *buf, size_t len, size_t *total)
{
	if (len < 8 || !head_ok(buf, FILES_PUSH_OFFER) || buf[5] != 0)
		return -EBADMSG;
	size_t name_len = (size_t)get_le(buf + 6, 2);
	if (name_len == 0 || name_len > FILES_NAME_MAX)
		return -EBADMSG;
	*total = FILES_PUSH_OFFER_FIXED + name_len;
	return 0;
}

int files_push_offer_build(uint8_t *out, size_t outlen, const struct files_push_offer *o, size_t *written)
{
	size_t name_len = strnlen(o->name, sizeof(o->name));
	if (!files_push_name_ok(o->name, name_len) || o->size > FILES_MAX_SIZE)
		return -EINVAL;
	if (outlen < FILES_PUSH_OFFER_FIXED + name_len)
		return -ENOBUFS;
	put_head(out, FILES_PUSH_OFFER, 0);
	put_le(out + 6, name_len, 2);
	put_le(out + 8, o->size, 8);
	put_le(out + 16, (uint64_t)o->mtime, 8);
	memcpy(out + 24, o->hash, FILES_HASH_LEN);
	memcpy(out + FILES_PUSH_OFFER_FIXED, o->name, name_len);
	*written = FILES_PUSH_OFFER_FIXED + name_len;
	return 0;
}

int files_push_offer_parse(const uint8_t *buf, size_t len, struct files_push_offer *o)
{
	size_t total;
	if (files_push_offer_len(buf, len, &total) < 0 || len != total)
		return -EBADMSG;
	uint64_t size = get_le(buf + 8, 8);
	if (size > FILES_MAX_SIZE)
		return -EBADMSG;
	size_t name_len = total - FILES_PUSH_OFFER_FIXED;
	const char *name = (const char *)buf + FILES_PUSH_OFFER_FIXED;
	if (!files_push_name_ok(name, name_len))
		return -EINVAL;
	memcpy(o->name, name, name_len);
	o->name[name_len] = '\0';
	o->size = size;
	o->mtime = (int64_t)get_le(buf + 16, 8);
	memcpy(o->hash, buf + 24, FILES_HASH_LEN);
	return 0;
}

void files_push_answer_build(uint8_t out[FILES_PUSH_ANSWER_LEN], enum files_push_status status, uint64_t offset)
{
	put_head(out, FILES_PUSH_ANSWER, (uint8_t)status);
	put_le(out + 6, 0, 2);
	put_le(out + 8, status == FILES_PUSH_OK ? offset : 0, 8);
}

int files_push_answer_parse(const uint8_t *buf, size_t len, enum files_push_status *status, uint64_t *offset)
{
	if (len != FILES_PUSH_ANSWER_LEN || !head_ok(buf, FILES_PUSH_ANSWER) || buf[6] || buf[7] ||
	    buf[5] > FILES_PUSH_STATUS_MAX)
		return -EBADMSG;
	uint64_t off = get_le(buf + 8, 8);
	if ((buf[5] != FILES_PUSH_OK && off != 0) || off > FILES_MAX_SIZE)
		return -EBADMSG;
	*status = (enum files_push_status)buf[5];
	*offset = off;
	return 0;
}

void files_push_result_build(uint8_t out[FILES_PUSH_RESULT_LEN], enum files_push_status status)
{
	put_head(out, FILES_PUSH_RESULT, (uint8_t)status);
	out[6] = out[7] = 0;
}

int files_push_result_parse(const uint8_t *buf, size_t len, enum files_push_status *status)
{
	if (len != FILES_PUSH_RESULT_LEN || !head_ok(buf, FILES_PUSH_RESULT) || buf[6] || buf[7] ||
	    buf[5] > FILES_PUSH_STATUS_MAX)
		return -EBADMSG;
	*status = (enum files_push_status)buf[5];
	return 0;
}

void files_push_hash_build(uint8_t out[FILES_PUSH_HASH_LEN], const uint8_t hash[FILES_HASH_LEN])
{
	put_head(out, FILES_PUSH_HASH, 0);
	out[6] = out[7] = 0;
	memcpy(out + 8, hash, FILES_HASH_LEN);
}

int files_push_hash_parse(const uint8_t *buf, size_t len, uint8_t hash[FILES_HASH_LEN])
{
	if (len != FILES_PUSH_HASH_LEN || !head_ok(buf, FILES_PUSH_HASH) || buf[5] || buf[6] || buf[7])
		return -EBADMSG;
	memcpy(hash, buf + 8, FILES_HASH_LEN);
	return 0;
}

const char *files_push_status_text(enum files_push_status status)
{
	switch (status) {
	case FILES_PUSH_OK: return "ok";
	case FILES_PUSH_NO_SPACE: return "the receiver has not enough free space";
	case FILES_PUSH_TOO_BIG: return "the file is over the receiver's size limit";
	case FILES_PUSH_NOT_ALLOWED: return "the receiver does not accept files from this node (no shared group)";
	case FILES_PUSH_BAD_NAME: return "the receiver refused the file name";
	case FILES_PUSH_BUSY: return "the receiver is busy with this file or too many others";
	case FILES_PUSH_BAD_HASH: return "the received bytes do not match the file's hash";
	case FILES_PUSH_IO_ERROR: return "the receiver could not write the file";
	}
	return "unknown";
}

int files_push_alt_name(const char *name, unsigned n, char *out, size_t outlen)
{
	char suffix[16];
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');
	size_t base = dot && dot != name ? (size_t)(dot - name) : len;
	size_t ext = len - base;
	int sl = snprintf(suffix, sizeof(suffix), " (%u)", n);
	if (sl < 0 || (size_t)sl + ext > FILES_NAME_MAX)
		return -ENAMETOOLONG;
	/* Cut the base so the whole stays within a name's limit. */
	if (base + (size_t)sl + ext > FILES_NAME_MAX)
		base = FILES_NAME_MAX - (size_t)sl - ext;
	if (base + (size_t)sl + ext + 1 > outlen)
		return -ENAMETOOLONG;
	memcpy(out, name, base);
	memcpy(out + base, suffix, (size_t)sl);
	memcpy(out + base + (size_t)sl, name + len - ext, ext);
	out[base + (size_t)sl + ext] = '\0';
	return 0;
}
