#include "coord/auth.h"

#include <blake2.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

static const char control_label[] = "roam-control-v1";

int coord_control_key(uint8_t k_out[COORD_KEY_LEN], const uint8_t my_priv[COORD_KEY_LEN],
		      const uint8_t their_pub[COORD_KEY_LEN])
{
	uint8_t shared[COORD_KEY_LEN];

	if (x25519_shared(shared, my_priv, their_pub) < 0)
		return -EKEYREJECTED;
	blake2s(k_out, control_label, shared, COORD_KEY_LEN, sizeof(control_label) - 1, sizeof(shared));
	crypto_wipe(shared, sizeof(shared));
	return 0;
}

static int b64_variant(int url)
{
	return url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING : sodium_base64_VARIANT_ORIGINAL;
}

int coord_b64_encode(char *buf, size_t size, const uint8_t *bin, size_t len, int url)
{
	if (size < sodium_base64_encoded_len(len, b64_variant(url)))
		return -ENOSPC;
	sodium_bin2base64(buf, size, bin, len, b64_variant(url));
	return 0;
}

int coord_b64_decode(uint8_t *bin, size_t len, const char *text, size_t text_len, int url)
{
	uint8_t tmp[128];
	char check[200];
	size_t got = 0;
	const char *end = NULL;

	if (len > sizeof(tmp) || text_len >= sizeof(check))
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), text, text_len, NULL, &got, &end, b64_variant(url)) != 0 ||
	    end != text + text_len || got != len)
		return -EINVAL;
	/* Canonical only: one byte string has one spelling, so a nonce cannot be
	 * replayed under another encoding. */
	sodium_bin2base64(check, sizeof(check), tmp, got, b64_variant(url));
	if (strlen(check) != text_len || memcmp(check, text, text_len) != 0)
		return -EINVAL;
	memcpy(bin, tmp, len);
	return 0;
}

static void auth_mac_part(blake2s_state *s, const char *text, bool newline)
{
	blake2s_update(s, (const uint8_t *)text, strlen(text));
	if (newline)
		blake2s_update(s, (const uint8_t *)"\n", 1);
}

void coord_auth_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN], const char *method,
		    const char *target, int64_t ts, const uint8_t nonce[COORD_AUTH_NONCE_LEN], const void *body,
		    size_t body_len)
{
	uint8_t body_hash[32];
	char hex[65], nonce_text[32], ts_text[24];
	blake2s_state s;

	blake2s(body_hash, body_len ? body : "", NULL, sizeof(body_hash), body_len, 0);
	sodium_bin2hex(hex, sizeof(hex), body_hash, sizeof(body_hash));
	sodium_bin2base64(nonce_text, sizeof(nonce_text), nonce, COORD_AUTH_NONCE_LEN, b64_variant(1));
	snprintf(ts_text, sizeof(ts_text), "%" PRId64, ts);

	blake2s_init_key(&s, COORD_MAC_LEN, k, COORD_KEY_LEN);
	auth_mac_part(&s, method, true);
	auth_mac_part(&s, target, true);
	auth_mac_part(&s, ts_text, true);
	auth_mac_part(&s, nonce_text, true);
	auth_mac_part(&s, hex, false);
	blake2s_final(&s, mac_out, COORD_MAC_LEN);
	crypto_wipe(&s, sizeof(s));
}

int coord_auth_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN], const uint8_t node_pub[COORD_KEY_LEN],
		     const char *method, const char *target, int64_t now, const uint8_t nonce[COORD_AUTH_NONCE_LEN],
		     const void *body, size_t body_len)
{
	char pub_text[COORD_KEY_B64_LEN + 1], nonce_text[32], mac_text[32];
	uint8_t mac[COORD_MAC_LEN];
	int n;

	coord_auth_mac(mac, k, method, target, now, nonce, body, body_len);
	coord_b64_encode(pub_text, sizeof(pub_text), node_pub, COORD_KEY_LEN, 0);
	coord_b64_encode(nonce_text, sizeof(nonce_text), nonce, COORD_AUTH_NONCE_LEN, 1);
	coord_b64_encode(mac_text, sizeof(mac_text), mac, COORD_MAC_LEN, 1);
	n = snprintf(buf, size, "node=%s; ts=%" PRId64 "; nonce=%s; mac=%s", pub_text, now, nonce_text, mac_text);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return 0;
}

/* Cursor over "name=value" fields separated by "; ". */
static int auth_field(const char **p, const char *name, const char **val, size_t *val_len)
{
	size_t nlen = strlen(name);
	const char *end;

	if (strncmp(*p, name, nlen) != 0 || (*p)[nlen] != '=')
		return -EINVAL;
	*val = *p + nlen + 1;
	end = strchr(*val, ';');
	if (!end)
		end = *val + strlen(*val);
	*val_len = (size_t)(end - *val);
	if (*end == ';') {
		if (end[1] != ' ' || end[2] == '\0')
			return -EINVAL;
		end += 2;
	}
	*p = end;
	return 0;
}

