/* daemon/proxy.c: what `roam up --proxy` accepts and how it is kept
 * (normal form), shown (never a password), and which proxy applies to the
 * server (explicit, or the environment's variables and NO_PROXY as
 * libcurl reads them); and state.json keeps the proxy across restarts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/node_state.h"
#include "daemon/proxy.h"
#include "tests/unit/platform/check.h"

static void accepted(const char *in, const char *want)
{
	char out[ROAMD_PROXY_URL_MAX], why[256] = "";
	CHECK_INT(roamd_proxy_normalize(in, out, sizeof(out), why, sizeof(why)), ==, 0);
	CHECK_STR(out, want);
}

static void rejected(const char *in, const char *reason)
{
	char out[ROAMD_PROXY_URL_MAX], why[256] = "";
	CHECK_INT(roamd_proxy_normalize(in, out, sizeof(out), why, sizeof(why)), ==, -EINVAL);
	CHECK_STR(out, "");
	CHECK_CONTAINS(why, reason);
	CHECK(!strstr(why, "s3cret")); /* the password never in a message */
}

static void test_normalize(void)
{
	accepted("http://10.0.0.1:3128", "http://10.0.0.1:3128");
	accepted("http://Proxy.Example:3128/", "http://proxy.example:3128");
	accepted("HTTP://proxy.example", "http://proxy.example:80");
	accepted("http://roam:lab-pass@10.0.0.1:3128", "http://roam:lab-pass@10.0.0.1:3128");
	accepted("http://ro%40am:p%3Ass@10.0.0.1:3128", "http://ro%40am:p%3Ass@10.0.0.1:3128");
	accepted("http://[fd00::1]:3128", "http://[fd00::1]:3128");
	rejected("10.0.0.1:3128", "must be a URL");
	rejected("proxy", "must be a URL");
	rejected("socks5://u:s3cret@10.0.0.1:1080", "not supported");
	rejected("ftp://10.0.0.1", "not supported");
	rejected("http://u:s3cret@10.0.0.1:3128/path", "path");
	rejected("http://10.0.0.1:3128/?q=1", "path");
	rejected("", "must be a URL");
	char long_url[700];
	snprintf(long_url, sizeof(long_url), "http://u:%0600d@h:1", 0);
	rejected(long_url, "too long");
}

static void test_redact(void)
{
	char out[ROAMD_PROXY_URL_MAX];
	roamd_proxy_redact("http://roam:lab-pass@10.0.0.1:3128", out, sizeof(out));
	CHECK_STR(out, "http://10.0.0.1:3128");
	roamd_proxy_redact("proxy.corp:8080", out, sizeof(out)); /* environments often omit the scheme */
	CHECK_STR(out, "http://proxy.corp:8080");
	roamd_proxy_redact("http://user:pw@proxy.corp", out, sizeof(out));
	CHECK_STR(out, "http://proxy.corp");
	roamd_proxy_redact("\x01 not:a-url@pw", out, sizeof(out));
	CHECK_STR(out, "(not a URL)");
	roamd_proxy_redact("", out, sizeof(out));
	CHECK_STR(out, "");
}

