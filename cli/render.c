/* Rendering roamd's replies for people, and finding nodes in them. The
 * reply is untrusted input as far as this file goes (fuzz_cli_reply): a
 * missing or mistyped field shows as unknown, never as a crash. Strings
 * roamd names (managed.state, managed.nat, a peer's path) are printed as
 * they come: roamd is the one place that decides them. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char *json_str(const cJSON *obj, const char *name, const char *fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) && item->valuestring ? item->valuestring : fallback;
}

static bool json_u64(const cJSON *obj, const char *name, uint64_t *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0) || item->valuedouble > 1.8e19)
		return false;
	*out = (uint64_t)item->valuedouble;
	return true;
}

/* "a, b, c" from an array of strings, or "(none)". */
static void print_string_list(FILE *out, const char *label, const cJSON *obj, const char *name)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *item;
	bool first = true;

	fprintf(out, "  %s: ", label);
	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(item, list) {
			if (!cJSON_IsString(item))
				continue;
			fprintf(out, "%s%s", first ? "" : ", ", item->valuestring);
			first = false;
		}
	}
	fputs(first ? "(none)\n" : "\n", out);
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
static void print_ago(FILE *out, uint64_t then)
{
	static const struct {
		const char *name;
		uint64_t seconds;
	} units[] = { { "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 } };
	time_t now = time(NULL);
	uint64_t left;
	bool first = true;

	if (now < 0 || (uint64_t)now <= then) {
		fputs("just now\n", out);
		return;
	}
	left = (uint64_t)now - then;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = left / units[i].seconds;
		if (n == 0)
			continue;
		left -= n * units[i].seconds;
		fprintf(out, "%s%llu %s%s", first ? "" : ", ", (unsigned long long)n, units[i].name, n == 1 ? "" : "s");
		first = false;
	}
	fputs(" ago\n", out);
}

/* Non-zero counters of a {"name": n, ...} object, "none" if all are zero. */
static void print_drops(FILE *out, const cJSON *drops)
{
	const cJSON *item;
	bool first = true;

	fputs("  drops: ", out);
	if (cJSON_IsObject(drops)) {
		cJSON_ArrayForEach(item, drops) {
			if (!cJSON_IsNumber(item) || !(item->valuedouble > 0) || !item->string)
				continue;
			fprintf(out, "%s%s %.0f", first ? "" : ", ", item->string, item->valuedouble);
			first = false;
		}
	}
	fputs(first ? "none\n" : "\n", out);
}

static void print_interface(FILE *out, const cJSON *root)
{
	uint64_t v;

	fprintf(out, "interface: %s\n", json_str(root, "interface", "(unknown)"));
	fprintf(out, "  public key: %s\n", json_str(root, "public_key", "(unknown)"));
	if (json_u64(root, "listen_port", &v))
		fprintf(out, "  listening port: %llu\n", (unsigned long long)v);
	if (json_u64(root, "mtu", &v))
		fprintf(out, "  mtu: %llu\n", (unsigned long long)v);
	print_string_list(out, "addresses", root, "addresses");
	print_drops(out, cJSON_GetObjectItemCaseSensitive(root, "drops"));
}

/* The relay map (several relays), one line: each relay's round trip, then
 * whether it is home, in use (a peer met there), dead, and the link that
 * carries to it: "relays: 0 (12.5 ms, home, in use, link udp), 1 eu (no
 * round trip yet, dead, link tls)". */
static void print_relays(FILE *out, const cJSON *m)
{
	static const char *const flags[] = { "home", "in_use", "dead" };
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, "relays"), *r;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 2)
		return; /* only the control server: nothing to choose */
	fprintf(out, "  relays:");
	cJSON_ArrayForEach(r, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
		const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(r, "rtt_ms");
		const char *region = json_str(r, "region", ""), *link = json_str(r, "link", "none");
		fprintf(out, "%s %d%s%s (", r == arr->child ? "" : ",", cJSON_IsNumber(id) ? id->valueint : -1,
			region[0] ? " " : "", region);
		if (cJSON_IsNumber(rtt))
			fprintf(out, "%.1f ms", rtt->valuedouble);
		else
			fprintf(out, "no round trip yet");
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, flags[i])))
				fprintf(out, ", %s", i == 1 ? "in use" : flags[i]);
		if (strcmp(link, "none") != 0)
			fprintf(out, ", link %s", link);
		fprintf(out, ")");
	}
	fprintf(out, "\n");
}

