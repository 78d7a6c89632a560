/* Application classes (issue 13): rules that sort the packets we send by
 * protocol, port range and DSCP, each naming the policy its packets use
 * (path_choice). Evaluated per packet on the send side, on the plaintext
 * IP header, before encryption: a fixed table of at most PATH_CLASS_MAX
 * rules, first match wins, no allocation, no I/O.
 *
 * A rule matches a packet when every condition it sets holds:
 *  - proto: 0 any, or the IP protocol (6 TCP, 17 UDP, 1 ICMP, which
 *    matches ICMPv6 (58) too);
 *  - ports port_lo..port_hi (both 0: any): the source or the destination
 *    port is in the range, so a class covers both directions of a
 *    conversation (ssh: to port 22, and back from it); a packet without
 *    ports (ICMP, a later fragment, an IPv6 extension header) never
 *    matches a rule with ports;
 *  - dscp (-1 any): the DSCP of the IPv4 TOS / IPv6 traffic class. */
#ifndef ROAM_PATH_PATH_CLASS_H
#define ROAM_PATH_PATH_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/path.h"

#define PATH_CLASS_MAX 32      /* rules in a node's table */
#define PATH_CLASS_NAME_MAX 24 /* bytes of a name, with its NUL */
#define PATH_CLASS_NONE (-1)   /* no rule matched: the peer's policy */

struct path_class_rule {
	char name[PATH_CLASS_NAME_MAX];
	uint8_t proto;             /* 0 any, else an IP protocol number */
	int8_t dscp;               /* -1 any, else 0..63 */
	uint16_t port_lo, port_hi; /* both 0: any port */
	enum path_policy policy;
};

/* What the send side learned of one packet. */
struct path_flow {
	bool valid;     /* an IPv4 or IPv6 packet was classified */
	int8_t class_idx; /* the first rule that matched, or PATH_CLASS_NONE */
	uint32_t hash;  /* of addresses, protocol and ports: a flow's packets share it */
};

/* Classifies pkt (an IP packet as the TUN device gives it) against the
 * first n rules. Never fails: anything that is not IPv4/IPv6 comes out
 * !valid, class PATH_CLASS_NONE. */
void path_classify(const struct path_class_rule *rules, unsigned n, const uint8_t *pkt, size_t len,
		   struct path_flow *out);
/* 0 or -EINVAL: name 1..23 bytes of [a-z0-9_.-], dscp -1..63, port_lo <=
 * port_hi (a range 0-0 is any, a range from 0 is not), a known policy. */
int path_class_rule_check(const struct path_class_rule *r);

/* "tcp", "udp", "icmp", "any", or the number for another protocol. */
const char *path_class_proto_name(uint8_t proto, char buf[4]);
int path_class_proto_parse(const char *s, uint8_t *out); /* 0 or -EINVAL */
/* "N" or "N-M" (1..65535): 0 or -EINVAL. */
int path_class_ports_parse(const char *s, uint16_t *lo, uint16_t *hi);

#endif
