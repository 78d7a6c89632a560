/* The server's answer to a relay link's HTTP/1.1 Upgrade (link_stream.c):
 * no I/O, fuzzed (fuzz/fuzz_relay_upgrade.c). The bytes come from the
 * server or from a proxy in the way, so nothing in them is trusted. */
#ifndef ROAM_DAEMON_RELAYLINK_UPGRADE_HEAD_H
#define ROAM_DAEMON_RELAYLINK_UPGRADE_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPGRADE_HEAD_MAX 4096 /* a longer head is refused */

/* head: the bytes up to and including the blank line (len of them).
 * ws_accept: NULL for the TLS stream (Upgrade: roam-relay/1), else the
 * Sec-WebSocket-Accept the key we sent calls for (the answer must carry it
 * and Sec-WebSocket-Protocol: roam-relay.v1). *status gets the HTTP status
 * (0 if the status line is malformed). Returns 0 (101 with the right
 * Upgrade and, for WebSocket, accept key and protocol), -EACCES (401,
 * 403, 407), -EPROTO (anything else). */
int upgrade_head_check(const char *head, size_t len, const char *ws_accept, int *status);

/* Through a TLS-intercepting proxy: the 101 (already checked above) must
 * carry Roam-Server-Auth, the server's mac with k over the nonce of our
 * Roam-Auth, status 101 and an empty body. 0, or -EBADMSG (none, malformed
 * or wrong: the proxy, not the server, answered). */
int upgrade_head_server_auth(const char *head, size_t len, const uint8_t k[32], const uint8_t nonce[16]);

/* Where the head ends in buf (the index just past "\r\n\r\n"), or 0 if it
 * has not ended yet. */
size_t upgrade_head_end(const char *buf, size_t len);

#endif