/* The proxy roamd reaches the server through (never with credentials:
 * roamd leaves them out); nothing when direct. */
static void print_proxy(FILE *out, const cJSON *m)
{
	const char *proxy = json_str(m, "proxy", NULL), *from = json_str(m, "proxy_from", NULL);
	bool bypassed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "proxy_bypassed"));
	if (proxy)
		fprintf(out, "  proxy: %s%s%s%s%s\n", proxy, from ? " (from " : "", from ? from : "", from ? ")" : "",
			bypassed ? ", not reachable: going direct" : "");
}

/* Managed mode: which network, as whom, and how the server sees us. */
static void print_network(FILE *out, const cJSON *m)
{
	if (!cJSON_IsObject(m))
		return;
	const char *server = json_str(m, "server", "");

	fprintf(out, "\nnetwork: %s\n", *server ? server : "(none: join with `roam up`)");
	fprintf(out, "  state: %s\n", json_str(m, "state", "(unknown)"));
	if (json_str(m, "error", NULL))
		fprintf(out, "  error: %s\n", json_str(m, "error", ""));
	print_proxy(out, m);
	if (strcmp(json_str(m, "tls_interception", "off"), "in use") == 0)
		fprintf(out, "  tls interception: in use (server authenticated inside)\n");
	else if (strcmp(json_str(m, "tls_interception", "off"), "allowed") == 0)
		fprintf(out, "  tls interception: allowed (none met)\n");
	if (!json_str(m, "name", NULL))
		return;
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, "overlay");
	fprintf(out, "  this node: %s, %s, %s\n", json_str(m, "name", "?"), json_str(m, "ipv6", "(no IPv6)"),
		json_str(m, "ipv4", "(no IPv4)"));
	if (json_str(ov, "ipv6", NULL) && strcmp(json_str(ov, "ipv6", ""), "configured") != 0)
		fprintf(out, "  IPv6 overlay: %s\n", json_str(ov, "ipv6", ""));
	if (json_str(ov, "ipv4", NULL) && strcmp(json_str(ov, "ipv4", ""), "configured") != 0)
		fprintf(out, "  IPv4 overlay: %s\n", json_str(ov, "ipv4", ""));
	const char *udp = json_str(m, "udp", "unknown");
	const char *relay_link = json_str(m, "relay_link", NULL);
	const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(m, "relay_link_rtt_ms");
	const char *note = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "relay_short_polls"))
				   ? " (short polls: responses buffered)"
				   : "";
	const char *control = json_str(m, "control", "https");
	if (strcmp(control, "poll") == 0)
		fprintf(out, "  control: https poll (the server's stream is buffered on the way)\n");
	else if (strcmp(control, "udp") == 0)
		fprintf(out, "  control: udp push (the server's stream over UDP, no TCP connection)\n");
	else
		fprintf(out, "  control: https stream\n");
	if (relay_link && cJSON_IsNumber(rtt))
		fprintf(out, "  relay link: %s%s (round trip %.1f ms)\n", relay_link, note, rtt->valuedouble);
	else if (relay_link)
		fprintf(out, "  relay link: %s%s\n", relay_link, note);
	print_relays(out, m);
	if (strcmp(udp, "blocked") == 0) {
		/* The server never heard us over UDP: no public endpoint to claim. */
		fprintf(out, "  UDP: blocked (no answer from the server's UDP port)%s\n",
			relay_link && strcmp(relay_link, "none") != 0 && strcmp(relay_link, "udp") != 0
				? ": peers are reached through the relay link"
				: ": tunnels cannot work until a relay link is up");
		return;
	}
	fprintf(out, "  UDP: %s\n", udp);
	fprintf(out, "  public endpoint: %s\n", json_str(m, "public_endpoint", "(not seen yet)"));
	fprintf(out, "  nat: %s\n", json_str(m, "nat", "unknown"));
	if (json_str(m, "mapping", NULL))
		fprintf(out, "  mapping: %s\n", json_str(m, "mapping", "unknown"));
}

