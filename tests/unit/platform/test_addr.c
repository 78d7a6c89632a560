/* Address helpers: endpoint parse/format/normalise/compare, CIDR parse,
 * format and mask. Table-driven. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/un.h>

#include "check.h"
#include "net/addr.h"

static const struct {
	const char *text;
	int result;
	const char *formatted; /* expected sockaddr_any_format() on success */
} endpoint_cases[] = {
	{ "1.2.3.4:51820", 0, "1.2.3.4:51820" },
	{ "[2001:db8::1]:51820", 0, "[2001:db8::1]:51820" },
	{ "[2001:DB8:0::1]:1", 0, "[2001:db8::1]:1" },
	{ "[::ffff:192.0.2.1]:7", 0, "192.0.2.1:7" }, /* v4-mapped becomes plain v4 */
	{ "[fe80::1%1]:5", 0, NULL },                 /* scoped; name of ifindex 1 varies */
	{ "255.255.255.255:65535", 0, "255.255.255.255:65535" },
	{ "1.2.3.4", -EINVAL, NULL },
	{ "2001:db8::1:51820", -EINVAL, NULL },      /* unbracketed IPv6 */
	{ "[2001:db8::1]", -EINVAL, NULL },
	{ "[2001:db8::1]51820", -EINVAL, NULL },
	{ "[2001:db8::1:51820", -EINVAL, NULL },
	{ ":51820", -EINVAL, NULL },
	{ "[]:1", -EINVAL, NULL },
	{ "1.2.3.4:0", -ERANGE, NULL },
	{ "1.2.3.4:65536", -ERANGE, NULL },
	{ "1.2.3.4:+1", -ERANGE, NULL },
	{ "1.2.3.4:", -ERANGE, NULL },
	{ "1.2.3.4:123456", -ERANGE, NULL },
	{ "1.2.3.4: 1", -ERANGE, NULL },
	{ "example.com:51820", -EADDRNOTAVAIL, NULL }, /* numeric parse never resolves */
	{ "1.2.3:5", -EADDRNOTAVAIL, NULL },
};

static void test_endpoints(void)
{
	for (size_t i = 0; i < sizeof(endpoint_cases) / sizeof(endpoint_cases[0]); i++) {
		struct sockaddr_any a;
		char buf[SOCKADDR_ANY_STRLEN];
		int r = sockaddr_any_parse(endpoint_cases[i].text, &a);
		if (r != endpoint_cases[i].result)
			fprintf(stderr, "case '%s'\n", endpoint_cases[i].text);
		CHECK_INT(r, ==, endpoint_cases[i].result);
		if (r == 0 && endpoint_cases[i].formatted) {
			CHECK_INT(sockaddr_any_format(&a, buf, sizeof(buf)), ==, 0);
			CHECK_STR(buf, endpoint_cases[i].formatted);
		}
	}
}

static void test_endpoint_ops(void)
{
	struct sockaddr_any a, b, c;
	struct sockaddr_in6 mapped = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char small[8];

	CHECK_INT(sockaddr_any_parse("192.0.2.1:9", &a), ==, 0);
	CHECK_INT(a.sa.sa_family, ==, AF_INET);
	CHECK_INT(a.len, ==, sizeof(struct sockaddr_in));
	CHECK_INT(sockaddr_any_port(&a), ==, 9);

	/* What recvmmsg on the dual-stack socket hands us for an IPv4 peer. */
	CHECK_INT(inet_pton(AF_INET6, "::ffff:192.0.2.1", &mapped.sin6_addr), ==, 1);
	CHECK_INT(sockaddr_any_from((struct sockaddr *)&mapped, sizeof(mapped), &b), ==, 0);
	CHECK_INT(b.sa.sa_family, ==, AF_INET);
	CHECK(sockaddr_any_equal(&a, &b));

	CHECK_INT(sockaddr_any_parse("192.0.2.1:10", &c), ==, 0);
	CHECK(!sockaddr_any_equal(&a, &c));
	CHECK_INT(sockaddr_any_parse("[2001:db8::1]:9", &c), ==, 0);
	CHECK(!sockaddr_any_equal(&a, &c));
	CHECK(sockaddr_any_equal(&c, &c));

	CHECK_INT(sockaddr_any_from((struct sockaddr *)&mapped, 8, &b), ==, -EINVAL);
	CHECK_INT(sockaddr_any_from((struct sockaddr *)&un, sizeof(un), &b), ==, -EAFNOSUPPORT);
	CHECK_INT(sockaddr_any_format(&a, small, sizeof(small)), ==, -ENOSPC);

	memset(&b, 0, sizeof(b));
	CHECK_INT(sockaddr_any_format(&b, small, sizeof(small)), ==, -EAFNOSUPPORT);
	CHECK_STR(small, "(none)");
	CHECK(!sockaddr_any_equal(&b, &b)); /* "no address" equals nothing */

	/* Resolution through /etc/hosts; no DNS server needed. */
	int r = sockaddr_any_resolve("localhost:4", &b);
	CHECK_INT(r, ==, 0);
	CHECK_INT(sockaddr_any_port(&b), ==, 4);
	CHECK_INT(sockaddr_any_resolve("1.2.3.4:5", &b), ==, 0);
}

