/* Minimal test assertions: print where and why, count failures, never
 * abort mid-run so one test reports all of its broken cases. */
#ifndef ROAM_TEST_CHECK_H
#define ROAM_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                 \
	do {                                                                        \
		check_count++;                                                      \
		if (!(cond)) {                                                      \
			check_failures++;                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                   \
	} while (0)

#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                \
		check_count++;                                                                 \
		if (check_a_ != check_b_) {                                                    \
			check_failures++;                                                      \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", __FILE__, \
				__LINE__, #a, #b, check_a_, check_b_);                         \
		}                                                                              \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline int check_hex(unsigned char *out, size_t outlen, const char *hex)
{
	size_t n = strlen(hex);
	if (n != outlen * 2)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static inline int check_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
