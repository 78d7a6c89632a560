#include "coord/udp.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "coord/wire.h"
#include "crypto/crypto.h"

uint8_t coord_msg_type(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return 0;
	switch (buf[0]) {
	case COORD_MSG_BINDING:
	case COORD_MSG_BINDING_ACK:
	case COORD_MSG_RELAY:
	case COORD_MSG_CHALLENGE:
	case COORD_MSG_PROBE_PING:
	case COORD_MSG_PROBE_PONG:
	case COORD_MSG_PROBE_CALLME:
	case COORD_MSG_NETCHECK:
	case COORD_MSG_NETCHECK_ACK:
	case COORD_MSG_PUSH_DATA:
		return buf[0];
	default:
		return 0;
	}
}

void coord_binding_build(uint8_t out[sizeof(struct coord_msg_binding)], const uint8_t k[COORD_KEY_LEN],
			 uint32_t node_id, uint64_t timestamp_ns, const uint8_t nonce[COORD_BINDING_NONCE_LEN])
{
	struct coord_msg_binding m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_BINDING;
	le32_put(m.node_id, node_id);
	le64_put(m.timestamp_ns, timestamp_ns);
	memcpy(m.nonce, nonce, sizeof(m.nonce));
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_binding, mac));
	memcpy(out, &m, sizeof(m));
}

void coord_binding_cookie_build(uint8_t out[sizeof(struct coord_msg_binding_cookie)],
				const uint8_t k[COORD_KEY_LEN], uint32_t node_id, uint64_t timestamp_ns,
				const uint8_t nonce[COORD_BINDING_NONCE_LEN], const uint8_t cookie[COORD_COOKIE_LEN])
{
	struct coord_msg_binding_cookie m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_BINDING;
	le32_put(m.node_id, node_id);
	le64_put(m.timestamp_ns, timestamp_ns);
	memcpy(m.nonce, nonce, sizeof(m.nonce));
	memcpy(m.cookie, cookie, sizeof(m.cookie));
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_binding_cookie, mac));
	memcpy(out, &m, sizeof(m));
}

static bool binding_len_ok(size_t len)
{
	return len == sizeof(struct coord_msg_binding) || len == sizeof(struct coord_msg_binding_cookie);
}

int coord_binding_peek(const uint8_t *buf, size_t len, uint32_t *node_id_out)
{
	if (!binding_len_ok(len) || buf[0] != COORD_MSG_BINDING)
		return -EBADMSG;
	*node_id_out = le32_get(buf + offsetof(struct coord_msg_binding, node_id));
	return 0;
}

int coord_binding_verify(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN],
			 uint64_t *timestamp_ns_out, const uint8_t **cookie_out)
{
	uint8_t mac[COORD_MAC_LEN];

	if (!binding_len_ok(len) || buf[0] != COORD_MSG_BINDING)
		return -EBADMSG;
	/* The mac is the last field in both forms. */
	blake2s_mac(mac, k, COORD_KEY_LEN, buf, len - COORD_MAC_LEN);
	if (!crypto_equal(mac, buf + len - COORD_MAC_LEN, COORD_MAC_LEN))
		return -EKEYREJECTED;
	*timestamp_ns_out = le64_get(buf + offsetof(struct coord_msg_binding, timestamp_ns));
	*cookie_out = len == sizeof(struct coord_msg_binding_cookie)
			      ? buf + offsetof(struct coord_msg_binding_cookie, cookie)
			      : NULL;
	return 0;
}

/* (family, address, port, node id, bucket) under the server's secret. */
int coord_cookie_make(uint8_t out[COORD_COOKIE_LEN], const uint8_t secret[COORD_KEY_LEN],
		      const struct sockaddr_any *addr, uint32_t node_id, uint64_t bucket)
{
	uint8_t in[1 + 16 + 2 + 4 + 8] = { 0 };

	if (addr->len && addr->sa.sa_family == AF_INET) {
		in[0] = 4;
		memcpy(in + 1, &addr->in4.sin_addr, 4);
	} else if (addr->len && addr->sa.sa_family == AF_INET6) {
		in[0] = 6;
		memcpy(in + 1, &addr->in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	le16_put(in + 17, sockaddr_any_port(addr));
	le32_put(in + 19, node_id);
	le64_put(in + 23, bucket);
	blake2s_mac(out, secret, COORD_KEY_LEN, in, sizeof(in));
	return 0;
}

void coord_challenge_build(uint8_t out[sizeof(struct coord_msg_challenge)], const uint8_t k[COORD_KEY_LEN],
			   uint32_t node_id, uint64_t timestamp_ns, const uint8_t cookie[COORD_COOKIE_LEN])
{
	struct coord_msg_challenge m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_CHALLENGE;
	le32_put(m.node_id, node_id);
	le64_put(m.timestamp_ns, timestamp_ns);
	memcpy(m.cookie, cookie, sizeof(m.cookie));
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_challenge, mac));
	memcpy(out, &m, sizeof(m));
}

