/* Several roam-servers on one PostgreSQL (docs/architecture.md, "Several
 * servers"): the store connection's socket in the event loop, so that a
 * change committed by another server or an admin command (a NOTIFY on
 * "roam_changes") is reloaded and pushed to this server's nodes at once.
 * A no-op on SQLite, where admin commands go through the admin socket. */
#ifndef ROAM_SERVER_CLUSTER_WATCH_H
#define ROAM_SERVER_CLUSTER_WATCH_H

struct server;

int cluster_watch_open(struct server *s);
void cluster_watch_close(struct server *s);

#endif
