/* Application classes: the per-packet classifier (path_class.h). Reads at
 * most the IP header and four bytes of ports, each access bounded by len. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path/path_class.h"

#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ICMPV6 58

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One word into the hash: a multiply-add per word, mixed once at the end
 * (fmix): cheap per packet, and flows that differ in one port land far
 * apart. */
static uint32_t mix(uint32_t h, uint32_t v)
{
	return (h ^ v) * 0x9e3779b1u;
}

static uint32_t fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

struct pkt_info {
	uint8_t proto, dscp;
	bool has_ports;
	uint16_t sport, dport;
};

static bool rule_matches(const struct path_class_rule *r, const struct pkt_info *k)
{
	if (r->proto && r->proto != k->proto &&
	    !(r->proto == IPPROTO_NUM_ICMP && k->proto == IPPROTO_NUM_ICMPV6))
		return false;
	if (r->dscp >= 0 && (uint8_t)r->dscp != k->dscp)
		return false;
	if (r->port_hi && (!k->has_ports || ((k->sport < r->port_lo || k->sport > r->port_hi) &&
					      (k->dport < r->port_lo || k->dport > r->port_hi))))
		return false;
	return true;
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP;
}

void path_classify(const struct path_class_rule *rules, unsigned n, const uint8_t *pkt, size_t len,
		   struct path_flow *out)
{
	struct pkt_info k = { 0 };
	uint32_t h;
	size_t l4;
	*out = (struct path_flow){ .valid = false, .class_idx = PATH_CLASS_NONE, .hash = 0 };
	if (len >= 20 && pkt[0] >> 4 == 4) {
		l4 = (size_t)(pkt[0] & 15) * 4;
		k.dscp = pkt[1] >> 2;
		k.proto = pkt[9];
		/* Only a first fragment (offset 0) carries the ports. */
		bool first = ((pkt[6] & 0x1f) | pkt[7]) == 0;
		k.has_ports = l4 >= 20 && first && has_ports(k.proto) && len >= l4 + 4;
		h = mix(mix(k.proto, load32(pkt + 12)), load32(pkt + 16));
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		l4 = 40;
		k.dscp = (uint8_t)(((pkt[0] & 15) << 4 | pkt[1] >> 4) >> 2);
		k.proto = pkt[6]; /* extension headers are not walked: no ports then */
		k.has_ports = has_ports(k.proto) && len >= l4 + 4;
		h = k.proto;
		for (size_t i = 8; i < 40; i += 4)
			h = mix(h, load32(pkt + i));
	} else {
		return;
	}
	if (k.has_ports) {
		k.sport = (uint16_t)(pkt[l4] << 8 | pkt[l4 + 1]);
		k.dport = (uint16_t)(pkt[l4 + 2] << 8 | pkt[l4 + 3]);
		h = mix(h, (uint32_t)k.sport << 16 | k.dport);
	}
	out->valid = true;
	out->hash = fmix(h);
	for (unsigned i = 0; i < n && i < PATH_CLASS_MAX; i++)
		if (rule_matches(&rules[i], &k)) {
			out->class_idx = (int8_t)i;
			break;
		}
}

int path_class_rule_check(const struct path_class_rule *r)
{
	const char *nul = memchr(r->name, '\0', sizeof(r->name));
	size_t len = nul ? (size_t)(nul - r->name) : 0;
	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = r->name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return -EINVAL;
	}
	if (r->dscp < -1 || r->dscp > 63 || r->port_lo > r->port_hi || (r->port_hi && !r->port_lo) ||
	    (unsigned)r->policy >= PATH_POLICY_COUNT)
		return -EINVAL;
	return 0;
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
	{ "any", 0 }, { "tcp", IPPROTO_NUM_TCP }, { "udp", IPPROTO_NUM_UDP }, { "icmp", IPPROTO_NUM_ICMP },
};

const char *path_class_proto_name(uint8_t proto, char buf[4])
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	snprintf(buf, 4, "%u", proto);
	return buf;
}

int path_class_proto_parse(const char *s, uint8_t *out)
{
	char *end;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].proto;
			return 0;
		}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > 255)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static int port_parse(const char *s, const char **end, uint16_t *out)
{
	unsigned long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9' && p - s < 6; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (p == s || v == 0 || v > 65535)
		return -EINVAL;
	*end = p;
	*out = (uint16_t)v;
	return 0;
}

int path_class_ports_parse(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *end;
	uint16_t a, b;
	if (port_parse(s, &end, &a) < 0)
		return -EINVAL;
	b = a;
	if (*end == '-' && port_parse(end + 1, &end, &b) < 0)
		return -EINVAL;
	if (*end || b < a)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}
