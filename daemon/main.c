/* roamd: the roam node daemon. For now it runs a static WireGuard-style
 * configuration; the coordination-server mode builds on the same core. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/roamd.h"
#include "net/tun.h"
#include "util/log.h"
#include "util/notify.h"

#define ROAMD_DEFAULT_INTERFACE "roam0"
#define ROAMD_DEFAULT_STATE_DIR "/var/lib/roam"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: roamd [--state-dir DIR] [--port PORT] [OPTIONS]   (managed mode)\n"
		"       roamd --config FILE [OPTIONS]                     (static mode)\n"
		"\n"
		"Runs a roam node: a TUN device whose traffic travels in WireGuard-protocol\n"
		"tunnels to its peers. In managed mode (the default) the peers come from a\n"
		"roam-server the node joins with `roam up`; in static mode from a\n"
		"WireGuard-style configuration file.\n"
		"\n"
		"Options:\n"
		"  -d, --state-dir DIR    managed mode: key and membership (default " ROAMD_DEFAULT_STATE_DIR ")\n"
		"  -p, --port PORT        managed mode: UDP port for tunnels (default 51820)\n"
		"  -c, --config FILE      static mode: [Interface] and [Peer] sections\n"
		"  -i, --interface NAME   TUN interface name (default " ROAMD_DEFAULT_INTERFACE ")\n"
		"  -s, --socket PATH      control socket for `roam` (default " CTL_DEFAULT_SOCKET_PATH ")\n"
		"  -l, --log-level LEVEL  error, warn, info or debug (default info)\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"Needs CAP_NET_ADMIN (run as root). Stops cleanly on SIGINT or SIGTERM,\n"
		"removing its interface, routes and control socket.\n");
}

static int parse_args(int argc, char **argv, struct roamd_options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },   { "interface", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 'd' }, { "port", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },   { "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },           { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level;
	int c;
	opt->interface = ROAMD_DEFAULT_INTERFACE;
	opt->socket_path = CTL_DEFAULT_SOCKET_PATH;
	opt->state_dir = ROAMD_DEFAULT_STATE_DIR;
	opt->port = 51820;
	while ((c = getopt_long(argc, argv, "c:d:p:i:s:l:hV", longopts, NULL)) != -1) {
		char *end;
		long port;
		switch (c) {
		case 'c': opt->config_path = optarg; break;
		case 'd': opt->state_dir = optarg; break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 0 || port > 65535) {
				fprintf(stderr, "roamd: --port wants 0..65535, not '%s'\n", optarg);
				return 2;
			}
			opt->port = (uint16_t)port;
			break;
		case 'i': opt->interface = optarg; break;
		case 's': opt->socket_path = optarg; break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0) {
				fprintf(stderr, "roamd: unknown log level '%s' (error, warn, info, debug)\n", optarg);
				return 2;
			}
			log_set_level(level);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("roamd %s\n", ROAM_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "roamd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

static int add_peers(struct roamd *d, uint64_t now)
{
	for (size_t i = 0; i < d->cfg->peers_count; i++) {
		const struct config_peer *cp = &d->cfg->peers[i];
		struct wg_peer *peer;
		int ret = wg_peer_add(d->wg, cp->public_key, &peer);
		if (ret < 0) {
			log_err("[Peer] at line %u: %s", cp->line,
				ret == -EINVAL ? "its PublicKey is our own" : strerror(-ret));
			return ret;
		}
		if (cp->has_preshared_key)
			wg_peer_set_preshared_key(peer, cp->preshared_key);
		if (cp->has_endpoint) {
			struct wg_endpoint ep;
			memset(&ep, 0, sizeof(ep));
			memcpy(&ep.addr, &cp->endpoint.sa, cp->endpoint.len);
			wg_peer_set_endpoint(peer, &ep);
		}
		for (size_t j = 0; j < cp->allowed_ips_count; j++) {
			const struct ip_prefix *p = &cp->allowed_ips[j];
			if ((ret = wg_peer_allow(peer, p->family, p->addr, p->cidr)) < 0)
				return ret;
		}
		if (cp->persistent_keepalive)
			wg_peer_set_persistent_keepalive(peer, cp->persistent_keepalive, now);
	}
	return 0;
}

static void on_stop_signal(struct ev_loop *loop, struct ev_signal *s)
{
	log_info("signal %d: shutting down", s->signo);
	ev_loop_stop(loop);
}

/* Managed mode has no file: its key comes from the state directory and its
 * peers from the server, so the static config is a bare interface. */
