/* Parsing what nodes send to the index routes (server/files/index.h):
 * pure, fuzzed by fuzz_file_index_query. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coord/json.h"
#include "server/files/index.h"
#include "util/le.h"

/* Decimal, no sign, no leading '+', at most max. */
static int decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* One "key=value" pair into q; seen marks keys already given. */
static int pair(const char *p, size_t len, struct findex_query *q, unsigned *seen)
{
	static const char *const keys[] = { "group=", "node=", "gid=", "seq=", "size=", "offset=", "id=" };
	size_t k = 0, kl = 0;
	uint64_t v = 0;
	for (; k < sizeof(keys) / sizeof(keys[0]); k++) {
		kl = strlen(keys[k]);
		if (len >= kl && memcmp(p, keys[k], kl) == 0)
			break;
	}
	if (k == sizeof(keys) / sizeof(keys[0]) || (*seen & (1u << k)))
		return -EINVAL;
	*seen |= 1u << k;
	p += kl;
	len -= kl;
	if (k == 0) {
		if (len == 0 || len >= sizeof(q->group))
			return -EINVAL;
		memcpy(q->group, p, len);
		q->group[len] = '\0';
		return coord_name_valid(q->group) ? 0 : -EINVAL;
	}
	if (k == 6) {
		if (len != 2 * FBLOB_ID_LEN)
			return -EINVAL;
		for (size_t i = 0; i < len; i++) {
			int x = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;
			if (x < 0)
				return -EINVAL;
			q->id[i / 2] = (uint8_t)(i % 2 ? q->id[i / 2] | x : x << 4);
		}
		q->have_id = true;
		return 0;
	}
	if (decimal(p, len, k <= 2 ? UINT32_MAX : UINT64_MAX / 2, &v) < 0 || (k <= 2 && v == 0))
		return -EINVAL;
	if (k == 1)
		q->node = (uint32_t)v;
	else if (k == 2)
		q->gid = (uint32_t)v;
	else if (k == 3)
		q->seq = v, q->have_seq = true;
	else if (k == 4)
		q->size = v, q->have_size = true;
	else
		q->offset = v;
	return 0;
}

int findex_query_parse(const char *target, struct findex_query *q)
{
	struct findex_query got = { 0 };
	unsigned seen = 0;
	const char *p = strchr(target, '?');
	if (p && !*++p)
		return -EINVAL;
	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (pair(p, len, &got, &seen) < 0)
			return -EINVAL;
		p += len + (end ? 1 : 0);
		if (end && !*p)
			return -EINVAL;
	}
	*q = got;
	return 0;
}

/* The fixed part of RFX1 (docs/files.md, "PUBLISH index"): magic (4),
 * reserved (2), members M (2), sequence (8), publisher key (32), nonce
 * (24), ciphertext length B (4); then 112 M, B and 32 M bytes. */
int findex_sealed_check(const uint8_t *head, size_t head_len, uint64_t size, uint64_t seq,
			const uint8_t publisher_pub[FILES_KEY_LEN])
{
	if (head_len < FILES_INDEX_FIXED_LEN || memcmp(head, FILES_INDEX_MAGIC, 4) != 0 || le16_get(head + 4) != 0)
		return -EBADMSG;
	uint64_t m = le16_get(head + 6), b = le32_get(head + 72);
	if (m < 1 || m > FILES_INDEX_MAX_MEMBERS || b < 16 || b > (uint64_t)FILES_INDEX_BODY_MAX + 16 ||
	    le64_get(head + 8) != seq || memcmp(head + 16, publisher_pub, FILES_KEY_LEN) != 0)
		return -EBADMSG;
	return size == FILES_INDEX_FIXED_LEN + m * (FILES_INDEX_SLOT_LEN + 32) + b ? 0 : -EBADMSG;
}
