/* Fuzzes the thumbnailer (daemon/files/thumb.c: libjpeg-turbo under our
 * caps) with a published file's bytes: it never crashes, and a thumbnail it
 * makes is a JPEG within FILES_INDEX_THUMB_MAX. */
#include <stdlib.h>

#include "daemon/files/thumb.h"
#include "files/files.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[FILES_INDEX_THUMB_MAX];
	size_t len = 0;
	if (thumb_jpeg(data, size, out, sizeof(out), &len) == 0 &&
	    (len == 0 || len > sizeof(out) || !thumb_is_jpeg(out, len)))
		abort();
	return 0;
}
