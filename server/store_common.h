/* What both store backends share (store.c); not part of store.h. */
#ifndef ROAM_SERVER_STORE_COMMON_H
#define ROAM_SERVER_STORE_COMMON_H

#include <stdint.h>

#include "coord/messages.h"

struct store_node;
struct store_key;
struct store_register;

#define STORE_NAME_SUFFIX_MAX 64 /* "-2" .. "-64", then random suffixes */
#define STORE_NAME_RANDOM_TRIES 8

/* Candidate i (1..) for a wanted node name: the name, then name-2 ..
 * name-STORE_NAME_SUFFIX_MAX, then name-<8 random hex digits>, which no one
 * can have reserved in advance. */
void store_name_candidate(const char *want, int i, char out[COORD_NAME_MAX + 1]);

/* Registration (store_register_node), written once over what each backend
 * does in SQL (server/store_register.c); st is the backend's own handle,
 * inside the transaction the backend opened. Each returns 0, -ENOENT (no
 * such row) or the error the backend recorded. */
struct store_reg_ops {
	int (*by_key)(void *st, const uint8_t pub[COORD_KEY_LEN], struct store_node *out);
	int (*by_name)(void *st, const char *name, struct store_node *out); /* id and approved at least */
	int (*by_id)(void *st, uint32_t id, struct store_node *out);
	int (*rename)(void *st, uint32_t id, const char *name);
	int (*pending_count)(void *st, int64_t *out);
	/* A pre-auth key by hash, checked (-EACCES, -EKEYEXPIRED, -EUSERS);
	 * on success *key has its groups. */
	int (*preauth_check)(void *st, const uint8_t hash[32], int64_t now, struct store_key *key);
	/* A new waiting node named name, with its addresses. */
	int (*insert)(void *st, const struct store_register *req, const char *name, uint32_t *id_out);
	/* The key used once, its groups joined, the node approved. */
	int (*key_consume)(void *st, const struct store_key *key, uint32_t node_id);
	int (*fail)(void *st, int err, const char *what); /* records what, returns err */
};

/* Each backend gives these names to its functions: the table is then the same. */
#define STORE_REG_OPS_INIT                                                                                         \
	{                                                                                                          \
		.by_key = reg_by_key, .by_name = reg_by_name, .by_id = reg_by_id, .rename = reg_rename,            \
		.pending_count = pending_count, .preauth_check = preauth_check, .insert = insert_node,             \
		.key_consume = key_consume, .fail = reg_fail,                                                      \
	}

int store_register_in_tx(const struct store_reg_ops *ops, void *st, const struct store_register *req,
			 struct store_node *out);

#endif
