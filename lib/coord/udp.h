/* Build and parse the control protocol's UDP messages (messages.h). Pure
 * functions: no sockets, no clock (the caller passes the time in).
 *
 * Parsing checks the exact length for the type before reading any field and
 * returns -EBADMSG for anything malformed (wrong type or length, bad family),
 * -EKEYREJECTED for a bad mac. Out-parameters are written only on success. */
#ifndef ROAM_COORD_UDP_H
#define ROAM_COORD_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

/* The message type of a datagram, or 0 if it is not one of ours (WireGuard's
 * types, or empty). Cheap: for demultiplexing one socket. */
uint8_t coord_msg_type(const uint8_t *buf, size_t len);

/* BINDING (node side): fills out[40]. */
void coord_binding_build(uint8_t out[sizeof(struct coord_msg_binding)], const uint8_t k[COORD_KEY_LEN],
			 uint32_t node_id, uint64_t timestamp_ns, const uint8_t nonce[COORD_BINDING_NONCE_LEN]);

/* BINDING (server side), two steps because the key depends on the id:
 * coord_binding_peek() checks type and exact length and gives the node id;
 * coord_binding_verify() checks the mac with that node's K and gives the
 * timestamp. Freshness and replay (timestamp greater than the last one) are
 * the caller's policy. */
int coord_binding_peek(const uint8_t *buf, size_t len, uint32_t *node_id_out);
int coord_binding_verify(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN],
			 uint64_t *timestamp_ns_out);

/* BINDING_ACK (server side): observed must be AF_INET or AF_INET6
 * (normalised); -EAFNOSUPPORT otherwise. */
int coord_binding_ack_build(uint8_t out[sizeof(struct coord_msg_binding_ack)], const uint8_t k[COORD_KEY_LEN],
			    uint32_t node_id, uint64_t timestamp_ns, const struct sockaddr_any *observed);

/* BINDING_ACK (node side): verifies type, length, mac (-EKEYREJECTED) and
 * that it answers node_id (-ESRCH otherwise). Gives the echoed timestamp
 * (match it against the BINDING you sent) and the observed endpoint. */
int coord_binding_ack_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], uint32_t node_id,
			    uint64_t *timestamp_ns_out, struct sockaddr_any *observed_out);

/* RELAY: the header is 8 bytes in front of a WireGuard message. Parse checks
 * type and 8 + 32 <= len <= COORD_RELAY_MAX; the payload points into buf. */
int coord_relay_parse(const uint8_t *buf, size_t len, uint32_t *node_id_out, const uint8_t **payload_out,
		      size_t *payload_len_out);
/* Write the 8-byte header (type, zero reserved, node_id) into hdr. */
void coord_relay_header_write(uint8_t hdr[sizeof(struct coord_msg_relay_header)], uint32_t node_id);

#endif
