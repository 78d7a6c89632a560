/* A relay link on a connection taken over from evhttp (link_upgrade.c):
 * the TLS stream and the WebSocket share it. Private to server/links/. */
#ifndef ROAM_SERVER_LINK_CONN_H
#define ROAM_SERVER_LINK_CONN_H

#include "server/links/links.h"

struct bufferevent;
struct evhttp_connection;

struct link_conn {
	struct relay_link link; /* first: a struct relay_link * is a struct link_conn * */
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	void *ws;  /* struct ws_state, WebSocket only */
	bool shut; /* lingering: our FIN is sent */
	size_t out_room; /* free bytes after the last frame in the output's last chain (tls_send) */
};

#define LINK_CONN_MAX_WRITE (256 * 1024) /* bytes a write callback may hand to SSL_write */
#define LINK_CONN_INPUT_MAX (2 * (RELAY_FRAME_HDR_LEN + RELAY_LINK_DGRAM_MAX)) /* read watermark */

static inline struct link_conn *link_conn_of(struct relay_link *l)
{
	return (struct link_conn *)(void *)l;
}

/* link_upgrade.c */
bool link_conn_output_full(const struct link_conn *c);
/* Appends a then b to the output, frames packed into large chains (a TLS
 * record and a write each); 0 or -ENOMEM. */
int link_conn_write(struct link_conn *c, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* relay_link_ops.destroy of both kinds: flushes what is queued (a close
 * frame, at most LINK_CONN_LINGER_S), then hands the connection back to
 * evhttp to free. */
void link_conn_destroy(struct relay_link *l);
#define LINK_CONN_LINGER_S 5
#define LINK_CONN_LINGER_MAX (16 * 1024) /* more queued than this: closed at once */

/* link_ws.c: the WebSocket side of a taken-over connection. */
int link_ws_start(struct link_conn *c);
void link_ws_free(struct link_conn *c);
extern const struct relay_link_ops link_ws_ops;
void link_ws_readable(struct link_conn *c);

#endif
