/* Port mapping: protocol order, renewal timing, deletion. The protocols
 * themselves are in portmap_pcp.c, portmap_natpmp.c and portmap_upnp.c. */
#include "portmap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PORTMAP_DEFAULT_TIMEOUT_MS 1000
#define PORTMAP_DEFAULT_DISCOVER_MS 2000
/* A permanent UPnP lease (lifetime 0) is re-asserted this often, so that a
 * router that rebooted and forgot it gets it back. */
#define PORTMAP_PERMANENT_REFRESH_S 1200

uint64_t portmap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *portmap_proto_name(enum portmap_proto proto)
{
	switch (proto) {
	case PORTMAP_PCP:
		return "pcp";
	case PORTMAP_NATPMP:
		return "natpmp";
	case PORTMAP_UPNP:
		return "upnp";
	case PORTMAP_NONE:
		break;
	}
	return "none";
}

enum portmap_proto portmap_proto_from_name(const char *name)
{
	for (int p = PORTMAP_PCP; p <= PORTMAP_UPNP; p++)
		if (strcmp(name, portmap_proto_name((enum portmap_proto)p)) == 0)
			return (enum portmap_proto)p;
	return PORTMAP_NONE;
}

void portmap_init(struct portmap *pm, const struct portmap_config *config)
{
	memset(pm, 0, sizeof(*pm));
	pm->config = *config;
	if (pm->config.protocols == 0)
		pm->config.protocols = PORTMAP_ALL;
	if (pm->config.timeout_ms <= 0)
		pm->config.timeout_ms = PORTMAP_DEFAULT_TIMEOUT_MS;
	if (pm->config.upnp_discover_ms <= 0)
		pm->config.upnp_discover_ms = PORTMAP_DEFAULT_DISCOVER_MS;
}

int portmap_default_gateway(struct in_addr *gw)
{
	char line[256];
	int err = -ENETUNREACH;
	FILE *f = fopen("/proc/net/route", "re");

	if (!f)
		return -errno;
	/* "Iface Destination Gateway Flags ...", hex in network order. The
	 * kernel writes this file: still, sscanf with widths, and a cap on lines. */
	for (int n = 0; n < 4096 && fgets(line, sizeof(line), f); n++) {
		char ifname[32];
		unsigned dest, gateway, flags;
		if (sscanf(line, "%31s %x %x %x", ifname, &dest, &gateway, &flags) != 4)
			continue;
		if (dest == 0 && (flags & 0x3) == 0x3 && gateway != 0) { /* RTF_UP | RTF_GATEWAY */
			gw->s_addr = gateway;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* Appends "name: reason" to the result's error, "; "-separated, truncating. */
static void portmap_note(struct portmap *pm, enum portmap_proto proto, const char *why)
{
	char *e = pm->result.error;
	size_t used = strlen(e);

	if (used + 1 >= sizeof(pm->result.error))
		return;
	snprintf(e + used, sizeof(pm->result.error) - used, "%s%s: %s", used ? "; " : "",
		 portmap_proto_name(proto), why);
}

static int portmap_try(struct portmap *pm, enum portmap_proto proto, char *why, size_t why_len)
{
	switch (proto) {
	case PORTMAP_PCP:
		return portmap_pcp_request(pm, pm->config.lifetime, why, why_len);
	case PORTMAP_NATPMP:
		return portmap_natpmp_request(pm, pm->config.lifetime, why, why_len);
	case PORTMAP_UPNP:
		return portmap_upnp_map(pm, 1, why, why_len);
	case PORTMAP_NONE:
		break;
	}
	return -EINVAL;
}

int portmap_start(struct portmap *pm)
{
	if (pm->config.internal_port == 0 || pm->config.lifetime == 0 ||
	    (pm->config.protocols & ~PORTMAP_ALL) != 0)
		return -EINVAL;
	memset(&pm->result, 0, sizeof(pm->result));
	if (pm->config.gateway.s_addr == INADDR_ANY &&
	    (pm->config.protocols & ((1u << PORTMAP_PCP) | (1u << PORTMAP_NATPMP))))
		(void)portmap_default_gateway(&pm->config.gateway); /* none: noted below */
	for (int p = PORTMAP_PCP; p <= PORTMAP_UPNP; p++) {
		char why[128] = "";
		if (!(pm->config.protocols & (1u << p)))
			continue;
		if (p != PORTMAP_UPNP && pm->config.gateway.s_addr == INADDR_ANY) {
			portmap_note(pm, (enum portmap_proto)p, "no default IPv4 gateway");
			continue;
		}
		if (portmap_try(pm, (enum portmap_proto)p, why, sizeof(why)) == 0) {
			pm->result.proto = (enum portmap_proto)p;
			pm->mapped_at_ms = portmap_now_ms();
			return 0;
		}
		portmap_note(pm, (enum portmap_proto)p, why);
	}
	pm->result.proto = PORTMAP_NONE;
	return -ENOENT;
}

uint64_t portmap_renew_at_ms(const struct portmap *pm)
{
	uint64_t life_s = pm->result.lifetime ? pm->result.lifetime : PORTMAP_PERMANENT_REFRESH_S * 2;

	if (pm->result.proto == PORTMAP_NONE)
		return 0;
	return pm->mapped_at_ms + life_s * 1000 / 2;
}

int portmap_renew(struct portmap *pm)
{
	enum portmap_proto proto = pm->result.proto;
	char why[128] = "";
	int err;

	if (proto == PORTMAP_NONE)
		return -ENOENT;
	pm->result.error[0] = '\0';
	if (proto == PORTMAP_UPNP) /* the IGD found at start: no new discovery */
		err = portmap_upnp_map(pm, 0, why, sizeof(why));
	else
		err = portmap_try(pm, proto, why, sizeof(why));
	if (err < 0) {
		portmap_note(pm, proto, why);
		return err;
	}
	pm->result.proto = proto;
	pm->mapped_at_ms = portmap_now_ms();
	return 0;
}

int portmap_stop(struct portmap *pm)
{
	char why[128] = "";
	int err = 0;

	switch (pm->result.proto) {
	case PORTMAP_PCP:
		err = portmap_pcp_request(pm, 0, why, sizeof(why));
		break;
	case PORTMAP_NATPMP:
		err = portmap_natpmp_request(pm, 0, why, sizeof(why));
		break;
	case PORTMAP_UPNP:
		err = portmap_upnp_unmap(pm, why, sizeof(why));
		break;
	case PORTMAP_NONE:
		return 0;
	}
	pm->result.error[0] = '\0';
	if (err < 0)
		portmap_note(pm, pm->result.proto, why);
	pm->result.proto = PORTMAP_NONE;
	pm->mapped_at_ms = 0;
	return err;
}
