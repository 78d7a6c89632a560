/* roam-server relays: relay-only servers (docs/control-protocol.md,
 * "Several relays"). add prints the relay's join token and the command to
 * start it; only the secret's hash is stored. */
#include <blake2.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "server/cmd.h"

#define RELAY_ONLINE_S 30 /* a load report this recent: online (they come every 10 s) */

struct relays_list_ctx {
	cJSON *list; /* NULL: a table */
	int64_t now;
};

static int list_one(void *arg, const struct store_relay *rl)
{
	struct relays_list_ctx *c = arg;
	bool online = rl->online && c->now - rl->load_at < RELAY_ONLINE_S;

	if (!c->list) {
		printf("%-4u %-16s %-8s %-10s %-8llu %-10llu %s\n", rl->id, rl->name, rl->region[0] ? rl->region : "-",
		       !rl->registered ? "never" : online ? "online" : "offline", (unsigned long long)rl->clients,
		       (unsigned long long)rl->pps, rl->url);
		return 0;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(c->list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(o, "id", rl->id);
	cJSON_AddStringToObject(o, "name", rl->name);
	cJSON_AddStringToObject(o, "url", rl->url);
	cJSON_AddStringToObject(o, "region", rl->region);
	cJSON_AddBoolToObject(o, "registered", rl->registered);
	cJSON_AddBoolToObject(o, "online", online);
	cJSON_AddNumberToObject(o, "clients", (double)rl->clients);
	cJSON_AddNumberToObject(o, "pps", (double)rl->pps);
	cJSON_AddNumberToObject(o, "bps", (double)rl->bps);
	cJSON_AddNumberToObject(o, "dropped", (double)rl->dropped);
	cJSON_AddNumberToObject(o, "load_at", (double)rl->load_at);
	return 0;
}

static int relays_list(struct store *st, bool json)
{
	struct relays_list_ctx c = { .list = NULL, .now = (int64_t)time(NULL) };
	cJSON *root = NULL;
	int r;

	if (json) {
		root = cJSON_CreateObject();
		if (!(c.list = cJSON_AddArrayToObject(root, "relays"))) {
			cJSON_Delete(root);
			return -ENOMEM;
		}
	} else {
		printf("%-4s %-16s %-8s %-10s %-8s %-10s %s\n", "ID", "NAME", "REGION", "STATE", "CLIENTS", "PACKETS/S",
		       "URL");
	}
	r = store_relays_foreach(st, list_one, &c);
	if (json && r == 0)
		r = cmd_print_json(root);
	cJSON_Delete(root);
	return r;
}

static int relays_add(const char *dir, struct store *st, const char *name, const char *url, const char *region)
{
	struct server_identity id;
	struct relay_token t;
	char err[SERVER_ERROR_MAX], token[RELAY_TOKEN_STRLEN + 1], host[256], port[16];
	uint8_t hash[32];
	uint32_t rid;
	int r;

	if ((r = identity_load(dir, &id, err)) < 0) {
		fprintf(stderr, "roam-server: %s\n", err);
		return r;
	}
	memcpy(t.tls_pin, id.tls_pin, sizeof(t.tls_pin));
	memcpy(t.server_pub, id.control_pub, sizeof(t.server_pub));
	identity_wipe(&id);
	crypto_random(t.secret, sizeof(t.secret));
	blake2s(hash, t.secret, NULL, sizeof(hash), sizeof(t.secret), 0);
	r = store_relay_add(st, name, url, region, hash, (int64_t)time(NULL), &rid);
	if (r == -EEXIST)
		fprintf(stderr, "roam-server relays add: a relay named '%s' exists\n", name);
	else if (r == -ENOSPC)
		fprintf(stderr, "roam-server relays add: %d relays already\n", STORE_RELAYS_MAX);
	else if (r < 0)
		fprintf(stderr, "roam-server: cannot store the relay: %s\n", store_error(st));
	if (r < 0)
		goto out;
	relay_token_encode(&t, token, sizeof(token));
	if (store_meta_get(st, "host", host, sizeof(host)) < 0 || store_meta_get(st, "port", port, sizeof(port)) < 0) {
		fprintf(stderr, "roam-server: state has no host/port settings (corrupt?)\n");
		r = -EBADMSG;
		goto out;
	}
	const char *listen = strrchr(url + 8, ':');
	printf("# relay %u (%s); on its host run:\n", rid, name);
	printf("roam-server relay --server https://%s%s%s:%s --token %s --listen %s%s%s\n", strchr(host, ':') ? "[" : "",
	       host, strchr(host, ':') ? "]" : "", port, token, listen && !strchr(listen, ']') ? listen : ":443",
	       region && region[0] ? " --region " : "", region ? region : "");
out:
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(token, sizeof(token));
	return r;
}

/* URL and region go into the nodes' relay map (JSON) as they are. */
static bool map_safe(const char *text)
{
	for (const char *p = text; p && *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

struct relays_options {
	const char *dir, *url, *region, *words[2];
	size_t words_count;
	bool json;
};

static int relays_parse(struct relays_options *o, int argc, char *argv[], int *status)
{
	enum { O_URL = 1, O_REGION };
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION, CMD_JSON_OPTION, { "url", 'u', true, O_URL }, { "region", 'r', true, O_REGION },
	};
	struct args_parser p;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_relays, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case CMD_OPT_STATE: o->dir = p.value; break;
		case CMD_OPT_JSON: o->json = true; break;
		case O_URL: o->url = p.value; break;
		case O_REGION: o->region = p.value; break;
		default:
			if (o->words_count == 2) {
				*status = cmd_usage_error(&cmd_relays, "too many arguments");
				return -1;
			}
			o->words[o->words_count++] = p.value;
			break;
		}
	}
	return 0;
}

static int relays_main(int argc, char *argv[])
{
	struct relays_options o = { .dir = SERVER_STATE_DIR_DEFAULT };
	const char *action;
	struct store *st;
	int r = CMD_EXIT_FAIL;

	if (relays_parse(&o, argc, argv, &r) < 0)
		return r;
	action = o.words_count ? o.words[0] : "list";
	if (strcmp(action, "list") == 0) {
		if (o.words_count > 1)
			return cmd_usage_error(&cmd_relays, "list takes no argument");
	} else if (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0) {
		if (o.words_count != 2 || strlen(o.words[1]) > COORD_NAME_MAX || !o.words[1][0])
			return cmd_usage_error(&cmd_relays, "%s wants a NAME (at most %d characters)", action, COORD_NAME_MAX);
		if (strcmp(action, "add") == 0 &&
		    (!o.url || strncmp(o.url, "https://", 8) != 0 || !o.url[8] || strlen(o.url) >= 256))
			return cmd_usage_error(&cmd_relays, "add wants --url https://HOST:PORT");
		if (o.region && strlen(o.region) >= 64)
			return cmd_usage_error(&cmd_relays, "--region: at most 63 characters");
		if (!map_safe(o.url) || !map_safe(o.region))
			return cmd_usage_error(&cmd_relays, "--url and --region: printable ASCII, no spaces, quotes or backslashes");
	} else {
		return cmd_usage_error(&cmd_relays, "unknown action '%s' (list, add, remove)", action);
	}
	if (cmd_open_store(&cmd_relays, o.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	if (strcmp(action, "add") == 0) {
		r = relays_add(o.dir, st, o.words[1], o.url, o.region);
	} else if (strcmp(action, "remove") == 0) {
		r = store_relay_remove(st, o.words[1]);
		if (r < 0)
			fprintf(stderr, "roam-server relays remove: no relay '%s'\n", o.words[1]);
		else
			printf("relay %s removed\n", o.words[1]);
	} else {
		r = relays_list(st, o.json);
	}
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_relays = {
	.name = "relays",
	.summary = "Add, list and remove relay-only servers",
	.usage = "Usage: roam-server relays [--state DIR] [--json] [list]\n"
		 "       roam-server relays [--state DIR] add NAME --url https://HOST:PORT [--region REGION]\n"
		 "       roam-server relays [--state DIR] remove NAME\n"
		 "\n"
		 "add prints the relay's join token (roamrelay1....) and the `roam-server relay`\n"
		 "command to run on its host; only a hash of its secret is stored. list shows\n"
		 "each relay's state (never registered, online: a load report in the last 30 s,\n"
		 "offline), clients, packets per second and URL.\n"
		 "\n"
		 "  -s, --state DIR     the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -u, --url URL       add: where nodes reach the relay (https://HOST:PORT)\n"
		 "  -r, --region REGION add: a label shown to admins and nodes\n"
		 "  -j, --json          list as {\"relays\": [{\"id\", \"name\", \"url\", \"region\",\n"
		 "                      \"registered\", \"online\", \"clients\", \"pps\", \"bps\",\n"
		 "                      \"dropped\", \"load_at\"}]}\n"
		 "  -h, --help          this text\n"
		 "\n"
		 "Exit status: 0 done, 1 failure (no such relay, name taken, no state), 2 bad usage.\n",
	.run = relays_main,
};
