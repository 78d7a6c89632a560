/* Config parser: good files give the right values; each kind of error is
 * reported with its line, field and a message that names the problem. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/config.h"

#define K1 "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY="
#define K2 "Dg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0="
#define K3 "FRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ="
#define K1_NONCANONICAL "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSZ="
#define IFACE "[Interface]\nPrivateKey = " K1 "\n"

static struct roam_config *parse_ok(const char *text)
{
	struct roam_config *cfg = NULL;
	struct config_error err;
	char msg[CONFIG_ERROR_STRLEN];
	int r = config_parse_buffer("test.conf", text, strlen(text), CONFIG_PARSE_NO_RESOLVE, &cfg, &err);

	if (r < 0) {
		config_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "unexpected error: %s\n", msg);
	}
	CHECK_INT(r, ==, 0);
	CHECK(cfg != NULL);
	return cfg;
}

static void check_prefix(const struct ip_prefix *p, const char *want)
{
	char buf[IP_PREFIX_STRLEN];

	CHECK_INT(ip_prefix_format(p, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, want);
}

static void check_endpoint(const struct config_peer *peer, const char *want)
{
	char buf[SOCKADDR_ANY_STRLEN];

	CHECK(peer->has_endpoint);
	CHECK_INT(sockaddr_any_format(&peer->endpoint, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, want);
}

static void test_full(void)
{
	static const char text[] =
		"# roam0.conf\n"
		"[Interface]\n"
		"PrivateKey = " K1 "\n"
		"ListenPort = 51820\n"
		"Address = 10.0.0.1/24, fd00::1/64\n"
		"MTU = 1400\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " K2 "  # the laptop\n"
		"PresharedKey = " K3 "\n"
		"Endpoint = 203.0.113.2:51820\n"
		"AllowedIPs = 10.0.0.2/32, fd00::2/128\n"
		"AllowedIPs = 10.1.0.0/16\n"
		"PersistentKeepalive = 25\n"
		"\n"
		"[peer]\n"
		"publickey=" K3 "\n"
		"ENDPOINT = [2001:db8::1]:51820\n"
		"allowedips = 10.2.3.4/16\n"
		"persistentkeepalive = OFF\n";
	struct roam_config *cfg = parse_ok(text);
	const struct config_peer *p;

	CHECK_INT(cfg->private_key[0], ==, 7);
	CHECK_INT(cfg->private_key[31], ==, 38);
	CHECK_INT(cfg->listen_port, ==, 51820);
	CHECK_INT(cfg->mtu, ==, 1400);
	CHECK_INT(cfg->addresses_count, ==, 2);
	check_prefix(&cfg->addresses[0], "10.0.0.1/24"); /* host bits kept */
	check_prefix(&cfg->addresses[1], "fd00::1/64");
	CHECK_INT(cfg->peers_count, ==, 2);

	p = &cfg->peers[0];
	CHECK_INT(p->line, ==, 8);
	CHECK_INT(p->public_key[0], ==, 14);
	CHECK(p->has_preshared_key);
	CHECK_INT(p->preshared_key[0], ==, 21);
	check_endpoint(p, "203.0.113.2:51820");
	CHECK_INT(p->allowed_ips_count, ==, 3);
	check_prefix(&p->allowed_ips[0], "10.0.0.2/32");
	check_prefix(&p->allowed_ips[1], "fd00::2/128");
	check_prefix(&p->allowed_ips[2], "10.1.0.0/16");
	CHECK_INT(p->persistent_keepalive, ==, 25);

	p = &cfg->peers[1];
	CHECK(!p->has_preshared_key);
	check_endpoint(p, "[2001:db8::1]:51820");
	CHECK_INT(p->allowed_ips_count, ==, 1);
	check_prefix(&p->allowed_ips[0], "10.2.0.0/16"); /* routing key: masked */
	CHECK_INT(p->persistent_keepalive, ==, 0);
	config_free(cfg);
}

