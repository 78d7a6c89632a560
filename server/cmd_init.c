/* roam-server init: state directory, identity, network prefixes, and the
 * first join command. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/cmd.h"
#include "server/server.h"
#include "server/store_backend.h"

#define INIT_KEY_LIFETIME_S 86400

/* RFC 4193: fd00::/8 + 40 random bits. */
static void random_ula(char *buf, size_t size)
{
	uint8_t g[5];

	crypto_random(g, sizeof(g));
	snprintf(buf, size, "fd%02x:%02x%02x:%02x%02x::/48", g[0], g[1], g[2], g[3], g[4]);
}

/* --store-url: the connection string goes to DIR/store.url, mode 0600 (it
 * may hold a password; it is never printed), and selects PostgreSQL for
 * every command on DIR. */
static int init_store_url(const char *dir, const char *url)
{
	char path[SERVER_PATH_MAX];
	size_t len = strlen(url);
	int fd, r;

	if ((r = identity_path(path, dir, STORE_URL_FILE)) < 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		fprintf(stderr, "roam-server init: %s: %s\n", path, strerror(errno));
		return r;
	}
	r = write(fd, url, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "roam-server init: %s: cannot write\n", path);
	return r;
}

static int init_store(const char *dir, const char *host, uint16_t port, struct store **out)
{
	char path[SERVER_PATH_MAX], ula[64], port_text[8];
	struct store *st;
	int r;

	if ((r = identity_path(path, dir, "state.db")) < 0)
		return r;
	if ((r = store_open(path, true, &st)) < 0) {
		fprintf(stderr, "roam-server init: %s\n", store_error(NULL));
		return r;
	}
	random_ula(ula, sizeof(ula));
	snprintf(port_text, sizeof(port_text), "%u", port);
	if ((r = store_meta_set(st, "network6", ula)) < 0 || (r = store_meta_set(st, "network4", "100.64.0.0/10")) < 0 ||
	    (r = store_meta_set(st, "host", host)) < 0 || (r = store_meta_set(st, "port", port_text)) < 0) {
		fprintf(stderr, "roam-server init: %s\n", store_error(st));
		store_close(st);
		return r;
	}
	printf("# network %s and 100.64.0.0/10, state in %s\n", ula, dir);
	*out = st;
	return 0;
}

static int init_main(int argc, char *argv[])
{
	enum { O_HOST = 1, O_PORT, O_STORE_URL };
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION, { "host", 'H', true, O_HOST }, { "port", 'p', true, O_PORT },
		{ "store-url", 'U', true, O_STORE_URL },
	};
	const char *store_url = NULL;
	const char *dir = SERVER_STATE_DIR_DEFAULT;
	char host[256] = "", err[SERVER_ERROR_MAX];
	long port = SERVER_PORT_DEFAULT;
	struct args_parser p;
	struct store *st;
	int c, r = CMD_EXIT_FAIL;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_init, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c == CMD_OPT_STATE)
			dir = p.value;
		else if (c == O_HOST)
			snprintf(host, sizeof(host), "%s", p.value);
		else if (c == O_STORE_URL)
			store_url = p.value;
		else if (c == O_PORT && args_long(&p, "--port", 1, 65535, &port) < 0)
			return cmd_usage_error(&cmd_init, "%s", p.error);
		else if (c == ARGS_OPERAND)
			return cmd_usage_error(&cmd_init, "unexpected argument '%s'", p.value);
	}
	if (store_url && (!store_url[0] || strlen(store_url) >= STORE_URL_MAX || strpbrk(store_url, "\r\n")))
		return cmd_usage_error(&cmd_init, "--store-url: a PostgreSQL connection string of one line");
	if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
		return cmd_usage_error(&cmd_init, "give --host");
	if (crypto_init() < 0)
		return CMD_EXIT_FAIL;
	if (identity_create(dir, host, err) < 0) {
		fprintf(stderr, "roam-server init: %s\n", err);
		return CMD_EXIT_FAIL;
	}
	if ((store_url && init_store_url(dir, store_url) < 0) || init_store(dir, host, (uint16_t)port, &st) < 0)
		return CMD_EXIT_FAIL;
	c = cmd_key_create(dir, st, false, INIT_KEY_LIFETIME_S, NULL, 0);
	if (c == 0) {
		printf("# or, to wait for `roam-server nodes approve NAME`:\n");
		c = cmd_print_join(stdout, dir, st, NULL);
	}
	printf("# start serving with: roam-server run --state %s\n", dir);
	store_close(st);
	return c < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_init = {
	.name = "init",
	.summary = "Create the state, the server identity and the first join command",
	.usage = "Usage: roam-server init [--state DIR] [--host HOST] [--port PORT] [--store-url URL]\n"
		 "\n"
		 "Creates DIR (default " SERVER_STATE_DIR_DEFAULT ", mode 0700) with the control key,\n"
		 "a TLS key and self-signed certificate for HOST (default: this hostname; the\n"
		 "address or name nodes use), and the state database; draws the network's ULA\n"
		 "/48 (IPv4 is 100.64.0.0/10). PORT (default 443) is used for HTTPS (TCP) and\n"
		 "UDP. Prints the join command with a single-use pre-auth key valid 24 h, and\n"
		 "one without a key (the node then waits for approval). Refuses to overwrite.\n"
		 "\n"
		 "  -s, --state DIR  where to create the state\n"
		 "  -H, --host HOST  the name or address nodes reach this server at\n"
		 "  -p, --port PORT  TCP and UDP port (default 443)\n"
		 "  -U, --store-url URL  keep the state in PostgreSQL (postgresql://USER@HOST/DB\n"
		 "                   or a libpq connection string), saved in DIR/store.url\n"
		 "                   (mode 0600); without it, SQLite in DIR/state.db\n"
		 "  -h, --help       this text\n"
		 "\n"
		 "Exit status: 0 created, 1 failure (state exists, cannot write), 2 bad usage.\n",
	.run = init_main,
};
