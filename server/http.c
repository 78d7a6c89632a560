/* HTTPS: libevent's evhttp over bufferevent_openssl (docs/dependencies.md
 * says why). One dual-stack listening socket on the server's port, behind our
 * own evconnlistener so that accept() backs off when we run out of fds.
 *
 * Connection admission (conn_limit.h). libevent 2.1 has no hook between
 * accept() and evhttp taking the socket, so: evhttp asks http_new_bev for a
 * bufferevent of each new connection; we tie a struct http_conn to its SSL
 * (ex_data) and queue it; right after the accept callback, in the same loop
 * turn and before any byte is read, http_conns_check looks at its peer and
 * admits it or shuts the socket down (evhttp then frees it on EOF). The SSL's
 * ex_data free callback is the one place a connection's end is counted.
 *
 * Body limits per request: evhttp has one limit per connection, checked
 * against Content-Length right after the headers. COORD_BODY_MAX holds for
 * every route but an offline upload's PUT /v1/files/data (FCACHE_CHUNK_MAX),
 * and for that one only on a connection where a request already passed
 * Roam-Auth (promoted), so that the unauthenticated half of the connections
 * cannot make us hold 1 MiB each: a callback on the connection's input sees
 * each request line arrive before evhttp parses it, and sets the
 * connection's limit for that request. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coord/messages.h"
#include "crypto/crypto.h"
#include "server/files/cache.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define HTTP_HEADERS_MAX 16384
#define HTTP_BACKLOG 1024

struct http_conn {
	struct server *srv;
	struct bufferevent *bev;
	struct http_conn *next_pending;
	struct conn_source src;
	bool pending, admitted, promoted;
	bool at_start; /* the next input byte starts a request */
};

/* SSL_free of a connection's SSL (its bufferevent is being freed). */
static void http_conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct http_conn *c = ptr, **pp;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return;
	if (c->pending) {
		for (pp = &c->srv->conns_pending; *pp && *pp != c; pp = &(*pp)->next_pending)
			;
		if (*pp)
			*pp = c->next_pending;
	}
	/* Finalizers may run after http_close freed the limiter. */
	if (c->admitted && c->srv->conns.slots)
		conn_limit_release(&c->srv->conns, &c->src, c->promoted);
	free(c);
}

/* The connection's body limit for the request its input starts with, once
 * enough of the request line is there to tell. Only between requests: in a
 * body, or on a connection a stream or a relay link took over (its
 * callbacks no longer evhttp's), at_start is false and nothing is read. */
static void http_conn_pick_limit(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), max;
	char line[32];
	void *arg = NULL;

	if (!c->at_start || len == 0)
		return;
	len = len < sizeof(line) ? len : sizeof(line);
	if (evbuffer_copyout(in, line, len) != (ev_ssize_t)len || !(max = fcache_request_body_max(line, len)))
		return;
	c->at_start = false;
	if (!c->promoted || max <= COORD_BODY_MAX)
		return; /* COORD_BODY_MAX: evhttp's own, and set again after every request */
	/* evhttp gives its connection as the argument of every bufferevent
	 * callback it sets (libevent 2.1 http.c); checked against ours. */
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	if (arg && evhttp_connection_get_bufferevent(arg) == c->bev)
		evhttp_connection_set_max_body_size(arg, (ev_ssize_t)max);
}

static void http_conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	(void)in;
	if (info->n_added)
		http_conn_pick_limit(arg);
}

/* Ours for req's connection (tied to its SSL), or NULL. */
static struct http_conn *http_conn_of(struct server *s, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, s->ssl_conn_index) : NULL;
}

void http_conn_next_request(struct server *s, struct evhttp_request *req)
{
	struct http_conn *c = http_conn_of(s, req);

	if (!c)
		return;
	evhttp_connection_set_max_body_size(evhttp_request_get_connection(req), COORD_BODY_MAX);
	c->at_start = true;
	http_conn_pick_limit(c); /* a request sent before this reply */
}

