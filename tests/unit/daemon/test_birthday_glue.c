/* Hard-NAT probing's glue (daemon/paths/birthday_glue.h) with fake path
 * manager operations, real extra sockets on loopback and the real clock:
 * when an attempt starts (and when not), both roles' PINGs, a PONG that
 * wins (the path handed over, the winner's socket kept, the others
 * closed), PONGs that are not ours, backoff, and a peer that goes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "daemon/paths/birthday_glue.h"
#include "util/le.h"

#define MS EV_NSEC_PER_MSEC
#define T_MAX_PINGS 2048

static struct {
	unsigned pings, aux_pings, udp_pings, bad_target;
	struct endpoint last_ep;
	uint8_t last_txid[COORD_PROBE_TXID_LEN];
	unsigned found;
	struct endpoint found_ep;
	bool in_use;
	struct sockaddr_any target;
} fake;

static void fake_send_ping(void *peer, const struct endpoint *to, const uint8_t txid[COORD_PROBE_TXID_LEN])
{
	struct sockaddr_any a;
	(void)peer;
	fake.pings++;
	fake.last_ep = *to;
	memcpy(fake.last_txid, txid, COORD_PROBE_TXID_LEN);
	if (endpoint_to_sockaddr(to, &a) < 0)
		return;
	if (endpoint_transport(to) == EP_UDP_AUX) {
		fake.aux_pings++;
		fake.bad_target += !sockaddr_any_equal(&a, &fake.target);
	} else {
		fake.udp_pings++;
		fake.bad_target += a.in4.sin_addr.s_addr != fake.target.in4.sin_addr.s_addr ||
				   sockaddr_any_port(&a) < BIRTHDAY_PORT_MIN;
	}
}

static void fake_path_found(void *peer, const struct endpoint *path)
{
	(void)peer;
	fake.found++;
	fake.found_ep = *path;
}

static bool fake_path_in_use(void *peer, const struct endpoint *path)
{
	(void)peer, (void)path;
	return fake.in_use;
}

static const struct birthday_glue_ops fake_ops = {
	.send_ping = fake_send_ping,
	.path_found = fake_path_found,
	.path_in_use = fake_path_in_use,
};

/* A path set whose relay answered and is active, and whose direct path has
 * not answered since `since`. */
static void t_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx, (void)p, (void)txid;
}
static void t_active(void *ctx, const struct path *from, const struct path *to, enum path_reason why)
{
	(void)ctx, (void)from, (void)to, (void)why;
}
static void t_log(void *ctx, const struct path *p, enum path_state old, enum path_reason why)
{
	(void)ctx, (void)p, (void)old, (void)why;
}
static const struct path_ops t_path_ops = { t_probe, t_active, t_log };

static void t_set(struct path_set *set, uint64_t since)
{
	uint32_t relay, direct;
	uint8_t relay_addr[6] = { 2, 0, 0, 0, 0, 9 }, direct_addr[8] = { 1, 4, 0x10, 0x00, 203, 0, 113, 11 };
	path_set_init(set, &t_path_ops, NULL, 1);
	CHECK_EQ(path_add(set, PATH_TRANSPORT_UDP_RELAY, relay_addr, sizeof(relay_addr), 0, since, &relay), 0);
	CHECK_EQ(path_add(set, PATH_TRANSPORT_UDP_DIRECT, direct_addr, sizeof(direct_addr), 0, since, &direct), 0);
	CHECK_EQ(path_probe_answered(set, relay, path_get(set, relay)->txid, since + MS), 0);
	CHECK(path_active(set) && path_active(set)->id == relay);
}

static void t_input(void *ctx, uint8_t slot, uint8_t *buf, size_t len, const struct sockaddr_any *from,
		    uint64_t now)
{
	(void)ctx, (void)slot, (void)buf, (void)len, (void)from, (void)now;
}

static void t_stop(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_loop_stop(loop);
}

static void t_run_for(struct ev_loop *loop, uint64_t ns)
{
	struct ev_timer stop;
	ev_timer_init(&stop, t_stop, NULL);
	ev_now_update(loop);
	ev_timer_start(loop, &stop, ev_now(loop) + ns);
	ev_loop_run(loop);
	ev_timer_stop(loop, &stop);
}

/* A peer at 127.0.0.1:port whose direct path has been stuck for 2 s. */
static void t_view(struct ev_loop *loop, struct path_set *set, struct birthday_glue_view *v, uint16_t port)
{
	char text[32];
	memset(&fake, 0, sizeof(fake));
	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	CHECK_EQ(sockaddr_any_parse(text, &v->peer_public), 0);
	fake.target = v->peer_public;
	ev_now_update(loop);
	t_set(set, ev_now(loop) - BIRTHDAY_GLUE_STUCK_NS);
}

