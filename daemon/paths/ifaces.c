/* Every interface: the sockets and paths of multihoming (ifaces.h). */
#include "daemon/paths/ifaces.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord/netcheck.h"
#include "crypto/crypto.h"
#include "daemon/paths/birthday_roamd.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "net/addrwatch.h"
#include "util/log.h"

struct paths_ifaces {
	struct roamd *d;
	struct addrwatch *watch;
	struct ev_io io;
	struct ev_timer nc_timer; /* the interfaces' NETCHECKs */
	bool single; /* ROAMD_SINGLE_PATH=1: the default route only */
	struct paths_iface ifs[PATHS_IFACES_MAX];
};

struct scan_entry {
	char name[IF_NAMESIZE];
	bool v4, v6;
};

/* An interface's NETCHECK: at once, then after 1, 2, 4 ... s while
 * unanswered, every 25 s once answered (a new mapping after a NAT restart is
 * learned then; the paths' probes keep the mapping itself alive). */
#define IFACE_NC_FIRST_NS EV_NSEC_PER_SEC
#define IFACE_NC_REFRESH_NS (25 * EV_NSEC_PER_SEC)

/* Interface paths leave this many of a peer's path slots free: the view's
 * candidates (the relay above all) and learned ones come first. */
#define PATHS_IFACE_SLOTS_KEPT 4

static struct paths_ifaces *ifaces_of(const struct roamd *d)
{
	return paths_of(d) ? paths_of(d)->ifaces : NULL;
}

const char *paths_iface_class_name(enum paths_iface_class c)
{
	switch (c) {
	case PATHS_IFACE_WIFI:
		return "wifi";
	case PATHS_IFACE_CELLULAR:
		return "cellular";
	default:
		return "wired";
	}
}

static bool usable_addr(const struct sockaddr *sa, bool *v4, bool *v6)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
		if ((a >> 24) == 127 || (a >> 16) == 0xa9fe) /* loopback, link-local */
			return false;
		*v4 = true;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a))
			return false;
		*v6 = true;
		return true;
	}
	return false;
}

/* Interfaces up, with carrier and a usable address, not our TUN. */
static unsigned scan(const struct roamd *d, struct scan_entry out[PATHS_IFACES_MAX])
{
	struct ifaddrs *all, *ifa;
	unsigned n = 0;
	if (getifaddrs(&all) < 0)
		return 0;
	for (ifa = all; ifa; ifa = ifa->ifa_next) {
		unsigned i;
		bool v4 = false, v6 = false;
		if (!ifa->ifa_addr || (ifa->ifa_flags & IFF_LOOPBACK) || !(ifa->ifa_flags & IFF_UP) ||
		    !(ifa->ifa_flags & IFF_RUNNING) || strcmp(ifa->ifa_name, d->ifname) == 0 ||
		    strlen(ifa->ifa_name) >= IF_NAMESIZE || !usable_addr(ifa->ifa_addr, &v4, &v6))
			continue;
		for (i = 0; i < n && strcmp(out[i].name, ifa->ifa_name) != 0; i++)
			;
		if (i == n) {
			if (n == PATHS_IFACES_MAX)
				continue; /* the cap: more uplinks than any device has */
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(out[n].name, ifa->ifa_name, strlen(ifa->ifa_name) + 1); /* < IF_NAMESIZE: checked */
			n++;
		}
		out[i].v4 |= v4;
		out[i].v6 |= v6;
	}
	freeifaddrs(all);
	return n;
}

static enum paths_iface_class iface_class(const char *name)
{
	char path[64 + IF_NAMESIZE], line[128];
	enum paths_iface_class c = PATHS_IFACE_WIRED;
	if (snprintf(path, sizeof(path), "/sys/class/net/%s/wireless", name) >= (int)sizeof(path))
		return c;
	if (access(path, F_OK) == 0)
		return PATHS_IFACE_WIFI;
	if (snprintf(path, sizeof(path), "/sys/class/net/%s/uevent", name) >= (int)sizeof(path))
		return c;
	FILE *f = fopen(path, "re");
	if (!f)
		return c;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "DEVTYPE=wwan", 12) == 0)
			c = PATHS_IFACE_CELLULAR;
	fclose(f);
	return c;
}

