/* Until hard-NAT probing's extra sockets exist (issue 9): nothing is sent. */
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

void roamd_aux_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	(void)to, (void)msg, (void)len;
	d->stats.udp_send_errors++;
}
