/* The two-level hash tree a pulled file's chunks are checked against
 * (files/pull.h). Each level hashes under its own label, so a chunk can
 * never pass as a group or a root. */
#include <errno.h>
#include <string.h>

#include "files/pull.h"
#include "util/le.h"

#define LABEL_CHUNK "roam files chunk v1"
#define LABEL_GROUP "roam files group v1"
#define LABEL_ROOT "roam files root v1"

static void h_init(crypto_generichash_state *st, const char *label)
{
	crypto_generichash_init(st, NULL, 0, FILES_HASH_LEN);
	crypto_generichash_update(st, (const uint8_t *)label, strlen(label) + 1);
}

int files_tree_chunks(uint64_t size, uint32_t chunk_size, uint32_t *n)
{
	if (chunk_size < FILES_CHUNK_MIN || chunk_size > FILES_CHUNK_MAX)
		return -EINVAL;
	if (size > FILES_MAX_SIZE)
		return -EFBIG;
	uint64_t c = size == 0 ? 1 : (size + chunk_size - 1) / chunk_size;
	if (c > FILES_MAX_CHUNKS)
		return -EFBIG;
	*n = (uint32_t)c;
	return 0;
}

uint32_t files_tree_groups(uint32_t chunks)
{
	return (chunks + FILES_TREE_GROUP - 1) / FILES_TREE_GROUP;
}

void files_tree_chunk_hash(const uint8_t *data, size_t len, uint8_t out[FILES_HASH_LEN])
{
	crypto_generichash_state st;
	h_init(&st, LABEL_CHUNK);
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, out, FILES_HASH_LEN);
}

void files_tree_group_hash(const uint8_t *hashes, size_t n, uint8_t out[FILES_HASH_LEN])
{
	crypto_generichash_state st;
	h_init(&st, LABEL_GROUP);
	crypto_generichash_update(&st, hashes, n * FILES_HASH_LEN);
	crypto_generichash_final(&st, out, FILES_HASH_LEN);
}

static void root_init(crypto_generichash_state *st, uint64_t size, uint32_t chunk_size)
{
	uint8_t head[12];
	le64_put(head, size);
	le32_put(head + 8, chunk_size);
	h_init(st, LABEL_ROOT);
	crypto_generichash_update(st, head, sizeof(head));
}

int files_tree_root(uint64_t size, uint32_t chunk_size, const uint8_t *groups, size_t n,
		    uint8_t out[FILES_HASH_LEN])
{
	crypto_generichash_state st;
	uint32_t chunks;
	int ret = files_tree_chunks(size, chunk_size, &chunks);
	if (ret < 0)
		return ret;
	if (n != files_tree_groups(chunks))
		return -EINVAL;
	root_init(&st, size, chunk_size);
	crypto_generichash_update(&st, groups, n * FILES_HASH_LEN);
	crypto_generichash_final(&st, out, FILES_HASH_LEN);
	return 0;
}

int files_tree_builder_init(struct files_tree_builder *b, uint64_t size, uint32_t chunk_size)
{
	uint32_t chunks;
	int ret = files_tree_chunks(size, chunk_size, &chunks);
	if (ret < 0)
		return ret;
	memset(b, 0, sizeof(*b));
	b->size = size;
	b->chunk_size = chunk_size;
	crypto_generichash_init(&b->file, NULL, 0, FILES_HASH_LEN);
	h_init(&b->chunk, LABEL_CHUNK);
	h_init(&b->group, LABEL_GROUP);
	root_init(&b->root, size, chunk_size);
	return 0;
}

static void end_group(struct files_tree_builder *b)
{
	uint8_t g[FILES_HASH_LEN];
	crypto_generichash_final(&b->group, g, sizeof(g));
	crypto_generichash_update(&b->root, g, sizeof(g));
	h_init(&b->group, LABEL_GROUP);
	b->in_group = 0;
}

static void end_chunk(struct files_tree_builder *b)
{
	uint8_t h[FILES_HASH_LEN];
	crypto_generichash_final(&b->chunk, h, sizeof(h));
	crypto_generichash_update(&b->group, h, sizeof(h));
	h_init(&b->chunk, LABEL_CHUNK);
	b->in_chunk = 0;
	if (++b->in_group == FILES_TREE_GROUP)
		end_group(b);
}

