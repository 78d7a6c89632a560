#include "daemon/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int roamd_proxy_apply(CURL *h, const struct roamd_proxy *p)
{
	CURLcode rc = CURLE_OK;
	if (p && p->set) {
		rc = curl_easy_setopt(h, CURLOPT_PROXY, p->url);
		/* Set even when empty: an explicit proxy is not undone by the
		 * environment's NO_PROXY. */
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_NOPROXY, p->no_proxy);
	}
	/* With or without an explicit setting (libcurl reads the environment
	 * when CURLOPT_PROXY is unset): whatever the proxy asks for that
	 * libcurl has, and always a tunnel, never a proxy that sees our
	 * requests in the clear. */
	/* Not NTLM_WB: it forks ntlm_auth, which the agent's seccomp filter
	 * answers by killing it (libcurl has NTLM itself anyway). */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PROXYAUTH, (long)(CURLAUTH_ANY & ~CURLAUTH_NTLM_WB));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
	return rc == CURLE_OK ? 0 : -EINVAL;
}

static bool https_proxy_supported(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	return v && (v->features & CURL_VERSION_HTTPS_PROXY);
}

/* One part of a parsed URL, or NULL; free with curl_free. */
static char *url_part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *s = NULL;
	if (curl_url_get(u, what, &s, flags) != CURLUE_OK)
		return NULL;
	return s;
}

static bool path_is_empty(CURLU *u)
{
	char *path = url_part(u, CURLUPART_PATH, 0);
	char *query = url_part(u, CURLUPART_QUERY, 0);
	char *fragment = url_part(u, CURLUPART_FRAGMENT, 0);
	bool empty = (!path || !strcmp(path, "/") || !path[0]) && !query && !fragment;
	curl_free(path);
	curl_free(query);
	curl_free(fragment);
	return empty;
}

int roamd_proxy_normalize(const char *url, char *out, size_t out_size, char *why, size_t why_size)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
	int ret = -EINVAL;
	CURLU *u = curl_url();
	if (!u) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	/* No scheme guessing: "host:3128" would silently be http. */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    !(scheme = url_part(u, CURLUPART_SCHEME, 0))) {
		snprintf(why, why_size, "the proxy must be a URL: http://HOST:PORT (or http://USER:PASSWORD@HOST:PORT)");
		goto out;
	}
	if (strcasecmp(scheme, "http") && (strcasecmp(scheme, "https") || !https_proxy_supported())) {
		snprintf(why, why_size, "proxy scheme %.16s is not supported: use http://%s", scheme,
			 https_proxy_supported() ? " or https://" : "");
		goto out;
	}
	host = url_part(u, CURLUPART_HOST, 0);
	port = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	if (!host || !host[0] || !port) {
		snprintf(why, why_size, "the proxy URL has no host: http://HOST:PORT");
		goto out;
	}
	if (!path_is_empty(u)) {
		snprintf(why, why_size, "the proxy URL must not have a path, query or fragment: http://HOST:PORT");
		goto out;
	}
	user = url_part(u, CURLUPART_USER, 0);         /* kept %-encoded, as given */
	password = url_part(u, CURLUPART_PASSWORD, 0);
	for (char *c = scheme; *c; c++)
		*c = (char)(*c | 0x20);
	for (char *c = host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c | 0x20);
	int n = snprintf(out, out_size, "%s://%s%s%s%s%s:%s", scheme, user ? user : "", password ? ":" : "",
			 password ? password : "", user || password ? "@" : "", host, port);
	if (n < 0 || (size_t)n >= out_size) {
		snprintf(why, why_size, "the proxy URL is too long (at most %zu bytes)", out_size - 1);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && out_size)
		out[0] = '\0';
	if (password)
		memset(password, 0, strlen(password));
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return ret;
}

