#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

/* Longest host we accept between "[...]" or before ":port": a DNS name. */
#define ENDPOINT_HOST_MAX 255

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

size_t ip_prefix_addr_len(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

void sockaddr_any_normalize(struct sockaddr_any *a)
{
	if (a->sa.sa_family != AF_INET6 || a->len < sizeof(a->in6))
		return;
	if (memcmp(a->in6.sin6_addr.s6_addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) != 0)
		return;

	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = a->in6.sin6_port };
	memcpy(&in4.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->in4 = in4;
	a->len = sizeof(in4);
}

int sockaddr_any_from(const struct sockaddr *sa, socklen_t len, struct sockaddr_any *out)
{
	struct sockaddr_any a;

	memset(&a, 0, sizeof(a));
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		if (len < sizeof(a.in4))
			return -EINVAL;
		memcpy(&a.in4, sa, sizeof(a.in4));
		a.len = sizeof(a.in4);
	} else if (sa->sa_family == AF_INET6) {
		if (len < sizeof(a.in6))
			return -EINVAL;
		memcpy(&a.in6, sa, sizeof(a.in6));
		a.len = sizeof(a.in6);
	} else {
		return -EAFNOSUPPORT;
	}
	sockaddr_any_normalize(&a);
	*out = a;
	return 0;
}

bool sockaddr_any_equal(const struct sockaddr_any *a, const struct sockaddr_any *b)
{
	if (a->len == 0 || a->len != b->len || a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

uint16_t sockaddr_any_port(const struct sockaddr_any *a)
{
	if (a->len && a->sa.sa_family == AF_INET)
		return ntohs(a->in4.sin_port);
	if (a->len && a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

int sockaddr_any_format(const struct sockaddr_any *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	char scope[IF_NAMESIZE + 12] = "";
	int n;

	if (a->len && a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		n = snprintf(buf, size, "%s:%u", host, ntohs(a->in4.sin_port));
	} else if (a->len && a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		if (a->in6.sin6_scope_id) {
			char ifname[IF_NAMESIZE];
			if (if_indextoname(a->in6.sin6_scope_id, ifname))
				snprintf(scope, sizeof(scope), "%%%s", ifname);
			else
				snprintf(scope, sizeof(scope), "%%%u", a->in6.sin6_scope_id);
		}
		n = snprintf(buf, size, "[%s%s]:%u", host, scope, ntohs(a->in6.sin6_port));
	} else {
		if (size)
			snprintf(buf, size, "(none)");
		return -EAFNOSUPPORT;
	}
	return (n < 0 || (size_t)n >= size) ? -ENOSPC : 0;
}

/* Strict decimal: digits only, no sign, no spaces, at most max_digits. */
static int parse_uint(const char *s, size_t len, unsigned max_digits, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > max_digits)
		return -ERANGE;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -ERANGE;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Split "host:port" / "[host]:port"; host is copied NUL-terminated. */
static int endpoint_split(const char *text, char host[ENDPOINT_HOST_MAX + 1], uint16_t *port)
{
	const char *h, *port_text;
	size_t hlen;
	unsigned long p;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(close - h);
		port_text = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		h = text;
		hlen = (size_t)(colon - text);
		/* An IPv6 address must be bracketed, or its last group reads as the port. */
		if (memchr(h, ':', hlen))
			return -EINVAL;
		port_text = colon + 1;
	}
	if (hlen == 0)
		return -EINVAL;
	if (hlen > ENDPOINT_HOST_MAX)
		return -ENAMETOOLONG;
	if (parse_uint(port_text, strlen(port_text), 5, &p) < 0 || p == 0 || p > 65535)
		return -ERANGE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int gai_to_errno(int gai)
{
	switch (gai) {
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	default:
		return -EINVAL;
	}
}

/* Decide before getaddrinfo what the host may be: it would take "1.2.3" or
 * "0x7f.1" as legacy inet_aton IPv4, and send any other name to DNS. */
static int endpoint_host_kind(const char *host, bool numeric)
{
	struct in_addr in4;

	if (inet_pton(AF_INET, host, &in4) == 1 || strchr(host, ':'))
		return AI_NUMERICHOST; /* IPv4, or IPv6 (with an optional %scope) */
	if (numeric || strspn(host, "0123456789.") == strlen(host) ||
	    (host[0] == '0' && (host[1] == 'x' || host[1] == 'X')))
		return -EADDRNOTAVAIL;
	return 0;
}

static int endpoint_lookup(const char *text, bool numeric, struct sockaddr_any *out)
{
	char host[ENDPOINT_HOST_MAX + 1];
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_protocol = IPPROTO_UDP,
	};
	struct addrinfo *res = NULL;
	struct sockaddr_any a;
	uint16_t port;
	int r;

	r = endpoint_split(text, host, &port);
	if (r < 0)
		return r;
	r = endpoint_host_kind(host, numeric);
	if (r < 0)
		return r;
	hints.ai_flags = r;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0)
		return (hints.ai_flags & AI_NUMERICHOST && r == EAI_NONAME) ? -EADDRNOTAVAIL : gai_to_errno(r);

	r = -ENOENT;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (sockaddr_any_from(ai->ai_addr, ai->ai_addrlen, &a) == 0) {
			r = 0;
			break;
		}
	}
	freeaddrinfo(res);
	if (r < 0)
		return r;

	if (a.sa.sa_family == AF_INET)
		a.in4.sin_port = htons(port);
	else
		a.in6.sin6_port = htons(port);
	*out = a;
	return 0;
}

int sockaddr_any_parse(const char *text, struct sockaddr_any *out)
{
	return endpoint_lookup(text, true, out);
}

int sockaddr_any_resolve(const char *text, struct sockaddr_any *out)
{
	return endpoint_lookup(text, false, out);
}

int ip_prefix_parse(const char *text, struct ip_prefix *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	struct ip_prefix p;
	unsigned long cidr;

	memset(&p, 0, sizeof(p));
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';

	if (inet_pton(AF_INET, host, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, host, p.addr) == 1)
		p.family = AF_INET6;
	else
		return -EINVAL;

	unsigned max = (unsigned)ip_prefix_addr_len(p.family) * 8;
	if (slash) {
		if (parse_uint(slash + 1, strlen(slash + 1), 3, &cidr) < 0 || cidr > max)
			return -ERANGE;
	} else {
		cidr = max;
	}
	p.cidr = (uint8_t)cidr;
	*out = p;
	return 0;
}

int ip_prefix_format(const struct ip_prefix *p, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (!ip_prefix_addr_len(p->family))
		return -EAFNOSUPPORT;
	inet_ntop(p->family, p->addr, host, sizeof(host));
	n = snprintf(buf, size, "%s/%u", host, p->cidr);
	return (n < 0 || (size_t)n >= size) ? -ENOSPC : 0;
}

void ip_prefix_mask(struct ip_prefix *p)
{
	size_t len = ip_prefix_addr_len(p->family);

	for (size_t i = 0; i < len; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= p->cidr)
			p->addr[i] = 0;
		else if (bit + 8 > p->cidr)
			p->addr[i] &= (uint8_t)(0xff00u >> (p->cidr - bit));
	}
	for (size_t i = len; i < sizeof(p->addr); i++)
		p->addr[i] = 0;
}

bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	size_t len = ip_prefix_addr_len(a->family);

	return len && a->family == b->family && a->cidr == b->cidr && memcmp(a->addr, b->addr, len) == 0;
}
