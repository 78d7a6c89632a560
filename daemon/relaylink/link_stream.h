/* A TCP connection to the server for a relay link (link_stream.c): libcurl
 * does the connecting (proxy CONNECT and its authentication, TLS, the
 * server's key pinned) with CURLOPT_CONNECT_ONLY, on a curl multi handle
 * of its own driven by our event loop; then this file writes the HTTP/1.1
 * Upgrade request and reads the 101, and the bytes after it belong to the
 * framing: TLS stream frames here, WebSocket in link_ws.c. */
#ifndef ROAM_DAEMON_RELAYLINK_LINK_STREAM_H
#define ROAM_DAEMON_RELAYLINK_LINK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rl_stream;
struct rl_ws;

/* Appends to the connection's output (sent as the socket takes it);
 * false (nothing appended) if it would hold more than RL_OUT_MAX. */
bool rl_stream_write(struct rl_stream *s, const uint8_t *d, size_t len);
bool rl_stream_write2(struct rl_stream *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
size_t rl_stream_out_room(const struct rl_stream *s);

/* link_ws.c: the WebSocket framing over a stream (wslay). */
int rl_ws_new(struct rl_stream *s, struct rl_ws **out);
void rl_ws_free(struct rl_ws *w);
/* The handshake: a fresh Sec-WebSocket-Key (24 chars + NUL), and the
 * Sec-WebSocket-Accept it calls for (28 chars + NUL; "" on failure). */
void rl_ws_key(struct rl_ws *w, char key[25]);
void rl_ws_accept_expected(const struct rl_ws *w, char *out, size_t cap);
/* Bytes from the server; 0 or -errno (the link is over). */
int rl_ws_input(struct rl_ws *w, const uint8_t *in, size_t n);
int rl_ws_send(struct rl_ws *w, const uint8_t *d, size_t len);
int rl_ws_output(struct rl_ws *w); /* frames wslay has queued (pongs, close) into the stream */
/* A complete binary message: the stream hands it to relaylink. */
void rl_stream_ws_message(struct rl_stream *s, const uint8_t *d, size_t len);

#endif
