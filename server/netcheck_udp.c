/* NETCHECK on the server's UDP socket (server/netcheck.h): which addresses
 * are ours, and answers that leave from the address a request reached.
 *
 * The socket is bound to the wildcard address, so the kernel would pick an
 * answer's source by route, the same one for every request: a NAT that
 * filters by address would drop the answer to a request sent to our second
 * address, and the mapping test needs both. The request names the address
 * it was sent to; when that is one of ours the answer carries it as source
 * (IPV6_PKTINFO, or IP_PKTINFO on an IPv4-only socket). */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/server.h"
#include "util/log.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int send_from(void *ctx, const struct sockaddr_any *from, const struct sockaddr_any *to, const uint8_t *buf,
		     size_t len)
{
	struct server *s = ctx;
	struct sockaddr_in6 name;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctrl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (!from)
		return udp_send(&s->udp, to, buf, len);
	memset(&name, 0, sizeof(name));
	memset(&ctrl, 0, sizeof(ctrl));
	msg.msg_name = &name;
	msg.msg_control = ctrl.buf;
	struct cmsghdr *c = (struct cmsghdr *)(void *)ctrl.buf;
	if (s->udp.family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_ifindex = 0 };
		/* IPv4 goes v4-mapped, source included (the kernel takes a
		 * mapped IPV6_PKTINFO for an IPv4 destination). */
		name.sin6_family = AF_INET6;
		if (to->sa.sa_family == AF_INET) {
			if (from->sa.sa_family != AF_INET)
				return -EAFNOSUPPORT;
			name.sin6_port = to->in4.sin_port;
			name.sin6_addr.s6_addr[10] = name.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&name.sin6_addr.s6_addr[12], &to->in4.sin_addr, 4);
			pi.ipi6_addr.s6_addr[10] = pi.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(&pi.ipi6_addr.s6_addr[12], &from->in4.sin_addr, 4);
		} else {
			if (from->sa.sa_family != AF_INET6)
				return -EAFNOSUPPORT;
			name = to->in6;
			pi.ipi6_addr = from->in6.sin6_addr;
		}
		msg.msg_namelen = sizeof(name);
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = { .ipi_ifindex = 0 };
		if (to->sa.sa_family != AF_INET || from->sa.sa_family != AF_INET)
			return -EAFNOSUPPORT;
		memcpy(&name, &to->in4, sizeof(to->in4));
		pi.ipi_spec_dst = from->in4.sin_addr;
		msg.msg_namelen = sizeof(to->in4);
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	do
		n = sendmsg(s->udp.fd, &msg, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Every address an answer can come from: up, not loopback, not link-local
 * (a link-local one needs a scope no remote node has), at our UDP port. */
static size_t own_addresses(uint16_t port, int family, struct sockaddr_any *out, size_t max)
{
	struct ifaddrs *ifs, *i;
	size_t n = 0;
	if (getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i && n < max; i = i->ifa_next) {
		struct sockaddr_any a;
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && (family == AF_INET || family == AF_INET6)) {
			if (sockaddr_any_from(i->ifa_addr, sizeof(struct sockaddr_in), &a) < 0 ||
			    (ntohl(a.in4.sin_addr.s_addr) >> 16) == 0xa9fe) /* 169.254/16 */
				continue;
			a.in4.sin_port = htons(port);
		} else if (i->ifa_addr->sa_family == AF_INET6 && family == AF_INET6) {
			if (sockaddr_any_from(i->ifa_addr, sizeof(struct sockaddr_in6), &a) < 0 ||
			    IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr) || IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr))
				continue;
			a.in6.sin6_port = htons(port);
			a.in6.sin6_scope_id = 0;
		} else {
			continue;
		}
		out[n++] = a;
	}
	freeifaddrs(ifs);
	return n;
}

int server_netcheck_open(struct server *s)
{
	static const struct server_netcheck_ops ops = { send_from };
	struct sockaddr_any addrs[SERVER_NETCHECK_ADDRS_MAX];
	size_t n = own_addresses(s->udp.port, s->udp.family, addrs, SERVER_NETCHECK_ADDRS_MAX);
	int r = server_netcheck_init(&s->netcheck, addrs, n, &ops, s, mono_ns());
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->netcheck.count; i++) {
		char text[SOCKADDR_ANY_STRLEN];
		sockaddr_any_format(&s->netcheck.addrs[i], text, sizeof(text));
		log_debug("netcheck: answering at %s", text);
	}
	return 0;
}

void server_netcheck_input_now(struct server *s, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	server_netcheck_input(&s->netcheck, buf, len, from, mono_ns());
}

void server_netcheck_close(struct server *s)
{
	const struct server_netcheck_stats *st = &s->netcheck.stats;
	if (st->answered || st->malformed || st->rate_limited)
		log_info("netcheck: %llu answered; dropped %llu malformed, %llu over the rate limit, %llu send failed",
			 (unsigned long long)st->answered, (unsigned long long)st->malformed,
			 (unsigned long long)st->rate_limited, (unsigned long long)st->send_failed);
	server_netcheck_free(&s->netcheck);
}