int coord_challenge_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], uint32_t node_id,
			  uint64_t *timestamp_ns_out, uint8_t cookie_out[COORD_COOKIE_LEN])
{
	uint8_t mac[COORD_MAC_LEN];

	if (len != sizeof(struct coord_msg_challenge) || buf[0] != COORD_MSG_CHALLENGE)
		return -EBADMSG;
	blake2s_mac(mac, k, COORD_KEY_LEN, buf, offsetof(struct coord_msg_challenge, mac));
	if (!crypto_equal(mac, buf + offsetof(struct coord_msg_challenge, mac), COORD_MAC_LEN))
		return -EKEYREJECTED;
	if (le32_get(buf + offsetof(struct coord_msg_challenge, node_id)) != node_id)
		return -ESRCH;
	*timestamp_ns_out = le64_get(buf + offsetof(struct coord_msg_challenge, timestamp_ns));
	memcpy(cookie_out, buf + offsetof(struct coord_msg_challenge, cookie), COORD_COOKIE_LEN);
	return 0;
}

/* family, reserved2, port and addr are one struct coord_wire_endpoint. */
#define ACK_ENDPOINT_OFF offsetof(struct coord_msg_binding_ack, family)
static_assert(offsetof(struct coord_msg_binding_ack, mac) - ACK_ENDPOINT_OFF == sizeof(struct coord_wire_endpoint),
	      "BINDING_ACK carries one wire endpoint");

int coord_binding_ack_build(uint8_t out[sizeof(struct coord_msg_binding_ack)], const uint8_t k[COORD_KEY_LEN],
			    uint32_t node_id, uint64_t timestamp_ns, const struct sockaddr_any *observed)
{
	struct coord_msg_binding_ack m;
	struct coord_wire_endpoint w;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_BINDING_ACK;
	le32_put(m.node_id, node_id);
	le64_put(m.timestamp_ns, timestamp_ns);
	if (coord_wire_endpoint_put(&w, observed) < 0)
		return -EAFNOSUPPORT;
	memcpy((uint8_t *)&m + ACK_ENDPOINT_OFF, &w, sizeof(w));
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_binding_ack, mac));
	memcpy(out, &m, sizeof(m));
	return 0;
}

int coord_binding_ack_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], uint32_t node_id,
			    uint64_t *timestamp_ns_out, struct sockaddr_any *observed_out)
{
	struct coord_msg_binding_ack m;
	struct sockaddr_any a;
	uint8_t mac[COORD_MAC_LEN];

	if (len != sizeof(m) || buf[0] != COORD_MSG_BINDING_ACK)
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	blake2s_mac(mac, k, COORD_KEY_LEN, buf, offsetof(struct coord_msg_binding_ack, mac));
	if (!crypto_equal(mac, m.mac, COORD_MAC_LEN))
		return -EKEYREJECTED;
	if (le32_get(m.node_id) != node_id)
		return -ESRCH;
	if (coord_wire_endpoint_get(buf + ACK_ENDPOINT_OFF, &a) < 0)
		return -EBADMSG;
	*timestamp_ns_out = le64_get(m.timestamp_ns);
	*observed_out = a;
	return 0;
}

int coord_relay_parse(const uint8_t *buf, size_t len, uint32_t *node_id_out, const uint8_t **payload_out,
		      size_t *payload_len_out)
{
	const size_t hdr = sizeof(struct coord_msg_relay_header);

	if (len < hdr + COORD_RELAY_PAYLOAD_MIN || len > COORD_RELAY_MAX || buf[0] != COORD_MSG_RELAY)
		return -EBADMSG;
	*node_id_out = le32_get(buf + offsetof(struct coord_msg_relay_header, node_id));
	*payload_out = buf + hdr;
	*payload_len_out = len - hdr;
	return 0;
}

int coord_wg_message_check(const uint8_t *msg, size_t len)
{
	if (len < 4 || msg[1] || msg[2] || msg[3])
		return COORD_WG_BAD_TYPE;
	switch (msg[0]) {
	case 1:
		return len == COORD_WG_INITIATION_LEN ? COORD_WG_OK : COORD_WG_BAD_SIZE;
	case 2:
		return len == COORD_WG_RESPONSE_LEN ? COORD_WG_OK : COORD_WG_BAD_SIZE;
	case 3:
		return len == COORD_WG_COOKIE_REPLY_LEN ? COORD_WG_OK : COORD_WG_BAD_SIZE;
	case 4:
		/* header 16 + tag 16 + plaintext. The plaintext is padded to 16
		 * bytes only up to the sender's MTU (RFC-less WireGuard rule:
		 * min(round_up(len, 16), mtu)), so a full packet at MTU 1420 is
		 * 1452 bytes: only the minimum can be checked. */
		return len >= COORD_WG_TRANSPORT_MIN ? COORD_WG_OK : COORD_WG_BAD_SIZE;
	default:
		return COORD_WG_BAD_TYPE;
	}
}

void coord_relay_header_write(uint8_t hdr[sizeof(struct coord_msg_relay_header)], uint32_t node_id)
{
	hdr[0] = COORD_MSG_RELAY;
	hdr[1] = hdr[2] = hdr[3] = 0;
	le32_put(hdr + 4, node_id);
}
