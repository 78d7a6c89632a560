/* Fuzzes the push channel (lib/coord/push.c): PUSH_ACK and PUSH_DATA as
 * the server and a node meet them (also a PUSH_ACK re-signed so that the
 * fields behind the mac are reached: it parses, and builds back to the
 * same bytes), the node's receiver on any PUSH_DATA fields, and the
 * server's sender driven by a script of queue/ack/timer steps, whose
 * offsets must stay ordered and whose memory must stay capped. */
#include <stdlib.h>
#include <string.h>

#include "coord/push.h"
#include "coord/wire.h"
#include "crypto/crypto.h"
#include "fuzz/fuzz.h"

static const uint8_t k[COORD_KEY_LEN] = { 1, 2, 3 };

static void ack_resigned(const uint8_t *data, size_t size)
{
	uint8_t m[sizeof(struct coord_msg_push_ack)], again[sizeof(m)];
	struct coord_push_ack a;

	if (size < sizeof(m))
		return;
	memcpy(m, data, sizeof(m));
	m[0] = COORD_MSG_PUSH_ACK;
	blake2s_mac(m + offsetof(struct coord_msg_push_ack, mac), k, COORD_KEY_LEN, m,
		    offsetof(struct coord_msg_push_ack, mac));
	if (coord_push_ack_parse(m, sizeof(m), k, &a) != 0)
		return;
	if (strlen(a.view) >= COORD_PUSH_VIEW_LEN || coord_push_ack_build(again, k, &a) != 0 ||
	    memcmp(again, m, sizeof(m)) != 0)
		abort();
}

static void rx_script(const uint8_t *data, size_t size)
{
	struct coord_push_rx r = { 0 };
	size_t skip;

	for (; size >= 20; data += 20, size -= 20) {
		struct coord_push_data d = { .flags = data[0], .stream_id = 1 + (data[1] & 3),
					     .opened_ts = data[2] & 7, .offset = le32_get(data + 4) % 5000,
					     .len = le16_get(data + 8) % (COORD_PUSH_CHUNK_MAX + 1), .data = data };
		uint64_t before = r.offset, stream = r.stream_id;
		enum coord_push_rx_verdict v = coord_push_rx_accept(&r, &d, data[3] & 7, &skip);
		if (v == COORD_PUSH_RX_DROP && (r.offset != before || r.stream_id != stream))
			abort();
		if (v == COORD_PUSH_RX_BYTES && (skip > d.len || r.offset < before))
			abort();
		if (v == COORD_PUSH_RX_NEW && (skip != 0 || r.offset != d.len || r.stream_id != d.stream_id))
			abort();
	}
}

static void tx_script(const uint8_t *data, size_t size)
{
	static uint8_t junk[4096];
	struct coord_push_tx t;
	struct coord_push_data d;
	uint64_t now = 1;
	bool dead;

	coord_push_tx_init(&t, 5, 6);
	for (; size >= 4; data += 4, size -= 4) {
		uint32_t arg = le16_get(data + 2);
		switch (data[0] % 5) {
		case 0: (void)coord_push_tx_queue(&t, junk, arg % sizeof(junk)); break;
		case 1: (void)coord_push_tx_ack(&t, t.acked + arg % 40000, now); break;
		case 2: now += (uint64_t)arg * 1000000u; break;
		case 3:
			while (coord_push_tx_next(&t, now, &d))
				if (d.len > COORD_PUSH_CHUNK_MAX || d.offset + d.len > t.acked + t.len)
					abort();
			break;
		case 4:
			if (data[1] == 0xff)
				coord_push_tx_end(&t, data[2] & 1);
			(void)coord_push_tx_deadline(&t, &dead);
			break;
		}
		if (t.sent < t.acked || t.sent > t.acked + t.len || t.len > COORD_PUSH_QUEUE_MAX)
			abort();
	}
	coord_push_tx_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[COORD_KEY_LEN], plain[COORD_PUSH_CHUNK_MAX];
	struct coord_push_ack a;
	struct coord_push_data d;
	uint32_t id;

	if (!pk[0])
		coord_push_key(pk, k);
	if (coord_push_ack_peek(data, size, &id) == 0 && size != sizeof(struct coord_msg_push_ack))
		abort();
	(void)coord_push_ack_parse(data, size, k, &a);
	if (coord_push_data_parse(data, size, pk, 7, plain, &d) == 0 &&
	    (d.len > COORD_PUSH_CHUNK_MAX || d.data != plain || !d.stream_id))
		abort();
	ack_resigned(data, size);
	if (size && data[0] & 1)
		rx_script(data + 1, size - 1);
	else if (size)
		tx_script(data + 1, size - 1);
	return 0;
}