static const struct {
	const char *text;
	int result;
	int family;
	unsigned cidr;
	const char *formatted; /* as parsed */
	const char *masked;    /* after ip_prefix_mask */
} prefix_cases[] = {
	{ "10.0.0.1/24", 0, AF_INET, 24, "10.0.0.1/24", "10.0.0.0/24" },
	{ "10.0.0.1", 0, AF_INET, 32, "10.0.0.1/32", "10.0.0.1/32" },
	{ "10.1.2.3/20", 0, AF_INET, 20, "10.1.2.3/20", "10.1.0.0/20" },
	{ "1.2.3.4/0", 0, AF_INET, 0, "1.2.3.4/0", "0.0.0.0/0" },
	{ "fd00::1/64", 0, AF_INET6, 64, "fd00::1/64", "fd00::/64" },
	{ "fd00::1", 0, AF_INET6, 128, "fd00::1/128", "fd00::1/128" },
	{ "fd00::ffff/121", 0, AF_INET6, 121, "fd00::ffff/121", "fd00::ff80/121" },
	{ "::/0", 0, AF_INET6, 0, "::/0", "::/0" },
	{ "10.0.0.1/33", -ERANGE, 0, 0, NULL, NULL },
	{ "fd00::/129", -ERANGE, 0, 0, NULL, NULL },
	{ "10.0.0.0/", -ERANGE, 0, 0, NULL, NULL },
	{ "10.0.0.0/a", -ERANGE, 0, 0, NULL, NULL },
	{ "10.0.0.0/-1", -ERANGE, 0, 0, NULL, NULL },
	{ "10.0.0.0/1000", -ERANGE, 0, 0, NULL, NULL },
	{ "/24", -EINVAL, 0, 0, NULL, NULL },
	{ "", -EINVAL, 0, 0, NULL, NULL },
	{ "10.0.0/24", -EINVAL, 0, 0, NULL, NULL },
	{ "10.0.0.256/24", -EINVAL, 0, 0, NULL, NULL },
	{ "fd00::1::2/64", -EINVAL, 0, 0, NULL, NULL },
	{ "host.example/32", -EINVAL, 0, 0, NULL, NULL },
};

static void test_prefixes(void)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		struct ip_prefix p, q;
		char buf[IP_PREFIX_STRLEN];
		int r = ip_prefix_parse(prefix_cases[i].text, &p);
		if (r != prefix_cases[i].result)
			fprintf(stderr, "case '%s'\n", prefix_cases[i].text);
		CHECK_INT(r, ==, prefix_cases[i].result);
		if (r < 0)
			continue;
		CHECK_INT(p.family, ==, prefix_cases[i].family);
		CHECK_INT(p.cidr, ==, prefix_cases[i].cidr);
		CHECK_INT(ip_prefix_format(&p, buf, sizeof(buf)), ==, 0);
		CHECK_STR(buf, prefix_cases[i].formatted);
		q = p;
		ip_prefix_mask(&q);
		CHECK_INT(ip_prefix_format(&q, buf, sizeof(buf)), ==, 0);
		CHECK_STR(buf, prefix_cases[i].masked);
		CHECK(ip_prefix_equal(&p, &p));
	}
}

int main(void)
{
	test_endpoints();
	test_endpoint_ops();
	test_prefixes();
	CHECK_INT(ip_prefix_addr_len(AF_UNIX), ==, 0);
	return 0;
}
