/* Fuzzes the online PUSH messages (lib/files/push.c) as the file service
 * and a sender meet them from the network: an offer (its length from the
 * first 8 bytes, then the whole), an answer, a result, a hash. What parses builds
 * back to the same bytes, and a parsed name is one the receiver may write. */
#include <stdlib.h>
#include <string.h>

#include "files/push.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct files_push_offer o;
	uint8_t again[FILES_PUSH_OFFER_MAX];
	size_t total, len;
	enum files_push_status st;
	uint64_t off;

	if (files_push_offer_len(data, size, &total) == 0 && (total < FILES_PUSH_OFFER_FIXED + 1 ||
							     total > FILES_PUSH_OFFER_MAX))
		abort();
	if (files_push_offer_parse(data, size, &o) == 0) {
		if (!files_push_name_ok(o.name, strlen(o.name)) || strchr(o.name, '/') || o.size > FILES_MAX_SIZE)
			abort();
		if (files_push_offer_build(again, sizeof(again), &o, &len) < 0 || len != size ||
		    memcmp(again, data, size) != 0)
			abort();
		char alt[FILES_NAME_MAX + 1];
		if (files_push_alt_name(o.name, 7, alt, sizeof(alt)) == 0 && !files_push_name_ok(alt, strlen(alt)))
			abort();
	}
	if (files_push_answer_parse(data, size, &st, &off) == 0) {
		files_push_answer_build(again, st, off);
		if (memcmp(again, data, FILES_PUSH_ANSWER_LEN) != 0)
			abort();
	}
	if (files_push_result_parse(data, size, &st) == 0) {
		files_push_result_build(again, st);
		if (memcmp(again, data, FILES_PUSH_RESULT_LEN) != 0)
			abort();
	}
	uint8_t hash[FILES_HASH_LEN];
	if (files_push_hash_parse(data, size, hash) == 0) {
		files_push_hash_build(again, hash);
		if (memcmp(again, data, FILES_PUSH_HASH_LEN) != 0)
			abort();
	}
	return 0;
}
