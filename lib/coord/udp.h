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
/* Both forms (40 bytes, or 56 with a cookie): *cookie_out points into buf
 * at the cookie, or is NULL for a plain BINDING. */
int coord_binding_verify(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN],
			 uint64_t *timestamp_ns_out, const uint8_t **cookie_out);
/* BINDING answering a CHALLENGE (node side): fills out[56]. */
void coord_binding_cookie_build(uint8_t out[sizeof(struct coord_msg_binding_cookie)],
				const uint8_t k[COORD_KEY_LEN], uint32_t node_id, uint64_t timestamp_ns,
				const uint8_t nonce[COORD_BINDING_NONCE_LEN], const uint8_t cookie[COORD_COOKIE_LEN]);

/* CHALLENGE. The cookie (server side) is a MAC over the address, port, node
 * id and a time bucket (unix seconds / COORD_COOKIE_BUCKET_S) under the
 * server's secret: -EAFNOSUPPORT for an address that is not IPv4/IPv6.
 * Parse (node side) checks type, length, mac (-EKEYREJECTED) and node id
 * (-ESRCH); gives the echoed BINDING timestamp and the cookie. */
int coord_cookie_make(uint8_t out[COORD_COOKIE_LEN], const uint8_t secret[COORD_KEY_LEN],
		      const struct sockaddr_any *addr, uint32_t node_id, uint64_t bucket);
void coord_challenge_build(uint8_t out[sizeof(struct coord_msg_challenge)], const uint8_t k[COORD_KEY_LEN],
			   uint32_t node_id, uint64_t timestamp_ns, const uint8_t cookie[COORD_COOKIE_LEN]);
int coord_challenge_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], uint32_t node_id,
			  uint64_t *timestamp_ns_out, uint8_t cookie_out[COORD_COOKIE_LEN]);

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
/* Is a relayed payload a well-formed WireGuard message (type 1..4 with
 * zero reserved bytes, and the exact size for its type)? The relay forwards
 * nothing else; the result says why not. */
enum coord_wg_check { COORD_WG_OK = 0, COORD_WG_BAD_TYPE, COORD_WG_BAD_SIZE };
int coord_wg_message_check(const uint8_t *msg, size_t len);
/* Write the 8-byte header (type, zero reserved, node_id) into hdr. */
void coord_relay_header_write(uint8_t hdr[sizeof(struct coord_msg_relay_header)], uint32_t node_id);

#endif