/* A peer's presence as roamd states it: its "state" string, else its
 * "online" flag. */
static const char *peer_presence(const cJSON *peer)
{
	const cJSON *online = cJSON_GetObjectItemCaseSensitive(peer, "online");

	if (json_str(peer, "state", NULL))
		return json_str(peer, "state", "?");
	return cJSON_IsBool(online) ? (cJSON_IsTrue(online) ? "online" : "offline") : "?";
}

static bool json_num(const cJSON *obj, const char *name, double *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0) || item->valuedouble > 1e12)
		return false;
	*out = item->valuedouble;
	return true;
}

static bool is_direct(const char *transport)
{
	return strcmp(transport, "udp") == 0 || strcmp(transport, "udp-aux") == 0;
}

/* How a peer is reached, for its heading: from the active path if roamd
 * reports paths, else its older "path" word. */
static const char *peer_route(const cJSON *peer)
{
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(peer, "active_path");

	if (cJSON_IsObject(active))
		return is_direct(json_str(active, "transport", "")) ? "direct" : "relayed";
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(peer, "paths")))
		return "no working path";
	return json_str(peer, "path", "?");
}

/* "12 ms", "3.4 s", "5 min" */
static void format_duration_ms(char *buf, size_t size, double ms)
{
	if (ms < 1000)
		snprintf(buf, size, "%.0f ms", ms);
	else if (ms < 60000)
		snprintf(buf, size, "%.1f s", ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, size, "%.0f min", ms / 60000);
	else
		snprintf(buf, size, "%.1f h", ms / 3600000);
}

/* The path carrying traffic and since when, then every candidate path:
 *   path: direct 203.0.113.12:51820, rtt 0.42 ms, for 12.0 s (better)
 *   paths: * udp        203.0.113.12:51820  active   rtt 0.42 ms  loss 0.0%
 *            relay-udp  relay:17            standby  rtt 1.90 ms  loss 0.0%
 * (and "via eth1" on a multihomed node's paths bound to an interface) */
/* Application classes that carried data to this peer (roam policy): the
 * path each takes now, "+ N" its copy's, or the paths its flows spread
 * over. */
static void print_classes(FILE *out, const cJSON *peer)
{
	const cJSON *c;
	bool first = true;
	double v;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(peer, "classes")) {
		const cJSON *spread = cJSON_GetObjectItemCaseSensitive(c, "spread"), *id;
		if (!cJSON_IsObject(c))
			continue;
		fprintf(out, "  %s %-12s %-10s", first ? "classes:" : "        ", json_str(c, "class", "?"),
			json_str(c, "policy", "?"));
		if (json_num(c, "path", &v))
			fprintf(out, " path %.0f%s%s%s", v, json_str(c, "via", NULL) ? " (" : "", json_str(c, "via", ""),
				json_str(c, "via", NULL) ? ")" : "");
		if (cJSON_IsArray(spread)) {
			fputs(" paths", out);
			cJSON_ArrayForEach(id, spread) {
				if (cJSON_IsNumber(id))
					fprintf(out, " %.0f", id->valuedouble);
			}
		}
		if (json_num(c, "duplicate_path", &v))
			fprintf(out, " + %.0f%s%s%s", v, json_str(c, "duplicate_via", NULL) ? " (" : "",
				json_str(c, "duplicate_via", ""), json_str(c, "duplicate_via", NULL) ? ")" : "");
		if (json_num(c, "packets", &v))
			fprintf(out, "  %.0f packets", v);
		if (json_num(c, "duplicates", &v) && v > 0)
			fprintf(out, ", %.0f copies", v);
		fputc('\n', out);
		first = false;
	}
}