static int managed_config(struct roamd *d, const struct roamd_options *opt)
{
	char why[600];
	int ret = node_state_load(opt->state_dir, &d->managed.st, why, sizeof(why));
	if (ret < 0) {
		log_err("%s", why);
		return ret;
	}
	d->cfg = calloc(1, sizeof(*d->cfg));
	if (!d->cfg)
		return -ENOMEM;
	memcpy(d->cfg->private_key, d->managed.st.private_key, sizeof(d->cfg->private_key));
	d->cfg->listen_port = opt->port;
	d->cfg->mtu = CONFIG_MTU_DEFAULT;
	d->is_managed = true;
	return 0;
}

static int load_config(struct roamd *d, const struct roamd_options *opt)
{
	struct config_error cerr;
	char msg[CONFIG_ERROR_STRLEN];
	int ret;
	if (!opt->config_path)
		return managed_config(d, opt);
	if ((ret = config_load_file(opt->config_path, &d->cfg, &cerr)) < 0) {
		config_error_format(&cerr, msg, sizeof(msg));
		log_err("%s", msg);
		return ret;
	}
	if (d->cfg->world_readable)
		log_warn("%s is readable by other users, but holds a private key (chmod 600 it)", opt->config_path);
	return 0;
}

static int roamd_setup(struct roamd *d, const struct roamd_options *opt)
{
	int ret;

	if ((ret = load_config(d, opt)) < 0)
		return ret;
	if ((ret = ev_loop_new(&d->loop)) < 0)
		return ret;
	struct wg_device_ops ops = roamd_wg_ops;
	struct wg_timing timing;
	wg_timing_default(&timing);
	roamd_apply_test_hooks(&ops, &timing);
	if ((ret = wg_device_new(&ops, d, &d->wg)) < 0)
		return ret;
	wg_device_set_timing(d->wg, &timing);
	wg_device_set_mtu(d->wg, d->cfg->mtu);
	if ((ret = wg_device_set_private_key(d->wg, d->cfg->private_key)) < 0) {
		log_err("%s: private key not usable", opt->config_path ? opt->config_path : opt->state_dir);
		return ret;
	}
	if ((ret = udp_open(d->cfg->listen_port, &d->udp)) < 0) {
		log_err("cannot listen on UDP port %u: %s", d->cfg->listen_port, strerror(-ret));
		return ret;
	}
	if ((ret = roamd_iface_open(d, opt->interface)) < 0 || (ret = roamd_iface_configure(d)) < 0)
		return ret;
	if ((ret = roamd_control_start(d, opt->socket_path)) < 0)
		return ret;
	if ((ret = roamd_dataplane_start(d)) < 0 || (ret = roamd_roaming_start(d)) < 0)
		return ret;
	ev_signal_init(&d->sigint, on_stop_signal, d);
	ev_signal_init(&d->sigterm, on_stop_signal, d);
	if ((ret = ev_signal_start(d->loop, &d->sigint, SIGINT)) < 0 ||
	    (ret = ev_signal_start(d->loop, &d->sigterm, SIGTERM)) < 0)
		return ret;
	if ((ret = add_peers(d, ev_now(d->loop))) < 0)
		return ret;
	if (d->is_managed && (ret = managed_start(&d->managed, d, opt->state_dir)) < 0)
		return ret;
	roamd_wg_timer_rearm(d);
	log_info("%s up: listening on UDP port %u, %s, MTU %u", d->ifname, d->udp.port,
		 d->is_managed ? "managed mode" : "static configuration", d->cfg->mtu);
	notify_ready();
	return 0;
}

static void roamd_teardown(struct roamd *d)
{
	if (d->loop) {
		/* Log out first (a short nested loop turn), so peers see us
		 * offline at once, while the socket and loop still work. */
		if (d->is_managed)
			managed_stop(&d->managed, true);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sigterm);
		roamd_roaming_stop(d);
		roamd_dataplane_stop(d);
		roamd_control_stop(d);
	}
	roamd_iface_close(d);
	udp_close(&d->udp);
	wg_device_free(d->wg);
	ev_loop_free(d->loop);
	config_free(d->cfg);
}

int main(int argc, char **argv)
{
	struct roamd_options opt = { 0 };
	struct roamd d = { .tun_fd = -1, .ctl_fd = -1, .udp = { .fd = -1 } };
	int ret = parse_args(argc, argv, &opt);
	if (ret >= 0)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() < 0) {
		log_err("cannot initialise libsodium");
		return 1;
	}
	ret = roamd_setup(&d, &opt);
	if (ret == 0 && (ret = ev_loop_run(d.loop)) < 0)
		log_err("event loop: %s", strerror(-ret));
	roamd_teardown(&d);
	return ret < 0 ? 1 : 0;
}
