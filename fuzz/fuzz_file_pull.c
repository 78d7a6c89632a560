/* Fuzzes the PULL messages (lib/files/pull.c) as a holder and a puller
 * meet them from the network: a request, a reply. What parses builds back
 * to the same bytes; a parsed request's payload length for a size read from
 * the input never exceeds what one reply may carry. */
#include <stdlib.h>
#include <string.h>

#include "files/pull.h"
#include "fuzz/fuzz.h"
#include "util/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct files_pull_req r;
	struct files_pull_reply p;
	uint8_t again[FILES_PULL_REQ_LEN];
	uint32_t len;

	if (files_pull_req_parse(data, size, &r) == 0) {
		files_pull_req_build(again, &r);
		if (memcmp(again, data, FILES_PULL_REQ_LEN) != 0)
			abort();
		/* the hash's first bytes as a file size: any size, checked or refused */
		uint64_t fsize = le64_get(data + 8) % (FILES_MAX_SIZE + 2);
		if (files_pull_payload_len(&r, fsize, &len) == 0 && len > FILES_PULL_MAX_RUN * FILES_CHUNK_MAX)
			abort();
	}
	if (files_pull_reply_parse(data, size, &p) == 0) {
		files_pull_reply_build(again, &p);
		if (memcmp(again, data, FILES_PULL_REPLY_LEN) != 0)
			abort();
	}
	return 0;
}
