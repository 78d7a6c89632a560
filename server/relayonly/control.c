/* A relay-only server's control thread (relayonly.h): blocking HTTPS to
 * the control server, whose TLS key must match the join token's pin:
 * POST /v1/relay/register, then GET /v1/relay/control held open (ticket
 * floors go to the loop over the pipe), and POST /v1/relay/load every
 * RELAYONLY_LOAD_S on a connection of its own. Reconnects with a pause;
 * the loop keeps relaying meanwhile with the tickets it has. */
#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "server/relayonly/relayonly.h"
#include "util/log.h"

#define CTL_IO_TIMEOUT_S 10
#define CTL_RETRY_S 2
#define CTL_BUF 65536

struct ctl_conn {
	int fd;
	SSL *ssl;
	char buf[CTL_BUF];
	size_t len;
};

/* what the thread needs beyond ro */
static uint8_t ctl_priv[32], ctl_pub[32], ctl_k[32];
static SSL_CTX *ctl_ctx;

static bool stopping(struct relayonly *ro) { return __atomic_load_n(&ro->stop, __ATOMIC_RELAXED) != 0; }

static void ctl_close(struct ctl_conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->len = 0;
}

static bool pin_ok(SSL *ssl, const uint8_t pin[32])
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char *der = NULL;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	int n;
	bool ok = false;

	if (cert && (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, digest, &dlen, EVP_sha256(), NULL) == 1 && dlen == 32)
		ok = crypto_equal(digest, pin, 32);
	OPENSSL_free(der);
	X509_free(cert);
	return ok;
}

