/* What a managed node remembers across restarts, in its state directory
 * (0700): its private key (node.key, 0600, made here and never sent
 * anywhere) and state.json (the server it joined and what it was given).
 * Files are replaced atomically (write, fsync, rename), so a crash leaves
 * the old or the new state, never half of one. */
#ifndef ROAM_DAEMON_NODE_STATE_H
#define ROAM_DAEMON_NODE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/servers.h"
#include <sys/types.h>

#include "coord/token.h"
#include "net/addr.h"

#define NODE_STATE_URL_MAX 256
#define NODE_STATE_PROXY_MAX 512 /* ROAMD_PROXY_URL_MAX */

struct node_state {
	uint8_t private_key[32];
	/* Joined server; server_url[0] == 0 until `roam up`. */
	char server_url[NODE_STATE_URL_MAX];
	struct coord_token token; /* pins; preauth_key zero once registered */
	char name[64];
	uint32_t node_id; /* 0 until registered */
	bool joined;      /* `roam down` clears it: do not reconnect at start */
	/* `roam up --proxy` (normalised, may hold credentials: the file is
	 * 0600); "" when not set. */
	char proxy[NODE_STATE_PROXY_MAX];
	bool allow_tls_interception; /* `roam up --allow-tls-interception` */
	struct coord_servers servers; /* the network's servers, from its stream */
};

/* Loads dir/node.key (made if missing) and dir/state.json (optional).
 * Creates dir 0700 if needed. Errors name the file in *why. */
int node_state_load(const char *dir, struct node_state *out, char *why, size_t why_size);
/* The two files' parsers, without I/O. node_state_parse() fills everything
 * but private_key from state.json's text, node_key_parse() the key from
 * node.key's (base64, trailing newlines and spaces ignored). 0 or -EINVAL;
 * nothing is written on error, nor a name the file lacks. */
int node_state_parse(const char *text, size_t len, struct node_state *st);
int node_key_parse(const char *text, size_t len, uint8_t key[32]);
/* Writes dir/state.json atomically. */
int node_state_save(const char *dir, const struct node_state *st);
void node_state_wipe(struct node_state *st);
/* The state directory's file primitives (also for daemon/node_settings.c):
 * dir/name replaced atomically (write, fsync, rename); a file of at most
 * 64 KiB read whole, NUL-terminated (free *out). 0 or -errno (-EFBIG). */
int node_state_write_atomic(const char *dir, const char *name, const char *data, size_t len, mode_t mode);
int node_state_read_small(const char *path, char **out, size_t *len);

#endif