static void test_hard(struct ev_loop *loop, struct aux_sockets *aux, struct birthday_glue *g)
{
	static struct path_set set;
	struct birthday_glue_view v = { .node_id = 7, .ours = BIRTHDAY_NAT_HARD, .peers = BIRTHDAY_NAT_EASY };
	struct aux_sockets_stats st;
	struct birthday_glue_stats gs;
	int peer;
	uint64_t now;

	t_view(loop, &set, &v, 40000);
	now = ev_now(loop);
	/* Not yet stuck for 2 s; both or neither per destination: no attempt. */
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now - BIRTHDAY_GLUE_STUCK_NS / 2), -EAGAIN);
	v.peers = BIRTHDAY_NAT_HARD;
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), -EOPNOTSUPP);
	v.ours = v.peers = BIRTHDAY_NAT_EASY;
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), -EOPNOTSUPP);
	/* A side whose netcheck has not answered may be hard too: wait. */
	v.ours = BIRTHDAY_NAT_UNKNOWN;
	v.peers = BIRTHDAY_NAT_HARD;
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), -EAGAIN);
	v.ours = BIRTHDAY_NAT_HARD;
	v.peers = BIRTHDAY_NAT_UNKNOWN;
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), -EAGAIN);
	v.peers = BIRTHDAY_NAT_EASY;
	struct birthday_glue_view no_node = v;
	no_node.node_id = 0;
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &no_node, now), -EAGAIN);

	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), 0);
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, now), -EALREADY);
	t_run_for(loop, 400 * MS); /* round 0: every socket opened and PINGed from */
	aux_sockets_get_stats(aux, &st);
	CHECK_EQ(st.open_now, 256);
	CHECK_EQ(fake.aux_pings, 256);
	CHECK_EQ(fake.bad_target, 0);

	/* A PONG that is not ours (another salt), then one from an address the
	 * attempt never PINGed: neither wins. */
	uint8_t txid[COORD_PROBE_TXID_LEN];
	memcpy(txid, fake.last_txid, sizeof(txid));
	txid[0] ^= 1;
	CHECK(!birthday_glue_pong(g, &peer, txid, &fake.last_ep, ev_now(loop)));
	txid[0] ^= 1;
	struct endpoint elsewhere;
	struct sockaddr_any other;
	CHECK_EQ(sockaddr_any_parse("127.0.0.1:40001", &other), 0);
	endpoint_aux(&elsewhere, (uint8_t)endpoint_aux_slot(&fake.last_ep), &other);
	CHECK(birthday_glue_pong(g, &peer, txid, &elsewhere, ev_now(loop)));
	CHECK_EQ(fake.found, 0);

	/* The easy side's PING on a socket: it PINGs back at once. */
	unsigned before = fake.aux_pings;
	struct endpoint hit = fake.last_ep;
	birthday_glue_ping_seen(g, &peer, &hit, ev_now(loop));
	CHECK_EQ(fake.aux_pings, before + 1);
	CHECK(endpoint_equal(&fake.last_ep, &hit));

	/* Its PONG wins: the path is handed over, only its socket stays. */
	CHECK(birthday_glue_pong(g, &peer, fake.last_txid, &hit, ev_now(loop)));
	CHECK_EQ(fake.found, 1);
	CHECK(endpoint_equal(&fake.found_ep, &hit));
	aux_sockets_get_stats(aux, &st);
	CHECK_EQ(st.open_now, 1);
	CHECK(aux_socket_is_open(aux, (uint8_t)endpoint_aux_slot(&hit)));
	birthday_glue_get_stats(g, &gs);
	CHECK_EQ(gs.won, 1);
	CHECK_EQ(gs.running, 0);
	CHECK_EQ(gs.winners_held, 1);
	CHECK(gs.probes_sent <= BIRTHDAY_PROBES_MAX);
	/* A second PONG to the ended attempt is not ours any more. */
	CHECK(!birthday_glue_pong(g, &peer, fake.last_txid, &hit, ev_now(loop)));

	/* Backoff: the next attempt for this peer waits 30 s. */
	ev_now_update(loop);
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, ev_now(loop) + BIRTHDAY_GLUE_STUCK_NS), -EAGAIN);

	/* The peer goes: its winner's socket closes. */
	birthday_glue_peer_gone(g, &peer, ev_now(loop));
	aux_sockets_get_stats(aux, &st);
	CHECK_EQ(st.open_now, 0);
	birthday_glue_get_stats(g, &gs);
	CHECK_EQ(gs.winners_held, 0);
}

