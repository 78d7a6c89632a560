/* Replies proved with the node's K, for nodes behind a TLS-intercepting
 * proxy (docs/control-protocol.md, "Through a TLS-intercepting proxy"): a
 * node that cannot trust the TLS key asks with Roam-Want-Server-Auth: 1;
 * every reply to its authenticated request then carries Roam-Server-Auth,
 * and its stream a mac line after each line. */
#ifndef ROAM_SERVER_REPLY_AUTH_H
#define ROAM_SERVER_REPLY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

struct reply_auth {
	bool on;
	uint8_t k[COORD_KEY_LEN];
	uint8_t nonce[COORD_AUTH_NONCE_LEN]; /* the request's Roam-Auth nonce */
	uint64_t seq;                        /* stream lines sent */
};

/* The Roam-Server-Auth value ("mac=...") for a reply, into buf
 * (COORD_SERVER_AUTH_MAX). */
int reply_auth_value(char *buf, size_t size, const struct reply_auth *ra, int status, const char *body,
		     size_t body_len);
/* "Roam-Server-Auth: mac=...\r\n" for a reply (status, body) into buf, or an
 * empty string when ra is off or NULL. */
void reply_auth_header_line(char *buf, size_t size, const struct reply_auth *ra, int status, const char *body,
			    size_t body_len);
/* The mac line that follows one stream line (without its newline) into buf
 * (COORD_MAC_LINE_MAX), counting it. */
int reply_auth_line(struct reply_auth *ra, char *buf, size_t size, const char *line, size_t line_len);

#endif
