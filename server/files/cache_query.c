/* Parsing what nodes send to the file cache's routes (server/files/cache.h):
 * pure, fuzzed by fuzz_file_cache. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coord/auth.h"
#include "server/files/cache.h"
#include "util/hex.h"

static int id_from_hex(const char *s, size_t len, uint8_t id[FCACHE_ID_LEN])
{
	return hex_decode(id, FCACHE_ID_LEN, s, len);
}

void fcache_id_hex(const uint8_t id[FCACHE_ID_LEN], char out[2 * FCACHE_ID_LEN + 1])
{
	hex_encode(out, id, FCACHE_ID_LEN);
}

/* "?id=HEX&offset=DEC", in either order, nothing else. */
int fcache_query_parse(const char *target, uint8_t id[FCACHE_ID_LEN], uint64_t *offset)
{
	const char *q = strchr(target, '?');
	bool have_id = false, have_off = false;
	uint8_t got[FCACHE_ID_LEN];
	uint64_t off = 0;
	if (!q)
		return -EINVAL;
	for (const char *p = q + 1; *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 3 && strncmp(p, "id=", 3) == 0 && !have_id) {
			if (id_from_hex(p + 3, len - 3, got) < 0)
				return -EINVAL;
			have_id = true;
		} else if (len > 7 && len <= 7 + 20 && strncmp(p, "offset=", 7) == 0 && !have_off) {
			for (size_t i = 7; i < len; i++) {
				if (p[i] < '0' || p[i] > '9' || off > (FILES_MAX_SIZE * 2) / 10)
					return -EINVAL;
				off = off * 10 + (uint64_t)(p[i] - '0');
			}
			have_off = true;
		} else {
			return -EINVAL;
		}
		p += len + (end ? 1 : 0);
		if (end && !*p)
			return -EINVAL;
	}
	if (!have_id)
		return -EINVAL;
	memcpy(id, got, FCACHE_ID_LEN);
	*offset = off;
	return 0;
}

int fcache_create_parse(const char *body, size_t len, uint32_t *to, uint64_t *size)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "to");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "size");
	int r = -EINVAL;
	if (cJSON_IsObject(root) && cJSON_IsNumber(t) && cJSON_IsNumber(s) && t->valuedouble >= 1 &&
	    t->valuedouble <= UINT32_MAX && t->valuedouble == (double)(uint32_t)t->valuedouble && s->valuedouble >= 0 &&
	    s->valuedouble <= 2.0 * (double)FILES_MAX_SIZE && s->valuedouble == (double)(uint64_t)s->valuedouble) {
		*to = (uint32_t)t->valuedouble;
		*size = (uint64_t)s->valuedouble;
		r = 0;
	}
	cJSON_Delete(root);
	return r;
}

int fcache_receipt_parse(const char *body, size_t len, uint8_t id[FCACHE_ID_LEN], uint8_t receipt[FILES_RECEIPT_LEN])
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(root, "id");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "receipt");
	int ret = -EINVAL;
	uint8_t got[FCACHE_ID_LEN], rec[FILES_RECEIPT_LEN];
	if (cJSON_IsObject(root) && cJSON_IsString(i) && cJSON_IsString(r) &&
	    id_from_hex(i->valuestring, strlen(i->valuestring), got) == 0 &&
	    coord_b64_decode(rec, FILES_RECEIPT_LEN, r->valuestring, strlen(r->valuestring), 0) == 0) {
		memcpy(id, got, FCACHE_ID_LEN);
		memcpy(receipt, rec, FILES_RECEIPT_LEN);
		ret = 0;
	}
	cJSON_Delete(root);
	return ret;
}
