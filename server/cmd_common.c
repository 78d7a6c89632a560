#include <blake2.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coord/auth.h"
#include "coord/token.h"
#include "crypto/crypto.h"
#include "server/admin/ops.h"
#include "server/admin/sock.h"
#include "server/cmd.h"
#include "server/store_backend.h"
#include "server/relays.h"

int cmd_usage_error(const struct server_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = args_usage_verror("roam-server", cmd->name, fmt, ap);
	va_end(ap);
	return r;
}

int cmd_next(const struct server_cmd *cmd, struct args_parser *p, int *status)
{
	return args_next_command(p, "roam-server", cmd->name, cmd->usage, status);
}

int cmd_parse_words(const struct server_cmd *cmd, int argc, char *argv[], struct cmd_words *out)
{
	static const struct args_opt opts[] = { CMD_STATE_OPTION, CMD_JSON_OPTION };
	struct args_parser p;
	int c, r = CMD_EXIT_FAIL;

	out->dir = SERVER_STATE_DIR_DEFAULT;
	out->json = false;
	out->count = 0;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(cmd, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c == CMD_OPT_STATE)
			out->dir = p.value;
		else if (c == CMD_OPT_JSON)
			out->json = true;
		else if (out->count < CMD_WORDS_MAX)
			out->words[out->count++] = p.value;
		else
			return cmd_usage_error(cmd, "too many arguments");
	}
	if (!out->count)
		out->words[out->count++] = "list";
	for (size_t i = out->count; i < CMD_WORDS_MAX; i++)
		out->words[i] = NULL;
	return -1;
}

int cmd_print_json(const cJSON *value)
{
	char *text = cJSON_Print(value);

	if (!text)
		return -ENOMEM;
	puts(text);
	cJSON_free(text);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

int cmd_state_exists(const struct server_cmd *cmd, const char *state_dir)
{
	char path[SERVER_PATH_MAX];
	struct stat sb;

	if (identity_path(path, state_dir, "state.db") < 0) {
		fprintf(stderr, "roam-server %s: state directory path too long\n", cmd->name);
		return -ENAMETOOLONG;
	}
	if (stat(path, &sb) == 0)
		return 0;
	if (errno == ENOENT && identity_path(path, state_dir, STORE_URL_FILE) == 0 && stat(path, &sb) == 0)
		return 0; /* the state is in PostgreSQL */
	if (errno == ENOENT)
		fprintf(stderr, "roam-server %s: no state in %s: run `roam-server init%s%s` first\n", cmd->name,
			state_dir, strcmp(state_dir, SERVER_STATE_DIR_DEFAULT) ? " --state " : "",
			strcmp(state_dir, SERVER_STATE_DIR_DEFAULT) ? state_dir : "");
	else
		fprintf(stderr, "roam-server %s: %s: %s\n", cmd->name, path, strerror(errno));
	return -ENOENT;
}

int cmd_open_store(const struct server_cmd *cmd, const char *state_dir, struct store **out)
{
	char path[SERVER_PATH_MAX];
	int r;

	if ((r = cmd_state_exists(cmd, state_dir)) < 0)
		return r;
	if ((r = identity_path(path, state_dir, "state.db")) < 0)
		return r;
	if ((r = store_open(path, false, out)) < 0)
		fprintf(stderr, "roam-server %s: %s\n", cmd->name, store_error(NULL));
	return r;
}

/* No server answers on the socket: the change goes to the database, and
 * the server loads it when it starts. A node the change removed, expired or
 * took out of a group gets a ticket floor there too, as the running server
 * would give it: the relays hear of it when the server starts, and refuse
 * the tickets it holds (they live 10 minutes). */
static int admin_apply_offline(const char *what, const char *state_dir, struct store *st, cJSON *req,
			       cJSON **reply)
{
	struct store *own = NULL;
	struct floor_nodes *before = NULL;
	unsigned changed = 0;
	size_t floors = 0;
	int64_t now = (int64_t)time(NULL);
	int r;

	if (!st) {
		char path[SERVER_PATH_MAX];
		if ((r = identity_path(path, state_dir, "state.db")) < 0 || (r = store_open(path, false, &own)) < 0) {
			fprintf(stderr, "roam-server %s: %s\n", what, store_error(NULL));
			return r;
		}
		st = own;
	}
	if ((r = ticket_floors_snapshot(st, &before)) < 0)
		fprintf(stderr, "roam-server %s: cannot read the nodes: %s\n", what, strerror(-r));
	else if ((r = admin_ops_apply(st, req, now, reply, &changed)) == 0 && (changed & ADMIN_CHANGED_NODES) &&
		 ticket_floors_offline(st, before, now, &floors) < 0)
		fprintf(stderr, "roam-server %s: warning: ticket floors not written: the relays may take the old "
			"tickets for up to 10 minutes\n", what);
	else if (floors)
		fprintf(stderr, "roam-server %s: %zu ticket floor(s) kept for the relays\n", what, floors);
	ticket_floors_snapshot_free(before);
	store_close(own);
	return r;
}

int cmd_admin_apply(const char *what, const char *state_dir, struct store *st, cJSON *req, cJSON **reply)
{
	const cJSON *err;
	int r;

	*reply = NULL;
	if (!st && cmd_state_exists(&(struct server_cmd){ .name = what }, state_dir) < 0)
		return -ENOENT;
	r = admin_sock_call(state_dir, req, reply);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENAMETOOLONG)
		r = admin_apply_offline(what, state_dir, st, req, reply);
	else if (r < 0)
		fprintf(stderr, "roam-server %s: the running server did not answer on %s/" ADMIN_SOCK_NAME ": %s\n",
			what, state_dir, strerror(-r));
	if (*reply && (err = cJSON_GetObjectItemCaseSensitive(*reply, "error")) && cJSON_IsString(err)) {
		fprintf(stderr, "roam-server %s: %s\n", what, err->valuestring);
		r = r < 0 ? r : -EINVAL;
	} else if (r < 0 && *reply) {
		fprintf(stderr, "roam-server %s: %s\n", what, strerror(-r));
	}
	if (r < 0) {
		cJSON_Delete(*reply);
		*reply = NULL;
	}
	return r;
}

