/* Fuzzes the control protocol's JSON decoders (lib/coord/json*.c): request
 * bodies as the server gets them, node documents and stream lines as a node
 * gets them. Whatever parses must respect the limits and re-encode. */
#include <stdlib.h>
#include <string.h>

#include "coord/json.h"
#include "coord/servers.h"
#include "fuzz/fuzz.h"

static int on_peer(void *ctx, const struct coord_peer *p, bool full)
{
	(void)ctx;
	(void)full;
	if (p->private_count > COORD_PRIVATE_MAX || strlen(p->name) > COORD_NAME_MAX)
		abort();
	return 0;
}

/* The servers line: capped, each URL https:// and terminated; re-encodes. */
static int on_servers(void *ctx, const struct coord_servers *l)
{
	(void)ctx;
	if (l->count > COORD_SERVERS_MAX)
		abort();
	for (size_t i = 0; i < l->count; i++)
		if (strnlen(l->url[i], COORD_SERVER_URL_MAX) == COORD_SERVER_URL_MAX || strncmp(l->url[i], "https://", 8))
			abort();
	free(coord_line_servers(l));
	return 0;
}

/* A version the parser let through is one the node may send back. */
static int on_view(void *ctx, const char *version)
{
	(void)ctx;
	if (!coord_view_version_valid(version))
		abort();
	return 0;
}

static int on_goodbye(void *ctx, uint32_t ms)
{
	(void)ctx;
	if (ms > COORD_GOODBYE_MAX_MS)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct coord_stream_handler h = { .peer = on_peer, .servers = on_servers, .view = on_view,
						.goodbye = on_goodbye };
	const char *text = (const char *)data;
	struct coord_register_req r;
	struct coord_endpoints_req e;
	struct coord_node *n = malloc(sizeof(*n));
	char *s;

	if (!n)
		return 0;
	if (coord_register_req_parse(text, size, &r) == 0) {
		if (!coord_name_valid(r.name))
			abort();
		free(coord_register_req_to_json(&r));
	}
	if (coord_endpoints_req_parse(text, size, &e) == 0) {
		if (e.count > COORD_PRIVATE_MAX)
			abort();
		free(coord_endpoints_req_to_json(&e));
	}
	if (coord_node_parse(text, size, n) == 0) {
		if (n->groups_count > COORD_GROUPS_MAX)
			abort();
		s = coord_node_to_json(n);
		free(s);
	}
	(void)coord_stream_line_parse(text, size, &h, NULL);
	free(n);
	return 0;
}
