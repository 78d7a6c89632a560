/* The file worker's requests to the server (the offline push): Roam-Auth
 * as the agent's, through the agent's proxy (`roam up --proxy`, else
 * roamd's environment: daemon/proxy.h), and, when the node allows TLS
 * interception and the server's TLS key is not the pinned one (a proxy
 * that re-signs TLS), with the server's proof on every reply instead of
 * TLS's (Roam-Want-Server-Auth, docs/control-protocol.md), exactly as the
 * agent's http_client does. Blocking libcurl, one handle per thread. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define RESPONSE_MAX (320 * 1024) /* a download reply: 192 KiB in base64, and a listing */
#define REQUEST_TIMEOUT_MS 30000L

/* Learned at the first pin mismatch with interception allowed; for the
 * worker's life (a restart of roamd learns it again). */
static atomic_bool intercepted;

struct response {
	char *buf;
	size_t len, max; /* max: RESPONSE_MAX, or a binary download's piece */
	bool binary;     /* the reply is application/octet-stream */
	char server_auth[COORD_SERVER_AUTH_MAX]; /* Roam-Server-Auth of the final response */
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;
	if (r->len + len > r->max)
		return 0; /* over the cap: the transfer fails */
	char *grown = realloc(r->buf, r->len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + r->len, data, len);
	r->buf = grown;
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

/* A proxy's CONNECT answer and interim responses start over at their
 * status line: only the final response's header counts. */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n, name = strlen(COORD_SERVER_AUTH_HEADER ":");
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		r->server_auth[0] = '\0';
	} else if (len > name && strncasecmp(data, COORD_SERVER_AUTH_HEADER ":", name) == 0) {
		const char *v = data + name, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		if ((size_t)(end - v) < sizeof(r->server_auth))
			snprintf(r->server_auth, sizeof(r->server_auth), "%.*s", (int)(end - v), v);
	}
	return len;
}

/* One try on the thread's handle: the curl result, *status set. */
static CURLcode perform(const struct worker_server *s, const char *method, const char *url, struct curl_slist *h,
			const void *body, size_t len, bool icpt, struct response *r, long *status)
{
	/* One handle per thread, reset between requests: its connection (and
	 * TLS session) is reused, not one handshake per 60 KiB. */
	static __thread CURL *handle;
	if (handle)
		curl_easy_reset(handle);
	else
		handle = curl_easy_init();
	CURL *e = handle;
	if (!e)
		return CURLE_OUT_OF_MEMORY;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	if (roamd_proxy_apply(e, &s->proxy) < 0)
		return CURLE_BAD_FUNCTION_ARGUMENT;
	if (icpt) {
		/* The proxy's own certificate: TLS proves nothing; the server's mac does. */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	} else if (s->pin[0]) {
		/* The server's key is pinned by the join token, as for the agent. */
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, s->pin);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	CURLcode rc = curl_easy_perform(e);
	const char *type = NULL;
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (rc == CURLE_OK && curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
		r->binary = strncasecmp(type, "application/octet-stream", 24) == 0;
	return rc;
}

/* One authenticated request (Roam-Auth, as the agent's), the reply in *r
 * (bytes: asking for application/octet-stream): the HTTP status, or -errno
 * when none came (-EBADMSG: a reply without the server's proof through an
 * intercepting proxy). */
static long call(const char *method, const char *target, const void *body, size_t len, bool bytes,
		 struct response *r)
{
	struct worker_server s;
	pthread_mutex_lock(&xfer_worker->lock);
	s = xfer_worker->server;
	pthread_mutex_unlock(&xfer_worker->lock);
	if (!s.have)
		return -ENOTCONN;
	char url[640], auth[COORD_AUTH_HEADER_MAX + 16] = COORD_AUTH_HEADER ": ";
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	crypto_random(nonce, sizeof(nonce));
	size_t n = strlen(auth);
	snprintf(url, sizeof(url), "%s%s", s.url, target);
	long status = -EIO;
	struct curl_slist *h = NULL;
	if (coord_auth_build(auth + n, sizeof(auth) - n, s.k, s.node_pub, method, target, (int64_t)time(NULL), nonce,
			     body ? body : "", len) < 0) {
		status = -EINVAL;
		goto out;
	}
	bool icpt = s.allow_interception && atomic_load(&intercepted);
	h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	h = curl_slist_append(h, "Expect:");
	if (bytes)
		h = curl_slist_append(h, "Accept: application/octet-stream, application/json");
	/* Asked always when interception is allowed, so a retry after the
	 * pin's mismatch needs no new list. */
	if (s.allow_interception)
		h = curl_slist_append(h, COORD_WANT_SERVER_AUTH_HEADER ": 1");
	if (!h)
		goto out;
	CURLcode rc = perform(&s, method, url, h, body, len, icpt, r, &status);
	if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH && s.allow_interception && !icpt) {
		/* The request never left: the same nonce is still unused. */
		if (!atomic_exchange(&intercepted, true))
			log_info("files: the server's TLS key is not the pinned one: through a TLS-intercepting "
				 "proxy, checking the server's proof on every reply");
		icpt = true;
		free(r->buf);
		*r = (struct response){ .max = r->max };
		rc = perform(&s, method, url, h, body, len, icpt, r, &status);
	}
	if (rc != CURLE_OK)
		status = -EIO;
	else if (icpt && coord_reply_auth_verify(r->server_auth[0] ? r->server_auth : NULL, s.k, nonce, (int)status,
						 r->buf ? r->buf : "", r->len) < 0)
		status = -EBADMSG; /* not the server's reply: dropped */
out:
	curl_slist_free_all(h);
	crypto_wipe(&s, sizeof(s));
	return status;
}

long offline_call(const char *method, const char *target, const void *body, size_t len, cJSON **json)
{
	struct response r = { .max = RESPONSE_MAX };
	long status = call(method, target, body, len, false, &r);
	*json = status > 0 && r.buf ? cJSON_ParseWithLength(r.buf, r.len) : NULL;
	free(r.buf);
	return status;
}

long offline_get_bytes(const char *target, uint8_t *buf, size_t cap, size_t *got, cJSON **json)
{
	struct response r = { .max = cap > RESPONSE_MAX ? cap : RESPONSE_MAX };
	long status = call("GET", target, NULL, 0, true, &r);
	*json = NULL;
	*got = 0;
	if (status > 0 && r.binary && r.len <= cap) {
		memcpy(buf, r.buf, r.len);
		*got = r.len;
	} else if (status > 0 && r.binary) {
		status = -EIO;
	} else if (status > 0 && r.buf) {
		*json = cJSON_ParseWithLength(r.buf, r.len);
	}
	free(r.buf);
	return status;
}
