/* The PULL request and reply (files/pull.h). */
#include <errno.h>
#include <string.h>

#include "files/pull.h"
#include "util/le.h"

void files_pull_req_build(uint8_t out[FILES_PULL_REQ_LEN], const struct files_pull_req *r)
{
	memset(out, 0, FILES_PULL_REQ_LEN);
	memcpy(out, FILES_PULL_MAGIC, 4);
	out[4] = (uint8_t)r->type;
	memcpy(out + 8, r->hash, FILES_HASH_LEN);
	le32_put(out + 40, r->chunk_size);
	le32_put(out + 44, r->first);
	le32_put(out + 48, r->count);
}

int files_pull_req_parse(const uint8_t *buf, size_t len, struct files_pull_req *r)
{
	struct files_pull_req q;
	if (len != FILES_PULL_REQ_LEN || memcmp(buf, FILES_PULL_MAGIC, 4) != 0 || buf[5] || buf[6] || buf[7] ||
	    le32_get(buf + 52) != 0)
		return -EBADMSG;
	q.type = (enum files_pull_type)buf[4];
	memcpy(q.hash, buf + 8, FILES_HASH_LEN);
	q.chunk_size = le32_get(buf + 40);
	q.first = le32_get(buf + 44);
	q.count = le32_get(buf + 48);
	if (q.chunk_size < FILES_CHUNK_MIN || q.chunk_size > FILES_CHUNK_MAX)
		return -EBADMSG;
	switch (q.type) {
	case FILES_PULL_TREE:
	case FILES_PULL_LOOKUP:
		if (q.first != 0 || q.count != 0)
			return -EBADMSG;
		break;
	case FILES_PULL_GROUP:
		if (q.first >= FILES_TREE_MAX_GROUPS || q.count != 0)
			return -EBADMSG;
		break;
	case FILES_PULL_CHUNKS:
		if (q.first >= FILES_MAX_CHUNKS || q.count == 0 || q.count > FILES_PULL_MAX_RUN)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	*r = q;
	return 0;
}

int files_pull_payload_len(const struct files_pull_req *r, uint64_t size, uint32_t *len)
{
	uint32_t chunks, groups;
	int ret = files_tree_chunks(size, r->chunk_size, &chunks);
	if (ret < 0)
		return -ERANGE;
	groups = files_tree_groups(chunks);
	switch (r->type) {
	case FILES_PULL_TREE:
		*len = groups * FILES_HASH_LEN;
		return 0;
	case FILES_PULL_LOOKUP:
		*len = FILES_PULL_LOOKUP_LEN;
		return 0;
	case FILES_PULL_GROUP:
		if (r->first >= groups)
			return -ERANGE;
		uint32_t in = r->first + 1 < groups ? FILES_TREE_GROUP : chunks - r->first * FILES_TREE_GROUP;
		*len = in * FILES_HASH_LEN;
		return 0;
	case FILES_PULL_CHUNKS:
		if (r->first >= chunks || r->count > chunks - r->first)
			return -ERANGE;
		uint64_t start = (uint64_t)r->first * r->chunk_size;
		uint64_t end = start + (uint64_t)r->count * r->chunk_size;
		*len = (uint32_t)((end < size ? end : size) - start);
		return 0;
	}
	return -ERANGE;
}

void files_pull_reply_build(uint8_t out[FILES_PULL_REPLY_LEN], const struct files_pull_reply *p)
{
	int ok = p->status == FILES_PULL_OK;
	memset(out, 0, FILES_PULL_REPLY_LEN);
	memcpy(out, FILES_PULL_MAGIC, 4);
	out[4] = (uint8_t)(0x80u | (unsigned)p->type);
	out[5] = (uint8_t)p->status;
	le64_put(out + 8, ok ? p->size : 0);
	le32_put(out + 16, ok ? p->payload_len : 0);
}

int files_pull_reply_parse(const uint8_t *buf, size_t len, struct files_pull_reply *p)
{
	struct files_pull_reply q;
	if (len != FILES_PULL_REPLY_LEN || memcmp(buf, FILES_PULL_MAGIC, 4) != 0 || !(buf[4] & 0x80) || buf[6] ||
	    buf[7] || le32_get(buf + 20) != 0)
		return -EBADMSG;
	unsigned type = buf[4] & 0x7fu;
	if (type < FILES_PULL_TREE || type > FILES_PULL_LOOKUP || buf[5] > FILES_PULL_STATUS_MAX)
		return -EBADMSG;
	q.type = (enum files_pull_type)type;
	q.status = (enum files_pull_status)buf[5];
	q.size = le64_get(buf + 8);
	q.payload_len = le32_get(buf + 16);
	if (q.size > FILES_MAX_SIZE ||
	    (q.status != FILES_PULL_OK && (q.size != 0 || q.payload_len != 0)) ||
	    q.payload_len > FILES_PULL_MAX_RUN * FILES_CHUNK_MAX)
		return -EBADMSG;
	*p = q;
	return 0;
}

void files_pull_path_key(const char *path, size_t len, uint8_t out[FILES_HASH_LEN])
{
	static const char label[] = "roam files path v1";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, FILES_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label)); /* with its NUL */
	crypto_generichash_update(&st, (const uint8_t *)path, len);
	crypto_generichash_final(&st, out, FILES_HASH_LEN);
}

const char *files_pull_status_text(enum files_pull_status status)
{
	switch (status) {
	case FILES_PULL_OK:
		return "ok";
	case FILES_PULL_NOT_FOUND:
		return "not published or held there";
	case FILES_PULL_BAD_REQUEST:
		return "bad request";
	case FILES_PULL_BUSY:
		return "busy";
	case FILES_PULL_CHANGED:
		return "changed since it was published";
	case FILES_PULL_IO_ERROR:
		return "I/O error";
	}
	return "unknown";
}