/* Tamper detection on one path: bad packets, and a quarantine's time left. */
static void print_path_tamper(FILE *out, const cJSON *p)
{
	double v;
	if (json_num(p, "bad_packets", &v))
		fprintf(out, "  bad packets %.0f", v);
	if (json_num(p, "quarantine_left_ms", &v))
		fprintf(out, " (retried in %.0f s)", v / 1000);
}

/* The receiver's side of the redundant policy: second copies that were
 * duplicates (and whose copy came first), apart from replays. */
static void print_copies(FILE *out, const cJSON *peer, const cJSON *paths)
{
	const cJSON *p;
	double dup = 0, replays = 0, won, id, v;
	json_num(peer, "duplicates_received", &dup);
	json_num(peer, "replays", &replays);
	if (dup > 0) {
		const char *sep = " (first: ";
		fprintf(out, "  copies received: %.0f duplicates", dup);
		cJSON_ArrayForEach(p, paths) {
			if (json_num(p, "copies_won", &won) && json_num(p, "id", &id)) {
				fprintf(out, "%spath %.0f %.0f%%", sep, id, 100 * won / dup);
				sep = ", ";
			}
		}
		fputs(*sep == ',' ? ")\n" : "\n", out);
	}
	if (replays > 0)
		fprintf(out, "  replays: %.0f (copies from the same source, or late: suspicious)\n", replays);
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(peer, "last_quarantine");
	if (json_num(q, "path", &id) && json_num(q, "ago_ms", &v))
		fprintf(out, "  last quarantine: path %.0f, %.0f s ago (bad packets past the threshold)\n", id, v / 1000);
}

static void print_paths(FILE *out, const cJSON *peer)
{
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(peer, "paths");
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(peer, "active_path");
	const cJSON *p;
	char since[32];
	double v;
	bool first = true;

	if (!cJSON_IsArray(paths))
		return;
	if (cJSON_IsObject(active)) {
		const char *t = json_str(active, "transport", "?"), *addr = json_str(active, "address", "?");
		/* "relay:NODE@RELAY" (a relay-only server) or "relay:NODE" (relay 0, the server) */
		const char *at = strncmp(addr, "relay:", 6) == 0 ? strchr(addr, '@') : NULL;
		if (is_direct(t))
			fprintf(out, "  path: direct %s", addr);
		else if (strncmp(addr, "relay:", 6) == 0)
			fprintf(out, "  path: relayed by relay %s %s", at ? at + 1 : "0", addr);
		else
			fprintf(out, "  path: relayed %s", addr);
		if (json_num(active, "rtt_ms", &v))
			fprintf(out, ", rtt %.2f ms", v);
		if (json_num(active, "since_ms", &v)) {
			format_duration_ms(since, sizeof(since), v);
			fprintf(out, ", for %s", since);
		}
		if (json_str(active, "why", NULL))
			fprintf(out, " (%s)", json_str(active, "why", ""));
		fputc('\n', out);
	} else {
		fputs("  path: none working yet\n", out);
	}
	cJSON_ArrayForEach(p, paths) {
		if (!cJSON_IsObject(p))
			continue;
		const char *state = json_str(p, "state", "?");
		/* "*" carries the data; "+" carries a copy (the redundant policy) */
		const char *mark = strcmp(state, "active") == 0 ? "*" : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "duplicate")) ? "+" : " ";
		fprintf(out, "  %s %s %-10s %-24s %-8s", first ? "paths:" : "      ", mark,
			json_str(p, "transport", "?"), json_str(p, "address", "?"), state);
		if (json_num(p, "rtt_ms", &v))
			fprintf(out, " rtt %.2f ms", v);
		if (json_num(p, "loss_permille", &v))
			fprintf(out, "  loss %.1f%%", v / 10);
		if (json_str(p, "interface", NULL)) /* multihomed: the interface it leaves by */
			fprintf(out, "  via %s", json_str(p, "interface", ""));
		if (json_num(p, "id", &v)) /* what roam path use and the classes' lines name */
			fprintf(out, "  id %.0f", v);
		print_path_tamper(out, p);
		fputc('\n', out);
		first = false;
	}
	/* The policy when it is not the default, and confirm mode's offer. */
	const char *policy = json_str(peer, "policy", "latency");
	if (strcmp(policy, "latency") != 0) {
		fprintf(out, "  policy: %s%s", policy,
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peer, "policy_own")) ? " (this peer's own)" : "");
		if (json_num(peer, "duplicates_sent", &v))
			fprintf(out, " (%.0f copies sent)", v);
		fputc('\n', out);
	}
	print_classes(out, peer);
	if (json_num(peer, "better_path", &v))
		fprintf(out, "  better path: %.0f (take it: roam path use %s %.0f)\n", v, json_str(peer, "name", "PEER"), v);
	print_copies(out, peer, paths);
	if (json_str(peer, "observed", NULL))
		fprintf(out, "  it sees us at: %s\n", json_str(peer, "observed", ""));
}

