/* Fuzzes the checks on privsep messages (daemon/privsep_msg.c), the only
 * thing between the unprivileged agent's bytes and the privileged data
 * plane. Input: one byte for the direction, then the datagram. A message
 * that passes has its exact size for its type, terminated strings and
 * enums in range. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/privsep_msg.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	struct ps_msg msg;
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	memcpy(buf, data + 1, size - 1);
	if (privsep_msg_check(buf, size - 1, data[0] & 1, &msg) < 0)
		return 0;
	if (msg.len + sizeof(struct ps_hdr) != size - 1)
		abort();
	if (msg.type == PS_PEER_SET || msg.type == PS_PEER_HELD) {
		const struct managed_peer_info *p = msg.payload;
		if (strlen(p->name) >= sizeof(p->name) || p->private_count > COORD_PRIVATE_MAX)
			abort();
		for (size_t i = 0; i < p->private_count; i++)
			if (p->private_endpoints[i].sa.sa_family != AF_INET && p->private_endpoints[i].sa.sa_family != AF_INET6)
				abort();
	} else if (msg.type == PS_STATUS) {
		const struct managed_status *st = msg.payload;
		if (strlen(st->error) >= sizeof(st->error) || (unsigned)st->state >= MANAGED_STATE_COUNT)
			abort();
	}
	return 0;
}