int cmd_admin_simple(const char *what, const char *state_dir, const char *done, const char *op, const char *key1,
		     const char *value1, const char *key2, const char *value2)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	int r = -ENOMEM;

	if (req && cJSON_AddStringToObject(req, "op", op) && cJSON_AddStringToObject(req, key1, value1) &&
	    (!key2 || cJSON_AddStringToObject(req, key2, value2)) &&
	    (r = cmd_admin_apply(what, state_dir, NULL, req, &reply)) == 0)
		printf("%s\n", done);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

int cmd_parse_duration(const char *text, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 1;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || v < 0)
		return -EINVAL;
	if (*end == 's')
		mult = 1;
	else if (*end == 'm')
		mult = 60;
	else if (*end == 'h')
		mult = 3600;
	else if (*end == 'd')
		mult = 86400;
	else if (*end != '\0')
		return -EINVAL;
	if (*end && end[1] != '\0')
		return -EINVAL;
	if (v > INT64_MAX / mult / 2)
		return -EINVAL;
	*out = (int64_t)v * mult;
	return 0;
}

void cmd_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
}

int cmd_print_join(FILE *out, const char *state_dir, struct store *st, const uint8_t *preauth_key)
{
	struct server_identity id;
	struct coord_token t;
	char err[SERVER_ERROR_MAX], host[256], port[16], token[COORD_TOKEN_STRLEN + 1];
	int r;

	if ((r = identity_load(state_dir, &id, err)) < 0) {
		fprintf(stderr, "roam-server: %s\n", err);
		return r;
	}
	if (store_meta_get(st, "host", host, sizeof(host)) < 0 || store_meta_get(st, "port", port, sizeof(port)) < 0) {
		fprintf(stderr, "roam-server: state has no host/port settings (corrupt?)\n");
		return -EBADMSG;
	}
	memset(&t, 0, sizeof(t));
	memcpy(t.tls_pin, id.tls_pin, sizeof(t.tls_pin));
	memcpy(t.server_pub, id.control_pub, sizeof(t.server_pub));
	if (preauth_key)
		memcpy(t.preauth_key, preauth_key, COORD_PREAUTH_KEY_LEN);
	coord_token_encode(&t, token, sizeof(token));
	fprintf(out, "roam up --server https://%s%s%s:%s --token %s\n", strchr(host, ':') ? "[" : "", host,
		strchr(host, ':') ? "]" : "", port, token);
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(token, sizeof(token));
	identity_wipe(&id);
	return 0;
}

int cmd_key_create(const char *state_dir, struct store *st, bool reusable, int64_t expires_in,
		   const char *const *groups, size_t groups_count)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL, *list;
	const cJSON *id, *exp, *secret;
	uint8_t key[COORD_PREAUTH_KEY_LEN];
	char when[64];
	int r = -ENOMEM;

	if (!req || !cJSON_AddStringToObject(req, "op", "keys.create") || !cJSON_AddBoolToObject(req, "reusable", reusable) ||
	    !cJSON_AddNumberToObject(req, "expires_in", (double)expires_in) || !(list = cJSON_AddArrayToObject(req, "groups")))
		goto out;
	for (size_t i = 0; i < groups_count; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(groups[i]));
	if ((r = cmd_admin_apply("keys create", state_dir, st, req, &reply)) < 0)
		goto out;
	id = cJSON_GetObjectItemCaseSensitive(reply, "id");
	exp = cJSON_GetObjectItemCaseSensitive(reply, "expires_at");
	secret = cJSON_GetObjectItemCaseSensitive(reply, "secret");
	if (!cJSON_IsNumber(id) || !cJSON_IsNumber(exp) || !cJSON_IsString(secret) ||
	    coord_b64_decode(key, sizeof(key), secret->valuestring, strlen(secret->valuestring), 1) < 0) {
		fprintf(stderr, "roam-server keys create: a malformed reply from the server\n");
		r = -EPROTO;
		goto out;
	}
	cmd_format_time((int64_t)exp->valuedouble, when, sizeof(when));
	printf("# pre-auth key %u: %s, expires: %s; a node joins with:\n", (unsigned)id->valuedouble,
	       reusable ? "reusable" : "single-use", when);
	r = cmd_print_join(stdout, state_dir, st, key);
out:
	crypto_wipe(key, sizeof(key));
	if (reply && (secret = cJSON_GetObjectItemCaseSensitive(reply, "secret")) && cJSON_IsString(secret))
		crypto_wipe(secret->valuestring, strlen(secret->valuestring));
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}
