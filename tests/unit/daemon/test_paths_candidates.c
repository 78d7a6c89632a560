/* daemon/paths/candidates.c: a peer's candidates from the server's view
 * (the relay while online, public and private endpoints, unreachable
 * families left out, no duplicates) and their diff against its path set
 * (what the view drops goes unless a CALLME or its traffic vouches for it;
 * a full set gives up a dead path that is not the view's). */
#include <errno.h>
#include <string.h>

#include "../check.h"
#include "daemon/paths/candidates.h"

#define SEC UINT64_C(1000000000)

static unsigned g_probes;

static void send_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx;
	(void)p;
	(void)txid;
	g_probes++;
}

static void active_changed(void *ctx, const struct path *from, const struct path *to, enum path_reason why)
{
	(void)ctx;
	(void)from;
	(void)to;
	(void)why;
}

static void log_change(void *ctx, const struct path *p, enum path_state old_state, enum path_reason why)
{
	(void)ctx;
	(void)p;
	(void)old_state;
	(void)why;
}

static const struct path_ops ops = { send_probe, active_changed, log_change };

static struct sockaddr_any addr(const char *text)
{
	struct sockaddr_any a;
	memset(&a, 0, sizeof(a));
	CHECK_EQ(sockaddr_any_parse(text, &a), 0);
	return a;
}

static struct endpoint ep_of(const char *text)
{
	struct sockaddr_any a = addr(text);
	struct endpoint ep;
	endpoint_from_sockaddr(&ep, &a);
	return ep;
}

static bool no_ipv6(void *ctx, const struct sockaddr_any *a)
{
	(void)ctx;
	return a->sa.sa_family == AF_INET;
}

static bool has(const struct paths_candidates *c, const struct endpoint *ep)
{
	for (unsigned i = 0; i < c->count; i++)
		if (endpoint_equal(&c->ep[i], ep))
			return true;
	return false;
}

static void peer_info(struct managed_peer_info *info)
{
	memset(info, 0, sizeof(*info));
	info->node_id = 17;
	info->online = true;
	info->public_endpoint = addr("203.0.113.12:51820");
	info->private_count = 3;
	info->private_endpoints[0] = addr("192.168.1.5:51820");
	info->private_endpoints[1] = addr("[2001:db8::5]:51820");
	info->private_endpoints[2] = addr("203.0.113.12:51820"); /* a public host lists itself twice */
}

static void test_from_view(void)
{
	struct managed_peer_info info;
	struct paths_candidates c;
	struct endpoint relay, e;
	peer_info(&info);
	endpoint_relay(&relay, 0, 17);

	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK_EQ(c.count, 4);
	CHECK(endpoint_equal(&c.ep[0], &relay));
	/* a port mapping its router made */
	info.mapped_endpoint = addr("203.0.113.12:40001");
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK_EQ(c.count, 5);
	e = ep_of("203.0.113.12:40001");
	CHECK(has(&c, &e));
	info.mapped_endpoint.len = 0;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	e = ep_of("203.0.113.12:51820");
	CHECK(has(&c, &e));
	e = ep_of("[2001:db8::5]:51820");
	CHECK(has(&c, &e));
	/* no IPv6 route here */
	paths_candidates_from_view(&info, true, no_ipv6, NULL, &c);
	CHECK_EQ(c.count, 3);
	CHECK(!has(&c, &e));
	/* the relay only while it is online and we know the server */
	paths_candidates_from_view(&info, false, NULL, NULL, &c);
	CHECK(!has(&c, &relay));
	info.online = false;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK(!has(&c, &relay));
	CHECK_EQ(c.count, 3);
	info.online = true;
	/* several relays: the agent's list, meeting first; relay 0 only with
	 * the server known; a list replaces the default relay 0 */
	struct endpoint r1, r3;
	endpoint_relay(&r1, 1, 17);
	endpoint_relay(&r3, 3, 17);
	info.relay_count = 3;
	info.relays[0] = 3, info.relays[1] = 1, info.relays[2] = 0;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK(endpoint_equal(&c.ep[0], &r3));
	CHECK(endpoint_equal(&c.ep[1], &r1));
	CHECK(has(&c, &relay));
	paths_candidates_from_view(&info, false, NULL, NULL, &c);
	CHECK(has(&c, &r3) && has(&c, &r1) && !has(&c, &relay));
	info.relay_count = 1;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK(has(&c, &r3) && !has(&c, &relay));
	info.relay_count = 0;
	/* a count beyond the view's cap reads no further than it */
	info.private_count = 200;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK(c.count <= PATH_MAX_PER_PEER);
	CHECK_EQ(paths_transport_of(&relay), PATH_TRANSPORT_UDP_RELAY);
	CHECK_EQ(paths_transport_of(&e), PATH_TRANSPORT_UDP_DIRECT);
}