void http_stream_end(struct evhttp_request *req)
{
	if (evhttp_request_get_connection(req))
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	evhttp_send_reply_end(req); /* may free the connection */
}

static struct bufferevent *http_new_bev(struct event_base *base, void *arg)
{
	struct server *s = arg;
	struct http_conn *c = calloc(1, sizeof(*c));
	SSL *ssl = SSL_new(s->ssl);
	struct bufferevent *bev;

	/* evhttp falls back to a plain socket if we return NULL: never serve
	 * the API unencrypted (or unaccounted), even out of memory. */
	if (!ssl || !c || !SSL_set_ex_data(ssl, s->ssl_conn_index, c)) {
		log_err("new connection: out of memory");
		abort();
	}
	c->srv = s;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		log_err("bufferevent_openssl_socket_new failed: out of memory");
		abort();
	}
	c->bev = bev;
	c->at_start = true;
	if (!evbuffer_add_cb(bufferevent_get_input(bev), http_conn_input, c)) {
		log_err("evbuffer_add_cb failed: out of memory");
		abort();
	}
	c->pending = true;
	c->next_pending = s->conns_pending;
	s->conns_pending = c;
	event_active(s->conns_check_ev, EV_TIMEOUT, 0);
	return bev;
}

static void http_conn_admit(struct server *s, struct http_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	enum conn_verdict v;
	char who[64];
	uint32_t rnd;

	if (fd < 0)
		return; /* evhttp failed to set it up and frees it */
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    conn_source_from_sockaddr((struct sockaddr *)&ss, &c->src) < 0) {
		shutdown(fd, SHUT_RDWR);
		return;
	}
	crypto_random(&rnd, sizeof(rnd));
	v = conn_limit_admit(&s->conns, &c->src, rnd);
	if (v == CONN_ADMIT) {
		c->admitted = true;
		s->stats.connections++;
		return;
	}
	conn_source_format(&c->src, who, sizeof(who));
	log_limited(LOG_WARN, "connection from %s refused: %s (%u open, %u unauthenticated)", who,
		    conn_verdict_name(v), s->conns.total, s->conns.unauthenticated);
	/* EOF on our side too: evhttp frees the connection on its next read. */
	shutdown(fd, SHUT_RDWR);
}

/* Runs right after the accept callback that created the pending ones. */
static void http_conns_check(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct http_conn *c;

	(void)fd;
	(void)what;
	while ((c = s->conns_pending)) {
		s->conns_pending = c->next_pending;
		c->next_pending = NULL;
		c->pending = false;
		http_conn_admit(s, c);
	}
}

void http_conn_authenticated(struct server *s, struct evhttp_request *req)
{
	struct http_conn *c = http_conn_of(s, req);

	if (c && c->admitted && !c->promoted) {
		c->promoted = true;
		conn_limit_promote(&s->conns);
	}
}

static void http_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* The listener's user data is the evhttp (evhttp_bind_listener sets it), so
 * this works from the listener alone. Out of fds, accept() fails at once
 * every time the socket polls readable: pause instead of spinning. */
static void http_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval tv = { 0, SERVER_ACCEPT_BACKOFF_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		log_limited(LOG_WARN, "accept: %s: pausing new connections for %d ms", strerror(err),
			    SERVER_ACCEPT_BACKOFF_MS);
		evconnlistener_disable(lev);
		if (event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT, http_accept_resume, lev, &tv) < 0)
			evconnlistener_enable(lev);
		return;
	}
	log_limited(LOG_WARN, "accept: %s", strerror(err));
}

/* libevent's own warnings (a remote party can cause some) go through our
 * log, rate-limited. */
static void http_libevent_log(int severity, const char *msg)
{
	enum log_level level = severity >= EVENT_LOG_ERR    ? LOG_ERR
			       : severity >= EVENT_LOG_WARN ? LOG_WARN
			       : severity >= EVENT_LOG_MSG  ? LOG_INFO
							    : LOG_DEBUG;

	log_limited(level, "libevent: %s", msg);
}

