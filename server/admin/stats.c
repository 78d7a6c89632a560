/* Request counts and latency histograms (stats.h). */
#include "server/admin/stats.h"

#include <string.h>
#include <time.h>

const char *const node_route_names[NODE_ROUTE_COUNT] = {
	"info", "register", "endpoints", "paths", "stream", "logout", "relay", "other",
};

uint64_t admin_stats_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void admin_stats_observe(struct admin_route_stats *st, uint64_t us)
{
	static const uint64_t bounds_ms[ADMIN_LATENCY_BUCKETS - 1] = { 1, 5, 10, 50, 100, 500, 1000 };
	size_t b = 0;

	while (b < ADMIN_LATENCY_BUCKETS - 1 && us > bounds_ms[b] * 1000)
		b++;
	st->requests++;
	st->latency_us_sum += us;
	st->buckets[b]++;
}

enum node_route node_route_of(const char *target)
{
	size_t len = target ? strcspn(target, "?") : 0;

	for (int r = 0; r < NODE_ROUTE_OTHER; r++) {
		size_t n = strlen(node_route_names[r]);
		/* "/v1/" NAME, and for relay every "/v1/relay..." */
		if (len >= 4 + n && strncmp(target, "/v1/", 4) == 0 && strncmp(target + 4, node_route_names[r], n) == 0 &&
		    (len == 4 + n || r == NODE_ROUTE_RELAY))
			return (enum node_route)r;
	}
	return NODE_ROUTE_OTHER;
}