static void clear_env(void)
{
	static const char *const vars[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void test_effective(void)
{
	const char *server = "https://roam.example:443";
	struct roamd_proxy p = { .set = true };
	char out[ROAMD_PROXY_URL_MAX];
	const char *env = "x";

	clear_env();
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	CHECK_STR(out, "");
	CHECK(env == NULL);

	setenv("HTTPS_PROXY", "http://u:pw@10.1.1.1:3128", 1);
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_ENV);
	CHECK_STR(out, "http://10.1.1.1:3128");
	CHECK_STR(env, "HTTPS_PROXY");
	setenv("https_proxy", "10.2.2.2:8080", 1); /* libcurl reads the lower-case one first */
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_ENV);
	CHECK_STR(out, "http://10.2.2.2:8080");
	CHECK_STR(env, "https_proxy");
	setenv("NO_PROXY", "localhost, .example", 1);
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	setenv("NO_PROXY", "oam.example", 1); /* a suffix that is not a domain does not match */
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_ENV);
	setenv("NO_PROXY", "*", 1);
	CHECK_INT(roamd_proxy_effective(NULL, server, out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	CHECK_INT(roamd_proxy_effective(NULL, "https://[fd00::5]:443", out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	setenv("NO_PROXY", "fd00::5", 1);
	CHECK_INT(roamd_proxy_effective(NULL, "https://[fd00::5]:443", out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);

	/* An explicit proxy wins over the environment, NO_PROXY included. */
	strcpy(p.url, "http://roam:lab-pass@10.0.0.1:3128");
	setenv("NO_PROXY", "*", 1);
	CHECK_INT(roamd_proxy_effective(&p, server, out, sizeof(out), &env), ==, ROAMD_PROXY_EXPLICIT);
	CHECK_STR(out, "http://10.0.0.1:3128");
	CHECK(env == NULL);
	strcpy(p.no_proxy, "roam.example");
	CHECK_INT(roamd_proxy_effective(&p, server, out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	/* Set without a URL: no proxy, not even the environment's. */
	setenv("HTTPS_PROXY", "http://10.1.1.1:3128", 1);
	struct roamd_proxy direct = { .set = true };
	CHECK_INT(roamd_proxy_effective(&direct, server, out, sizeof(out), &env), ==, ROAMD_PROXY_NONE);
	clear_env();
}

static void test_explain(void)
{
	struct roamd_proxy p = { .set = true };
	char out[256] = "untouched";
	clear_env();
	CHECK(!roamd_proxy_explain(NULL, "https://s:443", "timed out", 0, out, sizeof(out)));
	CHECK_STR(out, "untouched");
	strcpy(p.url, "http://roam:s3cret@10.0.0.1:3128");
	CHECK(roamd_proxy_explain(&p, "https://s:443", "timed out", 407, out, sizeof(out)));
	CHECK_CONTAINS(out, "the proxy http://10.0.0.1:3128 refused (407");
	CHECK(roamd_proxy_explain(&p, "https://s:443", "timed out", 403, out, sizeof(out)));
	CHECK_CONTAINS(out, "refused the connection (HTTP 403 to CONNECT)");
	CHECK(roamd_proxy_explain(&p, "https://s:443", "timed out", 0, out, sizeof(out)));
	CHECK_STR(out, "timed out (through the proxy http://10.0.0.1:3128)");
	setenv("HTTPS_PROXY", "http://10.9.9.9:8080", 1);
	CHECK(roamd_proxy_explain(NULL, "https://s:443", "connection refused", 0, out, sizeof(out)));
	CHECK_STR(out, "connection refused (through the proxy http://10.9.9.9:8080 from HTTPS_PROXY)");
	clear_env();
}

static void test_apply(void)
{
	struct roamd_proxy p = { .set = true };
	strcpy(p.url, "http://10.0.0.1:3128");
	CURL *h = curl_easy_init();
	CHECK(h != NULL);
	CHECK_INT(roamd_proxy_apply(h, &p), ==, 0);
	CHECK_INT(roamd_proxy_apply(h, NULL), ==, 0);
	curl_easy_cleanup(h);
}

/* state.json keeps the proxy; a file without one (older roamd) has none. */
static void test_state_roundtrip(void)
{
	char dir[] = "/tmp/roam-test-proxy-XXXXXX";
	struct node_state st, back;
	char why[256];
	CHECK(mkdtemp(dir) != NULL);
	memset(&st, 0, sizeof(st));
	strcpy(st.server_url, "https://roam.example:443");
	strcpy(st.name, "n1");
	st.joined = true;
	strcpy(st.proxy, "http://roam:lab-pass@10.0.0.1:3128");
	CHECK_INT(node_state_save(dir, &st), ==, 0);
	CHECK_INT(node_state_load(dir, &back, why, sizeof(why)), ==, 0);
	CHECK_STR(back.proxy, st.proxy);
	char path[512];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	CHECK_INT(stat(path, &sb), ==, 0);
	CHECK_INT(sb.st_mode & 0777, ==, 0600); /* it holds the proxy's password */

	st.proxy[0] = '\0';
	/* The network's servers (several servers): kept across a restart. */
	CHECK_INT(coord_servers_add(&st.servers, "https://203.0.113.1:8443"), ==, 0);
	CHECK_INT(coord_servers_add(&st.servers, "https://203.0.113.2:443"), ==, 0);
	CHECK_INT(node_state_save(dir, &st), ==, 0);
	CHECK_INT(node_state_load(dir, &back, why, sizeof(why)), ==, 0);
	CHECK_STR(back.proxy, "");
	CHECK_INT(back.servers.count, ==, 2);
	CHECK_STR(back.servers.url[1], "https://203.0.113.2:443");
	memset(&st.servers, 0, sizeof(st.servers));
	CHECK_INT(node_state_save(dir, &st), ==, 0);
	/* A proxy that is not a string: the file is damaged. */
	char text[4096];
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(text, 1, sizeof(text) - 32, f);
	fclose(f);
	text[n] = '\0';
	char *brace = strrchr(text, '}');
	CHECK(brace != NULL);
	strcpy(brace, ",\"proxy\":7}");
	CHECK_INT(node_state_parse(text, strlen(text), &back), ==, -EINVAL);
	strcpy(strrchr(text, ','), "}");
	CHECK_INT(node_state_parse(text, strlen(text), &back), ==, 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/node.key", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_normalize();
	test_redact();
	test_effective();
	test_explain();
	test_apply();
	test_state_roundtrip();
	printf("test_proxy: ok\n");
	return 0;
}
