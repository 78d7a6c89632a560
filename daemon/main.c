/* roamd: the roam node daemon. For now it runs a static WireGuard-style
 * configuration; the coordination-server mode builds on the same core. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/paths/paths.h"
#include "daemon/files/file_service.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "net/tun.h"
#include "util/args.h"
#include "util/log.h"
#include "util/notify.h"

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
		"  -i, --interface NAME   TUN interface name (default " CTL_DEFAULT_INTERFACE ")\n"
		"  -s, --socket PATH      control socket for `roam` (default " CTL_SOCKET_DIR "/NAME.sock,\n"
		"                         which `roam -i NAME` finds)\n"
		"  -u, --agent-user USER  managed mode: the unprivileged user the agent that talks to\n"
		"                         the server runs as (default " PRIVSEP_DEFAULT_USER "); the file\n"
		"                         service (roam push) runs as this user too\n"
		"      --inbox DIR        managed mode: where files pushed to this node land, one\n"
		"                         directory per sender (default STATE_DIR/inbox)\n"
		"  -l, --log-level LEVEL  error, warn, info or debug (default info)\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"Needs CAP_NET_ADMIN (run as root). Stops cleanly on SIGINT or SIGTERM,\n"
		"removing its interface, routes and control socket.\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 failed (the reason is logged), 2 bad usage.\n");
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "roamd: %s (`roamd --help` lists the options)\n", msg);
	return 2;
}

static int parse_args(int argc, char **argv, struct roamd_options *opt)
{
	enum { O_CONFIG = 1, O_INTERFACE, O_STATE_DIR, O_PORT, O_SOCKET, O_LOG_LEVEL, O_AGENT_USER, O_VERSION, O_INBOX };
	static const struct args_opt opts[] = {
		{ "config", 'c', true, O_CONFIG },       { "interface", 'i', true, O_INTERFACE },
		{ "state-dir", 'd', true, O_STATE_DIR }, { "port", 'p', true, O_PORT },
		{ "socket", 's', true, O_SOCKET },       { "log-level", 'l', true, O_LOG_LEVEL },
		{ "agent-user", 'u', true, O_AGENT_USER }, { "version", 'V', false, O_VERSION },
		{ "inbox", 0, true, O_INBOX },
	};
	static char default_socket[CTL_SOCKET_PATH_MAX + 1];
	struct args_parser p;
	enum log_level level;
	long port;
	int c;

	opt->interface = CTL_DEFAULT_INTERFACE;
	opt->socket_path = NULL;
	opt->state_dir = ROAMD_DEFAULT_STATE_DIR;
	opt->port = 51820;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = args_next(&p)) != ARGS_DONE) {
		switch (c) {
		case O_CONFIG: opt->config_path = p.value; break;
		case O_STATE_DIR: opt->state_dir = p.value; break;
		case O_PORT:
			if (args_long(&p, "--port", 0, 65535, &port) < 0)
				return usage_error(p.error);
			opt->port = (uint16_t)port;
			break;
		case O_INTERFACE: opt->interface = p.value; break;
		case O_SOCKET: opt->socket_path = p.value; break;
		case O_AGENT_USER: opt->agent_user = p.value; break;
		case O_INBOX: opt->inbox = p.value; break;
		case O_LOG_LEVEL:
			if (log_level_parse(p.value, &level) < 0) {
				snprintf(p.error, sizeof(p.error), "unknown log level '%s' (error, warn, info, debug)", p.value);
				return usage_error(p.error);
			}
			log_set_level(level);
			break;
		case ARGS_HELP: usage(stdout); return 0;
		case O_VERSION: printf("roamd %s\n", ROAM_VERSION); return 0;
		case ARGS_OPERAND:
			snprintf(p.error, sizeof(p.error), "unexpected argument '%s'", p.value);
			return usage_error(p.error);
		default: return usage_error(p.error);
		}
	}
	/* One socket per interface, so that several roamd can run. */
	if (!opt->socket_path) {
		if (ctl_socket_path(default_socket, sizeof(default_socket), opt->interface) < 0)
			return usage_error("--interface wants an interface name (1-15 characters, no '/' or spaces)");
		opt->socket_path = default_socket;
	}
	return -1;
}

/* Static mode reloads its file on SIGHUP (static_mode.c); managed mode has
 * no file: a reload must not end it (SIGHUP's default action would). */
static void on_managed_sighup(struct ev_loop *loop, struct ev_signal *s)
{
	(void)loop, (void)s;
	log_info("SIGHUP: managed mode has no configuration file to reload (the server's view is live)");
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
	int ret = node_state_load(opt->state_dir, &d->host.st, why, sizeof(why));
	if (ret < 0 || (ret = node_settings_load(opt->state_dir, &d->host.settings, why, sizeof(why))) < 0) {
		log_err("%s", why);
		return ret;
	}
	d->cfg = calloc(1, sizeof(*d->cfg));
	if (!d->cfg)
		return -ENOMEM;
	memcpy(d->cfg->private_key, d->host.st.private_key, sizeof(d->cfg->private_key));
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
	/* Managed mode: the path manager decides where a peer is, not the
	 * source of its latest packet (static mode keeps WireGuard roaming). */
	if (d->is_managed) {
		ops.endpoint_seen = roamd_paths_endpoint_seen;
		ops.rejected = roamd_paths_rejected; /* tamper detection */
		ops.repeated = roamd_paths_repeated; /* duplicates apart from replays */
	}
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
	ev_signal_init(&d->sighup, on_managed_sighup, d);
	if ((ret = ev_signal_start(d->loop, &d->sigint, SIGINT)) < 0 ||
	    (ret = ev_signal_start(d->loop, &d->sigterm, SIGTERM)) < 0 ||
	    (d->is_managed && (ret = ev_signal_start(d->loop, &d->sighup, SIGHUP)) < 0))
		return ret;
	if ((ret = roamd_static_start(d, opt->config_path)) < 0)
		return ret;
	if (d->is_managed && (ret = roamd_host_start(d, opt)) < 0)
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
		/* The agent logs out first, so peers see us offline at once. */
		if (d->is_managed)
			roamd_host_stop(d);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sigterm);
		if (d->is_managed)
			ev_signal_stop(d->loop, &d->sighup);
		roamd_static_stop(d);
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
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	/* The unprivileged half of roamd, started by roamd itself. */
	if (argc == 1 && strcmp(base ? base + 1 : argv[0], PRIVSEP_AGENT_ARGV0) == 0)
		return roamd_agent_main();
	if (argc == 1 && strcmp(base ? base + 1 : argv[0], FILES_WORKER_ARGV0) == 0)
		return roamd_files_main();
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
