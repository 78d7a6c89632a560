/* Fuzzes endpoint_from_bytes (lib/net/endpoint.c): any bytes it accepts
 * must be a well-formed endpoint: printable, and for an address transport
 * one that turns back into the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "net/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint ep, again;
	struct sockaddr_any a;
	char text[ENDPOINT_STRLEN];
	if (endpoint_from_bytes(&ep, data, size) < 0)
		return 0;
	if (endpoint_format(&ep, text, sizeof(text)) < 0)
		abort();
	switch (endpoint_transport(&ep)) {
	case EP_UDP:
		if (endpoint_to_sockaddr(&ep, &a) < 0)
			abort();
		endpoint_from_sockaddr(&again, &a);
		break;
	case EP_UDP_AUX:
		if (endpoint_to_sockaddr(&ep, &a) < 0)
			abort();
		endpoint_aux(&again, (uint8_t)endpoint_aux_slot(&ep), &a);
		break;
	case EP_RELAY:
		endpoint_relay(&again, (uint8_t)endpoint_relay_index(&ep), endpoint_relay_node(&ep));
		break;
	default:
		abort();
	}
	if (!endpoint_equal(&ep, &again))
		abort();
	return 0;
}
