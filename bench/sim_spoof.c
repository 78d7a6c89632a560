/* coord_sim node's "spoof-bind ADDR:PORT": this node's own, validly signed
 * BINDING sent with another host's IPv4 source address and port, through a
 * raw socket (root or CAP_NET_RAW). What an attacker on a network without
 * source-address filtering can do to take over a victim's endpoint; the
 * server must not believe it without a return-routability check. */
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "coord/udp.h"

static uint16_t ip_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

int sim_send_spoofed_binding(struct sim_node *n, const char *source)
{
	uint8_t pkt[sizeof(struct iphdr) + sizeof(struct udphdr) + sizeof(struct coord_msg_binding_cookie)];
	struct iphdr *ip = (struct iphdr *)(void *)pkt;
	struct udphdr *udp = (struct udphdr *)(void *)(pkt + sizeof(*ip));
	struct sockaddr_any src;
	size_t len;
	int fd, r = 0;

	if (sockaddr_any_parse(source, &src) < 0 || src.sa.sa_family != AF_INET ||
	    g_sim.server.sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	memset(pkt, 0, sizeof(pkt));
	len = sim_binding_build(n, NULL, pkt + sizeof(*ip) + sizeof(*udp));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->saddr = src.in4.sin_addr.s_addr;
	ip->daddr = g_sim.server.in4.sin_addr.s_addr;
	ip->check = ip_checksum(ip, sizeof(*ip));
	udp->source = src.in4.sin_port;
	udp->dest = g_sim.server.in4.sin_port;
	udp->len = htons((uint16_t)(sizeof(*udp) + len));
	udp->check = 0; /* optional over IPv4 */
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) < 0)
		return -errno;
	if (sendto(fd, pkt, sizeof(*ip) + sizeof(*udp) + len, 0, &g_sim.server.sa, g_sim.server.len) < 0)
		r = -errno;
	close(fd);
	return r;
}
