/* Static mode: the configuration file's peers, routes and DNS, applied at
 * start and re-applied as differences on SIGHUP, as `wg syncconf` does: a
 * peer whose section did not change is not touched, so its session and
 * traffic carry on; one that changed gets only the changed fields. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "daemon/roamd.h"
#include "util/log.h"

/* A configuration's peers sorted by public key: diffing two files of up to
 * CONFIG_PEERS_MAX peers stays O(n log n). */
struct peer_index {
	const struct config_peer **sorted;
	size_t count;
};

struct sync_counts {
	size_t added, removed, changed, unchanged;
};

static int cmp_peer(const void *a, const void *b)
{
	const struct config_peer *pa = *(const struct config_peer *const *)a;
	const struct config_peer *pb = *(const struct config_peer *const *)b;
	return memcmp(pa->public_key, pb->public_key, CONFIG_KEY_LEN);
}

static int cmp_key_peer(const void *key, const void *elem)
{
	return memcmp(key, (*(const struct config_peer *const *)elem)->public_key, CONFIG_KEY_LEN);
}

static int peer_index_build(struct peer_index *ix, const struct roam_config *cfg)
{
	ix->sorted = NULL;
	ix->count = cfg ? cfg->peers_count : 0;
	if (ix->count == 0)
		return 0;
	ix->sorted = malloc(ix->count * sizeof(*ix->sorted));
	if (!ix->sorted)
		return -ENOMEM;
	for (size_t i = 0; i < ix->count; i++)
		ix->sorted[i] = &cfg->peers[i];
	qsort(ix->sorted, ix->count, sizeof(*ix->sorted), cmp_peer);
	return 0;
}

static const struct config_peer *peer_index_find(const struct peer_index *ix, const uint8_t key[CONFIG_KEY_LEN])
{
	const struct config_peer *const *hit;

	if (ix->count == 0)
		return NULL;
	hit = bsearch(key, ix->sorted, ix->count, sizeof(*ix->sorted), cmp_key_peer);
	return hit ? *hit : NULL;
}

/* The first 8 base64 characters of a key, as `wg` users know them. */
static const char *key_name(const uint8_t key[CONFIG_KEY_LEN], char out[CRYPTO_KEY_B64_LEN + 1])
{
	crypto_key_to_base64(out, key);
	out[8] = '\0';
	return out;
}

