/* roam-server's local admin socket: <state>/admin.sock, a unix stream
 * socket (mode 0600, the server's user) on which roam-server's admin
 * commands hand their changes to the running server. One request line
 * (a JSON object, server/admin/ops.h) and one reply line per connection. */
#ifndef ROAM_SERVER_ADMIN_SOCK_H
#define ROAM_SERVER_ADMIN_SOCK_H

#include "server/identity.h"

#define ADMIN_SOCK_NAME "admin.sock"
#define ADMIN_SOCK_CLIENTS_MAX 16 /* connections at once; more are closed */
#define ADMIN_SOCK_TIMEOUT_S 10   /* a request line, a reply, within this */

struct server;
struct cJSON;

/* server side: open after the store; -EADDRINUSE if another server answers
 * on it. close unlinks the socket. */
int admin_sock_open(struct server *s);
void admin_sock_close(struct server *s);

/* Applies one admin operation through the running server: the store, then
 * the nodes the change affects, at once; actor ("cli", an admin's name)
 * goes into the log. The reply as admin_ops_apply's. */
int server_admin_apply(struct server *s, const struct cJSON *req, const char *actor, struct cJSON **reply);

/* client side (the CLI): send req to the server on state_dir's socket and
 * wait for the reply. -ENOENT or -ECONNREFUSED: no server runs there (the
 * caller applies the change to the database itself). */
int admin_sock_call(const char *state_dir, const struct cJSON *req, struct cJSON **reply);

/* events.follow: a connection on which the server writes one JSON line
 * per new event (events_to_json); the caller reads and closes *fd_out. */
int admin_sock_follow(const char *state_dir, int *fd_out);

#endif
