/* The published indexes' routes (server/files/index.h): a publisher
 * uploads the index it sealed to a group's members, in pieces; a member of
 * that group downloads it, in pieces; the publisher deletes it. The server
 * checks membership, sizes, the sequence number and the sealed index's
 * clear header (its publisher key and lengths); it cannot open it. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "server/api_internal.h"
#include "server/directory.h"
#include "server/files/blob_store.h"
#include "server/files/index.h"
#include "server/server.h"
#include "server/store.h"
#include "util/le.h"
#include "util/log.h"

/* "Not a member" and "nothing published" get the same answer: a node
 * outside the group learns nothing about what the publisher shares. */
#define NOTHING "nothing published to your groups by that node"

static bool in_group(const struct dir_node *n, uint32_t gid)
{
	for (size_t i = 0; i < n->rec.groups_count; i++)
		if (n->rec.groups[i] == gid)
			return true;
	return false;
}

static const struct dir_group *group_by_name(const struct directory *d, const char *name)
{
	for (size_t i = 0; i < d->groups_count; i++)
		if (strcmp(d->groups[i].name, name) == 0)
			return &d->groups[i];
	return NULL;
}

static void data_name(uint32_t publisher, uint32_t gid, const char *suffix, char out[FDATA_NAME_MAX])
{
	snprintf(out, FDATA_NAME_MAX, "index-%u-%u%s", publisher, gid, suffix);
}

static void reply_received(struct api_req *a, int code, uint64_t received, const char *error)
{
	char json[200];
	if (error)
		snprintf(json, sizeof(json), "{\"error\":\"%s\",\"received\":%llu}", error, (unsigned long long)received);
	else
		snprintf(json, sizeof(json), "{\"received\":%llu}", (unsigned long long)received);
	api_reply_json(a, code, json);
}

/* The query of a PUT: the group (the node a member), seq and size. */
static const struct dir_group *put_query(struct api_req *a, struct findex_query *q)
{
	const struct dir_group *g = NULL;
	if (findex_query_parse(a->target, q) < 0 || !q->group[0] || !q->have_seq || !q->have_size) {
		api_error(a, 400, "give ?group=G&seq=N&size=S&offset=O");
		return NULL;
	}
	if (!(g = group_by_name(&a->srv->dir, q->group)) || !in_group(a->node, g->id)) {
		api_error(a, 404, "no such group of yours");
		return NULL;
	}
	if (!a->node->rec.has_file_key) {
		api_error(a, 409, "no file key registered: update roamd");
		return NULL;
	}
	if (q->size < FILES_INDEX_FIXED_LEN || q->size > FINDEX_SIZE_MAX) {
		char msg[120];
		snprintf(msg, sizeof(msg), "a sealed index is at most %u bytes", FINDEX_SIZE_MAX);
		api_error(a, q->size > FINDEX_SIZE_MAX ? 507 : 400, msg);
		return NULL;
	}
	return g;
}

/* The staging file at offset: created at 0 (a newer seq than the stored
 * one), else it must be this upload's and hold exactly offset bytes. 0, or
 * -errno with *held what it holds (the sender continues there). */
static int staging_open(struct api_req *a, const struct findex_query *q, uint32_t gid, const char *name, uint64_t *held)
{
	struct findex_row row;
	uint8_t prefix[FINDEX_PREFIX_LEN];
	uint64_t size;
	*held = 0;
	if (q->offset == 0) {
		if (findex_get(a->srv->store, a->node->rec.id, gid, &row) == 0 && row.seq >= q->seq)
			return -EEXIST;
		le64_put(prefix, q->seq);
		le64_put(prefix + 8, q->size);
		int r = fdata_create(a->srv, name);
		return r < 0 ? r : fdata_write(a->srv, name, 0, prefix, sizeof(prefix), false, NULL);
	}
	if (fdata_read(a->srv, name, 0, prefix, sizeof(prefix)) < 0 || le64_get(prefix) != q->seq ||
	    le64_get(prefix + 8) != q->size || fdata_size(a->srv, name, &size) < 0)
		return -ENOENT;
	*held = size - FINDEX_PREFIX_LEN;
	return *held != q->offset ? -ERANGE : 0;
}

/* The last piece is in: the header checked, the file renamed over the
 * previous index, the row replaced. */
static int complete(struct api_req *a, const struct findex_query *q, uint32_t gid, const char *staging)
{
	uint8_t head[FILES_INDEX_FIXED_LEN];
	char final[FDATA_NAME_MAX];
	struct findex_row row = { .publisher = a->node->rec.id, .group = gid, .seq = q->seq, .size = q->size,
				  .updated = a->now };
	if (fdata_read(a->srv, staging, FINDEX_PREFIX_LEN, head, sizeof(head)) < 0 ||
	    findex_sealed_check(head, sizeof(head), q->size, q->seq, a->node->rec.file_key) < 0)
		return -EBADMSG;
	data_name(row.publisher, gid, "", final);
	if (fdata_rename(a->srv, staging, final) < 0)
		return -EIO;
	int r = findex_put(a->srv->store, &row);
	return r == -EEXIST ? 0 : r; /* a newer one came meanwhile: its file is the newer too */
}

