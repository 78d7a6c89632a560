/* roam-server run: serve until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/cmd.h"
#include "server/server.h"
#include "util/log.h"

static int run_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "binding-lifetime", required_argument, NULL, 'b' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "max-connections-per-source", required_argument, NULL, 'S' },
		{ "max-startups", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_config cfg = {
		.state_dir = SERVER_STATE_DIR_DEFAULT,
		.binding_lifetime_s = COORD_BINDING_LIFETIME_S,
		.grace_s = COORD_BINDING_GRACE_S,
	};
	struct server srv;
	enum log_level level;
	int64_t secs;
	long port, n;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:p:b:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			if (port < 1 || port > 65535)
				return cmd_usage_error(&cmd_run, "--port wants 1..65535");
			cfg.port = (uint16_t)port;
			break;
		case 'b':
			if (cmd_parse_duration(optarg, &secs) < 0 || secs < 1 || secs > 86400)
				return cmd_usage_error(&cmd_run, "--binding-lifetime wants 1..86400 seconds");
			cfg.binding_lifetime_s = (unsigned)secs;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0)
				return cmd_usage_error(&cmd_run, "--log-level wants error, warn, info or debug");
			log_set_level(level);
			break;
		case 'C':
		case 'S':
			n = strtol(optarg, NULL, 10);
			if (n < 1 || n > CONN_LIMIT_MAX_CONNS_MAX)
				return cmd_usage_error(&cmd_run, "--max-connections* want 1..%d", CONN_LIMIT_MAX_CONNS_MAX);
			*(c == 'C' ? &cfg.conn.max_conns : &cfg.conn.max_per_source) = (unsigned)n;
			break;
		case 'M':
			if (conn_limit_parse_startups(optarg, &cfg.conn) < 0)
				return cmd_usage_error(&cmd_run, "--max-startups wants START:RATE:FULL (RATE <= 100)");
			break;
		case 'h':
			fputs(cmd_run.usage, stdout);
			return CMD_EXIT_OK;
		default:
			return cmd_usage_error(&cmd_run, "bad option");
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_run, "unexpected argument '%s'", argv[optind]);
	/* A node that closes its TLS stream mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() < 0)
		return CMD_EXIT_FAIL;
	r = server_open(&srv, &cfg);
	if (r == 0)
		r = server_run(&srv);
	log_info("stats: %llu requests, %llu rejected, %llu bindings (%llu bad), %llu relayed, %llu relay drops",
		 (unsigned long long)srv.stats.requests, (unsigned long long)srv.stats.rejected_auth,
		 (unsigned long long)srv.stats.bindings, (unsigned long long)srv.stats.bindings_bad,
		 (unsigned long long)srv.stats.relayed, (unsigned long long)srv.stats.relay_dropped);
	server_close(&srv);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_run = {
	.name = "run",
	.summary = "Serve the control API (HTTPS) and the UDP binding/relay port",
	.usage = "Usage: roam-server run [--state DIR] [--port PORT] [--binding-lifetime SECONDS]\n"
		 "                        [--log-level error|warn|info|debug] [--max-connections N]\n"
		 "                        [--max-connections-per-source N] [--max-startups START:RATE:FULL]\n"
		 "\n"
		 "Serves HTTPS (TCP) and BINDING/RELAY (UDP) on PORT (default: the one given to\n"
		 "init), with the state in DIR (default " SERVER_STATE_DIR_DEFAULT "). A node's binding lives\n"
		 "SECONDS (default 300) plus 30 s grace before it shows offline. Admin commands\n"
		 "may run alongside: changes reach nodes within a second. Stops on SIGINT/SIGTERM.\n"
		 "\n"
		 "HTTPS connections: at most N in all (default: the open files limit, raised to\n"
		 "the hard limit, less 64), N per source address (an IPv6 /64 or an IPv4\n"
		 "address; default 256). Connections not yet authenticated as a known node are\n"
		 "dropped at random from START on (RATE percent, rising to all at FULL; default\n"
		 "25% and 50% of the cap, rate 30), as OpenSSH's MaxStartups. See docs/security.md.\n",
	.run = run_main,
};