/* The class's cost and metering, unless `roam set` says otherwise. */
static void iface_apply_settings(const struct roamd *d, struct paths_iface *f)
{
	const struct node_iface_setting *s = node_settings_iface(&d->host.settings, f->name);
	f->cost_us = f->cls == PATHS_IFACE_CELLULAR ? 30000u : f->cls == PATHS_IFACE_WIFI ? 2000u : 0u;
	f->metered = f->cls == PATHS_IFACE_CELLULAR;
	if (s && s->cost_ms != NODE_SETTINGS_COST_CLASS)
		f->cost_us = (uint32_t)s->cost_ms * 1000u;
	if (s && s->metered)
		f->metered = true;
}

static const struct paths_iface *iface_by_slot(const struct paths_ifaces *pi, int slot)
{
	for (unsigned i = 0; pi && slot >= 0 && i < PATHS_IFACES_MAX; i++)
		if (pi->ifs[i].open && pi->ifs[i].slot == slot)
			return &pi->ifs[i];
	return NULL;
}

const struct paths_iface *paths_iface_of(const struct roamd *d, const struct path *p)
{
	struct endpoint ep;
	if (paths_path_endpoint(p, &ep) < 0 || endpoint_transport(&ep) != EP_UDP_AUX)
		return NULL;
	return iface_by_slot(ifaces_of(d), endpoint_aux_slot(&ep));
}

static bool family_ok(const struct paths_iface *f, const struct sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? f->v6 : f->v4; /* endpoints hold v4 as AF_INET */
}

/* Interface paths whose interface or direct candidate went: removed. */
static void sync_remove(struct paths_peer *pp, const struct paths_ifaces *pi, uint64_t now)
{
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &pp->set.paths[i];
		struct endpoint ep, base;
		struct sockaddr_any a;
		if (!p->in_use || !(pp->origin[i] & PATHS_FROM_IFACE) || paths_path_endpoint(p, &ep) < 0)
			continue;
		bool keep = iface_by_slot(pi, endpoint_aux_slot(&ep)) && endpoint_to_sockaddr(&ep, &a) == 0;
		if (keep) {
			endpoint_from_sockaddr(&base, &a);
			keep = paths_find_endpoint(&pp->set, &base) != NULL;
		}
		if (!keep) {
			pp->origin[i] = 0;
			path_remove(&pp->set, p->id, now);
		}
	}
}

void paths_ifaces_sync_peer(struct paths_peer *pp, uint64_t now)
{
	const struct paths_ifaces *pi = ifaces_of(pp->d);
	unsigned open = 0;
	for (unsigned k = 0; pi && k < PATHS_IFACES_MAX; k++)
		open += pi->ifs[k].open;
	sync_remove(pp, pi, now);
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &pp->set.paths[i];
		struct endpoint ep;
		struct sockaddr_any a;
		if (!p->in_use || paths_path_endpoint(p, &ep) < 0 || endpoint_transport(&ep) != EP_UDP ||
		    endpoint_to_sockaddr(&ep, &a) < 0)
			continue;
		uint32_t base_id = p->id;
		/* The default route's path stays as a fallback, behind the bound ones. */
		path_set_cost(&pp->set, base_id, open ? PATHS_IFACE_DEFAULT_ROUTE_COST_US : 0, now);
		for (unsigned k = 0; open && k < PATHS_IFACES_MAX; k++) {
			const struct paths_iface *f = &pi->ifs[k];
			struct endpoint via;
			const struct path *q;
			uint32_t id;
			if (!f->open || !family_ok(f, &a))
				continue;
			endpoint_aux(&via, f->slot, &a);
			if ((q = paths_find_endpoint(&pp->set, &via))) {
				pp->origin[q - pp->set.paths] |= PATHS_FROM_IFACE;
				path_set_cost(&pp->set, q->id, f->cost_us, now);
				path_set_metered(&pp->set, q->id, f->metered, now);
				path_set_diversity(&pp->set, q->id, (uint8_t)(f->slot + 1), now);
			} else if (path_count(&pp->set) + PATHS_IFACE_SLOTS_KEPT < PATH_MAX_PER_PEER &&
				   path_add(&pp->set, PATH_TRANSPORT_UDP_DIRECT, via.bytes, via.len, f->cost_us, now, &id) == 0) {
				pp->origin[path_get(&pp->set, id) - pp->set.paths] = PATHS_FROM_IFACE;
				path_set_metered(&pp->set, id, f->metered, now);
				path_set_diversity(&pp->set, id, (uint8_t)(f->slot + 1), now);
			}
		}
	}
	paths_touch(pp);
}

