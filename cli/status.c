/* roam status: ask roamd over the control socket and show the answer, as a
 * table for people (like `wg show`) or as JSON for scripts. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

struct status_options {
	bool json;
	const char *socket_path;
};

static int status_parse_args(int argc, char *argv[], struct status_options *opt)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (cli_is_help(arg)) {
			cli_usage(stdout, &cli_status);
			return CLI_EXIT_OK;
		} else if (strcmp(arg, "--json") == 0) {
			opt->json = true;
		} else if (cli_socket_opt(argc, argv, &i, &opt->socket_path) > 0) {
			continue;
		} else {
			fprintf(stderr, "roam status: %s '%s'\n\n",
				strcmp(arg, "--socket") == 0 ? "missing PATH after" : "unknown argument", arg);
			cli_usage(stderr, &cli_status);
			return CLI_EXIT_USAGE;
		}
	}
	return -1; /* go on */
}

/* ---- reading the reply: missing or mistyped fields show as unknown ---- */

static const char *json_str(const cJSON *obj, const char *name, const char *fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) && item->valuestring ? item->valuestring : fallback;
}

static bool json_u64(const cJSON *obj, const char *name, uint64_t *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 1.8e19)
		return false;
	*out = (uint64_t)item->valuedouble;
	return true;
}

/* "a, b, c" from an array of strings, or "(none)". */
static void print_string_list(const char *label, const cJSON *obj, const char *name)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *item;
	bool first = true;

	printf("  %s: ", label);
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item))
			continue;
		printf("%s%s", first ? "" : ", ", item->valuestring);
		first = false;
	}
	puts(first ? "(none)" : "");
}

/* Byte counts as wg shows them: B below 1 KiB, else two decimals of the
 * largest binary unit. */
static void format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f %s", v, units[u]);
}

/* "1 hour, 2 minutes, 3 seconds ago" */
static void print_ago(uint64_t then)
{
	static const struct {
		const char *name;
		uint64_t seconds;
	} units[] = { { "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 } };
	time_t now = time(NULL);
	uint64_t left;
	bool first = true;

	if (now < 0 || (uint64_t)now <= then) {
		puts("just now");
		return;
	}
	left = (uint64_t)now - then;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = left / units[i].seconds;
		if (n == 0)
			continue;
		left -= n * units[i].seconds;
		printf("%s%llu %s%s", first ? "" : ", ", (unsigned long long)n, units[i].name, n == 1 ? "" : "s");
		first = false;
	}
	puts(" ago");
}

/* Non-zero counters of a {"name": n, ...} object, "none" if all are zero. */
static void print_drops(const cJSON *drops)
{
	const cJSON *item;
	bool first = true;

	printf("  drops: ");
	cJSON_ArrayForEach(item, drops) {
		if (!cJSON_IsNumber(item) || item->valuedouble <= 0 || !item->string)
			continue;
		printf("%s%s %.0f", first ? "" : ", ", item->string, item->valuedouble);
		first = false;
	}
	puts(first ? "none" : "");
}

static void print_interface(const cJSON *root)
{
	uint64_t v;

	printf("interface: %s\n", json_str(root, "interface", "(unknown)"));
	printf("  public key: %s\n", json_str(root, "public_key", "(unknown)"));
	if (json_u64(root, "listen_port", &v))
		printf("  listening port: %llu\n", (unsigned long long)v);
	if (json_u64(root, "mtu", &v))
		printf("  mtu: %llu\n", (unsigned long long)v);
	print_string_list("addresses", root, "addresses");
	print_drops(cJSON_GetObjectItemCaseSensitive(root, "drops"));
}

/* Managed mode: which network, as whom, and how the server sees us. */
static void print_network(const cJSON *m)
{
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, "overlay");
	const char *server = json_str(m, "server", "");
	if (!cJSON_IsObject(m))
		return;
	/* roamd's own words: one state, named as it names it. */
	printf("\nnetwork: %s (%s)\n", *server ? server : "(none)", json_str(m, "state", "?"));
	if (json_str(m, "error", NULL))
		printf("  note: %s\n", json_str(m, "error", ""));
	if (!json_str(m, "name", NULL))
		return;
	printf("  this node: %s, %s, %s\n", json_str(m, "name", "?"), json_str(m, "ipv6", "(no IPv6)"),
	       json_str(m, "ipv4", "(no IPv4)"));
	if (json_str(ov, "ipv6", NULL) && strcmp(json_str(ov, "ipv6", ""), "configured") != 0)
		printf("  IPv6 overlay: %s\n", json_str(ov, "ipv6", ""));
	if (json_str(ov, "ipv4", NULL) && strcmp(json_str(ov, "ipv4", ""), "configured") != 0)
		printf("  IPv4 overlay: %s\n", json_str(ov, "ipv4", ""));
	printf("  public endpoint: %s (%s)\n", json_str(m, "public_endpoint", "(not seen yet)"),
	       json_str(m, "nat", "unknown"));
}