static void print_peer(FILE *out, const cJSON *peer)
{
	char rx[32] = "0 B", tx[32] = "0 B";
	uint64_t v;

	if (json_str(peer, "name", NULL)) {
		/* The buddy list: who, whether online, and how we reach them. */
		bool on_demand = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peer, "on_demand"));
		fprintf(out, "\npeer: %s (%s, %s%s)\n", json_str(peer, "name", "?"), peer_presence(peer),
			peer_route(peer), on_demand ? ", on demand" : "");
		fprintf(out, "  overlay: %s, %s\n", json_str(peer, "ipv6", "?"), json_str(peer, "ipv4", "?"));
		fprintf(out, "  public key: %s\n", json_str(peer, "public_key", "(unknown)"));
	} else {
		fprintf(out, "\npeer: %s\n", json_str(peer, "public_key", "(unknown)"));
	}
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(peer, "paths")))
		print_paths(out, peer);
	else
		fprintf(out, "  endpoint: %s\n", json_str(peer, "endpoint", "(none)"));
	print_string_list(out, "allowed ips", peer, "allowed_ips");
	fputs("  latest handshake: ", out);
	if (json_u64(peer, "latest_handshake", &v) && v)
		print_ago(out, v);
	else
		fputs("(none)\n", out);
	if (json_u64(peer, "rx_bytes", &v))
		format_bytes(rx, sizeof(rx), v);
	if (json_u64(peer, "tx_bytes", &v))
		format_bytes(tx, sizeof(tx), v);
	fprintf(out, "  transfer: %s received, %s sent\n", rx, tx);
	if (json_u64(peer, "persistent_keepalive", &v) && v)
		fprintf(out, "  persistent keepalive: every %llu second%s\n", (unsigned long long)v, v == 1 ? "" : "s");
	if (json_u64(peer, "drops", &v))
		fprintf(out, "  drops: %llu\n", (unsigned long long)v);
}

void cli_render_status(FILE *out, const cJSON *root)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers");
	const cJSON *peer;

	print_interface(out, root);
	print_network(out, cJSON_GetObjectItemCaseSensitive(root, "managed"));
	if (!cJSON_IsArray(peers))
		return;
	cJSON_ArrayForEach(peer, peers) {
		if (cJSON_IsObject(peer))
			print_peer(out, peer);
	}
}

