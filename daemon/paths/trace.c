/* What `roam trace` shows of each path (issue 13): its segments as far as
 * this node can tell them. The local side: the interface and source address
 * the kernel picks for the path's first hop (a route lookup: connect() on a
 * UDP socket sends nothing), bound to the path's interface if it has one.
 * The NAT's public mapping: our address as the peer saw it in the path's
 * last PONG (direct paths), else the server's BINDING (`roam status`'s
 * public endpoint). The relay and its round trip, and the path's own round
 * trip end to end, are already in the status (the CLI puts them together). */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ifaddrs.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"

void paths_trace_observed(struct paths_peer *pp, const struct path *p, const struct sockaddr_any *observed)
{
	size_t slot = (size_t)(p - pp->set.paths);
	if (slot >= PATH_MAX_PER_PEER || !observed->len)
		return;
	pp->mapping[slot].path_id = p->id;
	pp->mapping[slot].addr = *observed;
}

/* The source address the kernel would use towards dst (through ifname if
 * given): 0 or -errno. */
static int route_source(const char *ifname, const struct sockaddr_any *dst, struct sockaddr_any *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int ret = 0;
	int fd = socket(dst->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) ||
	    connect(fd, &dst->sa, dst->len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		ret = -1;
	close(fd);
	return ret < 0 ? ret : sockaddr_any_from((struct sockaddr *)&ss, len, out);
}

/* The interface that holds address a (port 0); "" if none found. */
static void iface_of_address(const struct sockaddr_any *a, char *name, size_t size)
{
	struct ifaddrs *list, *i;
	name[0] = '\0';
	if (getifaddrs(&list) < 0)
		return;
	for (i = list; i; i = i->ifa_next) {
		struct sockaddr_any x;
		socklen_t len = i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
										    : sizeof(struct sockaddr_in);
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) ||
		    sockaddr_any_from(i->ifa_addr, len, &x) < 0)
			continue;
		if (sockaddr_any_equal(&x, a)) {
			snprintf(name, size, "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(list);
}

static void add_local(cJSON *o, const struct roamd *d, const struct path *p, const struct endpoint *ep)
{
	const struct paths_iface *iface = paths_iface_of(d, p);
	struct sockaddr_any dst, src;
	char text[SOCKADDR_ANY_STRLEN], name[IF_NAMESIZE];
	if (endpoint_to_sockaddr(ep, &dst) < 0)
		dst = d->host.server_udp; /* relayed: the first hop is the way to the server */
	if (!dst.len || route_source(iface ? iface->name : NULL, &dst, &src) < 0)
		return;
	if (src.sa.sa_family == AF_INET) /* getifaddrs' addresses have none */
		src.in4.sin_port = 0;
	else
		src.in6.sin6_port = 0;
	if (iface)
		snprintf(name, sizeof(name), "%s", iface->name);
	else
		iface_of_address(&src, name, sizeof(name));
	cJSON *l = cJSON_AddObjectToObject(o, "local");
	if (name[0])
		cJSON_AddStringToObject(l, "interface", name);
	/* The address alone: the port is the socket's, not the lookup's. */
	if (inet_ntop(src.sa.sa_family, src.sa.sa_family == AF_INET ? (const void *)&src.in4.sin_addr
								    : (const void *)&src.in6.sin6_addr,
		      text, sizeof(text)))
		cJSON_AddStringToObject(l, "address", text);
}

void paths_trace_path_json(const struct roamd *d, const struct paths_peer *pp, const struct path *p, cJSON *o)
{
	struct endpoint ep;
	char text[SOCKADDR_ANY_STRLEN];
	size_t slot = (size_t)(p - pp->set.paths);
	if (paths_path_endpoint(p, &ep) < 0)
		return;
	add_local(o, d, p, &ep);
	if (slot < PATH_MAX_PER_PEER && pp->mapping[slot].path_id == p->id &&
	    sockaddr_any_format(&pp->mapping[slot].addr, text, sizeof(text)) == 0)
		cJSON_AddStringToObject(o, "mapping", text); /* as the peer saw us on this path */
}
