/* NETCHECK and NETCHECK_ACK (lib/coord/netcheck.c) and the server's answers
 * (server/netcheck.c): round trips, every malformed case, and the server's
 * promises: the answer leaves from the address asked (one of ours) and
 * names our others, is never bigger than the request, changes nothing for
 * a request naming an address not ours but the source, and a flood from
 * one source is cut to its rate. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/json.h"
#include "coord/netcheck.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "server/netcheck.h"

#define SEC UINT64_C(1000000000)

static struct sockaddr_any addr(const char *text)
{
	struct sockaddr_any a;
	if (sockaddr_any_parse(text, &a) < 0)
		abort();
	return a;
}

static void test_codec(void)
{
	uint8_t txid[COORD_NETCHECK_TXID_LEN], got_txid[COORD_NETCHECK_TXID_LEN];
	uint8_t req[sizeof(struct coord_msg_netcheck)], ack[sizeof(struct coord_msg_netcheck_ack)];
	struct sockaddr_any server = addr("203.0.113.1:8443"), got;
	struct coord_netcheck_ack a, b;

	memset(txid, 0xa5, sizeof(txid));
	CHECK_EQ(coord_netcheck_build(req, txid, &server), 0);
	CHECK_EQ(coord_msg_type(req, sizeof(req)), COORD_MSG_NETCHECK);
	CHECK_EQ(coord_netcheck_parse(req, sizeof(req), got_txid, &got), 0);
	CHECK_MEM(got_txid, txid, sizeof(txid));
	CHECK(sockaddr_any_equal(&got, &server));
	CHECK_EQ(coord_netcheck_parse(req, sizeof(req) - 1, got_txid, &got), -EBADMSG);
	req[sizeof(req) - 1] = 1; /* pad must be zero */
	CHECK_EQ(coord_netcheck_parse(req, sizeof(req), got_txid, &got), -EBADMSG);
	req[sizeof(req) - 1] = 0;
	req[1] = 1; /* reserved */
	CHECK_EQ(coord_netcheck_parse(req, sizeof(req), got_txid, &got), -EBADMSG);
	req[1] = 0;
	req[offsetof(struct coord_msg_netcheck, server)] = 5; /* family */
	CHECK_EQ(coord_netcheck_parse(req, sizeof(req), got_txid, &got), -EBADMSG);

	memset(&a, 0, sizeof(a));
	memcpy(a.txid, txid, sizeof(txid));
	a.server = server;
	a.observed = addr("198.51.100.7:40001");
	a.other[1] = addr("[2001:db8::1]:8443");
	CHECK_EQ(coord_netcheck_ack_build(ack, &a), 0);
	CHECK_EQ(coord_netcheck_ack_parse(ack, sizeof(ack), &b), 0);
	CHECK(sockaddr_any_equal(&b.observed, &a.observed));
	CHECK_EQ(b.other[0].len, 0);
	CHECK(sockaddr_any_equal(&b.other[1], &a.other[1]));
	CHECK_EQ(coord_netcheck_ack_parse(ack, sizeof(ack) + 1, &b), -EBADMSG);
	ack[0] = COORD_MSG_NETCHECK;
	CHECK_EQ(coord_netcheck_ack_parse(ack, sizeof(ack), &b), -EBADMSG);

	CHECK_EQ(coord_mapping_from_name("eim"), COORD_MAPPING_EIM);
	CHECK_EQ(coord_mapping_from_name("per-destination"), COORD_MAPPING_PER_DEST);
	CHECK_EQ(coord_mapping_from_name("later-kind"), COORD_MAPPING_UNKNOWN);
	CHECK(strcmp(coord_mapping_name((enum coord_mapping)99), "unknown") == 0);
}

/* The mapping kind and a port-mapped endpoint, in POST /v1/endpoints and in
 * each peer of the view; both optional, for older nodes and servers. */
static void test_json(void)
{
	struct coord_endpoints_req req = { .port = 51820, .mapping = COORD_MAPPING_PER_DEST }, back;
	struct coord_peer p, q;
	char *text;

	req.mapped = addr("203.0.113.16:51820");
	text = coord_endpoints_req_to_json(&req);
	if (!text)
		abort();
	CHECK(strstr(text, "\"mapping\":\"per-destination\""));
	CHECK_EQ(coord_endpoints_req_parse(text, strlen(text), &back), 0);
	CHECK_EQ(back.mapping, COORD_MAPPING_PER_DEST);
	CHECK(sockaddr_any_equal(&back.mapped, &req.mapped));
	free(text);
	static const char old[] = "{\"private\":[],\"port\":51820}";
	CHECK_EQ(coord_endpoints_req_parse(old, strlen(old), &back), 0);
	CHECK_EQ(back.mapping, COORD_MAPPING_UNKNOWN);
	CHECK_EQ(back.mapped.len, 0);
	static const char bad[] = "{\"private\":[],\"port\":1,\"mapping\":7}";
	CHECK_EQ(coord_endpoints_req_parse(bad, strlen(bad), &back), -EINVAL);

	memset(&p, 0, sizeof(p));
	p.node_id = 8;
	strcpy(p.name, "phone");
	CHECK_EQ(ip_prefix_parse("fd00::8/128", &p.ipv6), 0);
	CHECK_EQ(ip_prefix_parse("100.64.0.8/32", &p.ipv4), 0);
	p.mapping = COORD_MAPPING_EIM;
	if (!(text = coord_peer_to_json(&p)))
		abort();
	CHECK_EQ(coord_peer_parse(text, strlen(text), &q), 0);
	CHECK_EQ(q.mapping, COORD_MAPPING_EIM);
	CHECK_EQ(q.mapped_endpoint.len, 0);
	CHECK(!strstr(text, "mapped_endpoint"));
	free(text);
	p.mapped_endpoint = addr("203.0.113.16:51820");
	if (!(text = coord_peer_to_json(&p)))
		abort();
	CHECK_EQ(coord_peer_parse(text, strlen(text), &q), 0);
	CHECK(sockaddr_any_equal(&q.mapped_endpoint, &p.mapped_endpoint));
	free(text);
}