void api_files_index_put(struct api_req *a)
{
	struct findex_query q;
	char name[FDATA_NAME_MAX];
	uint64_t held;
	if (api_authenticate(a, false) < 0)
		return;
	const struct dir_group *g = put_query(a, &q);
	if (!g)
		return;
	if (q.offset > q.size || a->body_len > FINDEX_CHUNK_MAX || a->body_len > q.size - q.offset) {
		api_error(a, 400, "a piece past the size, or over 60 KiB");
		return;
	}
	data_name(a->node->rec.id, g->id, ".up", name);
	int r = staging_open(a, &q, g->id, name, &held);
	if (r == -EEXIST) {
		api_error(a, 409, "an index with this sequence number or a higher one is stored");
		return;
	}
	if (r == -ENOENT || r == -ERANGE) {
		reply_received(a, 409, held, "continue at the offset given in received");
		return;
	}
	uint64_t received = q.offset + a->body_len;
	if (r < 0 || fdata_write(a->srv, name, FINDEX_PREFIX_LEN + q.offset, a->body, a->body_len, received == q.size,
				 NULL) < 0) {
		api_error(a, 500, "cannot store the index");
		return;
	}
	r = received == q.size ? complete(a, &q, g->id, name) : 0;
	if (r < 0) {
		fdata_remove(a->srv, name);
		api_error(a, r == -EBADMSG ? 400 : 500,
			  r == -EBADMSG ? "not an index sealed by you with that sequence number: dropped"
					: "cannot store the index");
		return;
	}
	if (received == q.size)
		log_info("files: node %u published an index to group %u (%llu bytes, seq %llu)", a->node->rec.id, g->id,
			 (unsigned long long)q.size, (unsigned long long)q.seq);
	reply_received(a, 200, received, NULL);
}

struct pick_ctx {
	const struct dir_node *asker, *publisher;
	uint32_t gid; /* 0: any */
	struct findex_row row;
	bool found;
};

static int pick_one(void *ctx, const struct findex_row *r)
{
	struct pick_ctx *p = ctx;
	if ((p->gid && r->group != p->gid) || !in_group(p->asker, r->group) || !in_group(p->publisher, r->group))
		return 0;
	p->row = *r;
	p->found = true;
	return 1; /* the highest sequence first: this one */
}

void api_files_index_get(struct api_req *a)
{
	struct findex_query q;
	char name[FDATA_NAME_MAX];
	uint8_t prefix[FINDEX_PREFIX_LEN];
	static uint8_t buf[FINDEX_DOWNLOAD_MAX];
	if (api_authenticate(a, false) < 0)
		return;
	if (findex_query_parse(a->target, &q) < 0 || !q.node) {
		api_error(a, 400, "give ?node=ID (and &gid=G&offset=O)");
		return;
	}
	struct pick_ctx p = { .asker = a->node, .publisher = dir_node_get(&a->srv->dir, q.node), .gid = q.gid };
	if (!p.publisher || findex_list(a->srv->store, q.node, pick_one, &p) < 0 || !p.found) {
		api_error(a, 404, NOTHING);
		return;
	}
	data_name(q.node, p.row.group, "", name);
	bool found = fdata_read(a->srv, name, 0, prefix, sizeof(prefix)) == 0;
	uint64_t seq = found ? le64_get(prefix) : 0, size = found ? le64_get(prefix + 8) : 0;
	size_t want = q.offset < size ? (size - q.offset < FINDEX_DOWNLOAD_MAX ? (size_t)(size - q.offset)
									       : FINDEX_DOWNLOAD_MAX)
				      : 0;
	int r = found && want ? fdata_read(a->srv, name, FINDEX_PREFIX_LEN + q.offset, buf, want) : 0;
	if (!found || size == 0 || q.offset > size) {
		api_error(a, !found ? 404 : 400, !found ? NOTHING : "offset past the index");
		return;
	}
	char head[128];
	snprintf(head, sizeof(head), "\"gid\":%u,\"seq\":%llu,\"size\":%llu,\"offset\":%llu,", p.row.group,
		 (unsigned long long)seq, (unsigned long long)size, (unsigned long long)q.offset);
	if (r < 0)
		api_error(a, 500, "cannot read the index");
	else
		findex_reply_data(a, head, buf, want);
}

void findex_reply_data(struct api_req *a, const char *head, const uint8_t *buf, size_t len)
{
	/* Written straight, not through cJSON: 60 KiB per reply. */
	static char json[FINDEX_DOWNLOAD_MAX * 4 / 3 + 160];
	int n = snprintf(json, sizeof(json), "{%s\"data\":\"", head);
	if (n < 0 || (size_t)n >= sizeof(json) - 3 || len > FINDEX_DOWNLOAD_MAX ||
	    coord_b64_encode(json + n, sizeof(json) - (size_t)n - 3, buf, len, 0) < 0) {
		api_error(a, 500, "cannot encode the reply");
		return;
	}
	strcat(json + n, "\"}");
	api_reply_json(a, 200, json);
}