void roamd_proxy_redact(const char *url, char *out, size_t out_size)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = url[0] ? curl_url() : NULL;
	/* The environment's proxies may have no scheme: libcurl takes them
	 * as http, and so do we. */
	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME) == CURLUE_OK) {
		scheme = url_part(u, CURLUPART_SCHEME, 0);
		host = url_part(u, CURLUPART_HOST, 0);
		port = url_part(u, CURLUPART_PORT, 0);
	}
	if (scheme && host)
		snprintf(out, out_size, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	else if (out_size)
		snprintf(out, out_size, "%s", url[0] ? "(not a URL)" : ""); /* never echo what may hold a password */
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* The first of names that is set and not empty in the environment. */
static const char *env_first(const char *const *names, const char **name)
{
	for (; *names; names++) {
		const char *v = getenv(*names);
		if (v && v[0]) {
			if (name)
				*name = *names;
			return v;
		}
	}
	return NULL;
}

/* Does a NO_PROXY list name host? libcurl's rules for names and exact
 * addresses: "*", or an entry equal to host or to one of its parent
 * domains (a leading dot ignored). CIDR entries are not matched here:
 * this is for `roam status` only; libcurl itself decides for requests. */
static bool no_proxy_matches(const char *list, const char *host)
{
	size_t hlen = strlen(host);
	while (*list) {
		size_t n = strcspn(list, ", ");
		const char *e = list;
		size_t elen = n;
		if (elen && e[0] == '.')
			e++, elen--;
		if ((n == 1 && list[0] == '*') ||
		    (elen && elen <= hlen && !strncasecmp(host + hlen - elen, e, elen) &&
		     (elen == hlen || host[hlen - elen - 1] == '.')))
			return true;
		list += n;
		list += strspn(list, ", ");
	}
	return false;
}

static bool server_bypasses(const char *no_proxy, const char *server_url)
{
	if (!no_proxy || !no_proxy[0] || !server_url || !server_url[0])
		return false;
	CURLU *u = curl_url();
	char *host = NULL;
	bool bypass = false;
	if (u && curl_url_set(u, CURLUPART_URL, server_url, 0) == CURLUE_OK && (host = url_part(u, CURLUPART_HOST, 0))) {
		size_t len = strlen(host);
		if (len > 2 && host[0] == '[') { /* IPv6 literals are listed without brackets */
			memmove(host, host + 1, len - 2);
			host[len - 2] = '\0';
		}
		bypass = no_proxy_matches(no_proxy, host);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return bypass;
}

bool roamd_proxy_explain(const struct roamd_proxy *p, const char *server_url, const char *why, long refused, char *out,
			 size_t out_size)
{
	char proxy[160];
	const char *env = NULL;
	if (roamd_proxy_effective(p, server_url, proxy, sizeof(proxy), &env) == ROAMD_PROXY_NONE)
		return false;
	if (refused == 407)
		snprintf(out, out_size, "the proxy %s refused (407: proxy authentication failed; give "
			 "--proxy http://USER:PASSWORD@HOST:PORT)", proxy);
	else if (refused)
		snprintf(out, out_size, "the proxy %s refused the connection (HTTP %ld to CONNECT)", proxy, refused);
	else
		snprintf(out, out_size, "%s (through the proxy %s%s%s)", why, proxy, env ? " from " : "", env ? env : "");
	return true;
}

enum roamd_proxy_source roamd_proxy_effective(const struct roamd_proxy *p, const char *server_url, char *out,
					      size_t out_size, const char **env_name)
{
	static const char *const proxy_vars[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL };
	static const char *const no_proxy_vars[] = { "no_proxy", "NO_PROXY", NULL };
	if (out_size)
		out[0] = '\0';
	if (env_name)
		*env_name = NULL;
	if (p && p->set) {
		if (!p->url[0] || server_bypasses(p->no_proxy, server_url)) /* "": no proxy at all */
			return ROAMD_PROXY_NONE;
		roamd_proxy_redact(p->url, out, out_size);
		return ROAMD_PROXY_EXPLICIT;
	}
	const char *name = NULL;
	const char *v = env_first(proxy_vars, &name);
	if (!v || server_bypasses(env_first(no_proxy_vars, NULL), server_url))
		return ROAMD_PROXY_NONE;
	roamd_proxy_redact(v, out, out_size);
	if (env_name)
		*env_name = name;
	return ROAMD_PROXY_ENV;
}
