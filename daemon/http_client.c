#include "daemon/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/curl_ev.h"
#include "util/linebuf.h"

struct http_client {
	struct ev_loop *loop;
	struct curl_ev ce;
	struct http_request *requests; /* live, doubly linked */
	char primary_ip[64];           /* of the request being finished */
	long proxy_status;             /* its proxy's answer to CONNECT */
	unsigned retry_after_s;        /* its Retry-After (0: none) */
};

struct http_request {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body_copy;
	char *buf; /* reply body */
	size_t len, cap, body_max;
	struct linebuf lines; /* streams: the partial line */
	bool overflow;
	void (*on_line)(void *, const char *, size_t);
	int (*on_data)(void *, long, const uint8_t *, size_t);
	void (*on_done)(void *, int, long, const char *, size_t);
	void *ctx;
	struct http_request *prev, *next;
	/* Through a TLS-intercepting proxy (server_auth_key): the server's
	 * proof of each reply, and of each stream line (held until its mac). */
	bool server_auth, proof_failed, line_held;
	uint8_t sa_k[COORD_KEY_LEN], sa_nonce[COORD_AUTH_NONCE_LEN];
	char sa_header[COORD_SERVER_AUTH_MAX]; /* Roam-Server-Auth of the last response */
	char *held;                            /* the line waiting for its mac line */
	size_t held_len, held_cap;
	uint64_t seq;
};

static void check_finished(void *ctx);

static bool buf_append(struct http_request *r, const char *data, size_t n, size_t limit)
{
	if (r->len + n + 1 > limit) {
		r->overflow = true;
		return false;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > limit)
			cap = limit; /* never more than the limit, whatever doubling says */
		char *grown = realloc(r->buf, cap);
		if (!grown) {
			r->overflow = true;
			return false;
		}
		r->buf = grown;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

/* A stream line under server_auth: data lines and their mac lines alternate;
 * a data line reaches on_line only once its mac is checked. */
static void proved_line(void *ctx, const char *line, size_t len)
{
	struct http_request *r = ctx;

	if (r->proof_failed)
		return;
	if (r->line_held) {
		r->line_held = false;
		if (coord_line_mac_verify(line, len, r->sa_k, r->sa_nonce, r->seq++, r->held, r->held_len) < 0) {
			r->proof_failed = true;
			return;
		}
		r->on_line(r->ctx, r->held, r->held_len);
		return;
	}
	if (len + 1 > r->held_cap) {
		char *grown = realloc(r->held, len + 1);
		if (!grown) {
			r->proof_failed = true;
			return;
		}
		r->held = grown;
		r->held_cap = len + 1;
	}
	memcpy(r->held, line, len);
	r->held[len] = '\0';
	r->held_len = len;
	r->line_held = true;
}

/* Roam-Server-Auth of the final response (a proxy's CONNECT answer and
 * interim responses start over at their status line). */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *r = userp;
	size_t n = size * nmemb, name = strlen(COORD_SERVER_AUTH_HEADER ":");

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		r->sa_header[0] = '\0';
	} else if (n > name && strncasecmp(data, COORD_SERVER_AUTH_HEADER ":", name) == 0) {
		const char *v = data + name, *end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		if ((size_t)(end - v) < sizeof(r->sa_header))
			snprintf(r->sa_header, sizeof(r->sa_header), "%.*s", (int)(end - v), v);
	}
	return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *r = userp;
	size_t n = size * nmemb;
	long status = 0;

	if (r->server_auth && r->on_line) {
		/* A stream's error reply is a plain body, proved by its header. */
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			buf_append(r, data, n, HTTP_BODY_MAX);
		else if (linebuf_feed(&r->lines, data, n, proved_line, r) < 0)
			r->overflow = true;
		return r->overflow || r->proof_failed ? 0 : n;
	}
	if (r->on_data) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (r->on_data(r->ctx, status, (const uint8_t *)data, n) < 0)
			r->overflow = true;
	} else if (r->on_line) {
		/* Streams: split into lines as bytes arrive. */
		if (linebuf_feed(&r->lines, data, n, r->on_line, r->ctx) < 0)
			r->overflow = true;
	} else {
		buf_append(r, data, n, r->body_max);
	}
	/* Returning less than n aborts the transfer: do so on overflow. */
	return r->overflow ? 0 : n;
}

static int curl_to_errno(CURLcode code)
{
	switch (code) {
	case CURLE_OK: return 0;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return -EKEYREJECTED;
	case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CONNECT_ERROR:
		return -EPROTO;
	case CURLE_WRITE_ERROR: return -EMSGSIZE;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	default: return -EIO;
	}
}

