/* Endpoints: building, checking and printing their canonical bytes
 * (endpoint.h has the layouts). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/endpoint.h"
#include "util/le.h"

/* EP_UDP's bytes from 1 on, written at out; returns their count or 0. */
static size_t udp_body(uint8_t *out, const struct sockaddr_any *a)
{
	if (a->len == sizeof(struct sockaddr_in) && a->sa.sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &a->in4.sin_port, 2);
		memcpy(out + 3, &a->in4.sin_addr, 4);
		return 7;
	}
	if (a->len == sizeof(struct sockaddr_in6) && a->sa.sa_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &a->in6.sin6_port, 2);
		memcpy(out + 3, &a->in6.sin6_addr, 16);
		le32_put(out + 19, a->in6.sin6_scope_id);
		return 23;
	}
	return 0;
}

static int udp_body_parse(const uint8_t *in, size_t len, struct sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 7 && in[0] == 4) {
		out->in4.sin_family = AF_INET;
		memcpy(&out->in4.sin_port, in + 1, 2);
		memcpy(&out->in4.sin_addr, in + 3, 4);
		out->len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (len == 23 && in[0] == 6) {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_port, in + 1, 2);
		memcpy(&out->in6.sin6_addr, in + 3, 16);
		out->in6.sin6_scope_id = le32_get(in + 19);
		out->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

void endpoint_from_sockaddr(struct endpoint *ep, const struct sockaddr_any *a)
{
	memset(ep, 0, sizeof(*ep));
	size_t n = udp_body(ep->bytes + 1, a);
	if (!n)
		return;
	ep->bytes[0] = EP_UDP;
	ep->len = (uint8_t)(1 + n);
}

void endpoint_relay(struct endpoint *ep, uint8_t relay_index, uint32_t node_id)
{
	memset(ep, 0, sizeof(*ep));
	ep->bytes[0] = EP_RELAY;
	ep->bytes[1] = relay_index;
	le32_put(ep->bytes + 2, node_id);
	ep->len = 6;
}

void endpoint_aux(struct endpoint *ep, uint8_t slot, const struct sockaddr_any *a)
{
	memset(ep, 0, sizeof(*ep));
	size_t n = udp_body(ep->bytes + 2, a);
	if (!n)
		return;
	ep->bytes[0] = EP_UDP_AUX;
	ep->bytes[1] = slot;
	ep->len = (uint8_t)(2 + n);
}

int endpoint_from_bytes(struct endpoint *ep, const uint8_t *bytes, size_t len)
{
	struct sockaddr_any a;
	if (len < 1 || len > ENDPOINT_MAX)
		return -EINVAL;
	switch (bytes[0]) {
	case EP_UDP:
		if (udp_body_parse(bytes + 1, len - 1, &a) < 0)
			return -EINVAL;
		break;
	case EP_RELAY:
		if (len != 6)
			return -EINVAL;
		break;
	case EP_UDP_AUX:
		if (len < 2 || udp_body_parse(bytes + 2, len - 2, &a) < 0)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	memset(ep, 0, sizeof(*ep));
	memcpy(ep->bytes, bytes, len);
	ep->len = (uint8_t)len;
	return 0;
}

enum endpoint_transport endpoint_transport(const struct endpoint *ep)
{
	if (!ep->len || ep->bytes[0] >= EP_TRANSPORT_COUNT)
		return EP_NONE;
	return (enum endpoint_transport)ep->bytes[0];
}

int endpoint_to_sockaddr(const struct endpoint *ep, struct sockaddr_any *out)
{
	switch (endpoint_transport(ep)) {
	case EP_UDP:
		return udp_body_parse(ep->bytes + 1, ep->len - 1u, out);
	case EP_UDP_AUX:
		return ep->len < 2 ? -EINVAL : udp_body_parse(ep->bytes + 2, ep->len - 2u, out);
	default:
		return -EINVAL;
	}
}

uint32_t endpoint_relay_node(const struct endpoint *ep)
{
	return endpoint_transport(ep) == EP_RELAY && ep->len == 6 ? le32_get(ep->bytes + 2) : 0;
}

int endpoint_relay_index(const struct endpoint *ep)
{
	return endpoint_transport(ep) == EP_RELAY && ep->len == 6 ? ep->bytes[1] : -EINVAL;
}

int endpoint_aux_slot(const struct endpoint *ep)
{
	return endpoint_transport(ep) == EP_UDP_AUX && ep->len >= 2 ? ep->bytes[1] : -EINVAL;
}

const char *endpoint_transport_name(enum endpoint_transport t)
{
	static const char *const names[EP_TRANSPORT_COUNT] = { "none", "udp", "relay-udp", "udp-aux" };
	return (unsigned)t < EP_TRANSPORT_COUNT ? names[t] : "?";
}

int endpoint_format(const struct endpoint *ep, char *buf, size_t size)
{
	char addr[SOCKADDR_ANY_STRLEN];
	struct sockaddr_any a;
	int n;
	switch (endpoint_transport(ep)) {
	case EP_UDP:
		if (endpoint_to_sockaddr(ep, &a) < 0 || sockaddr_any_format(&a, addr, sizeof(addr)) < 0)
			goto none;
		n = snprintf(buf, size, "%s", addr);
		break;
	case EP_UDP_AUX:
		if (endpoint_to_sockaddr(ep, &a) < 0 || sockaddr_any_format(&a, addr, sizeof(addr)) < 0)
			goto none;
		n = snprintf(buf, size, "aux%u:%s", ep->bytes[1], addr);
		break;
	case EP_RELAY:
		if (ep->bytes[1])
			n = snprintf(buf, size, "relay:%u@%u", endpoint_relay_node(ep), ep->bytes[1]);
		else
			n = snprintf(buf, size, "relay:%u", endpoint_relay_node(ep));
		break;
	default:
	none:
		n = snprintf(buf, size, "(none)");
		break;
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}
