/* Fuzzes roamd's parsing of rtnetlink datagrams from the kernel (lib/net):
 * address and link notifications as addrwatch_drain() reads them, and the
 * ACK or error a request waits for, with its extended-ACK text, as
 * netlink_transact() reads it. The input is one received datagram (the
 * corpus holds real ones captured from a kernel). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "net/addrwatch.h"
#include "net/netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char extack[160], tiny[8];
	bool changed = false, acked = true;
	uint8_t *buf;
	int r;

	if (size > 32768) /* NETLINK_BUF_SIZE: what one read can return */
		return 0;
	/* Aligned as a receive buffer is, and exactly as long as the datagram. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	data = buf;
	(void)addrwatch_parse(data, size, 3, &changed);

	/* seq 1 as the corpus was captured; port id 0 accepts any sender. */
	memset(extack, 'x', sizeof(extack));
	r = netlink_ack_parse(data, size, 1, 0, extack, sizeof(extack), &acked);
	if (!memchr(extack, '\0', sizeof(extack)) || (r == 0 && extack[0] != '\0'))
		abort();
	/* A text longer than the buffer is cut, never overrun. */
	r = netlink_ack_parse(data, size, 1, 0, tiny, sizeof(tiny), &acked);
	if (!memchr(tiny, '\0', sizeof(tiny)))
		abort();
	(void)r;
	free(buf);
	return 0;
}
