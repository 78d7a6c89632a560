/* Store records as JSON, the same for `roam-server ... --json` and the
 * admin API. */
#ifndef ROAM_SERVER_ADMIN_RECORDS_H
#define ROAM_SERVER_ADMIN_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

struct cJSON;

#define ADMIN_RELAY_ONLINE_S 30 /* a load report this recent: online (they come every 10 s) */

bool admin_relay_online(const struct store_relay *rl, int64_t now);
/* {"id", "name", "url", "region", "registered", "online", "clients", "pps",
 * "bps", "dropped", "load_at"}; NULL if out of memory. */
struct cJSON *admin_relay_json(const struct store_relay *rl, int64_t now);

const char *admin_key_state(const struct store_key *k, int64_t now); /* valid, used, expired, revoked */
/* {"id", "reusable", "state", "uses", "created", "expires_at", "groups": [names]} */
struct cJSON *admin_key_json(struct store *st, const struct store_key *k, int64_t now);

#endif
