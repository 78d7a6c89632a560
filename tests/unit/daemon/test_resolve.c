/* Names resolved off the loop (daemon/resolve.h): "localhost" (from
 * /etc/hosts, no DNS) with the port set, a lookup replaced under the same
 * key (only the new one answers), a cancelled one never answers, and the
 * resolver freed with lookups still running. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "daemon/resolve.h"

static struct {
	int calls, err;
	unsigned key;
	struct sockaddr_any addr;
	struct ev_loop *loop;
} got;

static void on_done(void *ctx, unsigned key, int err, const struct sockaddr_any *addr)
{
	(void)ctx;
	got.calls++;
	got.key = key;
	got.err = err;
	if (addr)
		got.addr = *addr;
	ev_loop_stop(got.loop);
}

static void on_limit(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_loop_stop(loop);
}

/* Runs the loop until a callback or s seconds. */
static void run(struct ev_loop *loop, uint64_t s)
{
	struct ev_timer limit;
	ev_timer_init(&limit, on_limit, NULL);
	ev_timer_start(loop, &limit, ev_now(loop) + s * EV_NSEC_PER_SEC);
	ev_loop_run(loop);
	ev_timer_stop(loop, &limit);
}

static uint16_t port_of(const struct sockaddr_any *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in4.sin_port : a->in6.sin6_port);
}

int main(void)
{
	struct ev_loop *loop;
	struct resolver *r;
	CHECK_EQ(ev_loop_new(&loop), 0);
	got.loop = loop;
	CHECK_EQ(resolver_new(loop, on_done, NULL, &r), 0);

	CHECK_EQ(resolver_lookup(r, 3, "localhost", 4242), 0);
	CHECK_EQ(got.calls, 0); /* never from inside the call */
	run(loop, 5);
	CHECK_EQ(got.calls, 1);
	CHECK_EQ(got.key, 3);
	CHECK_EQ(got.err, 0);
	CHECK(got.addr.sa.sa_family == AF_INET || got.addr.sa.sa_family == AF_INET6);
	CHECK_EQ(port_of(&got.addr), 4242);

	/* The same key again at once: the first is replaced, one answer. */
	memset(&got, 0, sizeof(got));
	got.loop = loop;
	CHECK_EQ(resolver_lookup(r, 5, "localhost", 1), 0);
	CHECK_EQ(resolver_lookup(r, 5, "localhost", 2), 0);
	run(loop, 5);
	run(loop, 1); /* and nothing more */
	CHECK_EQ(got.calls, 1);
	CHECK_EQ(port_of(&got.addr), 2);

	/* Cancelled: no answer. */
	memset(&got, 0, sizeof(got));
	got.loop = loop;
	CHECK_EQ(resolver_lookup(r, 7, "localhost", 1), 0);
	resolver_cancel(r, 7);
	run(loop, 1);
	CHECK_EQ(got.calls, 0);

	/* Bounds. */
	char longname[RESOLVE_NAME_MAX + 1];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ(resolver_lookup(r, 9, longname, 1), -ENAMETOOLONG);
	int full = 0;
	for (unsigned k = 100; k < 100 + RESOLVE_JOBS_MAX + 1; k++)
		if (resolver_lookup(r, k, "localhost", 1) == -ENOSPC)
			full++;
	CHECK_EQ(full, 1);
	resolver_free(r); /* lookups running: cancelled or waited for */
	ev_loop_free(loop);
	printf("test_resolve: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