static bool same_prefix(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->cidr == b->cidr && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static bool same_allowed_ips(const struct config_peer *a, const struct config_peer *b)
{
	if (a->allowed_ips_count != b->allowed_ips_count)
		return false;
	for (size_t i = 0; i < a->allowed_ips_count; i++)
		if (!same_prefix(&a->allowed_ips[i], &b->allowed_ips[i]))
			return false;
	return true;
}

static bool same_psk(const struct config_peer *a, const struct config_peer *b)
{
	return a->has_preshared_key == b->has_preshared_key &&
	       crypto_equal(a->preshared_key, b->preshared_key, CONFIG_KEY_LEN);
}

static void peer_set_endpoint(struct wg_peer *peer, const struct config_peer *cp)
{
	struct endpoint ep;

	endpoint_from_sockaddr(&ep, &cp->endpoint);
	wg_peer_set_endpoint(peer, &ep);
}

static int peer_set_allowed_ips(struct wg_peer *peer, const struct config_peer *cp)
{
	int ret;

	wg_peer_clear_allowed(peer);
	for (size_t j = 0; j < cp->allowed_ips_count; j++) {
		const struct ip_prefix *p = &cp->allowed_ips[j];
		if ((ret = wg_peer_allow(peer, p->family, p->addr, p->cidr)) < 0)
			return ret;
	}
	return 0;
}

/* Only the fields that differ from old (NULL: all of them), so that an
 * unchanged peer's session, endpoint (it may have roamed) and timers stay. */
static int peer_update(struct wg_peer *peer, const struct config_peer *old, const struct config_peer *cp,
		       uint64_t now, bool *changed)
{
	static const uint8_t no_psk[CONFIG_KEY_LEN];
	int ret;

	*changed = !old;
	if (!old || !same_psk(old, cp)) {
		wg_peer_set_preshared_key(peer, cp->has_preshared_key ? cp->preshared_key : no_psk);
		*changed = true;
	}
	/* An endpoint dropped from the file keeps the one in use, as in wg(8). */
	if (cp->has_endpoint && (!old || !old->has_endpoint || !sockaddr_any_equal(&old->endpoint, &cp->endpoint))) {
		peer_set_endpoint(peer, cp);
		*changed = true;
	}
	if (!old || !same_allowed_ips(old, cp)) {
		if ((ret = peer_set_allowed_ips(peer, cp)) < 0)
			return ret;
		*changed = true;
	}
	if (!old || old->persistent_keepalive != cp->persistent_keepalive) {
		if (old || cp->persistent_keepalive)
			wg_peer_set_persistent_keepalive(peer, cp->persistent_keepalive, now);
		*changed = true;
	}
	return 0;
}

/* A file whose peer has our own public key cannot apply at all: refuse it
 * before anything changes. */
static int check_applicable(const struct roam_config *cfg)
{
	uint8_t pub[CONFIG_KEY_LEN];
	char name[CRYPTO_KEY_B64_LEN + 1];

	if (x25519_public(pub, cfg->private_key) < 0) {
		log_err("the private key is not usable");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->peers_count; i++) {
		if (memcmp(cfg->peers[i].public_key, pub, CONFIG_KEY_LEN) == 0) {
			log_err("[Peer] at line %u (%s): its PublicKey is our own", cfg->peers[i].line,
				key_name(pub, name));
			return -EINVAL;
		}
	}
	return 0;
}

static void remove_dropped_peers(struct roamd *d, const struct peer_index *new_ix, struct sync_counts *n)
{
	char name[CRYPTO_KEY_B64_LEN + 1];
	struct wg_peer *peer = wg_device_first_peer(d->wg), *next;

	for (; peer; peer = next) {
		next = wg_device_next_peer(peer);
		if (peer_index_find(new_ix, peer->public_key))
			continue;
		log_info("peer %s: removed", key_name(peer->public_key, name));
		wg_peer_remove(peer);
		n->removed++;
	}
}

static int sync_peers(struct roamd *d, const struct roam_config *old, const struct roam_config *new_cfg,
		      struct sync_counts *n)
{
	char name[CRYPTO_KEY_B64_LEN + 1];
	uint64_t now = ev_now(d->loop);
	struct peer_index old_ix, new_ix;
	int ret, first_error = 0;

	if ((ret = peer_index_build(&old_ix, old)) < 0)
		return ret;
	if ((ret = peer_index_build(&new_ix, new_cfg)) < 0) {
		free(old_ix.sorted);
		return ret;
	}
	remove_dropped_peers(d, &new_ix, n);
	if (old && memcmp(old->private_key, new_cfg->private_key, CONFIG_KEY_LEN) != 0) {
		/* Sessions were derived from the old key: all restart. */
		if ((ret = wg_device_set_private_key(d->wg, new_cfg->private_key)) < 0)
			first_error = ret;
		else
			log_info("private key changed: new sessions with every peer");
	}
	for (size_t i = 0; i < new_cfg->peers_count; i++) {
		const struct config_peer *cp = &new_cfg->peers[i];
		struct wg_peer *peer = wg_peer_lookup(d->wg, cp->public_key);
		bool is_new = !peer, changed;

		if (is_new && (ret = wg_peer_add(d->wg, cp->public_key, &peer)) < 0) {
			log_err("[Peer] at line %u: %s", cp->line, strerror(-ret));
			first_error = first_error ? first_error : ret;
			continue;
		}
		ret = peer_update(peer, is_new ? NULL : peer_index_find(&old_ix, cp->public_key), cp, now, &changed);
		if (ret < 0) {
			log_err("[Peer] at line %u: %s", cp->line, strerror(-ret));
			first_error = first_error ? first_error : ret;
		}
		if (old && (is_new || changed))
			log_info("peer %s: %s", key_name(cp->public_key, name), is_new ? "added" : "updated");
		*(is_new ? &n->added : changed ? &n->changed : &n->unchanged) += 1;
	}
	free(old_ix.sorted);
	free(new_ix.sorted);
	return first_error;
}

/* ---- routes ---- */

static int cmp_prefix(const void *a, const void *b)
{
	const struct ip_prefix *pa = a, *pb = b;
	if (pa->family != pb->family)
		return pa->family < pb->family ? -1 : 1;
	if (pa->cidr != pb->cidr)
		return pa->cidr < pb->cidr ? -1 : 1;
	return memcmp(pa->addr, pb->addr, sizeof(pa->addr));
}

/* Every routed prefix of a file, sorted; /0 is never routed (iface.c). */
static int collect_routes(const struct roam_config *cfg, struct ip_prefix **out, size_t *count)
{
	size_t total = 0, n = 0, unique = 0;
	struct ip_prefix *all;

	for (size_t i = 0; i < cfg->peers_count; i++)
		total += cfg->peers[i].allowed_ips_count;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->peers_count; i++)
		for (size_t j = 0; j < cfg->peers[i].allowed_ips_count; j++)
			if (cfg->peers[i].allowed_ips[j].cidr != 0)
				all[n++] = cfg->peers[i].allowed_ips[j];
	qsort(all, n, sizeof(*all), cmp_prefix);
	/* One route per prefix, even when two peers list it. */
	for (size_t i = 0; i < n; i++)
		if (unique == 0 || cmp_prefix(&all[i], &all[unique - 1]) != 0)
			all[unique++] = all[i];
	*out = all;
	*count = unique;
	return 0;
}