/* "fd00::5/48" or "100.64.0.5" -> the address in binary; 0 or -1. */
static int parse_address(const char *text, int *family, uint8_t addr[16])
{
	char buf[64];
	const char *slash;
	size_t len;

	if (!text)
		return -1;
	slash = strchr(text, '/');
	len = slash ? (size_t)(slash - text) : strlen(text);
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool node_matches(const cJSON *node, const char *query)
{
	static const char *const fields[] = { "ipv4", "ipv6" };
	uint8_t want[16], have[16];
	int want_family, have_family;
	const char *name = json_str(node, "name", NULL);

	if (name && strcmp(name, query) == 0)
		return true;
	if (parse_address(query, &want_family, want) < 0 || strchr(query, '/'))
		return false;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (parse_address(json_str(node, fields[i], NULL), &have_family, have) == 0 &&
		    have_family == want_family && memcmp(have, want, want_family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

cJSON *cli_status_find(const cJSON *status, const char *query)
{
	const cJSON *managed = cJSON_GetObjectItemCaseSensitive(status, "managed");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(status, "peers");
	const cJSON *peer;
	cJSON *copy;

	if (cJSON_IsObject(managed) && node_matches(managed, query)) {
		copy = cJSON_CreateObject();
		if (!copy)
			return NULL;
		cJSON_AddBoolToObject(copy, "self", true);
		cJSON_AddStringToObject(copy, "name", json_str(managed, "name", ""));
		cJSON_AddStringToObject(copy, "ipv6", json_str(managed, "ipv6", ""));
		cJSON_AddStringToObject(copy, "ipv4", json_str(managed, "ipv4", ""));
		cJSON_AddStringToObject(copy, "public_key", json_str(status, "public_key", ""));
		cJSON_AddStringToObject(copy, "state", json_str(managed, "state", "unknown"));
		return copy;
	}
	if (!cJSON_IsArray(peers))
		return NULL;
	cJSON_ArrayForEach(peer, peers) {
		if (!cJSON_IsObject(peer) || !node_matches(peer, query))
			continue;
		copy = cJSON_Duplicate(peer, true);
		if (copy)
			cJSON_AddBoolToObject(copy, "self", false);
		return copy;
	}
	return NULL;
}

void cli_render_whois(FILE *out, const cJSON *who)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(who, "self"))) {
		fprintf(out, "%s (this node, %s)\n", json_str(who, "name", "?"), json_str(who, "state", "?"));
	} else {
		fprintf(out, "%s (%s, %s)\n", json_str(who, "name", "?"), peer_presence(who), json_str(who, "path", "?"));
	}
	fprintf(out, "  overlay: %s, %s\n  public key: %s\n", json_str(who, "ipv6", "?"), json_str(who, "ipv4", "?"),
		json_str(who, "public_key", "?"));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(who, "self")))
		fprintf(out, "  endpoint: %s\n", json_str(who, "endpoint", "(none)"));
}

static void add_address(cJSON *v4, cJSON *v6, const char *text)
{
	char buf[64];
	uint8_t addr[16];
	int family;

	if (parse_address(text, &family, addr) < 0 || !inet_ntop(family, addr, buf, sizeof(buf)))
		return;
	cJSON_AddItemToArray(family == AF_INET ? v4 : v6, cJSON_CreateString(buf));
}

cJSON *cli_status_addresses(const cJSON *status)
{
	const cJSON *managed = cJSON_GetObjectItemCaseSensitive(status, "managed");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(status, "addresses");
	const cJSON *item;
	cJSON *out = cJSON_CreateObject();
	cJSON *v4 = cJSON_AddArrayToObject(out, "ipv4");
	cJSON *v6 = cJSON_AddArrayToObject(out, "ipv6");

	if (!v4 || !v6) {
		cJSON_Delete(out);
		return NULL;
	}
	if (cJSON_IsObject(managed) && json_str(managed, "name", NULL)) {
		add_address(v4, v6, json_str(managed, "ipv4", NULL));
		add_address(v4, v6, json_str(managed, "ipv6", NULL));
	} else if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(item, list) {
			if (cJSON_IsString(item))
				add_address(v4, v6, item->valuestring);
		}
	}
	return out;
}