static void test_apply(void)
{
	struct path_set set;
	uint8_t origin[PATH_MAX_PER_PEER] = { 0 };
	struct managed_peer_info info;
	struct paths_candidates c;
	struct endpoint pub = ep_of("203.0.113.12:51820"), called = ep_of("198.51.100.7:40000"), got;
	uint32_t id;
	uint64_t now = 10 * SEC;
	path_set_init(&set, &ops, NULL, 1);
	peer_info(&info);

	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	g_probes = 0;
	CHECK_EQ(paths_candidates_apply(&set, origin, &c, now), 4);
	CHECK_EQ(path_count(&set), 4);
	CHECK_EQ(g_probes, 4); /* each probed at once */
	CHECK_EQ(paths_candidates_apply(&set, origin, &c, now), 0); /* the same view adds nothing */
	const struct path *p = paths_find_endpoint(&set, &pub);
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ(paths_path_endpoint(p, &got), 0);
		CHECK(endpoint_equal(&got, &pub));
	}

	/* a CALLME's endpoint, and the view's public one vouched for twice */
	CHECK_EQ(paths_candidate_add(&set, origin, &called, PATHS_FROM_CALLME, now, &id), 0);
	CHECK_EQ(paths_candidate_add(&set, origin, &pub, PATHS_FROM_CALLME, now, &id), -EEXIST);
	CHECK_EQ(path_count(&set), 5);

	/* the view drops the private endpoints and goes offline (no relay) */
	info.private_count = 0;
	info.online = false;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK_EQ(paths_candidates_apply(&set, origin, &c, now), 0);
	CHECK_EQ(path_count(&set), 2);
	CHECK(paths_find_endpoint(&set, &called) != NULL);
	/* the view drops the public endpoint too: the CALLME still vouches */
	info.public_endpoint.len = 0;
	paths_candidates_from_view(&info, true, NULL, NULL, &c);
	CHECK_EQ(c.count, 0);
	paths_candidates_apply(&set, origin, &c, now);
	CHECK_EQ(path_count(&set), 2);
	CHECK(paths_find_endpoint(&set, &pub) != NULL);
}

static void test_full(void)
{
	struct path_set set;
	uint8_t origin[PATH_MAX_PER_PEER] = { 0 };
	struct paths_candidates c = { .count = 0 };
	struct endpoint called = ep_of("198.51.100.7:40000"), other = ep_of("198.51.100.8:40000");
	char text[64];
	uint32_t id;
	uint64_t now = 10 * SEC;
	path_set_init(&set, &ops, NULL, 1);
	for (unsigned i = 0; i < PATH_MAX_PER_PEER - 1; i++) {
		snprintf(text, sizeof(text), "192.0.2.%u:51820", i + 1);
		c.ep[c.count++] = ep_of(text);
	}
	CHECK_EQ(paths_candidates_apply(&set, origin, &c, now), PATH_MAX_PER_PEER - 1);
	CHECK_EQ(paths_candidate_add(&set, origin, &called, PATHS_FROM_CALLME, now, &id), 0);
	/* full, and nothing dead: no room */
	CHECK_EQ(paths_candidate_add(&set, origin, &other, PATHS_FROM_OBSERVED, now, &id), -ENOSPC);
	/* nothing answers: all dead; the CALLME's path makes room, not the view's */
	for (unsigned i = 0; i < 20; i++) {
		now += SEC;
		path_run_timers(&set, now);
	}
	CHECK_EQ(paths_candidate_add(&set, origin, &other, PATHS_FROM_OBSERVED, now, &id), 0);
	CHECK(paths_find_endpoint(&set, &called) == NULL);
	CHECK(paths_find_endpoint(&set, &c.ep[0]) != NULL);
	CHECK_EQ(path_count(&set), PATH_MAX_PER_PEER);
	/* a third: every dead path left is the view's */
	CHECK_EQ(paths_candidate_add(&set, origin, &called, PATHS_FROM_CALLME, now, &id), -ENOSPC);
}

int main(void)
{
	test_from_view();
	test_apply();
	test_full();
	return check_report("test_paths_candidates");
}
