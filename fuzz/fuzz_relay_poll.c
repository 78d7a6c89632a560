/* Fuzzes the long-poll relay link's bodies (lib/coord/relay_link.c), what
 * roam-server reads from POST /v1/relay/poll/send and roamd from a GET's
 * reply: a body either parses whole (and then encodes back to the same
 * bytes, record by record) or fails with nothing delivered. The records'
 * seqs then go through the uplink's duplicate window, checked against a
 * plain list of what it accepted.
 *
 * Input: the body. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/relay_link.h"
#include "fuzz/fuzz.h"

#define REF_MAX 512

struct walk {
	uint8_t out[RELAY_POLL_BATCH_MAX + RELAY_LINK_DGRAM_MAX + RELAY_POLL_REC_HDR_LEN];
	size_t n, records;
	struct relay_seq_window win;
	uint64_t accepted[REF_MAX], top;
	size_t naccepted;
};

/* What the window must say: each seq once, none 0, none RELAY_SEQ_WINDOW
 * or more behind the highest accepted. */
static bool ref_accept(struct walk *w, uint64_t seq)
{
	if (seq == 0 || (seq <= w->top && w->top - seq >= RELAY_SEQ_WINDOW))
		return false;
	for (size_t i = 0; i < w->naccepted; i++)
		if (w->accepted[i] == seq)
			return false;
	w->accepted[w->naccepted++] = seq;
	if (seq > w->top)
		w->top = seq;
	return true;
}

static int on_rec(void *ctx, uint64_t seq, uint8_t *d, size_t len)
{
	struct walk *w = ctx;
	size_t n = relay_poll_record_write(w->out + w->n, sizeof(w->out) - w->n, seq, d, len);

	if (n != RELAY_POLL_REC_HDR_LEN + len)
		abort();
	w->n += n;
	if (w->records++ < REF_MAX && relay_seq_accept(&w->win, seq) != ref_accept(w, seq))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct walk w;
	static uint8_t body[RELAY_POLL_BATCH_MAX];

	if (size > sizeof(body))
		size = sizeof(body);
	memcpy(body, data, size);
	memset(&w, 0, sizeof(w));
	int rc = relay_poll_parse(body, size, on_rec, &w);
	if (rc == 0 && (w.n != size || memcmp(w.out, data, size) != 0))
		abort();
	if (rc < 0 && (rc != -EPROTO || w.records != 0))
		abort();
	return 0;
}
