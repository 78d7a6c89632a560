/* Registration, the same on both backends (store_common.h): which node a
 * key is, whether a pre-auth key approves it, a new waiting node and its
 * name. The SQL is the backends' (store_sqlite_ops.c, store_pg_ops.c), each
 * inside the transaction it opened. */
#include <errno.h>

#include "server/store.h"
#include "server/store_common.h"

/* A free name for a node: want, or the first free candidate. */
static int free_name(const struct store_reg_ops *ops, void *st, const char *want, char out[COORD_NAME_MAX + 1])
{
	struct store_node other;
	int r;

	for (int i = 1; i <= STORE_NAME_SUFFIX_MAX + STORE_NAME_RANDOM_TRIES; i++) {
		store_name_candidate(want, i, out);
		if ((r = ops->by_name(st, out, &other)) == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	return ops->fail(st, -EEXIST, "no free name");
}

/* An approved node takes the name it asked for from a node that is only
 * waiting: waiting nodes never reserve names (anyone can make one). Among
 * approved nodes the first free candidate wins. */
static int claim_name(const struct store_reg_ops *ops, void *st, const char *want, uint32_t id)
{
	char name[COORD_NAME_MAX + 1], moved[COORD_NAME_MAX + 1];
	struct store_node holder;
	int r;

	for (int i = 1; i <= STORE_NAME_SUFFIX_MAX + STORE_NAME_RANDOM_TRIES; i++) {
		store_name_candidate(want, i, name);
		r = ops->by_name(st, name, &holder);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == 0 && holder.id == id)
			return 0;
		if (r == 0 && holder.approved)
			continue;
		if (r == 0) { /* a waiting node: it moves aside */
			if ((r = free_name(ops, st, name, moved)) < 0 || (r = ops->rename(st, holder.id, moved)) < 0)
				return r;
		}
		return ops->rename(st, id, name);
	}
	return ops->fail(st, -EEXIST, "no free name");
}

static int insert_node(const struct store_reg_ops *ops, void *st, const struct store_register *req, uint32_t *id)
{
	char name[COORD_NAME_MAX + 1];
	int r;

	if ((r = free_name(ops, st, req->name, name)) < 0)
		return r;
	return ops->insert(st, req, name, id);
}

int store_register_in_tx(const struct store_reg_ops *ops, void *st, const struct store_register *req,
			 struct store_node *out)
{
	struct store_node known;
	struct store_key key;
	int64_t waiting = 0;
	uint32_t id = 0;
	int r = 0, found;

	found = ops->by_key(st, req->public_key, &known);
	if (found < 0 && found != -ENOENT)
		return found;
	/* An approved, unexpired node needs no key: it proves its key per request. */
	if (found == 0 && known.approved && (!known.expires_at || known.expires_at > req->now)) {
		*out = known;
		return 0;
	}
	if (req->preauth_hash && (r = ops->preauth_check(st, req->preauth_hash, req->now, &key)) < 0)
		return r;
	if (found == 0 && !req->preauth_hash) {
		*out = known; /* still waiting (or expired): nothing changes */
		return 0;
	}
	if (found == 0) {
		id = known.id;
	} else {
		/* A new waiting node: the caller's rate limit, then the cap. */
		if (!req->preauth_hash && !req->pending_allowed)
			return -EAGAIN;
		if (!req->preauth_hash && req->pending_max && (r = ops->pending_count(st, &waiting)) == 0 &&
		    (uint64_t)waiting >= req->pending_max)
			return -EDQUOT;
		if (r < 0 || (r = insert_node(ops, st, req, &id)) < 0)
			return r;
		if (!req->preauth_hash && req->created_pending)
			*req->created_pending = true;
	}
	if (req->preauth_hash &&
	    ((r = ops->key_consume(st, &key, id)) < 0 || (r = claim_name(ops, st, req->name, id)) < 0))
		return r;
	return ops->by_id(st, id, out);
}
