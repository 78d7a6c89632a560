/* lib/coord/auth.c, the replies' macs (through a TLS-intercepting proxy):
 * a reply and a stream line the server proved pass; a wrong key, another
 * nonce, status, body, sequence number or line, a malformed or missing mac
 * are refused. A known answer pins the label and the field order. */
#include <errno.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "crypto/crypto.h"
#include <blake2.h>
#include <stdio.h>

static void test_reply(void)
{
	uint8_t k[32], k2[32], nonce[16], nonce2[16];
	char hdr[COORD_SERVER_AUTH_MAX], bad[COORD_SERVER_AUTH_MAX];
	const char *body = "{\"ok\":true}\n";

	crypto_random(k, sizeof(k));
	crypto_random(k2, sizeof(k2));
	crypto_random(nonce, sizeof(nonce));
	memcpy(nonce2, nonce, sizeof(nonce));
	nonce2[0] ^= 1;
	CHECK(coord_reply_auth_build(hdr, sizeof(hdr), k, nonce, 200, body, strlen(body)) == 0);
	CHECK(strlen(hdr) == 4 + 22);
	CHECK(coord_reply_auth_verify(hdr, k, nonce, 200, body, strlen(body)) == 0);
	CHECK(coord_reply_auth_verify(hdr, k2, nonce, 200, body, strlen(body)) == -EKEYREJECTED);
	CHECK(coord_reply_auth_verify(hdr, k, nonce2, 200, body, strlen(body)) == -EKEYREJECTED);
	CHECK(coord_reply_auth_verify(hdr, k, nonce, 201, body, strlen(body)) == -EKEYREJECTED);
	CHECK(coord_reply_auth_verify(hdr, k, nonce, 200, body, strlen(body) - 1) == -EKEYREJECTED);
	CHECK(coord_reply_auth_verify(NULL, k, nonce, 200, body, strlen(body)) == -EINVAL);
	CHECK(coord_reply_auth_verify("", k, nonce, 200, body, strlen(body)) == -EINVAL);
	snprintf(bad, sizeof(bad), "%sA", hdr); /* trailing garbage */
	CHECK(coord_reply_auth_verify(bad, k, nonce, 200, body, strlen(body)) == -EINVAL);
	snprintf(bad, sizeof(bad), "MAC=%s", hdr + 4);
	CHECK(coord_reply_auth_verify(bad, k, nonce, 200, body, strlen(body)) == -EINVAL);
	/* The 101 of a relay link: an empty body. */
	CHECK(coord_reply_auth_build(hdr, sizeof(hdr), k, nonce, 101, NULL, 0) == 0);
	CHECK(coord_reply_auth_verify(hdr, k, nonce, 101, "", 0) == 0);
	CHECK(coord_reply_auth_build(hdr, 10, k, nonce, 101, NULL, 0) == -ENOSPC);
}

static void test_line(void)
{
	uint8_t k[32], nonce[16];
	char mac[COORD_MAC_LINE_MAX];
	const char *line = "{\"type\":\"peer\",\"name\":\"a\"}";
	size_t n;

	crypto_random(k, sizeof(k));
	crypto_random(nonce, sizeof(nonce));
	CHECK(coord_line_mac_build(mac, sizeof(mac), k, nonce, 7, line, strlen(line)) == 0);
	n = strlen(mac);
	CHECK(n > 1 && mac[n - 1] == '\n');
	CHECK(strncmp(mac, "{\"type\":\"mac\",\"mac\":\"", 21) == 0);
	CHECK(coord_line_mac_verify(mac, n - 1, k, nonce, 7, line, strlen(line)) == 0);
	CHECK(coord_line_mac_verify(mac, n - 1, k, nonce, 8, line, strlen(line)) == -EKEYREJECTED);
	CHECK(coord_line_mac_verify(mac, n - 1, k, nonce, 7, line, strlen(line) - 1) == -EKEYREJECTED);
	CHECK(coord_line_mac_verify(mac, n, k, nonce, 7, line, strlen(line)) == -EINVAL);
	CHECK(coord_line_mac_verify(line, strlen(line), k, nonce, 7, line, strlen(line)) == -EINVAL);
	mac[25] = mac[25] == 'A' ? 'B' : 'A';
	CHECK(coord_line_mac_verify(mac, n - 1, k, nonce, 7, line, strlen(line)) != 0);
}

/* Known answer: K = 0x01 x 32, nonce = 0x02 x 16 ("AgICAgICAgICAgICAgICAg"). */
static void test_known(void)
{
	uint8_t k[32], nonce[16], mac[16], want[16];
	blake2s_state s;
	const char *msg = "roam-line-v1\nAgICAgICAgICAgICAgICAg\n0\nx";

	memset(k, 1, sizeof(k));
	memset(nonce, 2, sizeof(nonce));
	coord_line_mac(mac, k, nonce, 0, "x", 1);
	blake2s_init_key(&s, 16, k, 32);
	blake2s_update(&s, (const uint8_t *)msg, strlen(msg));
	blake2s_final(&s, want, 16);
	CHECK(memcmp(mac, want, 16) == 0);
}

int main(void)
{
	test_reply();
	test_line();
	test_known();
	return check_report("test_reply_auth");
}
