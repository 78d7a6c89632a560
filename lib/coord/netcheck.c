#include "coord/netcheck.h"

#include <errno.h>
#include <string.h>

#include "coord/wire.h"
#include "crypto/crypto.h"

int coord_netcheck_build(uint8_t out[sizeof(struct coord_msg_netcheck)], const uint8_t txid[COORD_NETCHECK_TXID_LEN],
			 const struct sockaddr_any *server)
{
	struct coord_msg_netcheck m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_NETCHECK;
	memcpy(m.txid, txid, sizeof(m.txid));
	if (coord_wire_endpoint_put(&m.server, server) < 0)
		return -EAFNOSUPPORT;
	memcpy(out, &m, sizeof(m));
	return 0;
}

int coord_netcheck_parse(const uint8_t *buf, size_t len, uint8_t txid_out[COORD_NETCHECK_TXID_LEN],
			 struct sockaddr_any *server_out)
{
	struct coord_msg_netcheck m;
	struct sockaddr_any server;

	if (len != sizeof(m) || buf[0] != COORD_MSG_NETCHECK)
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (!crypto_is_zero(m.reserved, sizeof(m.reserved)) || !crypto_is_zero(m.pad, sizeof(m.pad)) ||
	    coord_wire_endpoint_get((const uint8_t *)&m.server, &server) < 0)
		return -EBADMSG;
	memcpy(txid_out, m.txid, sizeof(m.txid));
	*server_out = server;
	return 0;
}

int coord_netcheck_ack_build(uint8_t out[sizeof(struct coord_msg_netcheck_ack)], const struct coord_netcheck_ack *a)
{
	struct coord_msg_netcheck_ack m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_NETCHECK_ACK;
	memcpy(m.txid, a->txid, sizeof(m.txid));
	if (coord_wire_endpoint_put(&m.server, &a->server) < 0 || coord_wire_endpoint_put(&m.observed, &a->observed) < 0)
		return -EAFNOSUPPORT;
	for (int i = 0; i < 2; i++)
		if (a->other[i].len && coord_wire_endpoint_put(&m.other[i], &a->other[i]) < 0)
			return -EAFNOSUPPORT;
	memcpy(out, &m, sizeof(m));
	return 0;
}

int coord_netcheck_ack_parse(const uint8_t *buf, size_t len, struct coord_netcheck_ack *out)
{
	struct coord_msg_netcheck_ack m;
	struct coord_netcheck_ack a;

	if (len != sizeof(m) || buf[0] != COORD_MSG_NETCHECK_ACK)
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	memset(&a, 0, sizeof(a));
	if (!crypto_is_zero(m.reserved, sizeof(m.reserved)) ||
	    coord_wire_endpoint_get((const uint8_t *)&m.server, &a.server) < 0 ||
	    coord_wire_endpoint_get((const uint8_t *)&m.observed, &a.observed) < 0)
		return -EBADMSG;
	for (int i = 0; i < 2; i++) {
		/* All zero: no other address. */
		if (crypto_is_zero(&m.other[i], sizeof(m.other[i])))
			continue;
		if (coord_wire_endpoint_get((const uint8_t *)&m.other[i], &a.other[i]) < 0)
			return -EBADMSG;
	}
	memcpy(a.txid, m.txid, sizeof(a.txid));
	*out = a;
	return 0;
}

static const char *const mapping_names[COORD_MAPPING_COUNT] = { "unknown", "eim", "per-destination" };

const char *coord_mapping_name(enum coord_mapping m)
{
	return (unsigned)m < COORD_MAPPING_COUNT ? mapping_names[m] : "unknown";
}

enum coord_mapping coord_mapping_from_name(const char *name)
{
	for (int i = 0; i < COORD_MAPPING_COUNT; i++)
		if (strcmp(name, mapping_names[i]) == 0)
			return (enum coord_mapping)i;
	return COORD_MAPPING_UNKNOWN;
}