static void iface_netcheck(struct paths_ifaces *pi, struct paths_iface *f, uint64_t now)
{
	const struct sockaddr_any *server = &pi->d->host.server_udp;
	uint8_t msg[sizeof(struct coord_msg_netcheck)];
	if (!server->len || !roamd_aux_sockets(pi->d))
		return;
	crypto_random(f->nc_txid, sizeof(f->nc_txid));
	if (coord_netcheck_build(msg, f->nc_txid, server) < 0)
		return;
	f->nc_sent_ns = now;
	/* Unanswered: the next one waits twice as long, up to the refresh. */
	f->nc_interval_ns = f->nc_interval_ns ? f->nc_interval_ns * 2 : IFACE_NC_FIRST_NS;
	if (f->nc_interval_ns > IFACE_NC_REFRESH_NS)
		f->nc_interval_ns = IFACE_NC_REFRESH_NS;
	(void)aux_socket_send(roamd_aux_sockets(pi->d), f->slot, server, msg, sizeof(msg));
}

/* Wakes when an interface's next NETCHECK is due; every second while one
 * waits for the server's address (the agent's join), so it goes out then. */
static void on_nc_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct paths_ifaces *pi = t->data;
	uint64_t now = ev_now(loop), next = UINT64_MAX;
	for (unsigned i = 0; i < PATHS_IFACES_MAX; i++) {
		struct paths_iface *f = &pi->ifs[i];
		if (!f->open)
			continue;
		if (!f->nc_sent_ns || now - f->nc_sent_ns >= f->nc_interval_ns)
			iface_netcheck(pi, f, now);
		uint64_t due = f->nc_sent_ns + f->nc_interval_ns;
		if (!f->nc_sent_ns || due <= now) /* none sent now: no server address yet, or gone */
			due = now + EV_NSEC_PER_SEC;
		if (due < next)
			next = due;
	}
	if (next != UINT64_MAX)
		(void)ev_timer_start(loop, t, next);
}

void paths_ifaces_netcheck_input(struct roamd *d, uint8_t slot, const uint8_t *buf, size_t len,
				 const struct sockaddr_any *from, uint64_t now)
{
	struct paths_ifaces *pi = ifaces_of(d);
	struct paths_iface *f = NULL;
	struct coord_netcheck_ack ack;
	char text[SOCKADDR_ANY_STRLEN];
	for (unsigned i = 0; pi && i < PATHS_IFACES_MAX && !f; i++)
		if (pi->ifs[i].open && pi->ifs[i].slot == slot)
			f = &pi->ifs[i];
	if (!f || !f->nc_sent_ns || !sockaddr_any_equal(from, &d->host.server_udp) ||
	    coord_netcheck_ack_parse(buf, len, &ack) < 0 || memcmp(ack.txid, f->nc_txid, sizeof(ack.txid)) != 0)
		return; /* not an answer to this interface's latest */
	f->nc_interval_ns = IFACE_NC_REFRESH_NS;
	if (sockaddr_any_equal(&ack.observed, &f->mapped))
		return;
	f->mapped = ack.observed;
	sockaddr_any_format(&f->mapped, text, sizeof(text));
	log_info("interface %s: the server sees it at %s: peers get it with our CALLMEs", f->name, text);
	/* Peers behind filtering NATs learn it now, and send there. */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p))
		if (paths_peer_of(p) && paths_peer_of(p)->info.online)
			paths_callme_maybe(paths_peer_of(p), now);
}

