/* Between relaylink.c and the links (relaylink.h). A link calls back
 * relaylink_on_up once it carries, relaylink_on_rx for every datagram,
 * relaylink_on_failed once (then it is quiet: relaylink.c frees it later,
 * outside the link's own callbacks). */
#ifndef ROAM_DAEMON_RELAYLINK_INTERNAL_H
#define ROAM_DAEMON_RELAYLINK_INTERNAL_H

#include "daemon/relaylink/relaylink.h"

#define RL_OUT_MAX (1024 * 1024) /* bytes a link may hold unsent; beyond: drop */
#define RL_URL_MAX (MANAGED_URL_MAX + 64)

struct rl_link;

struct rl_link_class {
	int (*open)(struct relaylink *rl, enum managed_relay_link kind, struct rl_link **out);
	/* 0, or -ENOBUFS (dropped: the link is that far behind), -ENOTCONN */
	int (*send)(struct rl_link *l, const uint8_t *d, size_t len);
	void (*flush)(struct rl_link *l); /* may be NULL */
	void (*close)(struct rl_link *l);
	bool (*short_polls)(const struct rl_link *l); /* long-poll behind a buffering proxy; may be NULL */
};

extern const struct rl_link_class rl_stream_class; /* TLS and WebSocket */
extern const struct rl_link_class rl_poll_class;

void relaylink_on_up(struct relaylink *rl, enum managed_relay_link kind);
void relaylink_on_rx(struct relaylink *rl, enum managed_relay_link kind, const uint8_t *d, size_t len);
void relaylink_on_failed(struct relaylink *rl, enum managed_relay_link kind, int err);

struct ev_loop *relaylink_loop(const struct relaylink *rl);
/* url of target on the server ("/v1/relay"), into out. */
void relaylink_url(const struct relaylink *rl, const char *target, char *out, size_t cap);
const char *relaylink_pin(const struct relaylink *rl); /* NULL: none */
const uint8_t *relaylink_server_auth(const struct relaylink *rl); /* K, or NULL: TLS proves the server */
/* A link's pin did not match: true if the fallback key now proves the
 * server (relaylink_set_server_auth_fallback), so the link may retry
 * without the pin; false: a failure as any. */
bool relaylink_pin_failed(struct relaylink *rl);
int relaylink_auth(const struct relaylink *rl, const char *method, const char *target, char *out, size_t cap);
/* ops->headers into out ("" without one); 0 or -errno. */
int relaylink_headers(const struct relaylink *rl, char *out, size_t cap);
#define RL_HEADERS_MAX 640 /* "Roam-Ticket: " + base64 of TICKET_LEN_MAX */
struct http_client *relaylink_http(const struct relaylink *rl);
const struct roamd_proxy *relaylink_proxy(const struct relaylink *rl);

#endif