static void test_easy(struct ev_loop *loop, struct aux_sockets *aux, struct birthday_glue *g)
{
	static struct path_set set;
	struct birthday_glue_view v = { .node_id = 8, .ours = BIRTHDAY_NAT_EASY, .peers = BIRTHDAY_NAT_HARD };
	struct aux_sockets_stats st;
	struct birthday_glue_stats gs;
	int peer;

	t_view(loop, &set, &v, 40000);
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, ev_now(loop)), 0);
	t_run_for(loop, 300 * MS);
	CHECK_EQ(fake.pings, 0); /* the spray waits for the hard side's mappings */
	t_run_for(loop, 600 * MS);
	CHECK(fake.udp_pings > 100);
	CHECK(fake.udp_pings < 1024); /* paced over a second */
	CHECK_EQ(fake.aux_pings, 0);
	CHECK_EQ(fake.bad_target, 0);
	aux_sockets_get_stats(aux, &st);
	CHECK_EQ(st.open_now, 0); /* the easy side opens no sockets */

	/* A PONG from another host, or from a port never sprayed: no win. */
	struct endpoint src;
	struct sockaddr_any a = v.peer_public;
	a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	a.in4.sin_port = htons(2000);
	endpoint_from_sockaddr(&src, &a);
	CHECK(birthday_glue_pong(g, &peer, fake.last_txid, &src, ev_now(loop)));
	CHECK_EQ(fake.found, 0);
	/* From the port last sprayed: the path is that port. */
	src = fake.last_ep;
	CHECK(birthday_glue_pong(g, &peer, fake.last_txid, &src, ev_now(loop)));
	CHECK_EQ(fake.found, 1);
	CHECK(endpoint_equal(&fake.found_ep, &src));
	birthday_glue_get_stats(g, &gs);
	CHECK_EQ(gs.won, 2);
	CHECK_EQ(gs.started[BIRTHDAY_EASY], 1);
	CHECK_EQ(gs.winners_held, 0);
}

/* The hard side gets through first (a verified PING from its address
 * arrives before our spray found it): that flow is the path. */
static void test_easy_reached(struct ev_loop *loop, struct birthday_glue *g)
{
	static struct path_set set;
	struct birthday_glue_view v = { .node_id = 10, .ours = BIRTHDAY_NAT_EASY, .peers = BIRTHDAY_NAT_HARD };
	int peer;
	t_view(loop, &set, &v, 40000);
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, ev_now(loop)), 0);
	struct sockaddr_any a = v.peer_public;
	struct endpoint src;
	a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2); /* another host: nothing */
	endpoint_from_sockaddr(&src, &a);
	birthday_glue_ping_seen(g, &peer, &src, ev_now(loop));
	CHECK_EQ(fake.found, 0);
	endpoint_aux(&src, 3, &v.peer_public); /* not a direct source of ours: nothing */
	birthday_glue_ping_seen(g, &peer, &src, ev_now(loop));
	CHECK_EQ(fake.found, 0);
	a = v.peer_public;
	a.in4.sin_port = htons(55555);
	endpoint_from_sockaddr(&src, &a);
	birthday_glue_ping_seen(g, &peer, &src, ev_now(loop));
	CHECK_EQ(fake.found, 1);
	CHECK(endpoint_equal(&fake.found_ep, &src));
	struct birthday_glue_stats gs;
	birthday_glue_get_stats(g, &gs);
	CHECK_EQ(gs.running, 0);
	CHECK_EQ(gs.won, 3);
}

/* Nobody answers: the attempt times out after 5 s, every socket closes. */
static void test_timeout(struct ev_loop *loop, struct aux_sockets *aux, struct birthday_glue *g)
{
	static struct path_set set;
	struct birthday_glue_view v = { .node_id = 9, .ours = BIRTHDAY_NAT_HARD, .peers = BIRTHDAY_NAT_EASY };
	struct aux_sockets_stats st;
	struct birthday_glue_stats gs;
	int peer;

	t_view(loop, &set, &v, 40002);
	CHECK_EQ(birthday_glue_consider(g, &peer, &set, &v, ev_now(loop)), 0);
	t_run_for(loop, 5200 * MS);
	aux_sockets_get_stats(aux, &st);
	CHECK_EQ(st.open_now, 0);
	CHECK_EQ(fake.aux_pings, 3 * 256);
	birthday_glue_get_stats(g, &gs);
	CHECK_EQ(gs.failed, 1);
	CHECK_EQ(gs.running, 0);
}

int main(void)
{
	struct ev_loop *loop;
	struct aux_sockets *aux;
	struct birthday_glue *g;
	CHECK_EQ(ev_loop_new(&loop), 0);
	CHECK_EQ(aux_sockets_new(loop, AUX_SLOTS, (aux_input_fn)NULL, NULL, NULL, &aux), -EINVAL);
	CHECK_EQ(aux_sockets_new(loop, AUX_SLOTS, t_input, NULL, NULL, &aux), 0);
	CHECK_EQ(birthday_glue_new(loop, aux, NULL, &g), -EINVAL);
	CHECK_EQ(birthday_glue_new(loop, aux, &fake_ops, &g), 0);
	test_hard(loop, aux, g);
	test_easy(loop, aux, g);
	test_easy_reached(loop, g);
	test_timeout(loop, aux, g);
	birthday_glue_free(g);
	aux_sockets_free(aux);
	ev_loop_free(loop);
	return check_report("test_birthday_glue");
}