static void print_peer(const cJSON *peer)
{
	char rx[32] = "0 B", tx[32] = "0 B";
	uint64_t v;

	if (json_str(peer, "name", NULL)) {
		/* The buddy list: who, whether online, and how we reach them. */
		const cJSON *online = cJSON_GetObjectItemCaseSensitive(peer, "online");
		printf("\npeer: %s (%s, %s)\n", json_str(peer, "name", "?"), cJSON_IsTrue(online) ? "online" : "offline",
		       json_str(peer, "path", "?"));
		printf("  overlay: %s, %s\n", json_str(peer, "ipv6", "?"), json_str(peer, "ipv4", "?"));
		printf("  public key: %s\n", json_str(peer, "public_key", "(unknown)"));
	} else {
		printf("\npeer: %s\n", json_str(peer, "public_key", "(unknown)"));
	}
	printf("  endpoint: %s\n", json_str(peer, "endpoint", "(none)"));
	print_string_list("allowed ips", peer, "allowed_ips");
	printf("  latest handshake: ");
	if (json_u64(peer, "latest_handshake", &v) && v)
		print_ago(v);
	else
		puts("(none)");
	if (json_u64(peer, "rx_bytes", &v))
		format_bytes(rx, sizeof(rx), v);
	if (json_u64(peer, "tx_bytes", &v))
		format_bytes(tx, sizeof(tx), v);
	printf("  transfer: %s received, %s sent\n", rx, tx);
	if (json_u64(peer, "persistent_keepalive", &v) && v)
		printf("  persistent keepalive: every %llu second%s\n", (unsigned long long)v, v == 1 ? "" : "s");
	if (json_u64(peer, "drops", &v))
		printf("  drops: %llu\n", (unsigned long long)v);
}

static int status_print(cJSON *root, bool as_json)
{
	const cJSON *peer;
	char *pretty;
	int r = CLI_EXIT_FAIL;

	if (as_json) {
		pretty = cJSON_Print(root);
		if (!pretty)
			goto out;
		puts(pretty);
		cJSON_free(pretty);
	} else {
		print_interface(root);
		print_network(cJSON_GetObjectItemCaseSensitive(root, "managed"));
		cJSON_ArrayForEach(peer, cJSON_GetObjectItemCaseSensitive(root, "peers"))
			print_peer(peer);
	}
	r = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	return r;
}

static int status_main(int argc, char *argv[])
{
	struct status_options opt = { .json = false, .socket_path = CTL_DEFAULT_SOCKET_PATH };
	int r;

	r = status_parse_args(argc, argv, &opt);
	if (r >= 0)
		return r;
	cJSON *root = cli_ctl_call("status", opt.socket_path, "{\"cmd\":\"status\"}");
	if (!root)
		return CLI_EXIT_FAIL;
	r = status_print(root, opt.json);
	cJSON_Delete(root);
	return r;
}

const struct cli_command cli_status = {
	.name = "status",
	.run = status_main,
	.summary = "Show the running roamd's interface, peers and drop counters",
	.usage = "Usage: roam status [--json] [--socket PATH]\n"
		 "\n"
		 "Asks the running roamd for its state: the interface (public key, listening\n"
		 "port, MTU, addresses, drop counters), in managed mode the network (server,\n"
		 "this node's name and overlay addresses, public endpoint, NAT), and each peer\n"
		 "(name, online or offline, direct or relayed, endpoint, allowed IPs, latest\n"
		 "handshake, bytes transferred, persistent keepalive, drops).\n"
		 "\n"
		 "  --json          print roamd's JSON reply, indented, instead of the table\n"
		 "  --socket PATH   control socket to ask (default " CTL_DEFAULT_SOCKET_PATH ")\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Needs root. Exit status: 0 success, 1 failure (roamd not running, ...),\n"
		 "2 bad usage.\n",
};
