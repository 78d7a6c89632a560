/* Fuzzes roam-server loading its state (server/store_sqlite*.c through
 * store.h, then server_load_all() into the directory, as `roam-server run`
 * starts): the input is written as state.db in a private temporary
 * directory and opened. A damaged or foreign file must give an error, never
 * a crash, a leak or an out-of-range record. The meta values go through the
 * checks roam-server applies to them (server/meta.c), and so do the raw
 * input bytes, as a value. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "server/meta.h"
#include "server/server.h"
#include "server/store.h"

static char dir[] = "/tmp/roam-fuzz-store-XXXXXX";
static char path[sizeof(dir) + 16], wal[sizeof(path) + 4], shm[sizeof(path) + 4];

static void cleanup(void)
{
	unlink(path);
	unlink(wal);
	unlink(shm);
	rmdir(dir);
}

static int check_node(void *ctx, const struct store_node *n)
{
	(void)ctx;
	if (!memchr(n->name, '\0', sizeof(n->name)) || n->groups_count > COORD_GROUPS_MAX)
		abort();
	return 0;
}

static int check_group(void *ctx, const struct store_group *g)
{
	(void)ctx;
	if (!memchr(g->name, '\0', sizeof(g->name)))
		abort();
	return 0;
}

static int check_key(void *ctx, const struct store_key *k)
{
	(void)ctx;
	if (k->groups_count > COORD_GROUPS_MAX)
		abort();
	return 0;
}

static void check_meta(const char *text)
{
	struct ip_prefix p;
	uint16_t port;

	if (server_meta_network6(text, &p) == 0 && p.family != AF_INET6)
		abort();
	if (server_meta_port(text, &port) == 0 && port == 0)
		abort();
}

/* What `roam-server run` does after store_open(). */
static void load(struct store *st)
{
	static const uint8_t server_priv[COORD_KEY_LEN] = { 0x40 };
	static const char *const keys[] = { "network6", "network4", "host", "port" };
	char text[128];
	struct ip_prefix net6;
	struct server *s;
	int64_t version;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (store_meta_get(st, keys[i], text, sizeof(text)) == 0)
			check_meta(text);
	(void)store_nodes_foreach(st, check_node, NULL);
	(void)store_groups_foreach(st, check_group, NULL);
	(void)store_keys_foreach(st, check_key, NULL);
	(void)store_data_version(st, &version);
	if (store_meta_get(st, "network6", text, sizeof(text)) < 0 || server_meta_network6(text, &net6) < 0)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->store = st;
	if (dir_init(&s->dir, server_priv, net6.addr) == 0) {
		(void)server_load_all(s);
		dir_free(&s->dir);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *st;
	char value[128];
	int fd;

	if (!path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/state.db", dir);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		snprintf(shm, sizeof(shm), "%s-shm", path);
		atexit(cleanup);
	}
	memcpy(value, data, size < sizeof(value) - 1 ? size : sizeof(value) - 1);
	value[size < sizeof(value) - 1 ? size : sizeof(value) - 1] = '\0';
	check_meta(value);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (store_open(path, false, &st) == 0) {
		load(st);
		store_close(st);
	}
	unlink(wal);
	unlink(shm);
	return 0;
}
