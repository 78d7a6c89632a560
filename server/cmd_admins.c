/* roam-server admins: accounts of the console and the admin API, and the
 * API tokens for scripts. Written to the database directly: the server
 * reads accounts and tokens there at each login or request, so a change
 * takes effect at once with or without a running server. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "coord/json.h"
#include "crypto/crypto.h"
#include "server/admin/auth.h"
#include "server/cmd.h"

/* One line from stdin; on a terminal without echo, after a prompt. */
static int read_password(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t len;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, (int)size, stdin))
		buf[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	return len ? 0 : -EINVAL;
}

static int ask_new_password(char hash[STORE_ADMIN_HASH_MAX + 1])
{
	char pw[ADMIN_PASSWORD_MAX + 2], again[ADMIN_PASSWORD_MAX + 2];
	int r = -EINVAL;

	if (read_password("Password: ", pw, sizeof(pw)) < 0) {
		fprintf(stderr, "roam-server admins: no password given (one line on stdin)\n");
		goto out;
	}
	if (isatty(STDIN_FILENO) && (read_password("Again: ", again, sizeof(again)) < 0 || strcmp(pw, again) != 0)) {
		fprintf(stderr, "roam-server admins: the passwords differ\n");
		goto out;
	}
	if ((r = admin_password_hash(pw, hash)) == -EINVAL)
		fprintf(stderr, "roam-server admins: a password has %d to %d characters\n", ADMIN_PASSWORD_MIN,
			ADMIN_PASSWORD_MAX);
	else if (r < 0)
		fprintf(stderr, "roam-server admins: hashing the password: out of memory\n");
out:
	crypto_wipe(pw, sizeof(pw));
	crypto_wipe(again, sizeof(again));
	return r;
}

static int list_one(void *arg, const struct store_admin *a)
{
	cJSON *list = arg, *o;
	char when[64];

	if (!list) {
		cmd_format_time(a->created, when, sizeof(when));
		printf("%-5u %-24s %s\n", a->id, a->name, when);
		return 0;
	}
	if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddNumberToObject(o, "created", (double)a->created);
	return 0;
}

static int admins_list(struct store *st, bool json)
{
	cJSON *root, *list;
	int r;

	if (!json) {
		printf("%-5s %-24s %s\n", "ID", "NAME", "CREATED");
		return store_admins_foreach(st, list_one, NULL);
	}
	root = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(root, "admins");
	r = list ? store_admins_foreach(st, list_one, list) : -ENOMEM;
	if (r == 0)
		r = cmd_print_json(root);
	cJSON_Delete(root);
	return r;
}

static int admins_run(struct store *st, const char *action, const char *arg)
{
	char hash[STORE_ADMIN_HASH_MAX + 1], token[ADMIN_TOKEN_STRLEN + 1];
	struct store_admin a;
	uint32_t id;
	int r;

	if (strcmp(action, "add") == 0) {
		if (!coord_name_valid(arg)) {
			fprintf(stderr, "roam-server admins add: '%s' is not a valid name ([A-Za-z0-9._-], 1-63)\n", arg);
			return -EINVAL;
		}
		if (store_admin_by_name(st, arg, &a) == 0) {
			fprintf(stderr, "roam-server admins add: '%s' exists (admins passwd to change the password)\n", arg);
			return -EEXIST;
		}
		if ((r = ask_new_password(hash)) < 0 || (r = store_admin_add(st, arg, hash, (int64_t)time(NULL), &id)) < 0)
			goto out;
		printf("admin %u: %s\n", id, arg);
		goto out;
	}
	if (strcmp(action, "revoke-token") == 0) {
		char *end;
		unsigned long tid = strtoul(arg, &end, 10);
		if (*end || !tid || tid > UINT32_MAX || store_admin_token_revoke(st, (uint32_t)tid) < 0) {
			fprintf(stderr, "roam-server admins revoke-token: no token %s\n", arg);
			return -ENOENT;
		}
		printf("token %lu revoked\n", tid);
		return 0;
	}
	if (store_admin_by_name(st, arg, &a) < 0) {
		fprintf(stderr, "roam-server admins %s: no admin '%s'\n", action, arg);
		return -ENOENT;
	}
	if (strcmp(action, "remove") == 0) {
		if ((r = store_admin_remove(st, a.id)) == 0)
			printf("admin %s removed (and their tokens)\n", arg);
	} else if (strcmp(action, "passwd") == 0) {
		if ((r = ask_new_password(hash)) == 0 && (r = store_admin_set_password(st, a.id, hash)) == 0)
			printf("password of %s changed\n", arg);
	} else { /* token */
		if ((r = admin_token_create(st, a.id, (int64_t)time(NULL), token, &id)) == 0)
			printf("# API token %u of %s (shown once; revoke with `roam-server admins revoke-token %u`):\n%s\n",
			       id, arg, id, token);
		crypto_wipe(token, sizeof(token));
	}
out:
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, "roam-server admins %s: %s\n", action, store_error(st));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(&a, sizeof(a));
	return r;
}

static int admins_main(int argc, char *argv[])
{
	static const char *const actions[] = { "list", "add", "passwd", "remove", "token", "revoke-token" };
	struct cmd_words w;
	struct store *st;
	bool known = false;
	int r;

	if ((r = cmd_parse_words(&cmd_admins, argc, argv, &w)) >= 0)
		return r;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		known |= strcmp(w.words[0], actions[i]) == 0;
	if (!known)
		return cmd_usage_error(&cmd_admins, "unknown action '%s' (list, add, passwd, remove, token, revoke-token)",
				       w.words[0]);
	if (w.count != (strcmp(w.words[0], "list") == 0 ? 1u : 2u))
		return cmd_usage_error(&cmd_admins, "wrong number of arguments for '%s'", w.words[0]);
	if (cmd_open_store(&cmd_admins, w.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	r = strcmp(w.words[0], "list") == 0 ? admins_list(st, w.json) : admins_run(st, w.words[0], w.words[1]);
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_admins = {
	.name = "admins",
	.summary = "Accounts of the web console and admin API; API tokens",
	.usage = "Usage: roam-server admins [--state DIR] [--json] [list]\n"
		 "       roam-server admins [--state DIR] add NAME       (password on stdin)\n"
		 "       roam-server admins [--state DIR] passwd NAME    (password on stdin)\n"
		 "       roam-server admins [--state DIR] remove NAME\n"
		 "       roam-server admins [--state DIR] token NAME\n"
		 "       roam-server admins [--state DIR] revoke-token ID\n"
		 "\n"
		 "The console (https://127.0.0.1:8444/ unless roam-server run was given\n"
		 "another admin address) and the admin API (docs/admin-api.md) take these accounts. A\n"
		 "password (10 to 512 characters) is read from the terminal twice without echo,\n"
		 "or as one line from stdin; only its argon2id hash is stored. token prints a\n"
		 "new API token for scripts (Authorization: Bearer TOKEN), shown once, stored\n"
		 "hashed. Changes take effect at once, server running or not.\n"
		 "\n"
		 "  -s, --state DIR  the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -j, --json       list as {\"admins\": [{\"id\", \"name\", \"created\"}]}\n"
		 "  -h, --help       this text\n"
		 "\n"
		 "Exit status: 0 done, 1 failure (no such admin, bad password, no state), 2 bad usage.\n",
	.run = admins_main,
};
