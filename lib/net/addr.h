/* Address types shared by the underlay, the config and the allowed-IPs table.
 *
 * struct sockaddr_any is an underlay endpoint (IPv4 or IPv6 + UDP port).
 * Every sockaddr_any this module hands out is normalised: an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is stored as plain AF_INET, so one peer has one
 * spelling whichever socket family saw it.
 *
 * struct ip_prefix is an inner-network CIDR (Address =, AllowedIPs =). */
#ifndef ROAM_NET_ADDR_H
#define ROAM_NET_ADDR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sockaddr_any {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	socklen_t len; /* sizeof the active member; 0 = no address */
};

/* "[v6%ifname]:65535" plus NUL, with room to spare. */
#define SOCKADDR_ANY_STRLEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 10)

/* Parse "1.2.3.4:51820" or "[2001:db8::1]:51820" (a "%scope" is allowed in
 * the brackets). Numeric only: never touches the resolver.
 * Errors: -EINVAL malformed (no port, unbalanced brackets, unbracketed v6),
 * -ERANGE port not in 1..65535, -EADDRNOTAVAIL host is not a numeric address,
 * -ENAMETOOLONG host part too long. */
int sockaddr_any_parse(const char *text, struct sockaddr_any *out);

/* As sockaddr_any_parse, but a host name goes through getaddrinfo() (this can
 * block on DNS: config loading only, never the event loop). The first result
 * wins. Extra errors: -ENOENT no such name, -EAGAIN temporary resolver
 * failure (the caller may retry), -ENOMEM. */
int sockaddr_any_resolve(const char *text, struct sockaddr_any *out);

/* Copy a kernel-supplied address (recvmsg, getsockname), check its length for
 * its family and normalise it. -EAFNOSUPPORT for anything but IPv4/IPv6,
 * -EINVAL if len is short for the family. */
int sockaddr_any_from(const struct sockaddr *sa, socklen_t len, struct sockaddr_any *out);

/* Turn ::ffff:a.b.c.d:port into a.b.c.d:port in place; other addresses are
 * left alone. */
void sockaddr_any_normalize(struct sockaddr_any *a);

/* Same family, address, port (and IPv6 scope). Both must be normalised. */
bool sockaddr_any_equal(const struct sockaddr_any *a, const struct sockaddr_any *b);

uint16_t sockaddr_any_port(const struct sockaddr_any *a); /* host order; 0 if none */

/* "1.2.3.4:51820" or "[2001:db8::1]:51820". 0, -ENOSPC or -EAFNOSUPPORT
 * (then buf holds "(none)" if it fits). */
int sockaddr_any_format(const struct sockaddr_any *a, char *buf, size_t size);

struct ip_prefix {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
	uint8_t cidr;     /* 0..32 or 0..128 */
};

/* "10.0.0.1/24", "fd00::/64"; without "/n" the prefix is a single host (/32
 * or /128). Host bits are kept (an interface Address needs them); call
 * ip_prefix_mask() for a routing key. Errors: -EINVAL the address part is not
 * an IPv4/IPv6 address, -ERANGE the part after '/' is not a prefix length
 * valid for that family. */
int ip_prefix_parse(const char *text, struct ip_prefix *out);

/* Longest output: a full IPv6 address, "/128", NUL. */
#define IP_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

int ip_prefix_format(const struct ip_prefix *p, char *buf, size_t size); /* 0, -ENOSPC, -EAFNOSUPPORT */

void ip_prefix_mask(struct ip_prefix *p); /* clear the bits past cidr */
bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b);
size_t ip_prefix_addr_len(int family); /* 4, 16, or 0 for an unknown family */

#endif
