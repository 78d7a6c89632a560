/* Writing a fuzz target's seed from a unit test (`--corpus DIR`). */
#ifndef ROAM_TEST_FILES_SEED_H
#define ROAM_TEST_FILES_SEED_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static inline int write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	size_t n = fwrite(buf, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -EIO;
}

#endif
