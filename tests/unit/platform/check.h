/* Minimal assertions for the platform unit tests: a failed check prints
 * file:line and the expression, then ends the test with status 1.
 * Exit 77 means "skipped" to meson. */
#ifndef ROAM_TESTS_PLATFORM_CHECK_H
#define ROAM_TESTS_PLATFORM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_SKIP 77

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define CHECK_INT(a, op, b)                                                           \
	do {                                                                          \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);       \
		if (!(check_a_ op check_b_)) {                                        \
			fprintf(stderr, "%s:%d: check failed: %s %s %s (%lld vs %lld)\n", \
				__FILE__, __LINE__, #a, #op, #b, check_a_, check_b_);      \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define CHECK_STR(a, b)                                                               \
	do {                                                                          \
		const char *check_a_ = (a), *check_b_ = (b);                          \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {     \
			fprintf(stderr, "%s:%d: check failed: %s == %s (\"%s\" vs \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                      \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define CHECK_CONTAINS(haystack, needle)                                              \
	do {                                                                          \
		const char *check_h_ = (haystack), *check_n_ = (needle);              \
		if (!check_h_ || !strstr(check_h_, check_n_)) {                       \
			fprintf(stderr, "%s:%d: check failed: \"%s\" in \"%s\"\n",   \
				__FILE__, __LINE__, check_n_, check_h_ ? check_h_ : "(null)"); \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define SKIP(why)                                                                     \
	do {                                                                          \
		fprintf(stderr, "skipped: %s\n", why);                                \
		exit(CHECK_SKIP);                                                     \
	} while (0)

#endif
