/* The static configuration file, a subset of the wg-quick format:
 *
 *   [Interface]
 *   PrivateKey = <base64>          required
 *   ListenPort = 51820             0..65535; absent or 0: the kernel picks
 *   Address = 10.0.0.1/24, fd00::1/64   may repeat
 *   MTU = 1420                     CONFIG_MTU_MIN..CONFIG_MTU_MAX
 *   DNS = 10.0.0.53, corp.example  servers (IP addresses) and search domains;
 *                                  may repeat; set through resolvconf or
 *                                  systemd-resolved (daemon/dns.c)
 *   Table = auto | off             routes for AllowedIPs in the main table, or none
 *   SaveConfig = false             accepted for wg-quick files; true is an error
 *
 *   [Peer]                         any number, up to CONFIG_PEERS_MAX
 *   PublicKey = <base64>           required, unique
 *   PresharedKey = <base64>
 *   Endpoint = host:port | [IPv6]:port
 *   AllowedIPs = 10.0.0.2/32, fd00::2/128   may repeat
 *   PersistentKeepalive = 25 | off
 *
 * Section and key names are case-insensitive; '#' starts a comment; blank
 * space around names, values and list items is ignored. Anything unknown is
 * an error, reported with file, line and field; wg-quick's other keys
 * (PreUp, PostUp, PreDown, PostDown, FwMark, a numbered Table) are refused
 * with a message that says what to do instead. */
#ifndef ROAM_DAEMON_CONFIG_H
#define ROAM_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

#define CONFIG_KEY_LEN 32
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_PEERS_MAX 65536
#define CONFIG_ADDRESSES_MAX 64
#define CONFIG_ALLOWED_IPS_MAX 131072 /* over all peers */
#define CONFIG_MTU_DEFAULT 1420
#define CONFIG_MTU_MIN 576
#define CONFIG_MTU_MAX 65535
#define CONFIG_IPV6_MTU_MIN 1280 /* RFC 8200 5 */
#define CONFIG_DNS_SERVERS_MAX 16
#define CONFIG_DNS_SEARCH_MAX 32
#define CONFIG_DNS_SERVER_STRLEN 46 /* INET6_ADDRSTRLEN */
#define CONFIG_DNS_NAME_MAX 253     /* RFC 1035 2.3.4, in text form */

enum config_table {
	CONFIG_TABLE_AUTO, /* a route in the main table per allowed prefix */
	CONFIG_TABLE_OFF,  /* no routes: the administrator's policy routing */
};

enum config_parse_flags {
	/* Endpoints must be numeric: no resolver calls (fuzzing, reloads from
	 * the event loop). A host name is then an error. */
	CONFIG_PARSE_NO_RESOLVE = 1 << 0,
};

struct config_peer {
	uint8_t public_key[CONFIG_KEY_LEN];
	uint8_t preshared_key[CONFIG_KEY_LEN]; /* zero if none */
	bool has_preshared_key;
	bool has_endpoint;
	struct sockaddr_any endpoint;
	struct ip_prefix *allowed_ips; /* host bits cleared (ip_prefix_mask) */
	size_t allowed_ips_count;
	uint16_t persistent_keepalive; /* seconds; 0 = off */
	unsigned line;                 /* of its [Peer] header, for messages */
};

struct roam_config {
	uint8_t private_key[CONFIG_KEY_LEN]; /* wiped by config_free() */
	uint16_t listen_port;                /* 0: any */
	uint32_t mtu;
	struct ip_prefix *addresses; /* host bits kept: these are interface addresses */
	size_t addresses_count;
	struct config_peer *peers;
	size_t peers_count;
	/* DNS: servers in canonical text form (inet_ntop), search domains as given. */
	char dns_servers[CONFIG_DNS_SERVERS_MAX][CONFIG_DNS_SERVER_STRLEN];
	size_t dns_servers_count;
	char dns_search[CONFIG_DNS_SEARCH_MAX][CONFIG_DNS_NAME_MAX + 1];
	size_t dns_search_count;
	enum config_table table;
	bool world_readable; /* config_load_file: the file's mode lets others read it */
};

struct config_error {
	char file[256];
	unsigned line;     /* 1-based; 0 when the error is about the whole file */
	char field[48];    /* "[Peer] AllowedIPs", "[Interface]", or "" */
	char message[256];
};

/* Longest config_error_format() output. */
#define CONFIG_ERROR_STRLEN (256 + 12 + 48 + 256 + 8)

/* Read and parse path. 0 and *out (free with config_free), or -errno with
 * *err filled (err may be NULL): -ENOENT/-EACCES/... opening, -EFBIG over
 * CONFIG_FILE_MAX, -EINVAL a syntax or value error, -ENOMEM. Host names in
 * Endpoint are resolved (may block). */
int config_load_file(const char *path, struct roam_config **out, struct config_error *err);

/* Parse len bytes of buf (no NUL needed; one inside is an error); name is
 * used in error messages. flags: enum config_parse_flags. */
int config_parse_buffer(const char *name, const char *buf, size_t len, unsigned flags,
			struct roam_config **out, struct config_error *err);

void config_free(struct roam_config *cfg);

/* "roam0.conf:7: [Peer] AllowedIPs: invalid prefix length '33' for IPv4" */
int config_error_format(const struct config_error *err, char *buf, size_t size);

#endif
