/* The TUN device and its configuration over rtnetlink. Closing the TUN fd
 * deletes the interface, and with it every address and route we added. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/roamd.h"
#include "net/tun.h"
#include "util/log.h"

int roamd_iface_open(struct roamd *d, const char *name_hint)
{
	int ret = tun_open(name_hint, d->ifname, &d->tun_fd);
	if (ret < 0) {
		const char *why = tun_strerror(ret);
		log_err("cannot create TUN device '%s': %s", name_hint ? name_hint : "", why ? why : strerror(-ret));
		return ret;
	}
	d->tun_buf_cap = WG_HEADROOM + d->cfg->mtu + WG_TAILROOM;
	d->tun_buf = malloc(d->tun_buf_cap);
	if (!d->tun_buf)
		return -ENOMEM;
	if ((ret = netlink_open(&d->nl)) < 0) {
		log_err("cannot open rtnetlink: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static int log_netlink_error(struct roamd *d, int ret, const char *what, const struct ip_prefix *p)
{
	char text[IP_PREFIX_STRLEN] = "";
	const char *kernel = netlink_last_error(d->nl);
	if (p)
		ip_prefix_format(p, text, sizeof(text));
	log_err("%s %s on %s: %s%s%s", what, text, d->ifname, strerror(-ret), kernel ? ": " : "", kernel ? kernel : "");
	return ret;
}

/* A route for every allowed prefix of every peer, as wg-quick does. A
 * default route would swallow the underlay's own traffic, so /0 prefixes
 * are only used for cryptokey routing and left to the administrator. */
static int add_peer_routes(struct roamd *d)
{
	for (size_t i = 0; i < d->cfg->peers_count; i++) {
		const struct config_peer *peer = &d->cfg->peers[i];
		for (size_t j = 0; j < peer->allowed_ips_count; j++) {
			const struct ip_prefix *p = &peer->allowed_ips[j];
			if (p->cidr == 0) {
				log_warn("not routing %s via %s: a default route needs policy routing", 
					 p->family == AF_INET ? "0.0.0.0/0" : "::/0", d->ifname);
				continue;
			}
			int ret = netlink_route_add(d->nl, d->ifname, p->family, p->addr, p->cidr);
			if (ret < 0)
				return log_netlink_error(d, ret, "cannot add route", p);
		}
	}
	return 0;
}

int roamd_iface_configure(struct roamd *d)
{
	int ret = netlink_link_set(d->nl, d->ifname, true, d->cfg->mtu);
	if (ret < 0)
		return log_netlink_error(d, ret, "cannot bring up", NULL);
	for (size_t i = 0; i < d->cfg->addresses_count; i++) {
		const struct ip_prefix *a = &d->cfg->addresses[i];
		if ((ret = netlink_addr_add(d->nl, d->ifname, a->family, a->addr, a->cidr)) < 0)
			return log_netlink_error(d, ret, "cannot add address", a);
	}
	return add_peer_routes(d);
}

void roamd_iface_close(struct roamd *d)
{
	netlink_close(d->nl);
	d->nl = NULL;
	if (d->tun_fd >= 0)
		close(d->tun_fd);
	d->tun_fd = -1;
	free(d->tun_buf);
	d->tun_buf = NULL;
}