static void test_minimal_and_layout(void)
{
	struct roam_config *cfg;

	cfg = parse_ok(IFACE);
	CHECK_INT(cfg->mtu, ==, CONFIG_MTU_DEFAULT);
	CHECK_INT(cfg->listen_port, ==, 0);
	CHECK_INT(cfg->peers_count, ==, 0);
	CHECK_INT(cfg->addresses_count, ==, 0);
	config_free(cfg);

	/* CRLF, tabs, no final newline, an empty AllowedIPs, repeated Address. */
	cfg = parse_ok("\t[ Interface ]\r\n\tPrivateKey\t=\t" K1 "\r\nAddress=10.0.0.1/24\r\n"
		       "Address = fd00::1\r\n[Peer]\r\nPublicKey = " K2 "\r\nAllowedIPs =\r\n"
		       "Endpoint = [::ffff:192.0.2.7]:9");
	CHECK_INT(cfg->addresses_count, ==, 2);
	check_prefix(&cfg->addresses[1], "fd00::1/128");
	CHECK_INT(cfg->peers[0].allowed_ips_count, ==, 0);
	check_endpoint(&cfg->peers[0], "192.0.2.7:9");
	config_free(cfg);
	config_free(NULL);
}

/* The wg-quick keys roamd takes: DNS servers and search domains, Table,
 * SaveConfig = false. */
static void test_wg_quick_keys(void)
{
	struct roam_config *cfg;

	cfg = parse_ok(IFACE "DNS = 10.0.0.53, fd00:0:0::53 ,corp.example\n"
		       "dns = ~., lab_1.example\nTable = off\nSaveConfig = false\nMTU = 1380\n");
	CHECK_INT(cfg->dns_servers_count, ==, 2);
	CHECK_STR(cfg->dns_servers[0], "10.0.0.53");
	CHECK_STR(cfg->dns_servers[1], "fd00::53"); /* canonical form */
	CHECK_INT(cfg->dns_search_count, ==, 3);
	CHECK_STR(cfg->dns_search[0], "corp.example");
	CHECK_STR(cfg->dns_search[1], "~.");
	CHECK_STR(cfg->dns_search[2], "lab_1.example");
	CHECK_INT(cfg->table, ==, CONFIG_TABLE_OFF);
	CHECK_INT(cfg->mtu, ==, 1380);
	config_free(cfg);

	cfg = parse_ok(IFACE "Table = AUTO\n");
	CHECK_INT(cfg->table, ==, CONFIG_TABLE_AUTO);
	CHECK_INT(cfg->dns_servers_count, ==, 0);
	config_free(cfg);
}

/* More servers than CONFIG_DNS_SERVERS_MAX is an error, not a truncation. */
static void test_dns_cap(void)
{
	char text[2048];
	struct roam_config *cfg = NULL;
	struct config_error err;
	int off = snprintf(text, sizeof(text), IFACE "DNS = 10.0.0.1");

	for (int i = 2; i <= CONFIG_DNS_SERVERS_MAX + 1; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off, ", 10.0.0.%d", i);
	CHECK_INT(config_parse_buffer("x", text, (size_t)off, 0, &cfg, &err), ==, -EINVAL);
	CHECK_CONTAINS(err.message, "too many servers");
}

