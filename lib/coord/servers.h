/* The list of control servers of one network (issue 14, several servers on
 * one PostgreSQL): carried by the stream line {"type":"servers","servers":
 * ["https://HOST:PORT", ...]}, kept by the node, and used to choose where to
 * go when its server dies. Pure: no I/O. */
#ifndef ROAM_COORD_SERVERS_H
#define ROAM_COORD_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COORD_SERVERS_MAX 8     /* a remote party's list: capped */
#define COORD_SERVER_URL_MAX 256 /* as a membership's server_url */

struct coord_servers {
	size_t count;
	char url[COORD_SERVERS_MAX][COORD_SERVER_URL_MAX];
};

/* Adds url (an https:// URL) unless already there: 0, or -EINVAL (not
 * https://, too long, control characters), -ENOSPC (full). */
int coord_servers_add(struct coord_servers *l, const char *url);
/* The server to try after `current` failed: the one following it in the
 * list (wrapping), never `current` itself; NULL when there is no other.
 * A current not in the list gives the list's first. */
const char *coord_servers_next(const struct coord_servers *l, const char *current);

/* A vanished server host (no reset: the machine gone, a cable cut) is
 * noticed sooner in a network of several servers: each pings its streams
 * every COORD_SERVERS_PING_S while the list it sends has two servers or
 * more (one server: COORD_STREAM_PING_S), and a node whose list has two or
 * more gives up on a stream silent for COORD_SERVERS_SILENCE_MS (2.5 pings)
 * and registers with the next server at once. Both sides decide from the
 * same list (the server's "servers" line). */
#define COORD_SERVERS_PING_S 5
#define COORD_SERVERS_SILENCE_MS 12500

/* Servers gone for good (server/cluster/servers.c): the live servers
 * forget a listed server whose session in the store has been missing for
 * COORD_SERVER_GONE_S, and the nodes take the shorter list from their
 * stream (a node keeps what its server's line says, and saves it). */
#define COORD_SERVER_GONE_S (24 * 3600)

/* Since when each listed server has been missing, as one server saw it. */
struct coord_servers_missing {
	size_t count;
	char url[COORD_SERVERS_MAX][COORD_SERVER_URL_MAX];
	int64_t since[COORD_SERVERS_MAX];
};

/* One look at l (alive[i]: l->url[i] has a live server now) at now (any
 * clock in seconds): removes from l the servers missing for gone_s or
 * more, never self (may be NULL) and never the last one; m remembers the
 * others missing. Returns how many were removed. */
size_t coord_servers_prune(struct coord_servers *l, const bool *alive, struct coord_servers_missing *m,
			   const char *self, int64_t now, int64_t gone_s);

/* The stream line, "\n"-terminated (malloc'd; NULL: no memory). */
char *coord_line_servers(const struct coord_servers *l);

#endif
