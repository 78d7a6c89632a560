/* Known-answer test from a real exchange with Debian's wireguard-go
 * (tests/vectors/gen-wireguard-go.sh): wireguard-go's initiation must
 * authenticate under our code, our response must come out byte for byte as
 * the one wireguard-go accepted, and wireguard-go's transport packet must
 * decrypt with the session keys we derive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wg/cookie.h"
#include "wg/noise.h"

struct vector {
	uint8_t init_priv[32], resp_priv[32], resp_eph[32], psk[32];
	uint8_t msg[4][256];
	size_t msg_len[4];
	int nmsg;
};

static int hexdecode(uint8_t *out, size_t cap, const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	*len = n / 2;
	return check_hex(out, n / 2, hex);
}

static int load(const char *path, struct vector *v)
{
	char line[2048], name[64], hex[1024];
	size_t len;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	memset(v, 0, sizeof(*v));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%63s %1023s", name, hex) != 2)
			continue;
		if (!strcmp(name, "initiator_static_private"))
			hexdecode(v->init_priv, 32, hex, &len);
		else if (!strcmp(name, "responder_static_private"))
			hexdecode(v->resp_priv, 32, hex, &len);
		else if (!strcmp(name, "responder_ephemeral_private"))
			hexdecode(v->resp_eph, 32, hex, &len);
		else if (!strcmp(name, "preshared_key"))
			hexdecode(v->psk, 32, hex, &len);
		else if (!strcmp(name, "message") && v->nmsg < 4 &&
			 hexdecode(v->msg[v->nmsg], sizeof(v->msg[0]), hex, &v->msg_len[v->nmsg]) == 0)
			v->nmsg++;
	}
	fclose(f);
	return v->nmsg == 4 ? 0 : -1;
}

static const uint8_t *fixed_ephemeral;
static void fixed_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, fixed_ephemeral, len);
}

int main(int argc, char **argv)
{
	struct vector v;
	struct noise_identity responder, initiator;
	struct noise_handshake hs;
	struct noise_initiation_partial partial;
	struct noise_session_keys keys;
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct wg_msg_response resp;
	uint8_t plain[256];

	crypto_init();
	if (argc < 2 || load(argv[1], &v) < 0) {
		fprintf(stderr, "usage: test_vectors FILE (4 messages)\n");
		return 1;
	}
	CHECK_EQ(noise_identity_set(&responder, v.resp_priv), 0);
	CHECK_EQ(noise_identity_set(&initiator, v.init_priv), 0);

	/* 1. wireguard-go's initiation: mac1, static key, timestamp. */
	CHECK_EQ(v.msg_len[0], sizeof(struct wg_msg_initiation));
	cookie_checker_init(&checker, responder.public_key);
	CHECK_EQ(cookie_validate(&checker, v.msg[0], v.msg_len[0], "", 0, false, 1, fixed_rng, NULL),
		 COOKIE_MAC_VALID_MAC1);
	const struct wg_msg_initiation *init = (const void *)v.msg[0];
	CHECK_EQ(noise_consume_initiation_static(&responder, init, &partial), 0);
	CHECK_MEM(partial.remote_static, initiator.public_key, 32);
	noise_handshake_init(&hs, &responder, initiator.public_key, v.psk);
	CHECK_EQ(noise_consume_initiation_finish(&hs, &responder, init, &partial, 1, 0), 0);

	/* 2. Our response, with the captured ephemeral and index, byte for byte. */
	const struct wg_msg_response *want = (const void *)v.msg[1];
	fixed_ephemeral = v.resp_eph;
	CHECK_EQ(noise_create_response(&hs, &resp, wg_le32_get(want->sender_index), fixed_rng, NULL), 0);
	cookie_maker_init(&maker, initiator.public_key);
	cookie_add_macs(&maker, &resp, sizeof(resp), 1);
	CHECK_EQ(v.msg_len[1], sizeof(resp));
	CHECK_MEM(&resp, v.msg[1], sizeof(resp));

	/* 3. wireguard-go's first data packet: an ICMP echo request. */
	CHECK_EQ(noise_derive_session(&hs, &keys), 0);
	const uint8_t *data = v.msg[2];
	size_t clen = v.msg_len[2] - 16;
	CHECK_EQ(wg_le32_get(data + 4), keys.local_index);
	CHECK_EQ(aead_open(plain, keys.recv, wg_le64_get(data + 8), data + 16, clen, NULL, 0), 0);
	CHECK_EQ(plain[0], 0x45);
	CHECK_EQ(plain[9], 1);  /* ICMP */
	CHECK_EQ(plain[20], 8); /* echo request */
	CHECK_MEM(plain + 12, "\x0a\x4d\x00\x01", 4); /* from 10.77.0.1 */

	/* 4. Our reply re-encrypts to the captured bytes wireguard-go accepted. */
	const uint8_t *reply = v.msg[3];
	size_t rlen = v.msg_len[3] - 16;
	uint8_t again[256];
	CHECK_EQ(wg_le32_get(reply + 4), keys.remote_index);
	CHECK_EQ(aead_open(plain, keys.send, wg_le64_get(reply + 8), reply + 16, rlen, NULL, 0), 0);
	CHECK_EQ(plain[20], 0); /* echo reply */
	aead_seal(again, keys.send, wg_le64_get(reply + 8), plain, rlen - 16, NULL, 0);
	CHECK_MEM(again, reply + 16, rlen);

	/* Tampering anywhere in the initiation breaks it. */
	uint8_t bad[148];
	memcpy(bad, v.msg[0], sizeof(bad));
	bad[40] ^= 1;
	CHECK(noise_consume_initiation_static(&responder, (const void *)bad, &partial) < 0);
	return check_report("test_vectors");
}
