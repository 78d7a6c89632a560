/* HTTPS: libevent's evhttp over bufferevent_openssl (docs/dependencies.md
 * says why). One dual-stack listening socket on the server's port. */
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coord/messages.h"
#include "server/server.h"
#include "util/log.h"

#define HTTP_HEADERS_MAX 16384
#define HTTP_BACKLOG 1024

static struct bufferevent *http_new_bev(struct event_base *base, void *arg)
{
	struct server *s = arg;
	SSL *ssl = SSL_new(s->ssl);
	struct bufferevent *bev;

	/* evhttp falls back to a plain socket if we return NULL: never serve
	 * the API unencrypted, even out of memory. */
	if (!ssl) {
		log_err("SSL_new failed: out of memory");
		abort();
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		log_err("bufferevent_openssl_socket_new failed: out of memory");
		abort();
	}
	return bev;
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
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

int http_open(struct server *s)
{
	int fd = -1, r;

	if ((r = tls_context(s)) < 0)
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
	if (evhttp_accept_socket(s->http, fd) < 0) {
		close(fd);
		return -EIO;
	}
	return 0;
}

void http_close(struct server *s)
{
	if (s->http)
		evhttp_free(s->http);
	s->http = NULL;
	if (s->ssl)
		SSL_CTX_free(s->ssl);
	s->ssl = NULL;
}
