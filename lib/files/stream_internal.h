/* Offsets inside the header and the metadata record, shared by header.c
 * and stream.c. */
#ifndef ROAM_FILES_STREAM_INTERNAL_H
#define ROAM_FILES_STREAM_INTERNAL_H

#include "files/files.h"

enum {
	FH_MAGIC = 0,
	FH_VERSION = 4, /* then 3 reserved zero bytes */
	FH_CHUNK = 8,
	FH_TOTAL = 12,
	FH_ID = 20,
	FH_SENDER = FH_ID + FILES_ID_LEN,
	FH_RECIPIENT = FH_SENDER + FILES_KEY_LEN,
	FH_SEALED = FH_RECIPIENT + FILES_KEY_LEN,
	FH_STREAM = FH_SEALED + FILES_SEALED_KEY_LEN,
	FH_MAC = FH_STREAM + crypto_secretstream_xchacha20poly1305_HEADERBYTES,
};
enum {
	FM_NAMELEN = 0, /* then 2 reserved zero bytes */
	FM_SIZE = 4,
	FM_MTIME = 12,
	FM_HASH = 20,
	FM_NAME = FM_HASH + FILES_HASH_LEN,
};

void files_header_put(uint8_t hdr[FILES_HEADER_LEN], const struct files_header *h);
int files_header_mac(uint8_t mac[FILES_MAC_LEN], const uint8_t hdr[FILES_HEADER_LEN],
		     const uint8_t self_sec[FILES_KEY_LEN], const uint8_t peer_pub[FILES_KEY_LEN]);
int files_meta_put(uint8_t out[FILES_META_LEN], const struct files_meta *m);
int files_meta_get(const uint8_t in[FILES_META_LEN], struct files_meta *m);

#endif