/* A JSON true/false/null as yes/no/unknown. */
static const char *yes_no(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsBool(item) ? (cJSON_IsTrue(item) ? "yes" : "no") : "unknown";
}

static void print_portmap(FILE *out, const cJSON *pm)
{
	const char *proto = json_str(pm, "protocol", NULL), *err = json_str(pm, "error", NULL);
	const cJSON *verified = cJSON_GetObjectItemCaseSensitive(pm, "verified");
	if (!cJSON_IsObject(pm)) {
		fputs("Port mapping: unknown\n", out);
		return;
	}
	/* As people write them. */
	if (proto && strcmp(proto, "pcp") == 0)
		proto = "PCP";
	else if (proto && strcmp(proto, "nat-pmp") == 0)
		proto = "NAT-PMP";
	else if (proto && strcmp(proto, "upnp-igd") == 0)
		proto = "UPnP-IGD";
	if (proto)
		fprintf(out, "Port mapping: %s mapped %s%s", proto, json_str(pm, "external", "?"),
			cJSON_IsFalse(verified) ? " (not reachable from outside)" : "");
	else
		fputs("Port mapping: none", out);
	fprintf(out, err ? " (%s)\n" : "\n", err);
}

void cli_render_netcheck(FILE *out, const cJSON *nc)
{
	const char *udp = json_str(nc, "udp", "unknown"), *mapping = json_str(nc, "mapping", "unknown");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(nc, "answered_by"), *rtt;
	const cJSON *item;
	bool first = true;

	if (strcmp(udp, "ok") == 0) {
		fputs("UDP:          yes", out);
		if (!cJSON_IsArray(by))
			by = NULL;
		cJSON_ArrayForEach(item, by) {
			if (cJSON_IsString(item))
				fprintf(out, "%s%s", first ? " (answers from " : " and ", item->valuestring);
			first = false;
		}
		fputs(first ? "\n" : ")\n", out);
	} else if (strcmp(udp, "blocked") == 0) {
		fputs("UDP:          blocked (no answer from the server's UDP port): tunnels cannot work until a TCP "
		      "relay exists\n",
		      out);
	} else {
		fprintf(out, "UDP:          %s\n", udp);
	}
	fprintf(out, "Public:       %s\n", json_str(nc, "public", "unknown"));
	if (strcmp(mapping, "eim") == 0)
		fputs("Mapping:      endpoint-independent (EIM): one public port for every destination\n", out);
	else if (strcmp(mapping, "per-destination") == 0)
		fputs("Mapping:      per destination (symmetric NAT): another port for each destination\n", out);
	else
		fprintf(out, "Mapping:      %s\n", mapping);
	fprintf(out, "Hairpinning:  %s\n", yes_no(nc, "hairpinning"));
	fprintf(out, "IPv6:         %s", yes_no(nc, "ipv6"));
	fprintf(out, json_str(nc, "public6", NULL) ? ", %s\n" : "\n", json_str(nc, "public6", ""));
	print_portmap(out, cJSON_GetObjectItemCaseSensitive(nc, "portmap"));
	rtt = cJSON_GetObjectItemCaseSensitive(nc, "server_rtt_ms");
	if (cJSON_IsNumber(rtt))
		fprintf(out, "Server:       %.1f ms (the relay is the same UDP port)\n", rtt->valuedouble);
	else
		fputs("Server:       no answer\n", out);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(nc, "timed_out")))
		fputs("(roamd's agent did not finish in time: this is its last result)\n", out);
	if (json_str(nc, "error", NULL))
		fprintf(out, "Error:        %s\n", json_str(nc, "error", ""));
}
