/* The holder's side of a PULL (files/pull.h): a file it publishes or holds,
 * its chunk hashes (computed once, at FILES_CHUNK_DEFAULT), and the answer
 * to one request on a connection of the file service. Blocking I/O, for a
 * thread of the file worker. Memory: 32 bytes per 64 KiB chunk held while
 * the file is served (512 KiB per GiB). */
#ifndef ROAM_DAEMON_FILES_PULL_SERVE_H
#define ROAM_DAEMON_FILES_PULL_SERVE_H

#include <stdint.h>

#include "files/pull.h"

struct pull_held {
	int fd;
	uint64_t size;
	uint8_t hash[FILES_HASH_LEN];  /* what the index (or the push) says */
	uint8_t root[FILES_HASH_LEN];  /* computed by pull_held_load */
	uint8_t *chunk_hashes;         /* chunks * FILES_HASH_LEN */
	uint32_t chunks;
};

/* Reads fd (size bytes) into its chunk hashes and root; -ESTALE when the
 * file no longer has `hash` (changed since it was published). */
int pull_held_load(struct pull_held *h, int fd, uint64_t size, const uint8_t hash[FILES_HASH_LEN]);
void pull_held_free(struct pull_held *h); /* does not close fd */
/* Answers r on sock: h NULL (not held, or not to this peer) answers
 * NOT_FOUND. 0, or -errno when the connection is to be closed. */
int pull_serve_request(int sock, const struct files_pull_req *r, const struct pull_held *h);

#endif
