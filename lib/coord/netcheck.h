/* NETCHECK and NETCHECK_ACK (messages.h, docs/control-protocol.md
 * "Netcheck"): build and parse. Pure functions, like udp.c: exact length
 * and type checked before any field is read, -EBADMSG for anything
 * malformed (wrong type or length, nonzero reserved or pad bytes, a bad
 * endpoint encoding). Out-parameters are written only on success. */
#ifndef ROAM_COORD_NETCHECK_H
#define ROAM_COORD_NETCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

struct coord_netcheck_ack {
	uint8_t txid[COORD_NETCHECK_TXID_LEN];
	struct sockaddr_any server;   /* the address that answered */
	struct sockaddr_any observed; /* where the server saw the request come from */
	struct sockaddr_any other[2]; /* the server's other addresses; len 0: none */
};

/* server: where the request goes (AF_INET or AF_INET6, else -EAFNOSUPPORT). */
int coord_netcheck_build(uint8_t out[sizeof(struct coord_msg_netcheck)], const uint8_t txid[COORD_NETCHECK_TXID_LEN],
			 const struct sockaddr_any *server);
/* Gives the txid and the server address the sender says it sent to. */
int coord_netcheck_parse(const uint8_t *buf, size_t len, uint8_t txid_out[COORD_NETCHECK_TXID_LEN],
			 struct sockaddr_any *server_out);

int coord_netcheck_ack_build(uint8_t out[sizeof(struct coord_msg_netcheck_ack)], const struct coord_netcheck_ack *a);
int coord_netcheck_ack_parse(const uint8_t *buf, size_t len, struct coord_netcheck_ack *out);

const char *coord_mapping_name(enum coord_mapping m); /* "unknown", "eim", "per-destination" */
/* The name back; COORD_MAPPING_UNKNOWN for anything else. */
enum coord_mapping coord_mapping_from_name(const char *name);

#endif
