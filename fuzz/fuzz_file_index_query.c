/* Fuzzes what a node sends to the server's index routes (server/files/
 * index_query.c): the query string of an upload, a download, a delete or a
 * member listing, and the clear header of a sealed index checked when an
 * upload completes. What parses is in range: a valid group name, node and
 * group ids not 0, numbers within 2^63; a header accepted has lengths that
 * add up to the size claimed. */
#include <stdlib.h>
#include <string.h>

#include "coord/json.h"
#include "fuzz/fuzz.h"
#include "server/files/index.h"
#include "util/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[512];
	struct findex_query q;
	uint8_t pub[FILES_KEY_LEN];

	if (size < sizeof(target)) {
		memcpy(target, data, size);
		target[size] = 0;
		if (findex_query_parse(target, &q) == 0 &&
		    ((q.group[0] && !coord_name_valid(q.group)) || q.seq > UINT64_MAX / 2 || q.size > UINT64_MAX / 2 ||
		     q.offset > UINT64_MAX / 2))
			abort();
	}
	if (size >= FILES_INDEX_FIXED_LEN) {
		/* The header's own key and sequence, and the length it implies. */
		memcpy(pub, data + 16, sizeof(pub));
		uint64_t m = le16_get(data + 6), b = le32_get(data + 72);
		uint64_t claimed = FILES_INDEX_FIXED_LEN + m * (FILES_INDEX_SLOT_LEN + 32) + b;
		int r = findex_sealed_check(data, size, claimed, le64_get(data + 8), pub);
		if (r == 0 && (m == 0 || m > FILES_INDEX_MAX_MEMBERS || b < 16))
			abort();
		if (findex_sealed_check(data, size, claimed + 1, le64_get(data + 8), pub) == 0)
			abort();
	}
	return 0;
}
