/* Fuzzes the application-class classifier (lib/path/path_class.c) with any
 * packet a local program can write to the TUN device: it reads only within
 * len, and its answer is deterministic and in range. The first byte picks
 * how many rules of a fixed table (proto, ports, DSCP mixed) apply. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "path/path_class.h"

static const struct path_class_rule rules[] = {
	{ "a", 17, -1, 5000, 5100, PATH_POLICY_REDUNDANT }, { "b", 0, 46, 0, 0, PATH_POLICY_REDUNDANT },
	{ "c", 6, -1, 22, 22, PATH_POLICY_LATENCY },         { "d", 1, -1, 0, 0, PATH_POLICY_COST },
	{ "e", 0, -1, 1, 1024, PATH_POLICY_BANDWIDTH },      { "f", 0, -1, 0, 0, PATH_POLICY_LATENCY },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct path_flow f, g;
	if (size < 1)
		return 0;
	unsigned n = data[0] % (sizeof(rules) / sizeof(rules[0]) + 1);
	/* A copy of exactly the packet's length, so ASan sees any overread. */
	uint8_t *pkt = malloc(size - 1 ? size - 1 : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, size - 1);
	path_classify(rules, n, pkt, size - 1, &f);
	path_classify(rules, n, pkt, size - 1, &g);
	if (f.valid != g.valid || f.class_idx != g.class_idx || f.hash != g.hash)
		abort();
	if (f.class_idx != PATH_CLASS_NONE && (f.class_idx < 0 || (unsigned)f.class_idx >= n || !f.valid))
		abort();
	if (n == sizeof(rules) / sizeof(rules[0]) && f.valid && f.class_idx == PATH_CLASS_NONE)
		abort(); /* the last rule matches every IP packet */
	free(pkt);
	return 0;
}