static struct {
	bool has_from;
	struct sockaddr_any from, to;
	size_t len;
	uint8_t buf[256];
} g_out;
static unsigned g_sends;

static int rec_send(void *ctx, const struct sockaddr_any *from, const struct sockaddr_any *to, const uint8_t *buf,
		    size_t len)
{
	(void)ctx;
	g_sends++;
	g_out.has_from = from != NULL;
	if (from)
		g_out.from = *from;
	g_out.to = *to;
	g_out.len = len < sizeof(g_out.buf) ? len : sizeof(g_out.buf);
	memcpy(g_out.buf, buf, g_out.len);
	return 0;
}

static void test_server(void)
{
	static const struct server_netcheck_ops ops = { rec_send };
	struct sockaddr_any ours[3] = { addr("203.0.113.1:8443"), addr("203.0.113.2:8443"),
					addr("[2001:db8::1]:8443") };
	struct sockaddr_any node = addr("198.51.100.7:40001");
	uint8_t txid[COORD_NETCHECK_TXID_LEN] = { 1, 2, 3 }, req[sizeof(struct coord_msg_netcheck)];
	struct server_netcheck nc;
	struct coord_netcheck_ack ack;
	uint64_t now = 1000 * SEC;

	CHECK_EQ(server_netcheck_init(&nc, ours, 3, &ops, NULL, now), 0);

	/* To our second address: answered from it, naming the first and the IPv6 one. */
	CHECK_EQ(coord_netcheck_build(req, txid, &ours[1]), 0);
	server_netcheck_input(&nc, req, sizeof(req), &node, now);
	CHECK_EQ(g_sends, 1);
	CHECK(g_out.has_from && sockaddr_any_equal(&g_out.from, &ours[1]));
	CHECK(sockaddr_any_equal(&g_out.to, &node));
	CHECK(g_out.len <= sizeof(req));
	CHECK_EQ(coord_netcheck_ack_parse(g_out.buf, g_out.len, &ack), 0);
	CHECK_MEM(ack.txid, txid, sizeof(txid));
	CHECK(sockaddr_any_equal(&ack.server, &ours[1]));
	CHECK(sockaddr_any_equal(&ack.observed, &node));
	CHECK(sockaddr_any_equal(&ack.other[0], &ours[0]));
	CHECK(sockaddr_any_equal(&ack.other[1], &ours[2]));

	/* An address not ours: the kernel picks the source. */
	struct sockaddr_any elsewhere = addr("192.0.2.9:53");
	CHECK_EQ(coord_netcheck_build(req, txid, &elsewhere), 0);
	server_netcheck_input(&nc, req, sizeof(req), &node, now);
	CHECK_EQ(g_sends, 2);
	CHECK(!g_out.has_from);

	/* Anything malformed: no answer at all. */
	server_netcheck_input(&nc, req, sizeof(req) - 1, &node, now);
	req[offsetof(struct coord_msg_netcheck, server) + 1] = 1; /* the endpoint's reserved byte */
	server_netcheck_input(&nc, req, sizeof(req), &node, now);
	CHECK_EQ(g_sends, 2);
	CHECK_EQ(nc.stats.malformed, 2);

	/* A flood from one source: its burst, then its rate; another source
	 * is still answered. */
	CHECK_EQ(coord_netcheck_build(req, txid, &ours[0]), 0);
	g_sends = 0;
	for (int i = 0; i < 1000; i++)
		server_netcheck_input(&nc, req, sizeof(req), &node, now + 5 * SEC);
	CHECK(g_sends <= COORD_NETCHECK_RL_SOURCE_BURST);
	CHECK(g_sends >= COORD_NETCHECK_RL_SOURCE_BURST / 2);
	unsigned burst = g_sends;
	for (int i = 0; i < 1000; i++)
		server_netcheck_input(&nc, req, sizeof(req), &node, now + 6 * SEC);
	CHECK(g_sends - burst <= COORD_NETCHECK_RL_SOURCE_RATE + 1);
	unsigned before = g_sends;
	struct sockaddr_any other = addr("198.51.100.99:1");
	server_netcheck_input(&nc, req, sizeof(req), &other, now + 6 * SEC);
	CHECK_EQ(g_sends, before + 1);
	CHECK(nc.stats.rate_limited >= 1900);
	server_netcheck_free(&nc);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_codec();
	test_json();
	test_server();
	return check_report("test_netcheck");
}
