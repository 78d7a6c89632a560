/* roam-server's TLS-stream output (server/links/link_upgrade.c): frames are
 * packed into large evbuffer chains, because bufferevent_openssl turns each
 * chain into its own TLS record and write(2). Left to evbuffer's defaults a
 * 1426-byte frame got a chain (a record) of its own. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "server/links/link_conn.h"

#define FRAMES 200
#define PAYLOAD 1424

int main(void)
{
	struct event_base *base = event_base_new();
	int sv[2];
	CHECK(base != NULL);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Never dispatched: nothing is written, the output only grows. */
	struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	CHECK(bev != NULL);
	struct link_conn c = { .bev = bev };
	struct evbuffer *out = bufferevent_get_output(bev);
	uint8_t hdr[2], payload[PAYLOAD];

	for (int i = 0; i < FRAMES; i++) {
		hdr[0] = (uint8_t)i;
		hdr[1] = (uint8_t)(i >> 8);
		memset(payload, i, sizeof(payload));
		CHECK_EQ(link_conn_write(&c, hdr, sizeof(hdr), payload, sizeof(payload)), 0);
	}
	size_t total = (size_t)FRAMES * (sizeof(hdr) + PAYLOAD);
	CHECK_EQ(evbuffer_get_length(out), total);
	int chains = evbuffer_peek(out, -1, NULL, NULL, 0);
	/* At least 16 KiB a chain (plus the partly filled last one). */
	CHECK(chains >= 1 && (size_t)chains <= total / (16 * 1024) + 2);
	if (chains > 20)
		fprintf(stderr, "%d chains for %zu bytes\n", chains, total);

	/* The bytes, in order. */
	uint8_t *all = evbuffer_pullup(out, -1);
	CHECK(all != NULL);
	for (int i = 0; all && i < FRAMES; i++) {
		const uint8_t *f = all + (size_t)i * (sizeof(hdr) + PAYLOAD);
		CHECK_EQ(f[0] | f[1] << 8, i);
		CHECK_EQ(f[2], (uint8_t)i);
		CHECK_EQ(f[1 + PAYLOAD], (uint8_t)i);
	}

	/* Written out (drained): the next frame starts a chain again, and a
	 * frame larger than a chain fits whole. */
	evbuffer_unfreeze(out, 1); /* a bufferevent's output: only it drains, unless told */
	CHECK_EQ(evbuffer_drain(out, evbuffer_get_length(out)), 0);
	static uint8_t big[40000];
	CHECK_EQ(link_conn_write(&c, big, sizeof(big), NULL, 0), 0);
	CHECK_EQ(link_conn_write(&c, hdr, sizeof(hdr), payload, sizeof(payload)), 0);
	CHECK_EQ(evbuffer_get_length(out), sizeof(big) + sizeof(hdr) + PAYLOAD);

	bufferevent_free(bev);
	close(sv[1]);
	event_base_free(base);
	return check_report("test_link_conn");
}
