/* Fuzzes the path probe parsers (lib/coord/probe.c) as a node meets them on
 * its tunnel socket. Each input is tried twice: as it came, and with the
 * sender key and mac fixed up (as from node a to node b) so that the field
 * checks behind the mac are reached. Whatever verifies
 * must build back to the very same bytes (one message, one encoding), and
 * a verified PING or CALLME is accepted by a fresh replay window once and
 * never twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/probe.h"
#include "crypto/crypto.h"
#include "fuzz/fuzz.h"

static struct coord_probe_keys ka, kb; /* a sends, b receives */

static void keys_once(void)
{
	uint8_t a[32], b[32], pub_a[32], pub_b[32];

	if (ka.self_pub[0] || ka.self_pub[1])
		return;
	if (crypto_init() < 0)
		abort();
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	if (x25519_public(pub_a, a) < 0 || x25519_public(pub_b, b) < 0 ||
	    coord_probe_keys_derive(&ka, a, pub_b) < 0 || coord_probe_keys_derive(&kb, b, pub_a) < 0)
		abort();
}

/* A verified message must be exactly what the builder makes of its fields. */
static void check_one(const uint8_t *buf, size_t len)
{
	struct coord_probe_window w;
	struct coord_probe_ping ping;
	struct coord_probe_pong pong;
	struct coord_probe_callme cm;
	uint8_t again[COORD_CALLME_MAX];
	const uint8_t *pub;
	uint8_t type = 0;
	size_t n = 0;
	int peeked = coord_probe_peek(buf, len, &type, &pub) == 0;
	int ok = 0;

	if (peeked && pub != buf + 4)
		abort();
	memset(&w, 0, sizeof(w));
	if (coord_probe_ping_verify(buf, len, &kb, &ping) == 0) {
		ok = 1;
		coord_probe_ping_build(again, &ka, ping.txid, ping.timestamp_ns);
		if (len != sizeof(struct coord_msg_probe_ping) || memcmp(again, buf, len) != 0)
			abort();
		/* (a timestamp of 0 is at the floor of an empty window: refused) */
		if (coord_probe_window_check_and_add(&w, ping.timestamp_ns, ping.txid, ping.timestamp_ns) !=
			    (ping.timestamp_ns ? 0 : -ESTALE) ||
		    coord_probe_window_check_and_add(&w, ping.timestamp_ns, ping.txid, ping.timestamp_ns) == 0)
			abort();
	}
	if (coord_probe_pong_verify(buf, len, &kb, &pong) == 0) {
		ok = 1;
		if (coord_probe_pong_build(again, &ka, pong.txid, pong.timestamp_ns, &pong.observed) != 0 ||
		    len != sizeof(struct coord_msg_probe_pong) || memcmp(again, buf, len) != 0)
			abort();
	}
	if (coord_probe_callme_verify(buf, len, &kb, &cm) == 0) {
		ok = 1;
		if (coord_probe_callme_build(again, &n, &ka, cm.txid, cm.timestamp_ns, cm.endpoints, cm.count) != 0 ||
		    n != len || memcmp(again, buf, len) != 0)
			abort();
	}
	/* verified implies peeked; and what b accepts from a, a never accepts
	 * (reflected back at its sender) */
	if ((ok && !peeked) || (ok && coord_probe_ping_verify(buf, len, &ka, &ping) == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[COORD_CALLME_MAX];

	keys_once();
	check_one(data, size);
	if (size < 4 + COORD_KEY_LEN + COORD_MAC_LEN || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	memcpy(buf + 4, ka.self_pub, COORD_KEY_LEN);
	blake2s_mac(buf + size - COORD_MAC_LEN, ka.tx, COORD_KEY_LEN, buf, size - COORD_MAC_LEN);
	check_one(buf, size);
	return 0;
}