static int ctl_open(struct relayonly *ro, struct ctl_conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { CTL_IO_TIMEOUT_S, 0 };

	c->fd = -1;
	c->ssl = NULL;
	c->len = 0;
	if (getaddrinfo(ro->host, ro->port, &hints, &ai) != 0)
		return -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
		c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (c->fd < 0)
		return -ECONNREFUSED;
	if (!(c->ssl = SSL_new(ctl_ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1 ||
	    !pin_ok(c->ssl, ro->token.tls_pin)) {
		ctl_close(c);
		return -EPROTO;
	}
	return 0;
}

static int ctl_write(struct ctl_conn *c, const void *d, size_t n)
{
	return n == 0 || SSL_write(c->ssl, d, (int)n) == (int)n ? 0 : -EIO;
}

static int ctl_request(struct relayonly *ro, struct ctl_conn *c, const char *method, const char *target,
		       const char *extra, const char *body)
{
	char head[1024], auth[COORD_AUTH_HEADER_MAX];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t blen = body ? strlen(body) : 0;

	crypto_random(nonce, sizeof(nonce));
	if (coord_auth_build(auth, sizeof(auth), ctl_k, ctl_pub, method, target, (int64_t)time(NULL), nonce, body ? body : "",
			     blen) < 0)
		return -EINVAL;
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: %s:%s\r\n" COORD_AUTH_HEADER ": %s\r\n%s%sContent-Length: %zu\r\n%s\r\n",
			 method, target, ro->host, ro->port, auth, extra ? extra : "", extra ? "\r\n" : "", blen,
			 body ? "Content-Type: application/json\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENOSPC;
	return ctl_write(c, head, (size_t)n) == 0 && ctl_write(c, body, blen) == 0 ? 0 : -EIO;
}

/* More bytes into c->buf; 0 on EOF/timeout/error. */
static size_t ctl_fill(struct ctl_conn *c)
{
	if (c->len == sizeof(c->buf))
		return 0;
	int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return (size_t)n;
}

static void ctl_consume(struct ctl_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* The response head: status, Content-Length (-1: none), chunked. */
static int ctl_head(struct ctl_conn *c, int *status, long *clen, bool *chunked)
{
	char *end;

	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (!ctl_fill(c))
			return -EIO;
	*end = '\0';
	if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1)
		return -EPROTO;
	const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
	*clen = cl ? strtol(cl + 17, NULL, 10) : -1;
	*chunked = strcasestr(c->buf, "\r\nTransfer-Encoding: chunked") != NULL;
	ctl_consume(c, (size_t)(end - c->buf) + 4);
	return 0;
}

/* A Content-Length body into out (NUL-terminated). */
static int ctl_body(struct ctl_conn *c, long clen, char *out, size_t cap)
{
	if (clen < 0 || (size_t)clen >= cap || (size_t)clen > sizeof(c->buf))
		return -EMSGSIZE;
	while (c->len < (size_t)clen)
		if (!ctl_fill(c))
			return -EIO;
	memcpy(out, c->buf, (size_t)clen);
	out[clen] = '\0';
	ctl_consume(c, (size_t)clen);
	return 0;
}

static int json_field(const char *json, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", name);
	if (!(p = strstr(json, pat)))
		return -ENOENT;
	p += strlen(pat);
	if (*p == '"')
		p++;
	size_t n = strcspn(p, "\",}");
	if (n >= cap)
		return -ENOSPC;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int relayonly_register(struct relayonly *ro, const uint8_t relay_priv[32], const uint8_t relay_pub[32],
		       const uint8_t tls_pin[32], uint16_t udp_port)
{
	char body[512], extra[128], pub64[COORD_KEY_B64_LEN + 1], pin64[COORD_KEY_B64_LEN + 1], secret[32], out[1024],
		field[64];
	struct ctl_conn c;
	int st, r;
	long clen;
	bool chunked;

	memcpy(ctl_priv, relay_priv, 32);
	memcpy(ctl_pub, relay_pub, 32);
	if (!ctl_ctx && !(ctl_ctx = SSL_CTX_new(TLS_client_method())))
		return -ENOMEM;
	SSL_CTX_set_verify(ctl_ctx, SSL_VERIFY_NONE, NULL); /* the pin is checked instead */
	if ((r = relay_key_derive(ctl_k, relay_priv, ro->token.server_pub, RELAY_KEY_LABEL)) < 0)
		return r;
	coord_b64_encode(pub64, sizeof(pub64), relay_pub, 32, 0);
	coord_b64_encode(pin64, sizeof(pin64), tls_pin, 32, 0);
	coord_b64_encode(secret, sizeof(secret), ro->token.secret, RELAY_SECRET_LEN, 1);
	snprintf(body, sizeof(body), "{\"url\":\"\",\"udp_port\":%u,\"region\":\"%s\",\"public_key\":\"%s\",\"tls_pin\":\"%s\"}",
		 udp_port, ro->region, pub64, pin64);
	snprintf(extra, sizeof(extra), "Roam-Relay-Secret: %s", secret);
	crypto_wipe(secret, sizeof(secret));
	for (;;) {
		r = ctl_open(ro, &c);
		if (r == 0 && (r = ctl_request(ro, &c, "POST", "/v1/relay/register", extra, body)) == 0 &&
		    (r = ctl_head(&c, &st, &clen, &chunked)) == 0 && (r = ctl_body(&c, clen, out, sizeof(out))) == 0) {
			if (st == 200 && json_field(out, "relay_id", field, sizeof(field)) == 0 &&
			    (ro->relay_id = (uint32_t)strtoul(field, NULL, 10)) > 0 &&
			    json_field(out, "ticket_key", field, sizeof(field)) == 0 &&
			    coord_b64_decode(ro->ticket_key, 32, field, strlen(field), 0) == 0) {
				ctl_close(&c);
				log_info("registered with %s as relay %u", ro->url, ro->relay_id);
				return 0;
			}
			log_err("registration refused by %s: %d %s", ro->url, st, out);
			if (st == 401 || st == 400) {
				ctl_close(&c);
				return -EACCES;
			}
		} else {
			log_warn("cannot reach %s to register (%s): retrying", ro->url, strerror(-r));
		}
		ctl_close(&c);
		if (stopping(ro))
			return -ECANCELED;
		sleep(CTL_RETRY_S);
	}
}

/* Lines of the control stream: floors to the loop. */
static void ctl_line(struct relayonly *ro, char *line)
{
	char f[32];
	struct relayonly_floor fl;

	if (!strstr(line, "\"type\":\"ticket_floor\"") || json_field(line, "node_id", f, sizeof(f)) < 0)
		return;
	fl.node_id = (uint32_t)strtoul(f, NULL, 10);
	if (json_field(line, "serial", f, sizeof(f)) < 0)
		return;
	fl.serial = strtoull(f, NULL, 10);
	if (write(ro->pipe[1], &fl, sizeof(fl)) != (ssize_t)sizeof(fl))
		log_warn("ticket floor for node %u lost (the loop is behind)", fl.node_id);
}

static void ctl_load(struct relayonly *ro)
{
	struct ctl_conn c;
	char body[512], out[512];
	int st;
	long clen;
	bool chunked;

	pthread_mutex_lock(&ro->load_lock);
	snprintf(body, sizeof(body), "%s", ro->load_json);
	pthread_mutex_unlock(&ro->load_lock);
	if (!body[0] || ctl_open(ro, &c) < 0)
		return;
	if (ctl_request(ro, &c, "POST", "/v1/relay/load", NULL, body) == 0 && ctl_head(&c, &st, &clen, &chunked) == 0 &&
	    st != 204) {
		ctl_body(&c, clen, out, sizeof(out));
		log_warn("load report refused: %d", st);
	}
	ctl_close(&c);
}

/* The chunked control stream until it breaks; loads on the side. */
static void ctl_follow(struct relayonly *ro, struct ctl_conn *c, time_t *next_load)
{
	char line[512];
	size_t ll = 0;

	for (;;) {
		char *crlf;
		if (stopping(ro))
			return;
		if (time(NULL) >= *next_load) {
			ctl_load(ro);
			*next_load = time(NULL) + RELAYONLY_LOAD_S;
		}
		while ((crlf = memmem(c->buf, c->len, "\r\n", 2))) {
			size_t size = strtoul(c->buf, NULL, 16), hl = (size_t)(crlf - c->buf) + 2;
			if (size == 0 && c->buf[0] == '0')
				return; /* the end */
			if (size > sizeof(c->buf) - 64)
				return; /* not a chunk we can hold: reconnect */
			if (c->len < hl + size + 2)
				break;
			for (size_t i = 0; i < size; i++) {
				char ch = c->buf[hl + i];
				if (ch == '\n') {
					line[ll] = '\0';
					ctl_line(ro, line);
					ll = 0;
				} else if (ll < sizeof(line) - 1) {
					line[ll++] = ch;
				}
			}
			ctl_consume(c, hl + size + 2);
		}
		int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e != SSL_ERROR_WANT_READ && (e != SSL_ERROR_SYSCALL || (errno != EAGAIN && errno != EWOULDBLOCK)))
			return;
		/* a read timeout: pings come every 15 s; time for a load report */
	}
}

static void *ctl_thread(void *arg)
{
	struct relayonly *ro = arg;
	time_t next_load = time(NULL) + 1; /* the loop makes the first report meanwhile */

	while (!stopping(ro)) {
		struct ctl_conn c;
		int st;
		long clen;
		bool chunked;
		if (ctl_open(ro, &c) == 0 && ctl_request(ro, &c, "GET", "/v1/relay/control", NULL, NULL) == 0 &&
		    ctl_head(&c, &st, &clen, &chunked) == 0 && st == 200 && chunked) {
			struct timeval tv = { 1, 0 }; /* wake up for loads and stop */
			setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			log_info("control stream from %s open", ro->url);
			ctl_follow(ro, &c, &next_load);
			log_warn("control stream from %s closed: reconnecting", ro->url);
		}
		ctl_close(&c);
		if (time(NULL) >= next_load) {
			ctl_load(ro);
			next_load = time(NULL) + RELAYONLY_LOAD_S;
		}
		for (int i = 0; i < CTL_RETRY_S * 10 && !stopping(ro); i++)
			usleep(100000);
	}
	return NULL;
}

int relayonly_thread_start(struct relayonly *ro, const uint8_t relay_priv[32], const uint8_t relay_pub[32])
{
	(void)relay_priv;
	(void)relay_pub;
	if (pthread_create(&ro->thread, NULL, ctl_thread, ro) != 0)
		return -EAGAIN;
	ro->thread_started = true;
	return 0;
}

void relayonly_thread_stop(struct relayonly *ro)
{
	__atomic_store_n(&ro->stop, 1, __ATOMIC_RELAXED);
	if (ro->thread_started)
		pthread_join(ro->thread, NULL);
	ro->thread_started = false;
	crypto_wipe(ctl_priv, sizeof(ctl_priv));
	crypto_wipe(ctl_k, sizeof(ctl_k));
	if (ctl_ctx)
		SSL_CTX_free(ctl_ctx);
	ctl_ctx = NULL;
}
