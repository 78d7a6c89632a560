#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

#define CONFIG_KEY_B64_LEN CRYPTO_KEY_B64_LEN
#define CONFIG_QUOTE_MAX 64   /* of a user's value echoed in a message */

enum config_section { SECTION_NONE, SECTION_INTERFACE, SECTION_PEER };

struct config_parser;

struct config_key {
	const char *name;
	enum config_section section;
	bool repeatable;
	int (*parse)(struct config_parser *p, const struct config_key *key, char *value);
	bool empty_ok; /* "Key =" is a value, not an error */
};

struct config_parser {
	const char *name;
	unsigned flags;
	unsigned line;
	enum config_section section;
	unsigned section_line;
	unsigned interface_line; /* 0: no [Interface] yet */
	unsigned mtu_line;
	unsigned seen_line[24];  /* per enum config_key_index, this section */
	bool has_private_key;
	size_t allowed_ips_total;
	struct roam_config *cfg;
	struct config_error *err;
};

static const char *const section_names[] = { "", "Interface", "Peer" };

/* ---- errors ---- */

__attribute__((format(printf, 3, 4)))
static int config_fail(struct config_parser *p, const struct config_key *key, const char *fmt, ...)
{
	struct config_error *e = p->err;
	va_list ap;

	if (!e)
		return -EINVAL;
	snprintf(e->file, sizeof(e->file), "%s", p->name);
	e->line = p->line;
	if (key)
		snprintf(e->field, sizeof(e->field), "[%s] %s", section_names[key->section], key->name);
	else if (p->section != SECTION_NONE)
		snprintf(e->field, sizeof(e->field), "[%s]", section_names[p->section]);
	else
		e->field[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A user's value for a message: bounded, control bytes replaced. */
static const char *config_quote(const char *value, char out[CONFIG_QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; i < CONFIG_QUOTE_MAX && value[i]; i++)
		out[i] = (value[i] >= 0x20 && value[i] < 0x7f) ? value[i] : '?';
	if (value[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

int config_error_format(const struct config_error *err, char *buf, size_t size)
{
	int n;

	if (err->line && err->field[0])
		n = snprintf(buf, size, "%s:%u: %s: %s", err->file, err->line, err->field, err->message);
	else if (err->line)
		n = snprintf(buf, size, "%s:%u: %s", err->file, err->line, err->message);
	else if (err->field[0])
		n = snprintf(buf, size, "%s: %s: %s", err->file, err->field, err->message);
	else
		n = snprintf(buf, size, "%s: %s", err->file, err->message);
	return (n < 0 || (size_t)n >= size) ? -ENOSPC : 0;
}

/* ---- small helpers ---- */

static char *config_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\v' ||
			   end[-1] == '\f'))
		*--end = '\0';
	return s;
}

/* Strict decimal, at most 5 digits, <= max. */
static int config_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 5)
		return -ERANGE;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -ERANGE;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Grow an array when count reaches a power of two, so no capacity field is
 * needed: room is always the next power of two above count. */
static int config_reserve(void **array, size_t count, size_t elem)
{
	void *grown;

	if (count != 0 && (count & (count - 1)) != 0)
		return 0;
	grown = realloc(*array, (count ? count * 2 : 1) * elem);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	return 0;
}


static struct config_peer *config_current_peer(struct config_parser *p)
{
	return &p->cfg->peers[p->cfg->peers_count - 1];
}

/* ---- value parsers, one per key ---- */

static int config_parse_key_value(struct config_parser *p, const struct config_key *key, char *value,
				  uint8_t out[CONFIG_KEY_LEN])
{
	/* Never echo the value: it may be a secret. */
	if (strlen(value) != CONFIG_KEY_B64_LEN)
		return config_fail(p, key, "key must be %d base64 characters, got %zu", CONFIG_KEY_B64_LEN,
				   strlen(value));
	if (crypto_key_from_base64(out, value) < 0)
		return config_fail(p, key, "invalid base64 key");
	return 0;
}

static int parse_private_key(struct config_parser *p, const struct config_key *key, char *value)
{
	int r = config_parse_key_value(p, key, value, p->cfg->private_key);

	if (r == 0)
		p->has_private_key = true;
	return r;
}

static int parse_public_key(struct config_parser *p, const struct config_key *key, char *value)
{
	return config_parse_key_value(p, key, value, config_current_peer(p)->public_key);
}

static int parse_preshared_key(struct config_parser *p, const struct config_key *key, char *value)
{
	struct config_peer *peer = config_current_peer(p);
	int r = config_parse_key_value(p, key, value, peer->preshared_key);

	if (r == 0)
		peer->has_preshared_key = true;
	return r;
}

static int parse_listen_port(struct config_parser *p, const struct config_key *key, char *value)
{
	char q[CONFIG_QUOTE_MAX + 4];
	unsigned long v;

	if (config_uint(value, 65535, &v) < 0)
		return config_fail(p, key, "invalid port '%s' (expected 0..65535)", config_quote(value, q));
	p->cfg->listen_port = (uint16_t)v;
	return 0;
}

static int parse_mtu(struct config_parser *p, const struct config_key *key, char *value)
{
	char q[CONFIG_QUOTE_MAX + 4];
	unsigned long v;

	if (config_uint(value, CONFIG_MTU_MAX, &v) < 0 || v < CONFIG_MTU_MIN)
		return config_fail(p, key, "invalid MTU '%s' (expected %d..%d)", config_quote(value, q),
				   CONFIG_MTU_MIN, CONFIG_MTU_MAX);
	p->cfg->mtu = (uint32_t)v;
	p->mtu_line = p->line;
	return 0;
}

static int parse_persistent_keepalive(struct config_parser *p, const struct config_key *key, char *value)
{
	char q[CONFIG_QUOTE_MAX + 4];
	unsigned long v;

	if (strcasecmp(value, "off") == 0)
		v = 0;
	else if (config_uint(value, 65535, &v) < 0)
		return config_fail(p, key, "invalid interval '%s' (expected 0..65535 seconds or off)",
				   config_quote(value, q));
	config_current_peer(p)->persistent_keepalive = (uint16_t)v;
	return 0;
}

static int parse_endpoint(struct config_parser *p, const struct config_key *key, char *value)
{
	struct config_peer *peer = config_current_peer(p);
	char q[CONFIG_QUOTE_MAX + 4];
	int r;

	if (p->flags & CONFIG_PARSE_NO_RESOLVE)
		r = sockaddr_any_parse(value, &peer->endpoint);
	else
		r = sockaddr_any_resolve(value, &peer->endpoint);
	config_quote(value, q);
	switch (r) {
	case 0:
		peer->has_endpoint = true;
		return 0;
	case -EINVAL:
		return config_fail(p, key, "invalid endpoint '%s' (expected host:port or [IPv6]:port)", q);
	case -ERANGE:
		return config_fail(p, key, "invalid port in '%s' (expected 1..65535)", q);
	case -EADDRNOTAVAIL:
		return config_fail(p, key, "'%s' is not a numeric address (name resolution is off)", q);
	case -ENOENT:
		return config_fail(p, key, "cannot resolve host in '%s'", q);
	case -EAGAIN:
		return config_fail(p, key, "temporary failure resolving '%s', try again", q);
	case -ENAMETOOLONG:
		return config_fail(p, key, "host name too long in '%s'", q);
	default:
		return config_fail(p, key, "'%s': %s", q, strerror(-r));
	}
}

/* One CIDR of a comma list into *array; cap is the hard limit on *count. */
static int config_add_prefix(struct config_parser *p, const struct config_key *key, char *item,
			     struct ip_prefix **array, size_t *count, size_t cap)
{
	char q[CONFIG_QUOTE_MAX + 4];
	struct ip_prefix prefix;
	char *slash;
	int r;

	item = config_trim(item);
	if (*item == '\0')
		return config_fail(p, key, "empty entry in list");
	r = ip_prefix_parse(item, &prefix);
	if (r == -ERANGE) {
		slash = strchr(item, '/');
		return config_fail(p, key, "invalid prefix length '%s' for %s", config_quote(slash + 1, q),
				   strchr(item, ':') ? "IPv6" : "IPv4");
	}
	if (r < 0)
		return config_fail(p, key, "invalid address '%s'", config_quote(item, q));
	if (*count >= cap)
		return config_fail(p, key, "too many entries (at most %zu)", cap);
	if (config_reserve((void **)array, *count, sizeof(**array)) < 0)
		return -ENOMEM;
	(*array)[(*count)++] = prefix;
	return 0;
}

/* Items of a comma list, empty ones included (they are errors). */
static char *config_next_item(char **cursor)
{
	char *item = *cursor, *comma;

	if (!item)
		return NULL;
	comma = strchr(item, ',');
	if (comma)
		*comma = '\0';
	*cursor = comma ? comma + 1 : NULL;
	return item;
}

static int parse_address(struct config_parser *p, const struct config_key *key, char *value)
{
	struct roam_config *cfg = p->cfg;
	char *cursor = value, *item;
	int r;

	while ((item = config_next_item(&cursor))) {
		r = config_add_prefix(p, key, item, &cfg->addresses, &cfg->addresses_count,
				      CONFIG_ADDRESSES_MAX);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_allowed_ips(struct config_parser *p, const struct config_key *key, char *value)
{
	struct config_peer *peer = config_current_peer(p);
	char *cursor = value, *item;
	size_t room;
	int r;

	/* "AllowedIPs =" with nothing is a peer routed nothing: valid. */
	if (*value == '\0')
		return 0;
	while ((item = config_next_item(&cursor))) {
		room = peer->allowed_ips_count + (CONFIG_ALLOWED_IPS_MAX - p->allowed_ips_total);
		r = config_add_prefix(p, key, item, &peer->allowed_ips, &peer->allowed_ips_count, room);
		if (r < 0)
			return r;
		ip_prefix_mask(&peer->allowed_ips[peer->allowed_ips_count - 1]);
		p->allowed_ips_total++;
	}
	return 0;
}

/* A DNS search domain: letters, digits, '-', '_' and dots, as resolv.conf
 * and resolved take them; a leading '~' is resolved's routing-only domain. */
static bool config_valid_domain(const char *s)
{
	size_t len;

	if (*s == '~')
		s++;
	if (strcmp(s, ".") == 0)
		return true; /* "~.": every domain, resolved's default DNS route */
	len = strlen(s);
	if (len == 0 || len > CONFIG_DNS_NAME_MAX || *s == '.' || *s == '-')
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	}
	return true;
}

/* wg-quick's rule: an item that is an IP address is a server, anything
 * else a search domain. */
static int config_add_dns_item(struct config_parser *p, const struct config_key *key, char *item)
{
	struct roam_config *cfg = p->cfg;
	char q[CONFIG_QUOTE_MAX + 4];
	uint8_t addr[16];
	int family;

	item = config_trim(item);
	if (*item == '\0')
		return config_fail(p, key, "empty entry in list");
	family = strchr(item, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, item, addr) == 1) {
		if (cfg->dns_servers_count >= CONFIG_DNS_SERVERS_MAX)
			return config_fail(p, key, "too many servers (at most %d)", CONFIG_DNS_SERVERS_MAX);
		inet_ntop(family, addr, cfg->dns_servers[cfg->dns_servers_count++], CONFIG_DNS_SERVER_STRLEN);
		return 0;
	}
	if (family == AF_INET6 || !config_valid_domain(item))
		return config_fail(p, key, "'%s' is neither an IP address nor a domain name",
				   config_quote(item, q));
	if (cfg->dns_search_count >= CONFIG_DNS_SEARCH_MAX)
		return config_fail(p, key, "too many search domains (at most %d)", CONFIG_DNS_SEARCH_MAX);
	snprintf(cfg->dns_search[cfg->dns_search_count++], CONFIG_DNS_NAME_MAX + 1, "%s", item);
	return 0;
}

static int parse_dns(struct config_parser *p, const struct config_key *key, char *value)
{
	char *cursor = value, *item;
	int r;

	while ((item = config_next_item(&cursor))) {
		if ((r = config_add_dns_item(p, key, item)) < 0)
			return r;
	}
	return 0;
}

static int parse_table(struct config_parser *p, const struct config_key *key, char *value)
{
	char q[CONFIG_QUOTE_MAX + 4];

	if (strcasecmp(value, "auto") == 0)
		p->cfg->table = CONFIG_TABLE_AUTO;
	else if (strcasecmp(value, "off") == 0)
		p->cfg->table = CONFIG_TABLE_OFF;
	else
		return config_fail(p, key,
				   "'%s': choosing a routing table is a wg-quick feature roamd lacks; use "
				   "auto (main table) or off, and add routes in a systemd ExecStartPost=",
				   config_quote(value, q));
	return 0;
}

static int parse_save_config(struct config_parser *p, const struct config_key *key, char *value)
{
	char q[CONFIG_QUOTE_MAX + 4];

	if (strcasecmp(value, "false") == 0)
		return 0;
	if (strcasecmp(value, "true") == 0)
		return config_fail(p, key, "roamd never writes its configuration file back: "
				   "remove the line or set it to false, and edit the file instead");
	return config_fail(p, key, "invalid value '%s' (expected false)", config_quote(value, q));
}

/* wg-quick's hooks run shell commands as root; roamd runs none. */
static int parse_wg_quick_hook(struct config_parser *p, const struct config_key *key, char *value)
{
	static const char *const instead[] = { "ExecStartPre=", "ExecStartPost=", "ExecStop=",
					       "ExecStopPost=" };
	static const char *const hooks[] = { "PreUp", "PostUp", "PreDown", "PostDown" };
	const char *directive = "ExecStartPost=";

	(void)value;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (strcmp(key->name, hooks[i]) == 0)
			directive = instead[i];
	return config_fail(p, key,
			   "%s is a wg-quick hook: roamd runs no shell commands; use a systemd %s "
			   "in a drop-in for roamd@.service instead",
			   key->name, directive);
}

static int parse_fwmark(struct config_parser *p, const struct config_key *key, char *value)
{
	(void)value;
	return config_fail(p, key, "FwMark is a wg-quick/wg key roamd does not support: its tunnel "
			   "packets carry no mark; remove the line (with Table = off, route by source "
			   "address or UID with `ip rule` instead)");
}

enum config_key_index {
	KEY_PRIVATE_KEY,
	KEY_LISTEN_PORT,
	KEY_ADDRESS,
	KEY_MTU,
	KEY_DNS,
	KEY_TABLE,
	KEY_SAVE_CONFIG,
	KEY_PRE_UP,
	KEY_POST_UP,
	KEY_PRE_DOWN,
	KEY_POST_DOWN,
	KEY_FWMARK,
	KEY_PUBLIC_KEY,
	KEY_PRESHARED_KEY,
	KEY_ENDPOINT,
	KEY_ALLOWED_IPS,
	KEY_PERSISTENT_KEEPALIVE,
	CONFIG_KEYS_COUNT
};

static const struct config_key config_keys[CONFIG_KEYS_COUNT] = {
	[KEY_PRIVATE_KEY] = { "PrivateKey", SECTION_INTERFACE, false, parse_private_key },
	[KEY_LISTEN_PORT] = { "ListenPort", SECTION_INTERFACE, false, parse_listen_port },
	[KEY_ADDRESS] = { "Address", SECTION_INTERFACE, true, parse_address },
	[KEY_MTU] = { "MTU", SECTION_INTERFACE, false, parse_mtu },
	[KEY_DNS] = { "DNS", SECTION_INTERFACE, true, parse_dns },
	[KEY_TABLE] = { "Table", SECTION_INTERFACE, false, parse_table },
	[KEY_SAVE_CONFIG] = { "SaveConfig", SECTION_INTERFACE, false, parse_save_config },
	[KEY_PRE_UP] = { "PreUp", SECTION_INTERFACE, true, parse_wg_quick_hook, true },
	[KEY_POST_UP] = { "PostUp", SECTION_INTERFACE, true, parse_wg_quick_hook, true },
	[KEY_PRE_DOWN] = { "PreDown", SECTION_INTERFACE, true, parse_wg_quick_hook, true },
	[KEY_POST_DOWN] = { "PostDown", SECTION_INTERFACE, true, parse_wg_quick_hook, true },
	[KEY_FWMARK] = { "FwMark", SECTION_INTERFACE, false, parse_fwmark, true },
	[KEY_PUBLIC_KEY] = { "PublicKey", SECTION_PEER, false, parse_public_key },
	[KEY_PRESHARED_KEY] = { "PresharedKey", SECTION_PEER, false, parse_preshared_key },
	[KEY_ENDPOINT] = { "Endpoint", SECTION_PEER, false, parse_endpoint },
	[KEY_ALLOWED_IPS] = { "AllowedIPs", SECTION_PEER, true, parse_allowed_ips, true },
	[KEY_PERSISTENT_KEEPALIVE] = { "PersistentKeepalive", SECTION_PEER, false, parse_persistent_keepalive },
};

_Static_assert(CONFIG_KEYS_COUNT <= 24, "seen_line has 24 entries");

/* ---- lines ---- */

/* A [Peer] is complete only with its PublicKey; checked when the next
 * section starts or the file ends, and reported at the [Peer] line. */
static int config_end_section(struct config_parser *p)
{
	const struct config_key *public_key = &config_keys[KEY_PUBLIC_KEY];
	unsigned line = p->line;
	int r = 0;

	if (p->section == SECTION_PEER && !p->seen_line[KEY_PUBLIC_KEY]) {
		p->line = p->section_line;
		r = config_fail(p, public_key, "missing");
		p->line = line;
	}
	return r;
}

static int config_begin_section(struct config_parser *p, char *line)
{
	char q[CONFIG_QUOTE_MAX + 4];
	size_t len = strlen(line);
	char *name;
	int r;

	r = config_end_section(p);
	if (r < 0)
		return r;
	if (line[len - 1] != ']')
		return config_fail(p, NULL, "section header '%s' lacks its closing ']'", config_quote(line, q));
	line[len - 1] = '\0';
	name = config_trim(line + 1);
	memset(p->seen_line, 0, sizeof(p->seen_line));
	p->section_line = p->line;

	if (strcasecmp(name, "Interface") == 0) {
		if (p->interface_line) {
			p->section = SECTION_NONE;
			return config_fail(p, NULL, "[Interface] given twice (first on line %u)", p->interface_line);
		}
		p->section = SECTION_INTERFACE;
		p->interface_line = p->line;
		return 0;
	}
	if (strcasecmp(name, "Peer") == 0) {
		struct roam_config *cfg = p->cfg;
		p->section = SECTION_PEER;
		if (cfg->peers_count >= CONFIG_PEERS_MAX)
			return config_fail(p, NULL, "too many peers (at most %d)", CONFIG_PEERS_MAX);
		if (config_reserve((void **)&cfg->peers, cfg->peers_count, sizeof(*cfg->peers)) < 0)
			return -ENOMEM;
		memset(&cfg->peers[cfg->peers_count], 0, sizeof(cfg->peers[0]));
		cfg->peers[cfg->peers_count++].line = p->line;
		return 0;
	}
	p->section = SECTION_NONE;
	return config_fail(p, NULL, "unknown section [%s]", config_quote(name, q));
}

static const struct config_key *config_find_key(const char *name)
{
	for (size_t i = 0; i < CONFIG_KEYS_COUNT; i++) {
		if (strcasecmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static int config_key_line(struct config_parser *p, char *line)
{
	char q[CONFIG_QUOTE_MAX + 4];
	char *eq = strchr(line, '=');
	const struct config_key *key;
	char *name, *value;
	size_t index;

	if (!eq)
		return config_fail(p, NULL, "expected 'Key = Value', got '%s'", config_quote(line, q));
	*eq = '\0';
	name = config_trim(line);
	value = config_trim(eq + 1);
	if (*name == '\0')
		return config_fail(p, NULL, "missing key name before '='");
	if (p->section == SECTION_NONE)
		return config_fail(p, NULL, "'%s' outside of any section", config_quote(name, q));

	key = config_find_key(name);
	if (!key)
		return config_fail(p, NULL, "unknown key '%s'", config_quote(name, q));
	if (key->section != p->section)
		return config_fail(p, NULL, "%s belongs in [%s], not [%s]", key->name,
				   section_names[key->section], section_names[p->section]);
	index = (size_t)(key - config_keys);
	if (!key->repeatable && p->seen_line[index])
		return config_fail(p, key, "given twice (first on line %u)", p->seen_line[index]);
	p->seen_line[index] = p->line;
	if (*value == '\0' && !key->empty_ok)
		return config_fail(p, key, "empty value");
	return key->parse(p, key, value);
}

static int config_line(struct config_parser *p, char *line)
{
	char *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	line = config_trim(line);
	if (*line == '\0')
		return 0;
	if (*line == '[')
		return config_begin_section(p, line);
	return config_key_line(p, line);
}

/* ---- whole-file checks ---- */

static int config_cmp_peer_key(const void *a, const void *b)
{
	const struct config_peer *pa = *(const struct config_peer *const *)a;
	const struct config_peer *pb = *(const struct config_peer *const *)b;
	int c = memcmp(pa->public_key, pb->public_key, CONFIG_KEY_LEN);

	return c ? c : (pa->line > pb->line) - (pa->line < pb->line);
}

/* Sorted rather than pairwise, so 65536 peers stay cheap. */
static int config_check_unique_peers(struct config_parser *p)
{
	struct roam_config *cfg = p->cfg;
	const struct config_peer **sorted;
	int r = 0;

	if (cfg->peers_count < 2)
		return 0;
	sorted = malloc(cfg->peers_count * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->peers_count; i++)
		sorted[i] = &cfg->peers[i];
	qsort(sorted, cfg->peers_count, sizeof(*sorted), config_cmp_peer_key);
	for (size_t i = 1; i < cfg->peers_count; i++) {
		if (memcmp(sorted[i - 1]->public_key, sorted[i]->public_key, CONFIG_KEY_LEN) == 0) {
			p->line = sorted[i]->line;
			p->section = SECTION_PEER;
			r = config_fail(p, NULL, "duplicate peer: same PublicKey as the peer on line %u",
					sorted[i - 1]->line);
			break;
		}
	}
	free(sorted);
	return r;
}

static int config_check(struct config_parser *p)
{
	struct roam_config *cfg = p->cfg;
	const struct config_key *private_key = &config_keys[KEY_PRIVATE_KEY];
	const struct config_key *mtu = &config_keys[KEY_MTU];
	int r = config_end_section(p);

	if (r < 0)
		return r;
	p->section = SECTION_NONE;
	p->line = 0;
	if (!p->interface_line)
		return config_fail(p, NULL, "no [Interface] section");
	p->line = p->interface_line;
	if (!p->has_private_key)
		return config_fail(p, private_key, "missing");
	for (size_t i = 0; i < cfg->addresses_count; i++) {
		if (cfg->addresses[i].family == AF_INET6 && cfg->mtu < CONFIG_IPV6_MTU_MIN) {
			p->line = p->mtu_line;
			return config_fail(p, mtu, "%u is below %d, the minimum for IPv6 addresses", cfg->mtu,
					   CONFIG_IPV6_MTU_MIN);
		}
	}
	return config_check_unique_peers(p);
}

/* ---- entry points ---- */

void config_free(struct roam_config *cfg)
{
	if (!cfg)
		return;
	sodium_memzero(cfg->private_key, sizeof(cfg->private_key));
	for (size_t i = 0; i < cfg->peers_count; i++) {
		sodium_memzero(cfg->peers[i].preshared_key, sizeof(cfg->peers[i].preshared_key));
		free(cfg->peers[i].allowed_ips);
	}
	free(cfg->peers);
	free(cfg->addresses);
	free(cfg);
}

static int config_parse_lines(struct config_parser *p, char *text, size_t len)
{
	char *line = text, *end = text + len, *nl;
	int r;

	for (p->line = 1; line < end; p->line++, line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		*nl = '\0';
		r = config_line(p, line);
		if (r < 0)
			return r;
	}
	return 0;
}

int config_parse_buffer(const char *name, const char *buf, size_t len, unsigned flags,
			struct roam_config **out, struct config_error *err)
{
	struct config_parser p = { .name = name ? name : "(config)", .flags = flags, .err = err };
	const char *nul;
	char *text = NULL;
	int r;

	if (len > CONFIG_FILE_MAX) {
		config_fail(&p, NULL, "larger than %d bytes", CONFIG_FILE_MAX);
		return -EFBIG;
	}
	if (!buf && len)
		return config_fail(&p, NULL, "no buffer");
	nul = len ? memchr(buf, '\0', len) : NULL;
	if (nul) {
		p.line = 1;
		for (const char *c = buf; c < nul; c++)
			p.line += *c == '\n';
		return config_fail(&p, NULL, "NUL byte in the file");
	}
	/* A private copy to cut into lines and items; it holds key text, so it
	 * is wiped before it is freed. */
	text = malloc(len + 1);
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!text || !p.cfg) {
		r = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(text, buf, len);
	text[len] = '\0';
	p.cfg->mtu = CONFIG_MTU_DEFAULT;

	r = config_parse_lines(&p, text, len);
	if (r == 0)
		r = config_check(&p);
	if (r == 0) {
		*out = p.cfg; /* ownership to the caller */
		p.cfg = NULL;
	}
out:
	if (r == -ENOMEM && err)
		config_fail(&p, NULL, "out of memory");
	if (text) {
		sodium_memzero(text, len + 1);
		free(text);
	}
	config_free(p.cfg);
	return r;
}

static int config_read_file(int fd, char **out, size_t *out_len, bool *world_readable)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > CONFIG_FILE_MAX)
		return -EFBIG;
	/* One byte more than allowed, to notice a file that grew meanwhile. */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while (len < CONFIG_FILE_MAX + 1) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0 || len > CONFIG_FILE_MAX) {
		int r = n < 0 ? -errno : -EFBIG;
		sodium_memzero(buf, len);
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = len;
	*world_readable = (st.st_mode & S_IROTH) != 0;
	return 0;
}

int config_load_file(const char *path, struct roam_config **out, struct config_error *err)
{
	struct config_parser p = { .name = path, .err = err };
	struct roam_config *cfg = NULL;
	bool world_readable = false;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		config_fail(&p, NULL, "cannot open: %s", strerror(-r));
		return r;
	}
	r = config_read_file(fd, &buf, &len, &world_readable);
	close(fd);
	if (r < 0) {
		if (r == -EFBIG)
			config_fail(&p, NULL, "larger than %d bytes", CONFIG_FILE_MAX);
		else if (r == -EINVAL)
			config_fail(&p, NULL, "not a regular file");
		else
			config_fail(&p, NULL, "cannot read: %s", strerror(-r));
		return r;
	}
	r = config_parse_buffer(path, buf, len, 0, &cfg, err);
	sodium_memzero(buf, len);
	free(buf);
	if (r < 0)
		return r;
	cfg->world_readable = world_readable;
	*out = cfg;
	return 0;
}
