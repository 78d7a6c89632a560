/* roam ping PEER: probe every path to a peer, like `tailscale ping`: each
 * round roamd probes all of the peer's paths at once and answers with the
 * first direct path that answered, else the relay; rounds repeat until a
 * direct path answers (or --count rounds). Says which path and how fast. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum { PING_OPT_COUNT = 1, PING_OPT_JSON, PING_OPT_ALL };

#define PING_ROUNDS_DEFAULT 10
#define PING_PAUSE_MS 250

struct ping_options {
	long count;
	bool json, all;
	const char *socket_path, *peer;
};

static int ping_parse(struct ping_options *o, int argc, char *argv[], int *status)
{
	static const struct args_opt opts[] = {
		{ "count", 'c', true, PING_OPT_COUNT },
		{ "json", 'j', false, PING_OPT_JSON },
		{ "all", 'a', false, PING_OPT_ALL },
		CLI_SOCKET_OPTION,
	};
	struct args_parser p;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_ping, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case PING_OPT_COUNT:
			if (args_long(&p, "--count", 1, 1000, &o->count) < 0) {
				*status = cli_usage_error(&cli_ping, "--count takes a number of rounds, 1 to 1000");
				return -1;
			}
			break;
		case PING_OPT_JSON: o->json = true; break;
		case PING_OPT_ALL: o->all = true; break;
		case CLI_OPT_SOCKET: o->socket_path = p.value; break;
		case ARGS_OPERAND:
			if (o->peer) {
				*status = cli_usage_error(&cli_ping, "one peer at a time ('%s' is extra)", p.value);
				return -1;
			}
			o->peer = p.value;
			break;
		default: *status = cli_usage_error(&cli_ping, "unexpected argument '%s'", p.value); return -1;
		}
	}
	if (!o->peer) {
		*status = cli_usage_error(&cli_ping, "give a peer's name, overlay address or public key");
		return -1;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *str(const cJSON *o, const char *name, const char *fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : fallback;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int ping_main(const struct cli_global *g, int argc, char *argv[])
{
	struct ping_options o = { .count = PING_ROUNDS_DEFAULT };
	int status = CLI_EXIT_FAIL;
	bool any = false, direct = false;

	if (ping_parse(&o, argc, argv, &status) < 0)
		return status;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "ping");
	cJSON_AddStringToObject(req, "peer", o.peer);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *rounds = o.json ? cJSON_CreateArray() : NULL;
	for (long i = 0; text && i < o.count && !(direct && !o.all); i++) {
		if (i)
			sleep_ms(PING_PAUSE_MS);
		cJSON *r = cli_ctl_call(g, "ping", o.socket_path, text);
		if (!r)
			break;
		bool answered = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "answered"));
		bool is_direct = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "direct"));
		any |= answered;
		direct |= answered && is_direct;
		if (rounds) {
			cJSON_AddItemToArray(rounds, r);
			continue;
		}
		if (answered)
			printf("pong from %s via %s%s in %.2f ms\n", o.peer,
			       is_direct ? "" : "relay ", str(r, "address", "?"), num(r, "rtt_ms"));
		else
			printf("no answer from %s on any of its %.0f path%s\n", o.peer, num(r, "paths_probed"),
			       num(r, "paths_probed") == 1 ? "" : "s");
		fflush(stdout);
		cJSON_Delete(r);
	}
	free(text);
	if (rounds) {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "peer", o.peer);
		cJSON_AddBoolToObject(out, "direct", direct);
		cJSON_AddItemToObject(out, "rounds", rounds);
		status = cli_output(out, true, NULL);
		cJSON_Delete(out);
		if (status != CLI_EXIT_OK)
			return status;
	} else if (any && !direct) {
		printf("direct connection not established: traffic goes through the relay "
		       "(`roam netcheck` shows what this network allows)\n");
	}
	return any ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

const struct cli_command cli_ping = {
	.name = "ping",
	.run = ping_main,
	.summary = "Probe every path to a peer and say which one answers (relay or direct)",
	.usage = "Usage: roam [-i IFACE] ping PEER [--count N] [--all] [--json] [--socket PATH]\n"
		 "\n"
		 "Probes every path roamd has to PEER (a name, an overlay address or a\n"
		 "public key) at once, with the path layer's authenticated probes, not ICMP,\n"
		 "and prints the path that answered and its round-trip time: \"via relay\"\n"
		 "while only the server's relay answers, the peer's address once a direct\n"
		 "path does. Rounds repeat, a quarter second apart, until a direct path\n"
		 "answers or N rounds have run.\n"
		 "\n"
		 "  -c, --count N   at most N rounds (default 10)\n"
		 "  -a, --all       run all N rounds, even after a direct answer\n"
		 "  -j, --json      every round's answer as JSON\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 the peer answered (directly or through the relay), 1 no\n"
		 "answer or roamd not running, 2 bad usage.\n",
};
