/* Endpoints (lib/net/endpoint.c): each layout built, read back, printed;
 * equal endpoints have equal bytes; malformed bytes are refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "net/endpoint.h"

static struct sockaddr_any sa(const char *text)
{
	struct sockaddr_any a;
	CHECK_EQ(sockaddr_any_parse(text, &a), 0);
	return a;
}

static void check_text(const struct endpoint *ep, const char *want)
{
	char buf[ENDPOINT_STRLEN];
	CHECK_EQ(endpoint_format(ep, buf, sizeof(buf)), 0);
	CHECK(strcmp(buf, want) == 0);
}

static void test_udp(void)
{
	struct endpoint a, b;
	struct sockaddr_any v4 = sa("203.0.113.5:51820"), v6 = sa("[2001:db8::1]:443"), back;
	endpoint_from_sockaddr(&a, &v4);
	CHECK_EQ(a.len, 8);
	CHECK_EQ(endpoint_transport(&a), EP_UDP);
	static const uint8_t want4[] = { 1, 4, 0xca, 0x6c, 203, 0, 113, 5 };
	CHECK(memcmp(a.bytes, want4, sizeof(want4)) == 0);
	CHECK_EQ(endpoint_to_sockaddr(&a, &back), 0);
	CHECK(sockaddr_any_equal(&back, &v4));
	check_text(&a, "203.0.113.5:51820");
	endpoint_from_sockaddr(&b, &v6);
	CHECK_EQ(b.len, 24);
	CHECK(!endpoint_equal(&a, &b));
	CHECK_EQ(endpoint_to_sockaddr(&b, &back), 0);
	CHECK(sockaddr_any_equal(&back, &v6));
	check_text(&b, "[2001:db8::1]:443");
	/* Same address, another port: another endpoint. */
	struct sockaddr_any v4b = sa("203.0.113.5:51821");
	endpoint_from_sockaddr(&b, &v4b);
	CHECK(!endpoint_equal(&a, &b));
	endpoint_from_sockaddr(&b, &v4);
	CHECK(endpoint_equal(&a, &b));
	CHECK_EQ(endpoint_relay_node(&a), 0u);
	CHECK_EQ(endpoint_aux_slot(&a), -EINVAL);
	/* No address, no endpoint. */
	struct sockaddr_any none = { .len = 0 };
	endpoint_from_sockaddr(&b, &none);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(endpoint_transport(&b), EP_NONE);
	CHECK_EQ(endpoint_to_sockaddr(&b, &back), -EINVAL);
	check_text(&b, "(none)");
}

static void test_relay_and_aux(void)
{
	struct endpoint r, r2, x;
	struct sockaddr_any v4 = sa("198.51.100.7:4000"), back;
	endpoint_relay(&r, 0, 17);
	CHECK_EQ(r.len, 6);
	CHECK_EQ(endpoint_transport(&r), EP_RELAY);
	CHECK_EQ(endpoint_relay_node(&r), 17u);
	CHECK_EQ(endpoint_relay_index(&r), 0);
	CHECK_EQ(endpoint_to_sockaddr(&r, &back), -EINVAL);
	check_text(&r, "relay:17");
	endpoint_relay(&r2, 0, 18);
	CHECK(!endpoint_equal(&r, &r2)); /* relayed peers are told apart */
	endpoint_relay(&r2, 2, 17);
	check_text(&r2, "relay:17@2");
	CHECK(!endpoint_equal(&r, &r2));
	endpoint_aux(&x, 9, &v4);
	CHECK_EQ(x.len, 9);
	CHECK_EQ(endpoint_transport(&x), EP_UDP_AUX);
	CHECK_EQ(endpoint_aux_slot(&x), 9);
	CHECK_EQ(endpoint_to_sockaddr(&x, &back), 0);
	CHECK(sockaddr_any_equal(&back, &v4));
	check_text(&x, "aux9:198.51.100.7:4000");
	CHECK(strcmp(endpoint_transport_name(EP_RELAY), "relay-udp") == 0);
}

static void test_from_bytes(void)
{
	struct endpoint ep, good;
	struct sockaddr_any v6 = sa("[2001:db8::9]:1");
	endpoint_from_sockaddr(&good, &v6);
	CHECK_EQ(endpoint_from_bytes(&ep, good.bytes, good.len), 0);
	CHECK(endpoint_equal(&ep, &good));
	static const struct { uint8_t len; uint8_t b[8]; } bad[] = {
		{ 0, { 0 } },                      /* empty */
		{ 1, { 1 } },                      /* UDP without address */
		{ 8, { 1, 6, 0, 1, 1, 2, 3, 4 } }, /* v6 family with a v4 length */
		{ 8, { 1, 5, 0, 1, 1, 2, 3, 4 } }, /* no such family */
		{ 5, { 2, 0, 1, 0, 0 } },          /* relay too short */
		{ 7, { 2, 0, 1, 0, 0, 0, 0 } },    /* relay too long */
		{ 2, { 3, 1 } },                   /* aux without address */
		{ 6, { 9, 0, 1, 0, 0, 0 } },       /* no such transport */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ep.len = 77;
		CHECK_EQ(endpoint_from_bytes(&ep, bad[i].b, bad[i].len), -EINVAL);
		CHECK_EQ(ep.len, 77); /* untouched */
	}
	uint8_t big[ENDPOINT_MAX + 1] = { 1 };
	CHECK_EQ(endpoint_from_bytes(&ep, big, sizeof(big)), -EINVAL);
	char small[4];
	CHECK_EQ(endpoint_format(&good, small, sizeof(small)), -ENOSPC);
}

int main(void)
{
	test_udp();
	test_relay_and_aux();
	test_from_bytes();
	return check_report("test_endpoint");
}
