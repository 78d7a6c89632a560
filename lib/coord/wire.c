#include "coord/wire.h"

#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"

int coord_wire_endpoint_put(struct coord_wire_endpoint *w, const struct sockaddr_any *a)
{
	memset(w, 0, sizeof(*w));
	if (a->len && a->sa.sa_family == AF_INET) {
		w->family = 4;
		memcpy(w->addr, &a->in4.sin_addr, 4);
	} else if (a->len && a->sa.sa_family == AF_INET6) {
		w->family = 6;
		memcpy(w->addr, &a->in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	le16_put(w->port, sockaddr_any_port(a));
	return 0;
}

int coord_wire_endpoint_get(const uint8_t p[sizeof(struct coord_wire_endpoint)], struct sockaddr_any *out)
{
	struct coord_wire_endpoint w;
	struct sockaddr_any a;

	memcpy(&w, p, sizeof(w));
	memset(&a, 0, sizeof(a));
	if (w.reserved)
		return -EBADMSG;
	if (w.family == 4) {
		if (!crypto_is_zero(w.addr + 4, sizeof(w.addr) - 4))
			return -EBADMSG;
		a.in4.sin_family = AF_INET;
		memcpy(&a.in4.sin_addr, w.addr, 4);
		a.in4.sin_port = htons(le16_get(w.port));
		a.len = sizeof(a.in4);
	} else if (w.family == 6) {
		a.in6.sin6_family = AF_INET6;
		memcpy(&a.in6.sin6_addr, w.addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr))
			return -EBADMSG;
		a.in6.sin6_port = htons(le16_get(w.port));
		a.len = sizeof(a.in6);
	} else {
		return -EBADMSG;
	}
	*out = a;
	return 0;
}
