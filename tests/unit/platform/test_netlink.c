/* TUN + rtnetlink in a private network namespace (needs root; exit 77
 * otherwise): create a TUN, set it up with an MTU, add IPv4 and IPv6
 * addresses and routes, check them through the kernel's own views
 * (getifaddrs, /proc/net files), remove routes, and ping the kernel through the
 * TUN fd to prove plain IFF_NO_PI framing. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check.h"
#include "net/addr.h"
#include "net/netlink.h"
#include "net/tun.h"

static bool file_has_line(const char *path, const char *a, const char *b)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	CHECK(f != NULL);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && (!b || strstr(line, b));
	fclose(f);
	return found;
}

static bool has_address(const char *ifname, const char *text)
{
	struct ip_prefix want, got;
	struct ifaddrs *list, *ifa;
	bool found = false;

	CHECK_INT(ip_prefix_parse(text, &want), ==, 0);
	CHECK_INT(getifaddrs(&list), ==, 0);
	for (ifa = list; ifa && !found; ifa = ifa->ifa_next) {
		unsigned bits = 0;
		const uint8_t *mask;
		size_t len = ip_prefix_addr_len(want.family);
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != want.family || strcmp(ifa->ifa_name, ifname))
			continue;
		got.family = want.family;
		if (want.family == AF_INET) {
			memcpy(got.addr, &((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr, 4);
			mask = (const uint8_t *)&((struct sockaddr_in *)(void *)ifa->ifa_netmask)->sin_addr;
		} else {
			memcpy(got.addr, &((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr, 16);
			mask = ((struct sockaddr_in6 *)(void *)ifa->ifa_netmask)->sin6_addr.s6_addr;
		}
		for (size_t i = 0; i < len; i++)
			bits += (unsigned)__builtin_popcount(mask[i]);
		got.cidr = (uint8_t)bits;
		found = ip_prefix_equal(&got, &want);
	}
	freeifaddrs(list);
	return found;
}

/* /proc/net/route prints the destination as the raw 32-bit word in hex. */
static bool has_route4(const char *ifname, const char *dst, const char *mask)
{
	struct in_addr d, m;
	char want[64];

	CHECK_INT(inet_pton(AF_INET, dst, &d), ==, 1);
	CHECK_INT(inet_pton(AF_INET, mask, &m), ==, 1);
	snprintf(want, sizeof(want), "%s\t%08X\t", ifname, d.s_addr);
	if (!file_has_line("/proc/net/route", want, NULL))
		return false;
	snprintf(want, sizeof(want), "\t%08X\t", m.s_addr);
	return file_has_line("/proc/net/route", want, NULL);
}

/* /proc/net/ipv6_route: 32 hex digits of destination, then the length. */
static bool has_route6(const char *ifname, const char *dst, unsigned len)
{
	struct in6_addr a;
	char want[64];

	CHECK_INT(inet_pton(AF_INET6, dst, &a), ==, 1);
	for (int i = 0; i < 16; i++)
		snprintf(want + 2 * i, 3, "%02x", a.s6_addr[i]);
	snprintf(want + 32, sizeof(want) - 32, " %02x ", len);
	return file_has_line("/proc/net/ipv6_route", want, ifname);
}

/* IFA_F_* flags of an address in /proc/net/if_inet6, or -1 if absent. */
static int inet6_flags(const char *ifname, const char *addr_hex)
{
	char addr[33], dev[IFNAMSIZ];
	unsigned idx, plen, scope, flags;
	int found = -1;
	FILE *f = fopen("/proc/net/if_inet6", "r");

	CHECK(f != NULL);
	while (found < 0 && fscanf(f, "%32s %x %x %x %x %15s", addr, &idx, &plen, &scope, &flags, dev) == 6) {
		if (strcmp(addr, addr_hex) == 0 && strcmp(dev, ifname) == 0)
			found = (int)flags;
	}
	fclose(f);
	return found;
}

static int if_query(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	CHECK(fd >= 0);
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	r = ioctl(fd, req, ifr);
	close(fd);
	return r;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Echo request 10.9.0.2 -> 10.9.0.1 written raw into the TUN: the kernel
 * must answer with an echo reply we read back, first byte 0x45. */
static void test_tun_ping(int fd)
{
	uint8_t pkt[28] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1,
			    8, 0, 0, 0, 0x12, 0x34, 0, 1 };
	uint8_t reply[2048];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint16_t c = csum(pkt, 20);
	ssize_t n;

	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
	c = csum(pkt + 20, 8);
	pkt[22] = (uint8_t)(c >> 8);
	pkt[23] = (uint8_t)c;
	CHECK_INT(write(fd, pkt, sizeof(pkt)), ==, sizeof(pkt));
	for (;;) {
		CHECK_INT(poll(&p, 1, 2000), ==, 1);
		n = read(fd, reply, sizeof(reply));
		CHECK_INT(n, >, 0);
		if (reply[0] != 0x45 || n < 28 || reply[9] != 1)
			continue; /* e.g. IPv6 router solicitations */
		CHECK_INT(reply[20], ==, 0); /* echo reply */
		CHECK(memcmp(reply + 12, pkt + 16, 4) == 0 && memcmp(reply + 16, pkt + 12, 4) == 0);
		return;
	}
}

