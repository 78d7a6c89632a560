/* `roam publish --cache` in the file worker (docs/files.md, "Cached
 * copies"): each published file encrypted under a fresh key
 * (files_cached_chunk_seal) and uploaded to the server for one group
 * (POST/PUT /v1/files/index/blob); the index body then carries each copy's
 * id and key, so only the members the index is sealed to can read them.
 * Blocking (HTTP): from the publish thread. */
#ifndef ROAM_DAEMON_FILES_INDEX_CACHE_H
#define ROAM_DAEMON_FILES_INDEX_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* body: the plain index body of the published set; *out the same entries
 * with the copies' ids and keys (malloc'd; the caller wipes and frees it).
 * gen tags the copies (a later publish drops older ones). The number of
 * files copied (a file that changed since the scan is left without one),
 * or -errno (-EDQUOT over the server's quota, -EHOSTUNREACH). */
int index_cache_group(const char *group, uint64_t gen, const uint8_t *body, size_t len, uint8_t **out,
		      size_t *out_len);

/* Chunk index (FILES_CHUNK_DEFAULT bytes, the last one shorter) of the
 * cached copy of publisher's file e (an entry of its index, e->cached),
 * fetched from the server (GET /v1/files/index/blob) and decrypted into
 * out (room for FILES_CHUNK_DEFAULT): its length, or -ENOENT (no copy, or
 * not for us: the server's 404), -EBADMSG (altered, or not that chunk),
 * -EHOSTUNREACH, -EIO. The caller checks it against the chunk tree. For
 * `roam pull` from the server while the publisher is offline. */
struct files_index_entry;
long index_cache_read(uint32_t publisher, const struct files_index_entry *e, uint32_t index, uint8_t *out);

#endif
