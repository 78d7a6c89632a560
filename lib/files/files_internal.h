/* Helpers shared by lib/files' sources; not part of the API. */
#ifndef ROAM_FILES_INTERNAL_H
#define ROAM_FILES_INTERNAL_H

#include <stdint.h>

#include "files/files.h"

static inline void files_le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline uint16_t files_le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline void files_le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t files_le32_get(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline void files_le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t files_le64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Domain labels: one key per purpose, so a MAC made for one format can never
 * pass as another's. */
#define FILES_LABEL_HEADER "roam files header v1"
#define FILES_LABEL_RECEIPT "roam files receipt v1"
#define FILES_LABEL_INDEX "roam files index v1"

/* The key two nodes share for one purpose: BLAKE2b keyed with
 * X25519(self, peer) over the label and both public keys in role order
 * (first = sender or publisher). -EINVAL on a low-order peer key. */
int files_pair_key(uint8_t out[FILES_KEY_LEN], const uint8_t self_sec[FILES_KEY_LEN],
		   const uint8_t peer_pub[FILES_KEY_LEN], const char *label, const uint8_t first[FILES_KEY_LEN],
		   const uint8_t second[FILES_KEY_LEN]);

#endif