struct delete_ctx {
	struct server *s;
	uint32_t gid; /* 0: every group */
	int deleted;
};

static int delete_one(void *ctx, const struct findex_row *r)
{
	struct delete_ctx *d = ctx;
	char name[FDATA_NAME_MAX];
	if (d->gid && r->group != d->gid)
		return 0;
	data_name(r->publisher, r->group, "", name);
	fdata_remove(d->s, name);
	data_name(r->publisher, r->group, ".up", name);
	fdata_remove(d->s, name);
	d->deleted++;
	return 0;
}

int findex_drop_node(struct server *s, uint32_t publisher, uint32_t gid)
{
	struct delete_ctx d = { .s = s, .gid = gid };
	/* The copies of its files go with the index. */
	if (findex_list(s->store, publisher, delete_one, &d) < 0 || findex_delete(s->store, publisher, gid) < 0 ||
	    fblob_drop(s->store, publisher, gid, 0, fblob_unlink, s) < 0)
		return -EIO;
	return d.deleted;
}

struct sweep_ctx {
	const struct server *s;
	uint32_t gone[64];
	size_t count;
};

static int sweep_one(void *ctx, const char *name)
{
	struct sweep_ctx *w = ctx;
	unsigned p, g;
	if (sscanf(name, "index-%u-%u", &p, &g) == 2 && p > 0 && (p >= w->s->dir.by_id_cap || !w->s->dir.by_id[p]) &&
	    (w->count == 0 || w->gone[w->count - 1] != p))
		w->gone[w->count++] = p;
	return w->count == sizeof(w->gone) / sizeof(w->gone[0]);
}

void findex_sweep_removed(struct server *s)
{
	struct sweep_ctx w = { .s = s };
	/* Their files name them (the rows cannot: the nodes are gone), on the
	 * disk or in PostgreSQL; collected first, then dropped. */
	if (fdata_list(s, "index-", sweep_one, &w) < 0)
		log_warn("files: cannot list the stored indexes");
	for (size_t i = 0; i < w.count; i++)
		if (findex_drop_node(s, w.gone[i], 0) > 0)
			log_info("files: the indexes of node %u, removed while the server was down, deleted", w.gone[i]);
}

/* The authenticated request's optional ?group=G, one of the node's
 * groups: 0 with *g (NULL: none given), or -1 with the error replied. */
static int optional_group(struct api_req *a, const struct dir_group **g)
{
	struct findex_query q;
	*g = NULL;
	if (api_authenticate(a, false) < 0)
		return -1;
	if (findex_query_parse(a->target, &q) < 0) {
		api_error(a, 400, "give nothing, or ?group=G");
		return -1;
	}
	*g = q.group[0] ? group_by_name(&a->srv->dir, q.group) : NULL;
	if (q.group[0] && (!*g || !in_group(a->node, (*g)->id))) {
		api_error(a, 404, "no such group of yours");
		return -1;
	}
	return 0;
}

void api_files_index_delete(struct api_req *a)
{
	const struct dir_group *g;
	char json[64];
	if (optional_group(a, &g) < 0)
		return;
	int deleted = findex_drop_node(a->srv, a->node->rec.id, g ? g->id : 0);
	if (deleted < 0) {
		api_error(a, 500, "cannot delete the index");
		return;
	}
	snprintf(json, sizeof(json), "{\"ok\":true,\"deleted\":%d}", deleted);
	api_reply_json(a, 200, json);
}

/* Without a group: the names of the node's groups. With one: its active
 * members with a file key, other than the node (what the publisher seals
 * to), at most FINDEX_MEMBERS_MAX. */
void api_files_index_members(struct api_req *a)
{
	const struct dir_group *g;
	if (optional_group(a, &g) < 0)
		return;
	cJSON *root = cJSON_CreateObject();
	if (!g) {
		cJSON *names = cJSON_AddArrayToObject(root, "groups");
		for (size_t i = 0; i < a->node->rec.groups_count; i++) {
			const char *name = dir_group_name(&a->srv->dir, a->node->rec.groups[i]);
			if (name)
				cJSON_AddItemToArray(names, cJSON_CreateString(name));
		}
	} else {
		cJSON_AddStringToObject(root, "group", g->name);
		cJSON_AddNumberToObject(root, "gid", g->id);
		cJSON *list = cJSON_AddArrayToObject(root, "members");
		size_t n = 0;
		for (size_t i = 0; i < g->count && n < FINDEX_MEMBERS_MAX; i++) {
			const struct dir_node *m = dir_node_get(&a->srv->dir, g->members[i]);
			char b64[2 * FILES_KEY_LEN];
			if (!m || m == a->node || !m->rec.has_file_key || !dir_node_active(m, a->now) ||
			    coord_b64_encode(b64, sizeof(b64), m->rec.file_key, FILES_KEY_LEN, 0) < 0)
				continue;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "id", m->rec.id);
			cJSON_AddStringToObject(o, "file_key", b64);
			cJSON_AddItemToArray(list, o);
			n++;
		}
	}
	char *json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (json)
		api_reply_json(a, 200, json);
	else
		api_error(a, 500, "out of memory");
	free(json);
}
