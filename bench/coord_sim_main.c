/* coord_sim: simulated roam nodes that speak the control protocol
 * (docs/control-protocol.md) to a roam-server: register, bind over UDP,
 * post private endpoints, hold the stream, relay. Test and benchmark tool.
 *
 *   coord_sim node  --server HOST:PORT --token T --name N [--key FILE]
 *       one node; commands on stdin (bind | relay ID TEXT | endpoints EP... |
 *       logout | quit), events on stdout (registered/pending/error, ack,
 *       stream <line>, relay-from ID TEXT)
 *   coord_sim bench --server HOST:PORT --tokens FILE --nodes N [--group-size G] [--moves M]
 *       N nodes in groups of G (one token per group, in FILE); once all hold
 *       their stream, M times one node rebinds from a new port and the time
 *       until every group member has the new endpoint is measured.
 *   coord_sim flood --server HOST:PORT --token T --count N [--nodes C] [--name NAME] [--new-keys] [--keyed]
 *       anonymous registrations from keys the server does not know (sim_flood.c).
 *   coord_sim links --server HOST:PORT --tokens FILE --nodes N [--group-size G] [--hold S]
 *       N nodes each open a TLS-stream relay link and hold it idle S seconds
 *       (sim_bench.c): the relay's memory per connected node. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bench/coord_sim.h"
#include "crypto/crypto.h"

static void usage(void)
{
	fputs("usage: coord_sim node --server HOST:PORT --token TOKEN --name NAME [--key FILE]\n"
	      "       coord_sim bench --server HOST:PORT --tokens FILE --nodes N [--group-size G] [--moves M]\n"
	      "       coord_sim flood --server HOST:PORT --token TOKEN --count N [--nodes C] [--name NAME] [--new-keys] [--keyed]\n"
	      "       coord_sim links --server HOST:PORT --tokens FILE --nodes N [--group-size G] [--hold S]\n",
	      stderr);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },  { "token", required_argument, NULL, 't' },
		{ "tokens", required_argument, NULL, 'T' },  { "name", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },     { "nodes", required_argument, NULL, 'N' },
		{ "group-size", required_argument, NULL, 'g' }, { "moves", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'm' },   { "new-keys", no_argument, NULL, 'K' },
		{ "keyed", no_argument, NULL, 'P' },        { "hold", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = argc > 1 ? argv[1] : "";
	struct sim_args a = { .group_size = 100, .moves = 5, .nodes = 1 };
	int c;

	if (crypto_init() < 0)
		return 1;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (sim_parse_server(optarg) < 0) {
				fprintf(stderr, "coord_sim: --server wants a numeric HOST:PORT\n");
				return 2;
			}
			break;
		case 't': a.token = optarg; break;
		case 'T': a.tokens_file = optarg; break;
		case 'n': a.name = optarg; break;
		case 'k': a.key_file = optarg; break;
		case 'N': a.nodes = (size_t)strtoul(optarg, NULL, 10); break;
		case 'g': a.group_size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'm': a.moves = (size_t)strtoul(optarg, NULL, 10); break;
		case 'K': a.new_keys = true; break;
		case 'P': a.keyed = true; break;
		default: usage(); return 2;
		}
	}
	if (!g_sim.server.len || a.nodes == 0 || a.group_size == 0) {
		usage();
		return 2;
	}
	g_sim.epfd = epoll_create1(EPOLL_CLOEXEC);
	g_sim.ctx = sim_http_ctx();
	if (g_sim.epfd < 0 || !g_sim.ctx)
		return 1;
	if (strcmp(mode, "node") == 0 && a.token && a.name)
		return sim_node_main(&a);
	if (strcmp(mode, "bench") == 0 && a.tokens_file)
		return sim_bench_main(&a);
	if (strcmp(mode, "flood") == 0 && a.token)
		return sim_flood_main(&a);
	if (strcmp(mode, "links") == 0 && a.tokens_file)
		return sim_links_main(&a);
	usage();
	return 2;
}
