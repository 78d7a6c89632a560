/* Field helpers shared by json.c and json_stream.c; not part of the API. */
#ifndef ROAM_COORD_JSON_INTERNAL_H
#define ROAM_COORD_JSON_INTERNAL_H

#include <cjson/cJSON.h>

#include "coord/json.h"

int coord_json_node_from(const cJSON *obj, struct coord_node *out);
int coord_json_peer_from(const cJSON *obj, struct coord_peer *out);
int coord_json_endpoint_from(const cJSON *item, bool nullable, struct sockaddr_any *out);
int coord_json_key_from(const cJSON *item, uint8_t key[COORD_KEY_LEN]);
cJSON *coord_json_node_build(const struct coord_node *node);
cJSON *coord_json_endpoint_build(const struct sockaddr_any *a);
char *coord_json_print_line(cJSON *root); /* frees root; adds "\n" */
/* json_relays.c: "relay_rtt" (optional; added only when count > 0); the
 * "relays" and "ticket" stream lines. */
int coord_json_relay_rtt_from(const cJSON *obj, struct coord_relay_rtts *out);
void coord_json_relay_rtt_add(cJSON *obj, const struct coord_relay_rtts *r);
int coord_stream_relays(const cJSON *root, const struct coord_stream_handler *h, void *ctx);
int coord_stream_servers(const cJSON *root, const struct coord_stream_handler *h, void *ctx); /* servers.c */
int coord_stream_ticket(const cJSON *root, const struct coord_stream_handler *h, void *ctx);

#endif
