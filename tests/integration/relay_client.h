/* relay_client (relay_client.c has the usage): the shared state, blocking
 * TLS connections with a small HTTP/1.1 client and hand-written WebSocket
 * frames (relay_client_io.c), and the link kinds (relay_client_link.c).
 * Test code only. */
#ifndef ROAM_TESTS_RELAY_CLIENT_H
#define ROAM_TESTS_RELAY_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/token.h"

#define IN_MAX (1024 * 1024)
#define RECS_MAX (2 * 1024 * 1024)

struct conn {
	int fd;
	SSL *ssl;
	uint8_t *in;
	size_t in_len;
};

struct relay_client {
	const char *server, *name, *kind;
	char host[128], port[16];
	struct coord_token token;
	uint8_t priv[COORD_KEY_LEN], pub[COORD_KEY_LEN], k[COORD_KEY_LEN];
	uint32_t id;
	bool stream, dup, ackpost;
	SSL_CTX *ctx;
	struct conn link, post;
	char session[64];
	uint64_t up_seq, down_ack, acked; /* acked: the last ack POSTed (--ackpost) */
	unsigned gets;                     /* long-poll GETs sent */
	/* long-poll: records not yet handed out, from the last GET reply */
	uint8_t recs[RECS_MAX];
	size_t recs_len, recs_off;
	bool stream_open;
	/* what expect saw: (source, seq) bits */
	uint8_t seen[65536];
	/* --relay: links to a relay-only server with a ticket from the control server */
	const char *relay;
	uint32_t relay_id;
	char ticket[600];
	int ticket_flip; /* flip this byte of the ticket (bad input), -1: none */
	int ws_close;
	unsigned ws_pongs; /* WebSocket pong frames seen */
};

extern struct relay_client g;

/* relay_client_io.c */
_Noreturn void die(const char *what);
int64_t now_ms(void);
int conn_open(struct conn *c);
void conn_close(struct conn *c);
int conn_write(struct conn *c, const void *d, size_t n);
int conn_fill(struct conn *c, int64_t deadline);
int conn_need(struct conn *c, size_t n, int64_t deadline);
void conn_consume(struct conn *c, size_t n);
int http_head(struct conn *c, int64_t deadline, int *status, long *clen, bool *chunked);
int http_chunk(struct conn *c, int64_t deadline, uint8_t *out, size_t *n, size_t cap);
int http_body(struct conn *c, int64_t deadline, long clen, bool chunked, uint8_t *out, size_t *n, size_t cap);
int http_request(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
		 const uint8_t *body, size_t len);
int http_simple(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
		const uint8_t *body, size_t len, uint8_t *out, size_t *n, size_t cap);
int ws_frame(struct conn *c, uint8_t opcode, const uint8_t *d, size_t len, bool masked);

/* relay_client_link.c */
void do_register(void);
void fetch_ticket(void);
void upgrade(const char *kind);
void open_link(void);
int link_send(const uint8_t *d, size_t len);
/* One datagram from the link into d: its length, 0 on timeout, -1 closed. */
int link_recv(uint8_t *d, int64_t deadline);

#endif