static void request_unlink(struct http_request *r)
{
	struct http_client *c = r->client;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->requests = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void request_free(struct http_request *r)
{
	curl_multi_remove_handle(r->client->ce.multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body_copy);
	free(r->buf);
	free(r->held);
	linebuf_free(&r->lines);
	crypto_wipe(r->sa_k, sizeof(r->sa_k));
	free(r);
}

/* The server's proof of a finished reply under server_auth: 0, or -EBADMSG.
 * A stream's 200 is proved line by line instead. */
static int reply_proved(struct http_request *r, int err, long status)
{
	if (!r->server_auth)
		return err;
	if (r->proof_failed)
		return -EBADMSG;
	if (err || status == 0 || (r->on_line && status == 200))
		return err;
	if (coord_reply_auth_verify(r->sa_header[0] ? r->sa_header : NULL, r->sa_k, r->sa_nonce, (int)status,
				    r->buf ? r->buf : "", r->len) < 0)
		return -EBADMSG;
	return 0;
}

static void check_finished(void *ctx)
{
	struct http_client *c = ctx;
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->ce.multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_request *r = NULL;
		long status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		char *ip = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIMARY_IP, &ip);
		snprintf(c->primary_ip, sizeof(c->primary_ip), "%s", ip ? ip : "");
		c->proxy_status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_HTTP_CONNECTCODE, &c->proxy_status);
		curl_off_t retry_after = 0; /* seconds or an HTTP date, read by libcurl */
		curl_easy_getinfo(m->easy_handle, CURLINFO_RETRY_AFTER, &retry_after);
		c->retry_after_s = retry_after > 0 ? (retry_after < UINT_MAX ? (unsigned)retry_after : UINT_MAX) : 0;
		int err = r->overflow ? -EMSGSIZE : curl_to_errno(m->data.result);
		if (err && c->proxy_status >= 300) /* the proxy said no, whatever libcurl's code */
			err = -EACCES;
		if ((err = reply_proved(r, err, status)) == -EBADMSG) {
			status = 0; /* nothing of it is the server's */
			c->retry_after_s = 0;
			r->len = 0;
		}
		request_unlink(r);
		if (r->on_done)
			r->on_done(r->ctx, err, status, r->buf && r->len ? r->buf : "",
				   r->on_line || r->on_data ? 0 : r->len);
		request_free(r); /* the callback may have started new requests: fine */
	}
}

const char *http_client_primary_ip(const struct http_client *c)
{
	return c->primary_ip;
}

long http_client_proxy_status(const struct http_client *c)
{
	return c->proxy_status;
}

unsigned http_client_retry_after_s(const struct http_client *c)
{
	return c->retry_after_s;
}

int http_client_new(struct ev_loop *loop, struct http_client **out)
{
	static bool global_init;
	if (!global_init) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		global_init = true;
	}
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	if (curl_ev_init(&c->ce, loop, check_finished, c) < 0) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->requests)
		http_request_cancel(c->requests);
	curl_ev_cleanup(&c->ce);
	free(c);
}

void http_request_cancel(struct http_request *r)
{
	if (!r)
		return;
	request_unlink(r);
	request_free(r);
}

static bool server_auth_nonce(const char *roam_auth, uint8_t nonce[COORD_AUTH_NONCE_LEN])
{
	struct coord_auth a;

	if (coord_auth_parse(roam_auth, &a) < 0)
		return false;
	memcpy(nonce, a.nonce, COORD_AUTH_NONCE_LEN);
	return true;
}

int http_request_start(struct http_client *c, const struct http_request_opts *o, struct http_request **out)
{
	int err = -ENOMEM;
	struct http_request *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->client = c;
	r->on_line = o->on_line;
	r->body_max = o->body_max ? o->body_max : HTTP_BODY_MAX;
	r->on_data = o->on_data;
	r->on_done = o->on_done;
	r->ctx = o->ctx;
	linebuf_init(&r->lines, HTTP_LINE_MAX);
	r->easy = curl_easy_init();
	if (!r->easy)
		goto nomem;
	for (const char *const *h = o->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(r->headers, *h);
		if (!l)
			goto nomem;
		r->headers = l;
		if (o->server_auth_key && strncmp(*h, COORD_AUTH_HEADER ": ", strlen(COORD_AUTH_HEADER ": ")) == 0)
			r->server_auth = server_auth_nonce(*h + strlen(COORD_AUTH_HEADER ": "), r->sa_nonce);
	}
	if (o->server_auth_key) {
		struct curl_slist *l = curl_slist_append(r->headers, COORD_WANT_SERVER_AUTH_HEADER ": 1");
		if (l)
			r->headers = l;
		if (!r->server_auth || !l) { /* no Roam-Auth: nothing to bind a proof to */
			err = l ? -EINVAL : -ENOMEM;
			goto nomem;
		}
		memcpy(r->sa_k, o->server_auth_key, COORD_KEY_LEN);
	}
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Every control request is HTTPS, redirects included: never plain HTTP. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* A roaming host's old connections may be bound to an address it no
	 * longer has: never reuse one (a control request is rare enough), unless
	 * asked (the relay's long-poll, whose link restarts on address changes). */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, o->reuse_connection ? 0L : 1L);
	if (o->timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (roamd_proxy_apply(e, o->proxy) < 0)
		goto nomem;
	if (o->server_auth_key || o->tls_unverified) {
		/* The proxy's own certificate: TLS proves nothing here; the
		 * server's mac (or the payload's own) does. */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	} else if (o->pinned_pubkey) {
		/* The join token pins the server's key: trust exactly that key,
		 * whatever signed its (possibly self-signed) certificate. */
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, o->pinned_pubkey);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->body) {
		r->body_copy = malloc(o->body_len + 1);
		if (!r->body_copy)
			goto nomem;
		memcpy(r->body_copy, o->body, o->body_len);
		r->body_copy[o->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_copy);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)o->body_len);
	}
	if (curl_multi_add_handle(c->ce.multi, e) != CURLM_OK)
		goto nomem;
	r->next = c->requests;
	if (c->requests)
		c->requests->prev = r;
	c->requests = r;
	if (out)
		*out = r;
	return 0;
nomem:
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body_copy);
	crypto_wipe(r->sa_k, sizeof(r->sa_k));
	free(r);
	return err;
}