static int tls_context(struct server *s)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Thousands of mostly idle streams: give buffers back between writes. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, s->id.cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, s->id.key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		log_err("TLS key/certificate (%s, %s): %s", s->id.cert_path, s->id.key_path,
			ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unusable");
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	s->ssl = ctx;
	return 0;
}

static int listen_socket(uint16_t port, int *fd_out)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, on = 1, r;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    /* Inherited by accepted sockets (Linux): a response or a relayed
	     * record written in two pieces must not wait for the peer's
	     * delayed ACK (40 ms per /v1/info on a kept-alive connection). */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

static int http_conns_open(struct server *s)
{
	uint8_t key[16];
	int r;

	s->ssl_conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, http_conn_ex_free);
	if (s->ssl_conn_index < 0)
		return -ENOMEM;
	crypto_random(key, sizeof(key));
	r = conn_limit_init(&s->conns, &s->cfg.conn, key);
	crypto_wipe(key, sizeof(key));
	if (r < 0)
		return r;
	s->conns_check_ev = event_new(s->base, -1, 0, http_conns_check, s);
	return s->conns_check_ev ? 0 : -ENOMEM;
}

int http_open(struct server *s)
{
	int fd = -1, r;

	event_set_log_callback(http_libevent_log);
	if ((r = tls_context(s)) < 0 || (r = http_conns_open(s)) < 0)
		return r;
	s->http = evhttp_new(s->base);
	if (!s->http)
		return -ENOMEM;
	evhttp_set_max_body_size(s->http, COORD_BODY_MAX);
	evhttp_set_max_headers_size(s->http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(s->http, SERVER_HTTP_TIMEOUT_S);
	/* Every method reaches api_dispatch, which answers 405 (libevent would say 501). */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(s->http, "application/json");
	evhttp_set_bevcb(s->http, http_new_bev, s);
	evhttp_set_gencb(s->http, api_dispatch, s);
	if ((r = listen_socket(s->cfg.port, &fd)) < 0) {
		log_err("HTTPS listen on port %u: %s", s->cfg.port, strerror(-r));
		return r;
	}
	s->listener = evconnlistener_new(s->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!s->listener) {
		close(fd);
		return -ENOMEM;
	}
	/* evhttp_free frees the listener (and closes fd). */
	if (!evhttp_bind_listener(s->http, s->listener)) {
		evconnlistener_free(s->listener);
		s->listener = NULL;
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(s->listener, http_accept_error);
	log_info("HTTPS: at most %u connections, %u per source, unauthenticated %u:%u:%u (start:rate:full)",
		 s->cfg.conn.max_conns, s->cfg.conn.max_per_source, s->cfg.conn.startups_start,
		 s->cfg.conn.startups_rate, s->cfg.conn.startups_full);
	return 0;
}

void http_close(struct server *s)
{
	const uint64_t *refused = s->conns.refused;

	if (s->conns.slots)
		log_info("HTTPS: %llu connections admitted, %llu refused (%llu cap, %llu per source, %llu early drop); "
			 "%u open (%u unauthenticated) from %u sources",
			 (unsigned long long)s->stats.connections,
			 (unsigned long long)(refused[CONN_REFUSE_TOTAL] + refused[CONN_REFUSE_SOURCE] +
					      refused[CONN_REFUSE_STARTUPS]),
			 (unsigned long long)refused[CONN_REFUSE_TOTAL], (unsigned long long)refused[CONN_REFUSE_SOURCE],
			 (unsigned long long)refused[CONN_REFUSE_STARTUPS], s->conns.total, s->conns.unauthenticated,
			 s->conns.sources);
	if (s->http)
		evhttp_free(s->http);
	s->http = NULL;
	s->listener = NULL;
	if (s->conns_check_ev)
		event_free(s->conns_check_ev);
	s->conns_check_ev = NULL;
	s->conns_pending = NULL;
	conn_limit_free(&s->conns);
	if (s->ssl)
		SSL_CTX_free(s->ssl);
	s->ssl = NULL;
}