static const struct {
	const char *text;
	unsigned line;
	const char *field;
	const char *message; /* substring */
} error_cases[] = {
	{ "[Interface]\nPrivateKey = short\n", 2, "[Interface] PrivateKey", "must be 44 base64 characters" },
	{ "[Interface]\nPrivateKey = " K1_NONCANONICAL "\n", 2, "[Interface] PrivateKey", "invalid base64" },
	{ "[Interface]\nPrivateKey = !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\n", 2,
	  "[Interface] PrivateKey", "invalid base64" },
	{ IFACE "ListenPort = 65536\n", 3, "[Interface] ListenPort", "invalid port '65536'" },
	{ IFACE "ListenPort = -1\n", 3, "[Interface] ListenPort", "invalid port '-1'" },
	{ IFACE "ListenPort =\n", 3, "[Interface] ListenPort", "empty value" },
	{ IFACE "MTU = 100\n", 3, "[Interface] MTU", "invalid MTU '100'" },
	{ IFACE "MTU = 1000\nAddress = fd00::1/64\n", 3, "[Interface] MTU", "below 1280" },
	{ IFACE "Address = 10.0.0.1/33\n", 3, "[Interface] Address", "invalid prefix length '33' for IPv4" },
	{ IFACE "Address = 10.0.0.300/24\n", 3, "[Interface] Address", "invalid address '10.0.0.300/24'" },
	{ IFACE "Address = 10.0.0.1/24,,fd00::1\n", 3, "[Interface] Address", "empty entry" },
	{ IFACE "Address = 10.0.0.1/24,\n", 3, "[Interface] Address", "empty entry" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32, fd00::/129\n", 5, "[Peer] AllowedIPs",
	  "invalid prefix length '129' for IPv6" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nEndpoint = 1.2.3.4\n", 5, "[Peer] Endpoint", "invalid endpoint" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nEndpoint = 1.2.3.4:0\n", 5, "[Peer] Endpoint", "invalid port" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nEndpoint = vpn.example:51820\n", 5, "[Peer] Endpoint",
	  "not a numeric address" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = 70000\n", 5, "[Peer] PersistentKeepalive",
	  "invalid interval '70000'" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = never\n", 5, "[Peer] PersistentKeepalive",
	  "expected 0..65535 seconds or off" },
	{ IFACE "Foo = 1\n", 3, "[Interface]", "unknown key 'Foo'" },
	{ IFACE "DNS = 1.1.1.1,,x.example\n", 3, "[Interface] DNS", "empty entry" },
	{ IFACE "DNS = 1.1.1.1/32\n", 3, "[Interface] DNS", "'1.1.1.1/32' is neither an IP address nor a domain" },
	{ IFACE "DNS = fd00::zz\n", 3, "[Interface] DNS", "neither an IP address" },
	{ IFACE "DNS = corp example\n", 3, "[Interface] DNS", "neither an IP address" },
	{ IFACE "DNS = -corp.example\n", 3, "[Interface] DNS", "neither an IP address" },
	{ IFACE "DNS =\n", 3, "[Interface] DNS", "empty value" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nDNS = 1.1.1.1\n", 5, "[Peer]", "DNS belongs in [Interface]" },
	{ IFACE "Table = 1234\n", 3, "[Interface] Table", "'1234': choosing a routing table is a wg-quick feature" },
	{ IFACE "Table = main\n", 3, "[Interface] Table", "use auto (main table) or off" },
	{ IFACE "Table = off\nTable = auto\n", 4, "[Interface] Table", "given twice" },
	{ IFACE "SaveConfig = true\n", 3, "[Interface] SaveConfig", "never writes its configuration file" },
	{ IFACE "SaveConfig = maybe\n", 3, "[Interface] SaveConfig", "invalid value 'maybe'" },
	{ IFACE "PreUp = true\n", 3, "[Interface] PreUp", "PreUp is a wg-quick hook: roamd runs no shell commands; use a systemd ExecStartPre=" },
	{ IFACE "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n", 3, "[Interface] PostUp",
	  "PostUp is a wg-quick hook: roamd runs no shell commands; use a systemd ExecStartPost=" },
	{ IFACE "predown =\n", 3, "[Interface] PreDown", "use a systemd ExecStop=" },
	{ IFACE "PostDown = x\n", 3, "[Interface] PostDown", "use a systemd ExecStopPost= in a drop-in" },
	{ IFACE "FwMark = 0x1234\n", 3, "[Interface] FwMark", "FwMark is a wg-quick/wg key roamd does not support" },
	{ IFACE "PublicKey = " K2 "\n", 3, "[Interface]", "PublicKey belongs in [Peer]" },
	{ IFACE "[Foo]\n", 3, "", "unknown section [Foo]" },
	{ "[Interface\n", 1, "", "lacks its closing ']'" },
	{ "PrivateKey = " K1 "\n", 1, "", "outside of any section" },
	{ IFACE "ListenPort 51820\n", 3, "[Interface]", "expected 'Key = Value'" },
	{ IFACE " = 5\n", 3, "[Interface]", "missing key name" },
	{ IFACE "PrivateKey = " K2 "\n", 3, "[Interface] PrivateKey", "given twice (first on line 2)" },
	{ IFACE "[Interface]\n", 3, "", "[Interface] given twice (first on line 1)" },
	{ "[Interface]\nListenPort = 1\n", 1, "[Interface] PrivateKey", "missing" },
	{ "# nothing\n", 0, "", "no [Interface] section" },
	{ IFACE "[Peer]\nEndpoint = 1.2.3.4:5\n[Peer]\nPublicKey = " K2 "\n", 3, "[Peer] PublicKey", "missing" },
	{ IFACE "[Peer]\nAllowedIPs = 10.0.0.0/8\n", 3, "[Peer] PublicKey", "missing" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\n\n[Peer]\nPublicKey = " K2 "\n", 6, "[Peer]",
	  "duplicate peer: same PublicKey as the peer on line 3" },
	{ IFACE "[Peer]\nPublicKey = " K2 "\nPublicKey = " K3 "\n", 5, "[Peer] PublicKey", "given twice" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct roam_config *cfg = NULL;
		struct config_error err;
		const char *text = error_cases[i].text;
		int r = config_parse_buffer("test.conf", text, strlen(text), CONFIG_PARSE_NO_RESOLVE, &cfg, &err);

		if (r == 0 || err.line != error_cases[i].line || strcmp(err.field, error_cases[i].field) ||
		    !strstr(err.message, error_cases[i].message))
			fprintf(stderr, "case %zu: r=%d line=%u field='%s' message='%s'\n", i, r, err.line,
				r ? err.field : "", r ? err.message : "");
		CHECK_INT(r, ==, -EINVAL);
		CHECK(cfg == NULL);
		CHECK_STR(err.file, "test.conf");
		CHECK_INT(err.line, ==, error_cases[i].line);
		CHECK_STR(err.field, error_cases[i].field);
		CHECK_CONTAINS(err.message, error_cases[i].message);
	}
}

static void test_limits_and_format(void)
{
	struct roam_config *cfg = NULL;
	struct config_error err;
	char msg[CONFIG_ERROR_STRLEN];
	static const char text[] = IFACE "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.1/33\n";
	static const char nul[] = IFACE "\nMTU = 1\0" "400\n";
	size_t big_len = CONFIG_FILE_MAX + 1;
	char *big;

	CHECK_INT(config_parse_buffer("roam0.conf", text, strlen(text), 0, &cfg, &err), ==, -EINVAL);
	CHECK_INT(config_error_format(&err, msg, sizeof(msg)), ==, 0);
	CHECK_STR(msg, "roam0.conf:5: [Peer] AllowedIPs: invalid prefix length '33' for IPv4");

	CHECK_INT(config_parse_buffer("x", nul, sizeof(nul) - 1, 0, &cfg, &err), ==, -EINVAL);
	CHECK_INT(err.line, ==, 4);
	CHECK_CONTAINS(err.message, "NUL byte");

	big = malloc(big_len);
	CHECK(big != NULL);
	memset(big, '#', big_len);
	CHECK_INT(config_parse_buffer("x", big, big_len, 0, &cfg, &err), ==, -EFBIG);
	CHECK_INT(config_error_format(&err, msg, sizeof(msg)), ==, 0);
	CHECK_CONTAINS(msg, "x: larger than");

	/* Addresses over the cap: CONFIG_ADDRESSES_MAX + 1 of them. */
	memcpy(big, IFACE "Address = ", strlen(IFACE "Address = "));
	{
		size_t off = strlen(IFACE "Address = ");
		for (int i = 0; i <= CONFIG_ADDRESSES_MAX; i++)
			off += (size_t)sprintf(big + off, "%s10.0.%d.1/24", i ? "," : "", i);
		CHECK_INT(config_parse_buffer("x", big, off, 0, &cfg, &err), ==, -EINVAL);
		CHECK_CONTAINS(err.message, "too many entries");
	}
	free(big);
	/* A NULL err is allowed. */
	CHECK_INT(config_parse_buffer("x", "[Foo]", 5, 0, &cfg, NULL), ==, -EINVAL);
}

static void test_load_file(void)
{
	char path[] = "/tmp/roam-test-config-XXXXXX";
	struct roam_config *cfg = NULL;
	struct config_error err;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, IFACE, strlen(IFACE)), ==, strlen(IFACE));
	CHECK_INT(fchmod(fd, 0600), ==, 0);
	close(fd);
	CHECK_INT(config_load_file(path, &cfg, &err), ==, 0);
	CHECK(!cfg->world_readable);
	config_free(cfg);
	CHECK_INT(chmod(path, 0644), ==, 0);
	CHECK_INT(config_load_file(path, &cfg, &err), ==, 0);
	CHECK(cfg->world_readable);
	config_free(cfg);
	unlink(path);

	CHECK_INT(config_load_file(path, &cfg, &err), ==, -ENOENT);
	CHECK_STR(err.file, path);
	CHECK_INT(err.line, ==, 0);
	CHECK_CONTAINS(err.message, "cannot open");
	CHECK_INT(config_load_file("/tmp", &cfg, &err), ==, -EINVAL);
	CHECK_CONTAINS(err.message, "not a regular file");
}

int main(void)
{
	test_full();
	test_minimal_and_layout();
	test_wg_quick_keys();
	test_dns_cap();
	test_errors();
	test_limits_and_format();
	test_load_file();
	return 0;
}