size_t paths_ifaces_own_candidates(const struct roamd *d, struct sockaddr_any *out, size_t n, size_t max)
{
	const struct paths_ifaces *pi = ifaces_of(d);
	for (unsigned i = 0; pi && i < PATHS_IFACES_MAX && n < max; i++) {
		const struct paths_iface *f = &pi->ifs[i];
		size_t k;
		if (!f->open || !f->mapped.len)
			continue;
		for (k = 0; k < n && !sockaddr_any_equal(&out[k], &f->mapped); k++)
			;
		if (k == n)
			out[n++] = f->mapped;
	}
	return n;
}

/* A NETCHECK now (a new interface, or a new address on it: a new mapping),
 * retried in a second whatever the others wait for. At most one a second. */
static void iface_netcheck_now(struct paths_ifaces *pi, struct paths_iface *f)
{
	uint64_t now = ev_now(pi->d->loop);
	if (f->nc_sent_ns && now - f->nc_sent_ns < EV_NSEC_PER_SEC)
		return;
	f->nc_interval_ns = 0;
	iface_netcheck(pi, f, now);
	if (!ev_timer_pending(&pi->nc_timer) || ev_timer_deadline(&pi->nc_timer) > now + EV_NSEC_PER_SEC) {
		ev_timer_stop(pi->d->loop, &pi->nc_timer);
		(void)ev_timer_start(pi->d->loop, &pi->nc_timer, now + EV_NSEC_PER_SEC);
	}
}

static void iface_close(struct paths_ifaces *pi, struct paths_iface *f)
{
	struct roamd *d = pi->d;
	log_info("interface %s: gone (no carrier or address): its paths go", f->name);
	f->open = false; /* first: sync_remove then drops its paths */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p))
		if (paths_peer_of(p))
			sync_remove(paths_peer_of(p), pi, ev_now(d->loop));
	aux_socket_release(roamd_aux_sockets(d), f->slot);
}

static void iface_open(struct paths_ifaces *pi, const struct scan_entry *e)
{
	struct aux_sockets *aux = roamd_aux_sockets(pi->d);
	struct paths_iface *f = NULL;
	uint8_t slot;
	int ret;
	for (unsigned i = 0; i < PATHS_IFACES_MAX && !f; i++)
		if (!pi->ifs[i].open)
			f = &pi->ifs[i];
	if (!f || !aux)
		return;
	if ((ret = aux_socket_open_dev(aux, e->name, &slot)) < 0) {
		log_warn("interface %s: no socket bound to it: %s", e->name, strerror(-ret));
		return;
	}
	memset(f, 0, sizeof(*f));
	f->open = true;
	memcpy(f->name, e->name, sizeof(f->name)); /* NUL-terminated: scan() checked */
	f->slot = slot;
	f->v4 = e->v4;
	f->v6 = e->v6;
	f->cls = iface_class(e->name);
	iface_apply_settings(pi->d, f);
	log_info("interface %s (%s, cost %u ms%s): paths through it", f->name, paths_iface_class_name(f->cls),
		 f->cost_us / 1000, f->metered ? ", metered" : "");
	iface_netcheck_now(pi, f);
}

