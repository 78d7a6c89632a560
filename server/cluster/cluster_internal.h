/* Shared by the files of server/cluster/; not for the rest of the server. */
#ifndef ROAM_SERVER_CLUSTER_INTERNAL_H
#define ROAM_SERVER_CLUSTER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/servers.h"

struct event;
struct server;

#define CLUSTER_EXPIRE_TICKS 10
#define CLUSTER_TAG_LEN 16 /* hex digits naming this server process in the presence table */
#define CLUSTER_DEAD_TICKS 2   /* dead.c: a sweep every 2 s ... */
#define CLUSTER_DEAD_SWEEPS 3  /* ... and a server is dead after 3 without its session */
#define CLUSTER_SUSPECTS_MAX 16 /* servers suspected dead at once (more wait for a slot) */

struct dir_node;

/* A server tag with rows in presence and no session in the store (dead.c). */
struct cluster_suspect {
	char tag[CLUSTER_TAG_LEN + 1];
	unsigned misses; /* sweeps in a row without its session */
	bool seen;       /* in this sweep */
};

struct cluster_watch {
	struct event *read_ev; /* on the store's socket; NULL while it is down */
	struct event *retry_ev;
	int fd;
	char tag[CLUSTER_TAG_LEN + 1];
	int64_t presence_version, presence_seq; /* what we have read of the others' presence */
	char *servers_line;                     /* servers.c: {"type":"servers"} as last sent; NULL: none */
	unsigned ticks;                         /* of retry_ev: the expiry sweep every CLUSTER_EXPIRE_TICKS */
	struct cluster_suspect suspects[CLUSTER_SUSPECTS_MAX];
	size_t suspects_count;
	struct coord_servers_missing missing; /* servers.c: listed servers without a session, since when */
	size_t servers_count;                 /* servers.c: in the list the nodes have */
};

/* presence.c: this server holds n (its stream, binding timer or a relay link). */
bool cluster_node_local(const struct dir_node *n);
/* dead.c: the nodes of servers that died, offline (every CLUSTER_DEAD_TICKS). */
void cluster_dead_sweep(struct server *s);

#endif
