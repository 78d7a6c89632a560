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
#include "coord/auth.h"
#include "server/admin/ops.h"
#include "server/admin/records.h"
#include "server/cmd.h"


struct relays_list_ctx {
	cJSON *list; /* NULL: a table */
	int64_t now;
};

static int list_one(void *arg, const struct store_relay *rl)
{
	struct relays_list_ctx *c = arg;
	bool online = admin_relay_online(rl, c->now);

	if (!c->list) {
		printf("%-4u %-16s %-8s %-10s %-8llu %-10llu %s\n", rl->id, rl->name, rl->region[0] ? rl->region : "-",
		       !rl->registered ? "never" : online ? "online" : "offline", (unsigned long long)rl->clients,
		       (unsigned long long)rl->pps, rl->url);
		return 0;
	}
	cJSON *o = admin_relay_json(rl, c->now);
	if (!o || !cJSON_AddItemToArray(c->list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
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

/* The relay's join token: our TLS pin and control key, and the secret the
 * server made (only its hash is stored). */
static int relays_print(const char *dir, struct store *st, const cJSON *reply, const char *name, const char *url,
			const char *region)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id"), *secret = cJSON_GetObjectItemCaseSensitive(reply, "secret");
	struct server_identity sid;
	struct relay_token t;
	char err[SERVER_ERROR_MAX], token[RELAY_TOKEN_STRLEN + 1], host[256], port[16];
	int r;

	if (!cJSON_IsNumber(id) || !cJSON_IsString(secret) ||
	    coord_b64_decode(t.secret, sizeof(t.secret), secret->valuestring, strlen(secret->valuestring), 1) < 0) {
		fprintf(stderr, "roam-server relays add: a malformed reply from the server\n");
		return -EPROTO;
	}
	if ((r = identity_load(dir, &sid, err)) < 0) {
		fprintf(stderr, "roam-server: %s\n", err);
		goto out;
	}
	memcpy(t.tls_pin, sid.tls_pin, sizeof(t.tls_pin));
	memcpy(t.server_pub, sid.control_pub, sizeof(t.server_pub));
	identity_wipe(&sid);
	relay_token_encode(&t, token, sizeof(token));
	if (store_meta_get(st, "host", host, sizeof(host)) < 0 || store_meta_get(st, "port", port, sizeof(port)) < 0) {
		fprintf(stderr, "roam-server: state has no host/port settings (corrupt?)\n");
		r = -EBADMSG;
		goto out;
	}
	const char *listen = strrchr(url + 8, ':');
	printf("# relay %u (%s); on its host run:\n", (unsigned)id->valuedouble, name);
	printf("roam-server relay --server https://%s%s%s:%s --token %s --listen %s%s%s\n", strchr(host, ':') ? "[" : "",
	       host, strchr(host, ':') ? "]" : "", port, token, listen && !strchr(listen, ']') ? listen : ":443",
	       region && region[0] ? " --region " : "", region ? region : "");
out:
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(token, sizeof(token));
	return r;
}

static int relays_add(const char *dir, struct store *st, const char *name, const char *url, const char *region)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	const cJSON *secret;
	int r = -ENOMEM;

	if (req && cJSON_AddStringToObject(req, "op", "relays.add") && cJSON_AddStringToObject(req, "name", name) &&
	    cJSON_AddStringToObject(req, "url", url) && cJSON_AddStringToObject(req, "region", region ? region : "") &&
	    (r = cmd_admin_apply("relays add", dir, st, req, &reply)) == 0)
		r = relays_print(dir, st, reply, name, url, region);
	if (reply && (secret = cJSON_GetObjectItemCaseSensitive(reply, "secret")) && cJSON_IsString(secret))
		crypto_wipe(secret->valuestring, strlen(secret->valuestring));
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
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
		if (!admin_ops_relay_text_ok(o.url) || !admin_ops_relay_text_ok(o.region))
			return cmd_usage_error(&cmd_relays, "--url and --region: printable ASCII, no spaces, quotes or backslashes");
	} else {
		return cmd_usage_error(&cmd_relays, "unknown action '%s' (list, add, remove)", action);
	}
	if (cmd_open_store(&cmd_relays, o.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	if (strcmp(action, "add") == 0) {
		r = relays_add(o.dir, st, o.words[1], o.url, o.region);
	} else if (strcmp(action, "remove") == 0) {
		char done[96];
		snprintf(done, sizeof(done), "relay %s removed", o.words[1]);
		r = cmd_admin_simple("relays remove", o.dir, done, "relays.remove", "name", o.words[1], NULL, NULL);
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
