/* Fuzzes what roamd makes of a proxy setting (daemon/proxy.c): the URL of
 * `roam up --proxy` or of the environment, and a NO_PROXY list. A URL that
 * is accepted normalises to itself again; nothing shown (redacted, in a
 * status or an error) ever holds the credentials.
 *
 * Input: byte 0 is where the URL ends in the rest (mod its length); the
 * rest after it is the NO_PROXY list. */
#include <stdlib.h>
#include <string.h>

#include "daemon/proxy.h"
#include "fuzz/fuzz.h"

static void no_userinfo(const char *shown)
{
	if (strchr(shown, '@'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roamd_proxy p = { .set = true };
	char url[ROAMD_PROXY_URL_MAX + 64], out[ROAMD_PROXY_URL_MAX], again[ROAMD_PROXY_URL_MAX], why[256];
	char shown[ROAMD_PROXY_URL_MAX], text[512];
	if (size < 1)
		return 0;
	size_t rest = size - 1, cut = rest ? data[0] % (rest + 1) : 0;
	if (cut >= sizeof(url) || rest - cut >= sizeof(p.no_proxy))
		return 0;
	memcpy(url, data + 1, cut);
	url[cut] = '\0';
	memcpy(p.no_proxy, data + 1 + cut, rest - cut);
	p.no_proxy[rest - cut] = '\0';

	roamd_proxy_redact(url, shown, sizeof(shown));
	if (strlen(url) == cut) /* a NUL inside: C strings stop there anyway */
		no_userinfo(shown);
	if (roamd_proxy_normalize(url, out, sizeof(out), why, sizeof(why)) < 0) {
		if (out[0])
			abort(); /* nothing written on error */
		return 0;
	}
	if (roamd_proxy_normalize(out, again, sizeof(again), why, sizeof(why)) < 0 || strcmp(out, again) != 0)
		abort(); /* the normal form is a fixed point */
	memcpy(p.url, out, sizeof(p.url));
	if (roamd_proxy_effective(&p, "https://roam.example:443", shown, sizeof(shown), NULL) == ROAMD_PROXY_EXPLICIT)
		no_userinfo(shown);
	/* Error words name the proxy as shown, never as given with its
	 * credentials (their hint has an '@' of its own). */
	if (roamd_proxy_explain(&p, "https://[fd00::1]:443", "timed out", 407, text, sizeof(text)) && strchr(out, '@') &&
	    strstr(text, out))
		abort();
	return 0;
}
