/* Request counts and latency histograms by route, for /metrics: the admin
 * listener's routes and the nodes' API routes. */
#ifndef ROAM_SERVER_ADMIN_STATS_H
#define ROAM_SERVER_ADMIN_STATS_H

#include <stdint.h>

#define ADMIN_LATENCY_BUCKETS 8 /* 1 5 10 50 100 500 1000 ms, +Inf */
struct admin_route_stats {
	uint64_t requests;
	uint64_t latency_us_sum;
	uint64_t buckets[ADMIN_LATENCY_BUCKETS]; /* not cumulative */
};

/* The nodes' API routes (server/api.c), as /metrics labels them. */
enum node_route {
	NODE_ROUTE_INFO,
	NODE_ROUTE_REGISTER,
	NODE_ROUTE_ENDPOINTS,
	NODE_ROUTE_PATHS,
	NODE_ROUTE_STREAM,
	NODE_ROUTE_LOGOUT,
	NODE_ROUTE_RELAY,
	NODE_ROUTE_OTHER,
	NODE_ROUTE_COUNT
};
extern const char *const node_route_names[NODE_ROUTE_COUNT];

uint64_t admin_stats_now_us(void); /* monotonic */
void admin_stats_observe(struct admin_route_stats *st, uint64_t us);
/* The route of a request target ("/v1/register?x" -> NODE_ROUTE_REGISTER). */
enum node_route node_route_of(const char *target);

#endif