static void route_change(struct roamd *d, const struct ip_prefix *p, bool add)
{
	char text[IP_PREFIX_STRLEN] = "";
	int ret = add ? netlink_route_add(d->nl, d->ifname, p->family, p->addr, p->cidr)
		      : netlink_route_del(d->nl, d->ifname, p->family, p->addr, p->cidr);

	ip_prefix_format(p, text, sizeof(text));
	if (ret < 0)
		log_err("cannot %s route %s on %s: %s", add ? "add" : "remove", text, d->ifname, strerror(-ret));
	else
		log_debug("%s route %s via %s", add ? "added" : "removed", text, d->ifname);
}

/* Routes of prefixes only the old file had go, those only the new one has
 * come: a merge of the two sorted lists. */
static int sync_routes(struct roamd *d, const struct roam_config *old, const struct roam_config *new_cfg)
{
	struct ip_prefix *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int ret;

	if (old->table == CONFIG_TABLE_OFF)
		return 0; /* a Table change needs a restart */
	if ((ret = collect_routes(old, &a, &na)) < 0 || (ret = collect_routes(new_cfg, &b, &nb)) < 0)
		goto out;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : cmp_prefix(&a[i], &b[j]);
		if (c < 0)
			route_change(d, &a[i++], false);
		else if (c > 0)
			route_change(d, &b[j++], true);
		else
			i++, j++;
	}
out:
	free(a);
	free(b);
	return ret;
}

/* ---- interface settings ---- */

static bool same_dns(const struct roam_config *a, const struct roam_config *b)
{
	return a->dns_servers_count == b->dns_servers_count && a->dns_search_count == b->dns_search_count &&
	       memcmp(a->dns_servers, b->dns_servers, a->dns_servers_count * sizeof(a->dns_servers[0])) == 0 &&
	       memcmp(a->dns_search, b->dns_search, a->dns_search_count * sizeof(a->dns_search[0])) == 0;
}

static bool same_addresses(const struct roam_config *a, const struct roam_config *b)
{
	if (a->addresses_count != b->addresses_count)
		return false;
	for (size_t i = 0; i < a->addresses_count; i++)
		if (!same_prefix(&a->addresses[i], &b->addresses[i]))
			return false;
	return true;
}

/* The TUN buffers, socket and interface addresses were sized and bound at
 * start; say what a changed file needs instead of half-applying it. */
