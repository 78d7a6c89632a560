/* UPnP-IGD through libminiupnpc: SSDP discovery (blocks for
 * config.upnp_discover_ms), then SOAP over HTTP to the IGD's control URL,
 * which is kept (with the service type and our LAN address) for renewal
 * and deletion, so that those need no new discovery. libminiupnpc parses
 * the IGD's XML and SOAP answers; what we take from them (an address, a
 * number) is checked again here. */
#include "portmap_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <stdio.h>
#include <string.h>

#define UPNP_DESCRIPTION "roam"
#define UPNP_IGD_TYPE "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
#define UPNP_ONLY_PERMANENT_LEASES 725 /* UPnP error OnlyPermanentLeasesSupported */

static const char *upnp_error_str(int err)
{
	const char *s = strupnperror(err);

	return s ? s : "unknown error";
}

static int upnp_copy(char *dst, size_t cap, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len == 0 || len >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

/* Finds an IGD and keeps what later calls need. */
static int upnp_discover(struct portmap *pm, char *why, size_t why_len)
{
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lan[64] = "";
	int error = 0, status, err = 0;
	/* libminiupnpc searches for each type in turn, waiting its delay after
	 * each: upnpDiscover()'s four types would take 4 x delay when no IGD
	 * answers. Two types (IGD:2 devices answer IGD:1 searches; the root
	 * device search catches the rest), half the budget each. */
	static const char *const types[] = { UPNP_IGD_TYPE, "upnp:rootdevice", NULL };
	int delay = pm->config.upnp_discover_ms / 2;
	struct UPNPDev *devs = upnpDiscoverDevices(types, delay > 0 ? delay : 1, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0,
						   2, &error, 0);

	if (!devs) {
		snprintf(why, why_len, "no UPnP device answered (discovery error %d)", error);
		return -ENOENT;
	}
	memset(&urls, 0, sizeof(urls));
	status = UPNP_GetValidIGD(devs, &urls, &data, lan, sizeof(lan));
	freeUPNPDevlist(devs);
	/* 1: connected IGD; 2: an IGD that calls itself not connected, which is
	 * what sits behind a carrier NAT or has a reserved address (the lab's
	 * 203.0.113.x): go on, and have the caller verify from outside. */
	if (status != 1 && status != 2) {
		snprintf(why, why_len, status == 3 ? "UPnP devices, none an IGD" : "no IGD found");
		err = -ENOENT;
		goto out;
	}
	if (upnp_copy(pm->upnp_control_url, sizeof(pm->upnp_control_url), urls.controlURL) < 0 ||
	    upnp_copy(pm->upnp_service_type, sizeof(pm->upnp_service_type), data.first.servicetype) < 0 ||
	    upnp_copy(pm->upnp_lan_addr, sizeof(pm->upnp_lan_addr), lan) < 0) {
		snprintf(why, why_len, "IGD control URL, service type or LAN address too long or empty");
		err = -ENAMETOOLONG;
		goto out;
	}
	pm->result.needs_verification = status == 2;
out:
	FreeUPNPUrls(&urls);
	return err;
}

int portmap_upnp_map(struct portmap *pm, int discover, char *why, size_t why_len)
{
	char port[8], lease[16], ext[40] = "";
	struct in_addr ext_addr;
	uint32_t lifetime = pm->config.lifetime;
	int err;

	if (discover) {
		err = upnp_discover(pm, why, why_len);
		if (err < 0)
			return err;
	}
	err = UPNP_GetExternalIPAddress(pm->upnp_control_url, pm->upnp_service_type, ext);
	if (err != UPNPCOMMAND_SUCCESS || inet_pton(AF_INET, ext, &ext_addr) != 1 || ext_addr.s_addr == 0) {
		snprintf(why, why_len, "IGD gave no external IPv4 address (%d)", err);
		return -EBADMSG;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)pm->config.internal_port);
	snprintf(lease, sizeof(lease), "%u", (unsigned)lifetime);
	/* External port = internal port: an IGD has no way to suggest another. */
	err = UPNP_AddPortMapping(pm->upnp_control_url, pm->upnp_service_type, port, port, pm->upnp_lan_addr,
				  UPNP_DESCRIPTION, "UDP", NULL, lease);
	if (err == UPNP_ONLY_PERMANENT_LEASES) {
		/* IGDv1 routers that take no lease: a permanent one, which stop deletes. */
		lifetime = 0;
		err = UPNP_AddPortMapping(pm->upnp_control_url, pm->upnp_service_type, port, port,
					  pm->upnp_lan_addr, UPNP_DESCRIPTION, "UDP", NULL, "0");
	}
	if (err != UPNPCOMMAND_SUCCESS) {
		snprintf(why, why_len, "AddPortMapping failed: %d (%s)", err, upnp_error_str(err));
		return -EPERM;
	}
	pm->result.external_addr = ext_addr;
	pm->result.external_port = pm->config.internal_port;
	pm->result.lifetime = lifetime;
	return 0;
}

int portmap_upnp_unmap(struct portmap *pm, char *why, size_t why_len)
{
	char port[8];
	int err;

	snprintf(port, sizeof(port), "%u", (unsigned)pm->result.external_port);
	err = UPNP_DeletePortMapping(pm->upnp_control_url, pm->upnp_service_type, port, "UDP", NULL);
	if (err != UPNPCOMMAND_SUCCESS) {
		snprintf(why, why_len, "DeletePortMapping failed: %d (%s)", err, upnp_error_str(err));
		return -EPERM;
	}
	return 0;
}