static void test_addresses_and_routes(struct netlink_ctx *nl, const char *name)
{
	struct ip_prefix v4, v6, r4, r6, host4;

	CHECK_INT(ip_prefix_parse("10.9.0.1/24", &v4), ==, 0);
	CHECK_INT(ip_prefix_parse("fd00:9::1/64", &v6), ==, 0);
	CHECK_INT(ip_prefix_parse("10.10.0.0/16", &r4), ==, 0);
	CHECK_INT(ip_prefix_parse("fd00:10::/48", &r6), ==, 0);
	CHECK_INT(ip_prefix_parse("10.11.1.2/16", &host4), ==, 0);

	/* IPv4 routes want the link up. */
	CHECK_INT(netlink_link_set(nl, name, false, 0), ==, 0);
	CHECK_INT(netlink_route_add(nl, name, AF_INET, r4.addr, r4.cidr), ==, -ENETDOWN);
	/* The kernel explains itself in an extended ACK ("Nexthop device is not up"). */
	CHECK(netlink_last_error(nl) != NULL);
	CHECK_INT(netlink_link_set(nl, name, true, 1400), ==, 0);
	CHECK(netlink_last_error(nl) == NULL);

	for (int round = 0; round < 2; round++) { /* the second round re-adds */
		CHECK_INT(netlink_addr_add(nl, name, AF_INET, v4.addr, v4.cidr), ==, 0);
		CHECK_INT(netlink_addr_add(nl, name, AF_INET6, v6.addr, v6.cidr), ==, 0);
		CHECK_INT(netlink_route_add(nl, name, AF_INET, r4.addr, r4.cidr), ==, 0);
		CHECK_INT(netlink_route_add(nl, name, AF_INET6, r6.addr, r6.cidr), ==, 0);
	}
	CHECK_INT(netlink_route_add(nl, name, AF_INET, host4.addr, host4.cidr), ==, 0);
	CHECK(has_address(name, "10.9.0.1/24"));
	CHECK(has_address(name, "fd00:9::1/64"));
	/* NODAD: usable at once, never tentative. */
	CHECK_INT(inet6_flags(name, "fd000009000000000000000000000001"), >=, 0);
	CHECK_INT(inet6_flags(name, "fd000009000000000000000000000001") & IFA_F_TENTATIVE, ==, 0);
	CHECK(inet6_flags(name, "fd000009000000000000000000000001") & IFA_F_NODAD);
	CHECK(has_route4(name, "10.10.0.0", "255.255.0.0"));
	CHECK(has_route4(name, "10.11.0.0", "255.255.0.0"));
	CHECK(has_route6(name, "fd00:10::", 48));

	CHECK_INT(netlink_route_del(nl, name, AF_INET, r4.addr, r4.cidr), ==, 0);
	CHECK_INT(netlink_route_del(nl, name, AF_INET6, r6.addr, r6.cidr), ==, 0);
	CHECK(!has_route4(name, "10.10.0.0", "255.255.0.0"));
	CHECK(!has_route6(name, "fd00:10::", 48));
	CHECK_INT(netlink_route_del(nl, name, AF_INET, r4.addr, r4.cidr), ==, 0); /* already gone */
	CHECK_INT(netlink_route_del(nl, name, AF_INET6, r6.addr, r6.cidr), ==, 0);

	CHECK_INT(netlink_addr_add(nl, name, AF_UNIX, v4.addr, 8), ==, -EAFNOSUPPORT);
	CHECK_INT(netlink_addr_add(nl, name, AF_INET, v4.addr, 33), ==, -EINVAL);
	CHECK_INT(netlink_route_add(nl, name, AF_INET6, r6.addr, 129), ==, -EINVAL);
}

int main(void)
{
	struct netlink_ctx *nl = NULL;
	char name[IFNAMSIZ];
	struct ifreq ifr;
	int fd = -1;

	if (geteuid() != 0)
		SKIP("needs root for a network namespace and a TUN device");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot create a network namespace");

	CHECK(strstr(tun_strerror(-EPERM), "CAP_NET_ADMIN") != NULL);
	CHECK(strstr(tun_strerror(-ENOENT), "/dev/net/tun") != NULL);
	CHECK(tun_strerror(-EIO) == NULL);
	CHECK_INT(tun_open("a-name-that-is-too-long", name, &fd), ==, -ENAMETOOLONG);
	CHECK_INT(tun_open_flags("x", 1u << 7, name, &fd), ==, -EOPNOTSUPP);
	{
		int r = tun_open("roamt%d", name, &fd);
		if (r == -ENOENT || r == -ENODEV)
			SKIP("no TUN driver");
		CHECK_INT(r, ==, 0);
	}
	CHECK(strncmp(name, "roamt", 5) == 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	CHECK_INT(netlink_open(&nl), ==, 0);
	CHECK_INT(netlink_link_set(nl, "lo", true, 0), ==, 0);
	CHECK_INT(netlink_link_set(nl, "roam-nonexist", true, 0), ==, -ENODEV);

	test_addresses_and_routes(nl, name);
	CHECK_INT(if_query(name, SIOCGIFFLAGS, &ifr), ==, 0);
	CHECK(ifr.ifr_flags & IFF_UP);
	CHECK_INT(if_query(name, SIOCGIFMTU, &ifr), ==, 0);
	CHECK_INT(ifr.ifr_mtu, ==, 1400);
	test_tun_ping(fd);

	netlink_close(nl);
	netlink_close(NULL);
	close(fd);
	return 0;
}
