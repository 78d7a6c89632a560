/* roam-server run: serve until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/servers.h"
#include "crypto/crypto.h"
#include "server/cmd.h"
#include "server/server.h"
#include "util/log.h"
#include "util/notify.h"

enum { O_PORT = 1, O_BINDING_LIFETIME, O_LOG_LEVEL, O_MAX_CONNS, O_MAX_PER_SOURCE, O_MAX_STARTUPS, O_EVENT_RETENTION,
       O_ADMIN_LISTEN, O_FILES_QUOTA, O_FILES_TOTAL, O_FILES_EXPIRY, O_PUBLIC_URL, O_GROUP_VIEW_MAX };

/* The console's options (issue 12): 0, or a usage error's exit status. */
static int run_console_option(int c, const char *value, struct server_config *cfg)
{
	int64_t secs;

	if (c == O_EVENT_RETENTION) {
		size_t len = strlen(value);
		/* a plain number is days; "12h" is not a whole day and refused */
		if (cmd_parse_duration(value, &secs) < 0 || (len && value[len - 1] >= '0' && value[len - 1] <= '9' &&
							     __builtin_mul_overflow(secs, 86400, &secs)) ||
		    secs < 86400 || secs > 3650 * 86400L)
			return cmd_usage_error(&cmd_run, "--event-retention wants 1d..3650d");
		cfg->event_retention_days = (unsigned)(secs / 86400);
		return 0;
	}
	if (strcmp(value, "none") != 0 && !strrchr(value, ':'))
		return cmd_usage_error(&cmd_run, "--admin-listen wants ADDR:PORT ([ADDR]:PORT for IPv6) or none");
	cfg->admin_listen = value;
	return 0;
}

