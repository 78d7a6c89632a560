/* roam-server relay: run a relay-only server (relayonly.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "server/cmd.h"
#include "server/relayonly/relayonly.h"
#include "server/server.h"
#include "util/log.h"
#include "util/notify.h"

#define RELAY_STATE_DIR_DEFAULT "/var/lib/roam-relay"

struct relay_opts {
	struct server_config cfg;
	const char *server, *token, *region;
	long rate_mbit;
};

static int relay_parse(struct relay_opts *o, int argc, char *argv[], int *status)
{
	enum { O_SERVER = 1, O_TOKEN, O_LISTEN, O_REGION, O_RATE, O_LOG_LEVEL };
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION,
		{ "server", 0, true, O_SERVER },
		{ "token", 't', true, O_TOKEN },
		{ "listen", 'l', true, O_LISTEN },
		{ "region", 'r', true, O_REGION },
		{ "rate-limit", 0, true, O_RATE },
		{ "log-level", 0, true, O_LOG_LEVEL },
	};
	struct args_parser p;
	enum log_level level;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_relay, &p, status)) != ARGS_DONE) {
		const char *colon;
		switch (c) {
		case ARGS_ERROR: return -1;
		case CMD_OPT_STATE: o->cfg.state_dir = p.value; break;
		case O_SERVER: o->server = p.value; break;
		case O_TOKEN: o->token = p.value; break;
		case O_REGION: o->region = p.value; break;
		case O_LISTEN:
			colon = strrchr(p.value, ':');
			long port = colon ? strtol(colon + 1, NULL, 10) : 0;
			if (port < 1 || port > 65535) {
				*status = cmd_usage_error(&cmd_relay, "--listen wants [HOST]:PORT");
				return -1;
			}
			o->cfg.port = (uint16_t)port;
			break;
		case O_RATE:
			if (args_long(&p, "--rate-limit", 1, 100000, &o->rate_mbit) < 0) {
				*status = cmd_usage_error(&cmd_relay, "%s", p.error);
				return -1;
			}
			break;
		case O_LOG_LEVEL:
			if (log_level_parse(p.value, &level) < 0) {
				*status = cmd_usage_error(&cmd_relay, "--log-level wants error, warn, info or debug");
				return -1;
			}
			log_set_level(level);
			break;
		default:
			*status = cmd_usage_error(&cmd_relay, "unexpected argument '%s'", p.value);
			return -1;
		}
	}
	if (!o->server || !o->token) {
		*status = cmd_usage_error(&cmd_relay, "--server URL and --token TOKEN are needed");
		return -1;
	}
	return 0;
}

/* https://HOST:PORT of the control server into ro. */
static int relay_server_url(struct relayonly *ro, const char *url)
{
	const char *h = url, *end;

	if (strncmp(h, "https://", 8) != 0 || strlen(url) >= sizeof(ro->url))
		return -EINVAL;
	h += 8;
	snprintf(ro->url, sizeof(ro->url), "%s", url);
	if (h[0] == '[') {
		if (!(end = strchr(h, ']')) || end[1] != ':')
			return -EINVAL;
		snprintf(ro->host, sizeof(ro->host), "%.*s", (int)(end - h - 1), h + 1);
		end++;
	} else {
		if (!(end = strrchr(h, ':')))
			return -EINVAL;
		snprintf(ro->host, sizeof(ro->host), "%.*s", (int)(end - h), h);
	}
	snprintf(ro->port, sizeof(ro->port), "%.*s", (int)strcspn(end + 1, "/"), end + 1);
	return ro->host[0] && atoi(ro->port) > 0 ? 0 : -EINVAL;
}

