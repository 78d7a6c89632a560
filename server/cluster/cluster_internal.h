/* Shared by the files of server/cluster/; not for the rest of the server. */
#ifndef ROAM_SERVER_CLUSTER_INTERNAL_H
#define ROAM_SERVER_CLUSTER_INTERNAL_H

#include <stdint.h>

struct event;

#define CLUSTER_EXPIRE_TICKS 10
#define CLUSTER_TAG_LEN 16 /* hex digits naming this server process in the presence table */

struct cluster_watch {
	struct event *read_ev; /* on the store's socket; NULL while it is down */
	struct event *retry_ev;
	int fd;
	char tag[CLUSTER_TAG_LEN + 1];
	int64_t presence_version, presence_seq; /* what we have read of the others' presence */
	char *servers_line;                     /* servers.c: {"type":"servers"} as last sent; NULL: none */
	unsigned ticks;                         /* of retry_ev: the expiry sweep every CLUSTER_EXPIRE_TICKS */
};

#endif
