/* Fuzzes what a node sends to the server's file cache (server/files/
 * cache_query.c): the query string of an upload or a download (id and
 * offset), the create request and the receipt request. What parses is in
 * range: a 16-byte id, an offset and size within twice FILES_MAX_SIZE. And
 * the request line's start server/http.c reads to pick the body limit
 * (fcache_request_body_max): one of its three answers, whatever the bytes. */
#include <stdlib.h>
#include <string.h>

#include "coord/messages.h"
#include "fuzz/fuzz.h"
#include "server/files/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[512];
	uint8_t id[FCACHE_ID_LEN], receipt[FILES_RECEIPT_LEN];
	uint64_t offset, bytes;
	uint32_t to;

	if (size < sizeof(target)) {
		memcpy(target, data, size);
		target[size] = 0;
		if (fcache_query_parse(target, id, &offset) == 0 && offset > 2 * FILES_MAX_SIZE)
			abort();
	}
	if (fcache_create_parse((const char *)data, size, &to, &bytes) == 0 &&
	    (to == 0 || bytes > 2 * FILES_MAX_SIZE))
		abort();
	(void)fcache_receipt_parse((const char *)data, size, id, receipt);
	size_t max = fcache_request_body_max((const char *)data, size < 32 ? size : 32);
	if (max != 0 && max != COORD_BODY_MAX && max != FCACHE_CHUNK_MAX)
		abort();
	return 0;
}
