#include "coord/udp.h"

#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint8_t coord_msg_type(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return 0;
	switch (buf[0]) {
	case COORD_MSG_BINDING:
	case COORD_MSG_BINDING_ACK:
	case COORD_MSG_RELAY:
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
	put_le32(m.node_id, node_id);
	put_le64(m.timestamp_ns, timestamp_ns);
	memcpy(m.nonce, nonce, sizeof(m.nonce));
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_binding, mac));
	memcpy(out, &m, sizeof(m));
}

int coord_binding_peek(const uint8_t *buf, size_t len, uint32_t *node_id_out)
{
	if (len != sizeof(struct coord_msg_binding) || buf[0] != COORD_MSG_BINDING)
		return -EBADMSG;
	*node_id_out = get_le32(buf + offsetof(struct coord_msg_binding, node_id));
	return 0;
}

int coord_binding_verify(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN],
			 uint64_t *timestamp_ns_out)
{
	uint8_t mac[COORD_MAC_LEN];

	if (len != sizeof(struct coord_msg_binding) || buf[0] != COORD_MSG_BINDING)
		return -EBADMSG;
	blake2s_mac(mac, k, COORD_KEY_LEN, buf, offsetof(struct coord_msg_binding, mac));
	if (!crypto_equal(mac, buf + offsetof(struct coord_msg_binding, mac), COORD_MAC_LEN))
		return -EKEYREJECTED;
	*timestamp_ns_out = get_le64(buf + offsetof(struct coord_msg_binding, timestamp_ns));
	return 0;
}

int coord_binding_ack_build(uint8_t out[sizeof(struct coord_msg_binding_ack)], const uint8_t k[COORD_KEY_LEN],
			    uint32_t node_id, uint64_t timestamp_ns, const struct sockaddr_any *observed)
{
	struct coord_msg_binding_ack m;

	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_BINDING_ACK;
	put_le32(m.node_id, node_id);
	put_le64(m.timestamp_ns, timestamp_ns);
	if (observed->len && observed->sa.sa_family == AF_INET) {
		m.family = 4;
		memcpy(m.addr, &observed->in4.sin_addr, 4);
	} else if (observed->len && observed->sa.sa_family == AF_INET6) {
		m.family = 6;
		memcpy(m.addr, &observed->in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	put_le16(m.port, sockaddr_any_port(observed));
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
	if (get_le32(m.node_id) != node_id)
		return -ESRCH;
	memset(&a, 0, sizeof(a));
	if (m.family == 4) {
		a.in4.sin_family = AF_INET;
		memcpy(&a.in4.sin_addr, m.addr, 4);
		a.in4.sin_port = htons(get_le16(m.port));
		a.len = sizeof(a.in4);
	} else if (m.family == 6) {
		a.in6.sin6_family = AF_INET6;
		memcpy(&a.in6.sin6_addr, m.addr, 16);
		a.in6.sin6_port = htons(get_le16(m.port));
		a.len = sizeof(a.in6);
		sockaddr_any_normalize(&a);
	} else {
		return -EBADMSG;
	}
	*timestamp_ns_out = get_le64(m.timestamp_ns);
	*observed_out = a;
	return 0;
}

int coord_relay_parse(const uint8_t *buf, size_t len, uint32_t *node_id_out, const uint8_t **payload_out,
		      size_t *payload_len_out)
{
	const size_t hdr = sizeof(struct coord_msg_relay_header);

	if (len < hdr + COORD_RELAY_PAYLOAD_MIN || len > COORD_RELAY_MAX || buf[0] != COORD_MSG_RELAY)
		return -EBADMSG;
	*node_id_out = get_le32(buf + offsetof(struct coord_msg_relay_header, node_id));
	*payload_out = buf + hdr;
	*payload_len_out = len - hdr;
	return 0;
}

void coord_relay_header_write(uint8_t hdr[sizeof(struct coord_msg_relay_header)], uint32_t node_id)
{
	hdr[0] = COORD_MSG_RELAY;
	hdr[1] = hdr[2] = hdr[3] = 0;
	put_le32(hdr + 4, node_id);
}