static int relay_main(int argc, char *argv[])
{
	struct relay_opts o = { .cfg = { .state_dir = RELAY_STATE_DIR_DEFAULT, .port = 443,
					 .binding_lifetime_s = COORD_BINDING_LIFETIME_S,
					 .grace_s = COORD_BINDING_GRACE_S, .relay_only = true } };
	static struct relayonly ro;
	struct server_identity id;
	static struct server srv;
	char err[SERVER_ERROR_MAX], path[SERVER_PATH_MAX];
	struct stat st;
	int r = CMD_EXIT_FAIL;

	if (relay_parse(&o, argc, argv, &r) < 0)
		return r;
	if (relay_server_url(&ro, o.server) < 0)
		return cmd_usage_error(&cmd_relay, "--server wants https://HOST:PORT");
	if (relay_token_decode(o.token, &ro.token) < 0)
		return cmd_usage_error(&cmd_relay, "--token: not a relay join token (roamrelay1.…)");
	snprintf(ro.region, sizeof(ro.region), "%s", o.region ? o.region : "");
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() < 0)
		return CMD_EXIT_FAIL;
	/* The relay's own key and certificate, made at its first start. */
	if (identity_path(path, o.cfg.state_dir, "relay.key") < 0)
		return CMD_EXIT_FAIL;
	if (stat(path, &st) < 0 && identity_create_relay(o.cfg.state_dir, "roam-relay", err) < 0) {
		fprintf(stderr, "roam-server relay: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	if (identity_load_relay(o.cfg.state_dir, &id, err) < 0) {
		fprintf(stderr, "roam-server relay: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	o.cfg.rate_limit_bytes_s = (uint64_t)o.rate_mbit * 1000000u / 8;
	ro.pipe[0] = ro.pipe[1] = -1;
	pthread_mutex_init(&ro.load_lock, NULL);
	if (pipe2(ro.pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    relayonly_register(&ro, id.control_priv, id.control_pub, id.tls_pin, o.cfg.port) < 0)
		goto out;
	o.cfg.relay = &ro;
	r = server_open(&srv, &o.cfg);
	if (r == 0 && (r = relayonly_thread_start(&ro, id.control_priv, id.control_pub)) == 0) {
		notify_ready();
		r = server_run(&srv);
		log_info("relay: %llu relayed, %llu relay drops (%llu over the rate limit); tickets refused: %llu bad, "
			 "%llu old, %llu expired",
			 (unsigned long long)srv.stats.relayed, (unsigned long long)srv.stats.relay_dropped,
			 (unsigned long long)srv.stats.relay_drop_rate,
			 (unsigned long long)ro.tickets_bad, (unsigned long long)ro.tickets_old,
			 (unsigned long long)ro.tickets_expired);
	}
	relayonly_thread_stop(&ro);
	server_close(&srv);
	r = r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
out:
	identity_wipe(&id);
	if (ro.pipe[0] >= 0)
		close(ro.pipe[0]);
	if (ro.pipe[1] >= 0)
		close(ro.pipe[1]);
	return r;
}

const struct server_cmd cmd_relay = {
	.name = "relay",
	.summary = "Run a relay-only server for a control server (several relays)",
	.usage = "Usage: roam-server relay --server https://HOST:PORT --token TOKEN [--listen [HOST]:PORT]\n"
		 "                          [--region REGION] [--state DIR] [--rate-limit MBIT]\n"
		 "                          [--log-level error|warn|info|debug]\n"
		 "\n"
		 "Relays for the nodes of the control server at --server: the UDP relay and the\n"
		 "relay links (TLS stream, WebSocket, long-poll) on PORT (default 443), for nodes\n"
		 "that show a ticket the control server signed. TOKEN comes from `roam-server\n"
		 "relays add` on the control server. No database: DIR (default\n"
		 RELAY_STATE_DIR_DEFAULT ") holds the relay's key and TLS certificate, made at\n"
		 "the first start. Stops on SIGINT/SIGTERM.\n"
		 "\n"
		 "  -s, --state DIR        the relay's state\n"
		 "      --server URL       the control server\n"
		 "  -t, --token TOKEN      the relay's join token (roamrelay1....)\n"
		 "  -l, --listen [HOST]:PORT  TCP and UDP port (default :443)\n"
		 "  -r, --region REGION    a label for admins\n"
		 "      --rate-limit MBIT  what one node may send through the relay, Mbit/s\n"
		 "                         (each second's budget; beyond, dropped and counted)\n"
		 "      --log-level LEVEL  error, warn, info or debug (default info)\n"
		 "  -h, --help             this text\n"
		 "\n"
		 "Exit status: 0 stopped by a signal, 1 failed (bad token, refused, port in use),\n"
		 "2 bad usage.\n",
	.run = relay_main,
};