static int run_main(int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION,
		{ "port", 'p', true, O_PORT },
		{ "binding-lifetime", 'b', true, O_BINDING_LIFETIME },
		{ "log-level", 'l', true, O_LOG_LEVEL },
		{ "max-connections", 0, true, O_MAX_CONNS },
		{ "max-connections-per-source", 0, true, O_MAX_PER_SOURCE },
		{ "max-startups", 0, true, O_MAX_STARTUPS },
		{ "event-retention", 0, true, O_EVENT_RETENTION },
		{ "admin-listen", 0, true, O_ADMIN_LISTEN },
		{ "files-quota", 0, true, O_FILES_QUOTA },
		{ "files-total-quota", 0, true, O_FILES_TOTAL },
		{ "files-expiry", 0, true, O_FILES_EXPIRY },
		{ "public-url", 0, true, O_PUBLIC_URL },
		{ "group-view-max", 0, true, O_GROUP_VIEW_MAX },
	};
	struct server_config cfg = {
		.state_dir = SERVER_STATE_DIR_DEFAULT,
		.binding_lifetime_s = COORD_BINDING_LIFETIME_S,
		.grace_s = COORD_BINDING_GRACE_S,
	};
	struct args_parser p;
	struct server srv;
	enum log_level level;
	int64_t secs;
	long port, n;
	int c, r = CMD_EXIT_FAIL;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_run, &p, &r)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR:
			return r;
		case CMD_OPT_STATE:
			cfg.state_dir = p.value;
			break;
		case O_PORT:
			if (args_long(&p, "--port", 1, 65535, &port) < 0)
				return cmd_usage_error(&cmd_run, "%s", p.error);
			cfg.port = (uint16_t)port;
			break;
		case O_BINDING_LIFETIME:
			if (cmd_parse_duration(p.value, &secs) < 0 || secs < 1 || secs > 86400)
				return cmd_usage_error(&cmd_run, "--binding-lifetime wants 1..86400 seconds");
			cfg.binding_lifetime_s = (unsigned)secs;
			break;
		case O_LOG_LEVEL:
			if (log_level_parse(p.value, &level) < 0)
				return cmd_usage_error(&cmd_run, "--log-level wants error, warn, info or debug");
			log_set_level(level);
			break;
		case O_MAX_CONNS:
		case O_MAX_PER_SOURCE:
			if (args_long(&p, c == O_MAX_CONNS ? "--max-connections" : "--max-connections-per-source", 1,
				      CONN_LIMIT_MAX_CONNS_MAX, &n) < 0)
				return cmd_usage_error(&cmd_run, "%s", p.error);
			*(c == O_MAX_CONNS ? &cfg.conn.max_conns : &cfg.conn.max_per_source) = (unsigned)n;
			break;
		case O_MAX_STARTUPS:
			if (conn_limit_parse_startups(p.value, &cfg.conn) < 0)
				return cmd_usage_error(&cmd_run, "--max-startups wants START:RATE:FULL (RATE <= 100)");
			break;
		case O_EVENT_RETENTION:
		case O_ADMIN_LISTEN:
			if ((r = run_console_option(c, p.value, &cfg)) != 0)
				return r;
			break;
		case O_FILES_QUOTA:
		case O_FILES_TOTAL: {
			char *end;
			unsigned long long v = strtoull(p.value, &end, 10);
			if (end == p.value || *end || v == 0 || v > (1ull << 50))
				return cmd_usage_error(&cmd_run, "--files-quota and --files-total-quota want a number of bytes");
			*(c == O_FILES_QUOTA ? &cfg.files_node_quota : &cfg.files_total_quota) = v;
			break;
		}
		case O_FILES_EXPIRY:
			if (cmd_parse_duration(p.value, &secs) < 0 || secs < 60 || secs > 366 * 86400)
				return cmd_usage_error(&cmd_run, "--files-expiry wants 60 s to 366 days");
			cfg.files_expiry_s = (uint64_t)secs;
			break;
		case O_PUBLIC_URL: {
			struct coord_servers check = { 0 };
			if (coord_servers_add(&check, p.value) < 0)
				return cmd_usage_error(&cmd_run, "--public-url wants https://HOST:PORT");
			cfg.public_url = p.value;
			break;
		}
		case O_GROUP_VIEW_MAX:
			if (args_long(&p, "--group-view-max", 0, 4000000, &n) < 0)
				return cmd_usage_error(&cmd_run, "%s", p.error);
			cfg.group_view_max = n ? (size_t)n : SIZE_MAX;
			break;
		default:
			return cmd_usage_error(&cmd_run, "unexpected argument '%s'", p.value);
		}
	}
	if (cmd_state_exists(&cmd_run, cfg.state_dir) < 0)
		return CMD_EXIT_FAIL;
	/* A node that closes its TLS stream mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() < 0)
		return CMD_EXIT_FAIL;
	r = server_open(&srv, &cfg);
	if (r == 0)
		notify_ready(); /* listening: a Type=notify unit is now started */
	/* No stats after a failed start: there were none. */
	if (r == 0 && (r = server_run(&srv)) == 0)
		log_info("stats: %llu requests, %llu rejected, %llu bindings (%llu bad), %llu relayed, %llu relay drops; "
			 "push: %llu streams, %llu data (%llu resent), %llu acks (%llu keeps, %llu bad), %llu too big, %llu dead",
		 (unsigned long long)srv.stats.requests, (unsigned long long)srv.stats.rejected_auth,
		 (unsigned long long)srv.stats.bindings, (unsigned long long)srv.stats.bindings_bad,
		 (unsigned long long)srv.stats.relayed, (unsigned long long)srv.stats.relay_dropped,
		 (unsigned long long)srv.stats.push_streams, (unsigned long long)srv.stats.push_data,
		 (unsigned long long)srv.stats.push_resent, (unsigned long long)srv.stats.push_acks,
		 (unsigned long long)srv.stats.push_keeps, (unsigned long long)srv.stats.push_bad, (unsigned long long)srv.stats.push_too_big,
		 (unsigned long long)srv.stats.push_dead);
	if (r == 0 && srv.stats.udp_handed_back)
		log_info("stats: the relay thread handed %llu datagrams to the main loop in %llu wakes",
			 (unsigned long long)srv.stats.udp_handed_back, (unsigned long long)srv.stats.udp_handback_wakes);
	server_close(&srv); /* flushes the last presence batch */
	if (r == 0)
		log_info("stats: presence: %llu rows written in %llu transactions",
			 (unsigned long long)srv.stats.presence_rows, (unsigned long long)srv.stats.presence_batches);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_run = {
	.name = "run",
	.summary = "Serve the control API (HTTPS) and the UDP binding/relay port",
	.usage = "Usage: roam-server run [--state DIR] [--port PORT] [--binding-lifetime SECONDS]\n"
		 "                        [--log-level error|warn|info|debug] [--max-connections N]\n"
		 "                        [--max-connections-per-source N] [--max-startups START:RATE:FULL]\n"
		 "                        [--event-retention DAYS] [--admin-listen ADDR:PORT|none]\n"
		 "                        [--files-quota BYTES] [--files-total-quota BYTES] [--files-expiry DURATION]\n"
		 "                        [--public-url https://HOST:PORT] [--group-view-max N]\n"
		 "\n"
		 "Serves HTTPS (TCP) and BINDING/RELAY (UDP) on PORT (default: the one given to\n"
		 "init), with the state in DIR (default " SERVER_STATE_DIR_DEFAULT "). A node's binding lives\n"
		 "SECONDS (default 300) plus 30 s grace before it shows offline. Admin commands\n"
		 "hand their changes to it on <state>/admin.sock: they reach the nodes at once.\n"
		 "Stops on SIGINT/SIGTERM.\n"
		 "\n"
		 "  -s, --state DIR              the server's state (from `roam-server init`)\n"
		 "  -p, --port PORT              TCP and UDP port (default: the one given to init)\n"
		 "  -b, --binding-lifetime SECS  how long a node's binding lives (default 300)\n"
		 "  -l, --log-level LEVEL        error, warn, info or debug (default info)\n"
		 "      --max-connections N      HTTPS connections in all (default: the open files\n"
		 "                               limit, raised to the hard limit, less 64)\n"
		 "      --max-connections-per-source N\n"
		 "                               per source address, an IPv6 /64 or an IPv4 address\n"
		 "                               (default 256)\n"
		 "      --max-startups START:RATE:FULL\n"
		 "                               connections not yet authenticated as a known node are\n"
		 "                               dropped at random from START on (RATE percent, rising\n"
		 "                               to all at FULL; default 25% and 50% of the cap, rate\n"
		 "                               30), as OpenSSH's MaxStartups (docs/security.md)\n"
		 "      --event-retention DAYS   keep the event log this long (default 30)\n"
		 "      --admin-listen ADDR:PORT the console and admin API (HTTPS; default\n"
		 "                               127.0.0.1:8444; none: off), never the nodes' port\n"
		 "      --files-quota BYTES      encrypted files one node may have waiting for offline\n"
		 "                               peers (default 1 GiB; beyond: HTTP 507)\n"
		 "      --files-total-quota BYTES  the same for all nodes together (default 10 GiB)\n"
		 "      --files-expiry DURATION  a waiting file not fetched by then is deleted\n"
		 "                               (default 7d)\n"
		 "      --public-url URL         this server's https://HOST:PORT as nodes reach it;\n"
		 "                               with several servers on one PostgreSQL, listed for\n"
		 "                               the nodes, which move to another when theirs dies\n"
		 "      --group-view-max N       a group of more members is big: its members are not\n"
		 "                               in each other's views, a node asks the server for a\n"
		 "                               peer when it first sends to it (default 1000; 0: no\n"
		 "                               group is big)\n"
		 "  -h, --help                   this text\n"
		 "\n"
		 "Exit status: 0 stopped by a signal, 1 failed (no state, port in use, ...),\n"
		 "2 bad usage.\n",
	.run = run_main,
};
