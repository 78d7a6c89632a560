/* WireGuard wire formats, protocol constants and limits: one place for all
 * of them (WireGuard paper sections 5.4 and 6; kernel messages.h). Multi-byte
 * integers on the wire are little-endian. */
#ifndef ROAM_WG_MESSAGES_H
#define ROAM_WG_MESSAGES_H

#include <assert.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define WG_KEY_LEN CRYPTO_KEY_LEN
#define WG_HASH_LEN CRYPTO_HASH_LEN
#define WG_MAC_LEN CRYPTO_MAC_LEN
#define WG_TAG_LEN CRYPTO_TAG_LEN
#define WG_TIMESTAMP_LEN 12 /* TAI64N */
#define WG_COOKIE_LEN 16
#define WG_COOKIE_NONCE_LEN CRYPTO_XNONCE_LEN

#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

enum wg_message_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

/* Timer and counter constants (paper section 6.1). Seconds unless noted. */
#define WG_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))
#define WG_REKEY_AFTER_TIME 120
#define WG_REJECT_AFTER_TIME 180
#define WG_REKEY_ATTEMPT_TIME 90
#define WG_REKEY_TIMEOUT 5
#define WG_KEEPALIVE_TIMEOUT 10
#define WG_COOKIE_SECRET_MAX_AGE 120
#define WG_COOKIE_SECRET_LATENCY 5
#define WG_REKEY_TIMEOUT_JITTER_MAX_MS 333
#define WG_INITIATIONS_PER_SECOND 50
#define WG_MAX_STAGED_PACKETS 128
#define WG_MAX_PEERS (1u << 20)

/* Replay window: bits tracked behind the highest counter seen (kernel uses
 * 8192 on 64-bit; the issue asks for at least 2048). */
#define WG_REPLAY_WINDOW_BITS 8192

struct wg_msg_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct wg_msg_initiation {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_index[4];
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_static[WG_KEY_LEN + WG_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TIMESTAMP_LEN + WG_TAG_LEN];
	struct wg_msg_macs macs;
};
static_assert(sizeof(struct wg_msg_initiation) == 148, "initiation is 148 bytes");

struct wg_msg_response {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_nothing[WG_TAG_LEN];
	struct wg_msg_macs macs;
};
static_assert(sizeof(struct wg_msg_response) == 92, "response is 92 bytes");

struct wg_msg_cookie {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t receiver_index[4];
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[WG_COOKIE_LEN + WG_TAG_LEN];
};
static_assert(sizeof(struct wg_msg_cookie) == 64, "cookie reply is 64 bytes");

struct wg_msg_data_header {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t receiver_index[4];
	uint8_t counter[8];
};
static_assert(sizeof(struct wg_msg_data_header) == 16, "data header is 16 bytes");

#define WG_DATA_HEADER_LEN sizeof(struct wg_msg_data_header)
#define WG_DATA_MIN_LEN (WG_DATA_HEADER_LEN + WG_TAG_LEN) /* a keepalive */
/* Plaintext is padded to a multiple of 16 (paper 5.4.6). */
#define WG_PADDING_MULTIPLE 16
#define WG_MAX_PACKET 65535
/* Room a caller must leave around an IP packet handed to wg_device for
 * in-place encryption: header before it, padding and tag after it. */
#define WG_HEADROOM WG_DATA_HEADER_LEN
#define WG_TAILROOM (WG_PADDING_MULTIPLE + WG_TAG_LEN)

static inline uint32_t wg_le32_get(const uint8_t b[4])
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void wg_le32_put(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t wg_le64_get(const uint8_t b[8])
{
	return (uint64_t)wg_le32_get(b) | (uint64_t)wg_le32_get(b + 4) << 32;
}

static inline void wg_le64_put(uint8_t b[8], uint64_t v)
{
	wg_le32_put(b, (uint32_t)v);
	wg_le32_put(b + 4, (uint32_t)(v >> 32));
}

#endif