void paths_ifaces_refresh(struct roamd *d)
{
	struct paths_ifaces *pi = ifaces_of(d);
	struct scan_entry found[PATHS_IFACES_MAX];
	if (!pi)
		return;
	unsigned n = scan(d, found);
	/* Multihoming starts with a second uplink; down to one again, that
	 * one keeps its socket (its paths carry the data now: no reason to
	 * move them back to the default route's). */
	bool multi = !pi->single && n >= 2;
	for (unsigned i = 0; i < PATHS_IFACES_MAX; i++) {
		struct paths_iface *f = &pi->ifs[i];
		unsigned k;
		if (!f->open)
			continue;
		for (k = 0; k < n && strcmp(found[k].name, f->name) != 0; k++)
			;
		if (pi->single || k == n) {
			iface_close(pi, f);
		} else {
			iface_apply_settings(d, f);
			f->v4 = found[k].v4;
			f->v6 = found[k].v6;
			found[k].name[0] = '\0'; /* open already */
			iface_netcheck_now(pi, f); /* a new address here has a new mapping */
		}
	}
	for (unsigned k = 0; multi && k < n; k++)
		if (found[k].name[0])
			iface_open(pi, &found[k]);
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p))
		if (paths_peer_of(p))
			paths_ifaces_sync_peer(paths_peer_of(p), ev_now(d->loop));
}

/* Our own watch, with no settling delay: a lost carrier hands over now. */
static void on_link_event(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct paths_ifaces *pi = io->data;
	bool changed = false;
	(void)loop;
	(void)revents;
	if (addrwatch_drain(pi->watch, (int)if_nametoindex(pi->d->ifname), &changed) < 0)
		changed = true; /* events lost: look anyway */
	if (changed) {
		paths_ifaces_refresh(pi->d);
		roamd_paths_rearm(pi->d);
	}
}

int paths_ifaces_start(struct roamd *d)
{
	struct roamd_paths *ps = paths_of(d);
	struct paths_ifaces *pi = calloc(1, sizeof(*pi));
	int ret;
	if (!pi)
		return -ENOMEM;
	pi->d = d;
	pi->single = getenv("ROAMD_SINGLE_PATH") && strcmp(getenv("ROAMD_SINGLE_PATH"), "1") == 0;
	if ((ret = addrwatch_open(&pi->watch)) < 0) {
		free(pi);
		return ret;
	}
	ev_io_init(&pi->io, addrwatch_fd(pi->watch), EPOLLIN, on_link_event, pi);
	ev_timer_init(&pi->nc_timer, on_nc_timer, pi);
	if ((ret = ev_io_start(d->loop, &pi->io)) < 0) {
		addrwatch_close(pi->watch);
		free(pi);
		return ret;
	}
	ps->ifaces = pi;
	paths_ifaces_refresh(d);
	return 0;
}

void paths_ifaces_stop(struct roamd *d)
{
	struct paths_ifaces *pi = ifaces_of(d);
	if (!pi)
		return;
	ev_io_stop(d->loop, &pi->io);
	ev_timer_stop(d->loop, &pi->nc_timer);
	addrwatch_close(pi->watch);
	for (unsigned i = 0; i < PATHS_IFACES_MAX; i++)
		if (pi->ifs[i].open && roamd_aux_sockets(d))
			aux_socket_release(roamd_aux_sockets(d), pi->ifs[i].slot);
	free(pi);
	paths_of(d)->ifaces = NULL;
}

void paths_ifaces_status_json(const struct roamd *d, cJSON *root)
{
	const struct paths_ifaces *pi = ifaces_of(d);
	if (!pi)
		return;
	cJSON *arr = cJSON_AddArrayToObject(root, "interfaces");
	char text[SOCKADDR_ANY_STRLEN];
	for (unsigned i = 0; i < PATHS_IFACES_MAX; i++) {
		const struct paths_iface *f = &pi->ifs[i];
		if (!f->open)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", f->name);
		cJSON_AddStringToObject(o, "class", paths_iface_class_name(f->cls));
		cJSON_AddNumberToObject(o, "cost_ms", f->cost_us / 1000);
		cJSON_AddBoolToObject(o, "metered", f->metered);
		if (f->mapped.len && sockaddr_any_format(&f->mapped, text, sizeof(text)) == 0)
			cJSON_AddStringToObject(o, "mapped", text);
		cJSON_AddItemToArray(arr, o);
	}
}
