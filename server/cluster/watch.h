/* Several roam-servers on one PostgreSQL (docs/architecture.md, "Several
 * servers"): the store connection's socket in the event loop, so that a
 * change committed by another server or an admin command (a NOTIFY on
 * "roam_changes") is reloaded and pushed to this server's nodes at once.
 * A no-op on SQLite, where admin commands go through the admin socket. */
#ifndef ROAM_SERVER_CLUSTER_WATCH_H
#define ROAM_SERVER_CLUSTER_WATCH_H

#include <stdbool.h>

struct server;

struct dir_node;

int cluster_watch_open(struct server *s);
void cluster_watch_close(struct server *s);

/* presence.c: a node held here (its stream, binding or relay link) changed
 * its peer object: publish it for the other servers. */
void cluster_presence_publish(struct server *s, struct dir_node *n);
/* The other servers' nodes that changed: into the directory, pushed to
 * the nodes here that see them. */
void cluster_presence_pull(struct server *s);
/* Other servers' nodes whose presence went stale (their server died): offline. */
void cluster_presence_expire(struct server *s);

/* servers.c: this server's --public-url into the store's list of the
 * network's servers, and the list to every node stream when it changed. */
void cluster_servers_refresh(struct server *s);
/* The same, and the servers gone for good out of the list (every 10 s). */
void cluster_servers_check(struct server *s);
/* The list to a node whose stream just opened. */
void cluster_servers_send(struct server *s, struct dir_node *n);
/* The list has several servers: the streams are pinged every
 * COORD_SERVERS_PING_S from here, not by server.c's ping timer. */
bool cluster_pings_streams(const struct server *s);

#endif