static int parse_ts(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int coord_auth_parse(const char *value, struct coord_auth *out)
{
	struct coord_auth a;
	const char *p = value, *v;
	size_t vlen;

	if (!value || strlen(value) >= COORD_AUTH_HEADER_MAX)
		return -EINVAL;
	if (auth_field(&p, "node", &v, &vlen) < 0 || coord_b64_decode(a.node_pub, COORD_KEY_LEN, v, vlen, 0) < 0)
		return -EINVAL;
	if (auth_field(&p, "ts", &v, &vlen) < 0 || parse_ts(v, vlen, &a.ts) < 0)
		return -EINVAL;
	if (auth_field(&p, "nonce", &v, &vlen) < 0 ||
	    coord_b64_decode(a.nonce, COORD_AUTH_NONCE_LEN, v, vlen, 1) < 0)
		return -EINVAL;
	if (auth_field(&p, "mac", &v, &vlen) < 0 || coord_b64_decode(a.mac, COORD_MAC_LEN, v, vlen, 1) < 0)
		return -EINVAL;
	if (*p != '\0')
		return -EINVAL;
	*out = a;
	return 0;
}

int coord_auth_verify(const struct coord_auth *a, const uint8_t k[COORD_KEY_LEN], const char *method,
		      const char *target, const void *body, size_t body_len, int64_t now)
{
	uint8_t mac[COORD_MAC_LEN];

	if (a->ts > now + COORD_AUTH_MAX_SKEW_S || a->ts < now - COORD_AUTH_MAX_SKEW_S)
		return -ETIME;
	coord_auth_mac(mac, k, method, target, a->ts, a->nonce, body, body_len);
	if (!crypto_equal(mac, a->mac, COORD_MAC_LEN))
		return -EKEYREJECTED;
	return 0;
}

/* The reply and line macs: a label, the request's nonce, then what they bind. */
static void reply_mac_start(blake2s_state *s, const uint8_t k[COORD_KEY_LEN], const char *label,
			    const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t n)
{
	char nonce_text[32], n_text[24];

	sodium_bin2base64(nonce_text, sizeof(nonce_text), nonce, COORD_AUTH_NONCE_LEN, b64_variant(1));
	snprintf(n_text, sizeof(n_text), "%" PRIu64, n);
	blake2s_init_key(s, COORD_MAC_LEN, k, COORD_KEY_LEN);
	auth_mac_part(s, label, true);
	auth_mac_part(s, nonce_text, true);
	auth_mac_part(s, n_text, true);
}

void coord_reply_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN],
		     const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len)
{
	uint8_t body_hash[32];
	char hex[65];
	blake2s_state s;

	blake2s(body_hash, body_len ? body : "", NULL, sizeof(body_hash), body_len, 0);
	sodium_bin2hex(hex, sizeof(hex), body_hash, sizeof(body_hash));
	reply_mac_start(&s, k, "roam-reply-v1", nonce, status < 0 ? 0 : (uint64_t)status);
	auth_mac_part(&s, hex, false);
	blake2s_final(&s, mac_out, COORD_MAC_LEN);
	crypto_wipe(&s, sizeof(s));
}

void coord_line_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN],
		    const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len)
{
	blake2s_state s;

	reply_mac_start(&s, k, "roam-line-v1", nonce, seq);
	blake2s_update(&s, line_len ? line : "", line_len);
	blake2s_final(&s, mac_out, COORD_MAC_LEN);
	crypto_wipe(&s, sizeof(s));
}

static const char line_mac_head[] = "{\"type\":\"mac\",\"mac\":\"";
static const char line_mac_tail[] = "\"}";
#define MAC_B64_LEN 22 /* 16 bytes, base64url without padding */

int coord_reply_auth_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN],
			   const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len)
{
	uint8_t mac[COORD_MAC_LEN];
	char text[32];

	coord_reply_mac(mac, k, nonce, status, body, body_len);
	coord_b64_encode(text, sizeof(text), mac, COORD_MAC_LEN, 1);
	if ((size_t)snprintf(buf, size, "mac=%s", text) >= size)
		return -ENOSPC;
	return 0;
}

int coord_line_mac_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN],
			 const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len)
{
	uint8_t mac[COORD_MAC_LEN];
	char text[32];

	coord_line_mac(mac, k, nonce, seq, line, line_len);
	coord_b64_encode(text, sizeof(text), mac, COORD_MAC_LEN, 1);
	if ((size_t)snprintf(buf, size, "%s%s%s\n", line_mac_head, text, line_mac_tail) >= size)
		return -ENOSPC;
	return 0;
}

/* The 22 base64url characters of a mac, decoded, against the expected one. */
static int mac_text_check(const char *text, size_t len, const uint8_t want[COORD_MAC_LEN])
{
	uint8_t got[COORD_MAC_LEN];

	if (len != MAC_B64_LEN || coord_b64_decode(got, COORD_MAC_LEN, text, len, 1) < 0)
		return -EINVAL;
	return crypto_equal(got, want, COORD_MAC_LEN) ? 0 : -EKEYREJECTED;
}

int coord_reply_auth_verify(const char *value, const uint8_t k[COORD_KEY_LEN],
			    const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len)
{
	uint8_t want[COORD_MAC_LEN];

	if (!value || strncmp(value, "mac=", 4) != 0)
		return -EINVAL;
	coord_reply_mac(want, k, nonce, status, body, body_len);
	return mac_text_check(value + 4, strnlen(value + 4, MAC_B64_LEN + 1), want);
}

int coord_line_mac_verify(const char *mac_line, size_t mac_line_len, const uint8_t k[COORD_KEY_LEN],
			  const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len)
{
	const size_t head = sizeof(line_mac_head) - 1, tail = sizeof(line_mac_tail) - 1;
	uint8_t want[COORD_MAC_LEN];

	if (!mac_line || mac_line_len != head + MAC_B64_LEN + tail || memcmp(mac_line, line_mac_head, head) != 0 ||
	    memcmp(mac_line + head + MAC_B64_LEN, line_mac_tail, tail) != 0)
		return -EINVAL;
	coord_line_mac(want, k, nonce, seq, line, line_len);
	return mac_text_check(mac_line + head, MAC_B64_LEN, want);
}
