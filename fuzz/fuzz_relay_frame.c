/* Fuzzes the TLS-stream relay link's reassembly (lib/coord/relay_link.c),
 * what roam-server and roamd read from a `roam-relay/1` stream: the bytes
 * arrive in chunks cut at random places, and the datagrams that come out
 * must be exactly those of a plain walk over the whole stream, up to the
 * first frame of length 0, which must be reported.
 *
 * Input: byte 0 seeds the chunk boundaries, the rest is the stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/relay_link.h"
#include "fuzz/fuzz.h"
#include "util/le.h"

struct expect {
	const uint8_t *next, *end;
	size_t dgrams;
};

static int on_dgram(void *ctx, uint8_t *d, size_t len)
{
	struct expect *e = ctx;
	uint8_t hdr[RELAY_FRAME_HDR_LEN];

	if (len == 0 || len > RELAY_LINK_DGRAM_MAX || (size_t)(e->end - e->next) < RELAY_FRAME_HDR_LEN + len)
		abort();
	relay_frame_header(hdr, len);
	if (memcmp(hdr, e->next, sizeof(hdr)) != 0 || memcmp(d, e->next + RELAY_FRAME_HDR_LEN, len) != 0)
		abort();
	e->next += RELAY_FRAME_HDR_LEN + len;
	e->dgrams++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[RELAY_LINK_DGRAM_MAX];
	struct relay_frame_reader r;

	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const uint8_t *in = data + 1, *end = data + size;
	struct expect e = { in, end, 0 };
	/* The reference: complete frames before the first zero length. */
	const uint8_t *p = in;
	size_t want = 0;
	bool bad = false;
	while ((size_t)(end - p) >= RELAY_FRAME_HDR_LEN) {
		size_t len = le16_get(p);
		if (len == 0) {
			bad = true;
			break;
		}
		if ((size_t)(end - p) < RELAY_FRAME_HDR_LEN + len)
			break;
		p += RELAY_FRAME_HDR_LEN + len;
		want++;
	}
	relay_frame_reader_init(&r, buf);
	ssize_t rc = 0;
	for (const uint8_t *c = in; c < end && rc >= 0;) {
		seed = seed * 1103515245u + 12345u;
		size_t n = 1 + (seed >> 16) % 97;
		if (n > (size_t)(end - c))
			n = (size_t)(end - c);
		rc = relay_frame_feed(&r, c, n, on_dgram, &e);
		if (rc >= 0 && (size_t)rc != n)
			abort();
		c += n;
	}
	if (e.dgrams != want || (bad != (rc == -EPROTO)) || (rc < 0 && rc != -EPROTO))
		abort();
	/* relay_frame_len, frame by frame in place (as roam-server reads), agrees. */
	size_t n = 0;
	ssize_t len = 0;
	for (p = in; (size_t)(end - p) >= RELAY_FRAME_HDR_LEN && (len = relay_frame_len(p)) > 0 &&
		     (size_t)(end - p) >= RELAY_FRAME_HDR_LEN + (size_t)len;
	     p += RELAY_FRAME_HDR_LEN + (size_t)len)
		n++;
	if (n != want || (len < 0) != bad)
		abort();
	return 0;
}