int files_tree_builder_update(struct files_tree_builder *b, const uint8_t *data, size_t len)
{
	if (len > b->size - b->fed)
		return -EFBIG;
	crypto_generichash_update(&b->file, data, len);
	b->fed += len;
	while (len > 0) {
		size_t take = b->chunk_size - b->in_chunk;
		if (take > len)
			take = len;
		crypto_generichash_update(&b->chunk, data, take);
		b->in_chunk += (uint32_t)take;
		data += take;
		len -= take;
		/* a full chunk closes at once, unless it is the file's last */
		if (b->in_chunk == b->chunk_size && b->fed - len < b->size)
			end_chunk(b);
	}
	return 0;
}

int files_tree_builder_final(struct files_tree_builder *b, uint8_t file_hash[FILES_HASH_LEN],
			     uint8_t root[FILES_HASH_LEN])
{
	if (b->fed != b->size)
		return -ESTALE;
	end_chunk(b); /* the last chunk (maybe empty: an empty file) */
	if (b->in_group > 0)
		end_group(b);
	crypto_generichash_final(&b->file, file_hash, FILES_HASH_LEN);
	crypto_generichash_final(&b->root, root, FILES_HASH_LEN);
	return 0;
}

int files_tree_check_init(struct files_tree_check *c, const uint8_t root[FILES_HASH_LEN], uint64_t size,
			  uint32_t chunk_size, uint8_t (*groups)[FILES_HASH_LEN], uint8_t (*hashes)[FILES_HASH_LEN])
{
	uint32_t chunks;
	int ret = files_tree_chunks(size, chunk_size, &chunks);
	if (ret < 0)
		return ret;
	memset(c, 0, sizeof(*c));
	memcpy(c->root, root, FILES_HASH_LEN);
	c->size = size;
	c->chunk_size = chunk_size;
	c->chunks = chunks;
	c->ngroups = files_tree_groups(chunks);
	c->groups = groups;
	c->hashes = hashes;
	c->group = UINT32_MAX;
	return 0;
}

int files_tree_check_groups(struct files_tree_check *c, const uint8_t *payload, size_t len)
{
	uint8_t root[FILES_HASH_LEN];
	if (len != (size_t)c->ngroups * FILES_HASH_LEN ||
	    files_tree_root(c->size, c->chunk_size, payload, c->ngroups, root) < 0 ||
	    sodium_memcmp(root, c->root, FILES_HASH_LEN) != 0)
		return -EBADMSG;
	memcpy(c->groups, payload, len);
	c->have_groups = 1;
	return 0;
}

static uint32_t group_len(const struct files_tree_check *c, uint32_t g)
{
	return g + 1 < c->ngroups ? FILES_TREE_GROUP : c->chunks - g * FILES_TREE_GROUP;
}

int files_tree_check_hashes(struct files_tree_check *c, uint32_t g, const uint8_t *payload, size_t len)
{
	uint8_t h[FILES_HASH_LEN];
	if (!c->have_groups)
		return -EAGAIN;
	if (g >= c->ngroups || len != (size_t)group_len(c, g) * FILES_HASH_LEN)
		return -EBADMSG;
	files_tree_group_hash(payload, len / FILES_HASH_LEN, h);
	if (sodium_memcmp(h, c->groups[g], FILES_HASH_LEN) != 0)
		return -EBADMSG;
	memcpy(c->hashes, payload, len);
	c->group = g;
	return 0;
}

int files_tree_check_chunk(const struct files_tree_check *c, uint32_t idx, const uint8_t *data, size_t len)
{
	uint8_t h[FILES_HASH_LEN];
	if (idx >= c->chunks)
		return -EBADMSG;
	if (c->group != idx / FILES_TREE_GROUP)
		return -EAGAIN;
	uint64_t off = (uint64_t)idx * c->chunk_size;
	uint64_t want = c->size - off < c->chunk_size ? c->size - off : c->chunk_size;
	if (len != want)
		return -EBADMSG;
	files_tree_chunk_hash(data, len, h);
	return sodium_memcmp(h, c->hashes[idx % FILES_TREE_GROUP], FILES_HASH_LEN) == 0 ? 0 : -EBADMSG;
}