static void report_restart_needed(const struct roam_config *old, const struct roam_config *new_cfg)
{
	if (old->listen_port != new_cfg->listen_port)
		log_warn("reload: ListenPort changed (%u -> %u): restart roamd to apply it", old->listen_port,
			 new_cfg->listen_port);
	if (old->mtu != new_cfg->mtu)
		log_warn("reload: MTU changed (%u -> %u): restart roamd to apply it", old->mtu, new_cfg->mtu);
	if (!same_addresses(old, new_cfg))
		log_warn("reload: Address changed: restart roamd to apply it");
	if (old->table != new_cfg->table)
		log_warn("reload: Table changed: restart roamd to apply it");
}

int roamd_static_apply(struct roamd *d, const struct roam_config *new_cfg)
{
	const struct roam_config *old = d->cfg == new_cfg ? NULL : d->cfg;
	struct sync_counts n = { 0 };
	int ret;

	if ((ret = check_applicable(new_cfg)) < 0)
		return ret;
	ret = sync_peers(d, old, new_cfg, &n);
	if (old) {
		int r = sync_routes(d, old, new_cfg);
		ret = ret ? ret : r;
		report_restart_needed(old, new_cfg);
	}
	if (!old || !same_dns(old, new_cfg)) {
		roamd_dns_clear(d->ifname, &d->static_mode.dns);
		roamd_dns_set(d->ifname, new_cfg, &d->static_mode.dns); /* a failure is only a warning */
	}
	if (old)
		log_info("reload: %zu peers added, %zu removed, %zu changed, %zu unchanged", n.added, n.removed,
			 n.changed, n.unchanged);
	return ret;
}

/* What the reload could not apply stays as it runs, so d->cfg tells the
 * truth (status, later reloads) and the next reload reports it again. */
static void keep_running_settings(struct roam_config *running, struct roam_config *loaded)
{
	struct ip_prefix *addresses = loaded->addresses;
	size_t addresses_count = loaded->addresses_count;

	loaded->listen_port = running->listen_port;
	loaded->mtu = running->mtu;
	loaded->table = running->table;
	loaded->addresses = running->addresses;
	loaded->addresses_count = running->addresses_count;
	running->addresses = addresses;
	running->addresses_count = addresses_count;
}

static void on_sighup(struct ev_loop *loop, struct ev_signal *s)
{
	struct roamd *d = s->data;
	const char *path = d->static_mode.config_path;
	struct roam_config *cfg = NULL;
	struct config_error cerr;
	char msg[CONFIG_ERROR_STRLEN];
	int ret;

	(void)loop;
	log_info("SIGHUP: reloading %s", path);
	/* Host names in Endpoint are resolved here, blocking the loop briefly,
	 * as wg-quick's syncconf would. */
	if ((ret = config_load_file(path, &cfg, &cerr)) < 0) {
		config_error_format(&cerr, msg, sizeof(msg));
		log_err("reload: %s; keeping the running configuration", msg);
		return;
	}
	ret = roamd_static_apply(d, cfg);
	if (ret == -EINVAL) {
		log_err("reload: %s not applied; keeping the running configuration", path);
		config_free(cfg);
		return;
	}
	if (ret < 0)
		log_err("reload: %s applied only in part: %s", path, strerror(-ret));
	keep_running_settings(d->cfg, cfg);
	config_free(d->cfg);
	d->cfg = cfg;
	roamd_dataplane_flush(d);
	roamd_wg_timer_rearm(d);
}

int roamd_static_start(struct roamd *d, const char *config_path)
{
	struct roamd_static *sm = &d->static_mode;
	int ret;

	if (d->is_managed)
		return 0;
	sm->config_path = config_path;
	if ((ret = roamd_static_apply(d, d->cfg)) < 0)
		return ret;
	ev_signal_init(&sm->sighup, on_sighup, d);
	if ((ret = ev_signal_start(d->loop, &sm->sighup, SIGHUP)) < 0)
		return ret;
	sm->sighup_started = true;
	return 0;
}

void roamd_static_stop(struct roamd *d)
{
	struct roamd_static *sm = &d->static_mode;

	if (sm->sighup_started)
		ev_signal_stop(d->loop, &sm->sighup);
	sm->sighup_started = false;
	roamd_dns_clear(d->ifname, &sm->dns);
}
