/* The admin operations, one code path for every way in: the admin socket
 * (roam-server's CLI while the server runs), the admin API, and the CLI
 * itself on the database while no server runs. A request is a JSON object
 * {"op": "nodes.approve", ...}; the reply {"ok": true, ...} or
 * {"error": "no node named 'x'"}. No I/O but the store; the caller pushes
 * the change to the nodes (admin_ops_changes says what moved). */
#ifndef ROAM_SERVER_ADMIN_OPS_H
#define ROAM_SERVER_ADMIN_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

struct cJSON;

#define ADMIN_REQUEST_MAX (64 * 1024) /* one request line, in bytes */

/* What a successful operation changed: the caller reloads that much. */
#define ADMIN_CHANGED_NODES 0x1  /* nodes or groups: server_reload */
#define ADMIN_CHANGED_RELAYS 0x2 /* relays_reload */

/* Applies req on st at time now. Always sets *reply (a new object: the
 * caller frees it) unless out of memory; returns 0, or -errno with
 * reply's "error" saying why in words. *changed: ADMIN_CHANGED_* bits. */
int admin_ops_apply(struct store *st, const struct cJSON *req, int64_t now, struct cJSON **reply, unsigned *changed);

/* The request's "op" ("nodes.approve"), or "?" */
const char *admin_ops_name(const struct cJSON *req);

/* A relay's URL or region goes into the nodes' relay map (JSON) as it is:
 * printable ASCII without spaces, quotes or backslashes. NULL is fine. */
bool admin_ops_relay_text_ok(const char *text);

#endif
