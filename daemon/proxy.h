/* The HTTP CONNECT proxy roamd's TCP traffic goes through (control
 * requests, the server's stream, every relay link): either set explicitly
 * (`roam up --proxy URL`, kept in the node's state) or, when not set,
 * libcurl's own handling of roamd's environment (https_proxy, HTTPS_PROXY,
 * ALL_PROXY, NO_PROXY). The URL may hold `user:password@`: it is never
 * logged or shown with the password (roamd_proxy_redact). */
#ifndef ROAM_DAEMON_PROXY_H
#define ROAM_DAEMON_PROXY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define ROAMD_PROXY_URL_MAX 512

struct roamd_proxy {
	char url[ROAMD_PROXY_URL_MAX];      /* "http://[user:pass@]host:port"; "" and set: none at all */
	char no_proxy[ROAMD_PROXY_URL_MAX]; /* hosts that bypass it, as NO_PROXY; may be empty */
	bool set;                           /* false: the environment decides */
};

/* Where the proxy in use comes from, for `roam status`. */
enum roamd_proxy_source {
	ROAMD_PROXY_NONE,     /* direct */
	ROAMD_PROXY_EXPLICIT, /* roam up --proxy */
	ROAMD_PROXY_ENV,      /* roamd's environment (the variable's name is given) */
};

/* Every curl handle roamd makes goes through this: an explicit proxy with
 * any authentication libcurl has (Basic, Digest, NTLM, Negotiate), always
 * as a CONNECT tunnel; unset: libcurl reads the environment itself (the
 * same tunnel and authentication rules). p may be NULL (= unset). 0, or
 * -EINVAL if libcurl refused an option. */
int roamd_proxy_apply(CURL *h, const struct roamd_proxy *p);

/* Checks a URL given to `roam up --proxy` and writes its normal form to
 * out (scheme and host lower case, the scheme's default port made
 * explicit, no path). http:// always; https:// when this libcurl can talk
 * TLS to a proxy. 0, or -EINVAL with a message in why (without the
 * password). */
int roamd_proxy_normalize(const char *url, char *out, size_t out_size, char *why, size_t why_size);

/* url without its credentials ("http://host:3128"); "" for "". */
void roamd_proxy_redact(const char *url, char *out, size_t out_size);

/* The proxy requests to server_url go through, as `roam status` shows it
 * (redacted, "" if none), and where it comes from; env_name (may be NULL)
 * receives the environment variable's name for ROAMD_PROXY_ENV. Follows
 * libcurl's rules: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, and
 * no_proxy/NO_PROXY matched against the server's host. */
enum roamd_proxy_source roamd_proxy_effective(const struct roamd_proxy *p, const char *server_url, char *out,
					      size_t out_size, const char **env_name);

/* Words for a request to server_url that failed with why, when a proxy
 * was in the way: which one (never its password), and what it answered
 * the CONNECT if it refused it (refused: its HTTP status, 407: the
 * credentials; 0: it did not refuse). false, out untouched: no proxy. */
bool roamd_proxy_explain(const struct roamd_proxy *p, const char *server_url, const char *why, long refused, char *out,
			 size_t out_size);

#endif
