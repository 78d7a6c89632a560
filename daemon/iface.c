/* The TUN device and its configuration over rtnetlink. Closing the TUN fd
 * deletes the interface, and with it every address and route we added. */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/roamd.h"
#include "net/tun.h"
#include "util/log.h"

static void on_gro_emit(void *ctx, const uint8_t *vnet_pkt, size_t len)
{
	struct roamd *d = ctx;
	if (write(d->tun_fd, vnet_pkt, len) != (ssize_t)len)
		d->stats.tun_write_errors++;
}

/* TSO on read and GRO on write save a trip through the kernel's TCP stack
 * per segment on both ends (docs/performance.md). Plain TUN if the kernel
 * refuses, or with ROAMD_NO_OFFLOAD=1 set (for comparisons). */
static int open_tun(struct roamd *d, const char *name_hint)
{
	unsigned offloads = 0;
	if (!getenv("ROAMD_NO_OFFLOAD") &&
	    tun_open_offload(name_hint, TUN_OPEN_VNET_HDR, d->ifname, &d->tun_fd, &offloads) == 0) {
		if (offloads & TUN_F_TSO4) {
			d->tun_read_buf = malloc(TUN_OFFLOAD_READ_MAX);
			d->tun_gro = calloc(1, sizeof(*d->tun_gro));
			if (!d->tun_read_buf || !d->tun_gro)
				return -ENOMEM;
			tun_gro_init(d->tun_gro, on_gro_emit, d);
			d->tun_vnet = true;
			log_debug("%s: TUN offloads on (TSO, GRO)", d->ifname);
			return 0;
		}
		close(d->tun_fd); /* the header without TSO buys nothing */
		d->tun_fd = -1;
	}
	return tun_open(name_hint, d->ifname, &d->tun_fd);
}

int roamd_iface_open(struct roamd *d, const char *name_hint)
{
	int ret = open_tun(d, name_hint);
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
	if (d->cfg->table == CONFIG_TABLE_OFF)
		return 0; /* Table = off: the administrator routes */
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
	free(d->tun_read_buf);
	d->tun_read_buf = NULL;
	free(d->tun_gro);
	d->tun_gro = NULL;
}
