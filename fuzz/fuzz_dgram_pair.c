/* Fuzzes the datagram pair's message split (daemon/transport/dgram_pair.c),
 * what roamd's privileged monitor parses from the sandboxed agent: every
 * datagram handed on lies inside the message, is 1..DGRAM_PAIR_SLOT bytes
 * and follows the previous one's end; a message the split accepts is
 * exactly what dgram_pair_queue would build from those datagrams.
 *
 * Input: one message (at most DGRAM_PAIR_MSG bytes are taken). */
#include <stdlib.h>
#include <string.h>

#include "daemon/transport/dgram_pair.h"
#include "fuzz/fuzz.h"

struct walk {
	const uint8_t *base, *next;
	size_t len, count;
};

static void on_dgram(void *ctx, uint8_t *d, size_t len)
{
	struct walk *w = ctx;
	if (len == 0 || len > DGRAM_PAIR_SLOT || d != w->next + DGRAM_PAIR_REC_HDR ||
	    (size_t)(d - w->base) + len > w->len || (size_t)(w->next[0] | w->next[1] << 8) != len)
		abort();
	w->next = d + len;
	w->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t m[DGRAM_PAIR_MSG];
	if (size > sizeof(m))
		size = sizeof(m);
	memcpy(m, data, size);
	struct walk w = { m, m, size, 0 };
	int n = dgram_pair_split(m, size, on_dgram, &w);
	if (n >= 0 && ((size_t)n != w.count || w.next != m + size))
		abort(); /* accepted: every byte was a record */
	if (n < 0 && w.next == m + size && size)
		abort(); /* refused although it ended on a record boundary */
	return 0;
}
