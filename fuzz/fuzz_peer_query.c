/* Fuzzes GET /v1/peer's target (lib/coord/peer_query.c), what any
 * authenticated node can send: refused, or parsed and formatted back to a
 * target that parses the same. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "coord/peer_query.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coord_peer_query q, again;
	char target[COORD_PEER_TARGET_MAX + 1], *text;

	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (coord_peer_query_parse(text, &q) == 0) {
		if (!q.by_key && q.family != AF_INET && q.family != AF_INET6)
			abort();
		if (coord_peer_query_format(&q, target, sizeof(target)) < 0 ||
		    coord_peer_query_parse(target, &again) < 0 || again.by_key != q.by_key ||
		    again.family != q.family || memcmp(again.key, q.key, sizeof(q.key)) ||
		    memcmp(again.addr, q.addr, sizeof(q.addr)))
			abort();
	}
	free(text);
	return 0;
}
