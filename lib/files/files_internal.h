/* Helpers shared by lib/files' sources; not part of the API. */
#ifndef ROAM_FILES_INTERNAL_H
#define ROAM_FILES_INTERNAL_H

#include <stdint.h>

#include "files/files.h"
#include "util/le.h"

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
