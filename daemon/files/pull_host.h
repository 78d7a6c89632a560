/* The file worker's published directory and its answers to PULL requests
 * (docs/files.md, "Pull"): `roam publish DIR` scans DIR into the set held
 * here (one directory per node for now; publishing again replaces it), and
 * a connection to the file service that starts with "RFG1" is served from
 * it. Only files in the published set are served, looked up by hash (never
 * by path), each opened again and checked (publish_open) before serving; a
 * hash not published gets NOT_FOUND. The peer check (a peer sharing a
 * group) is the accept's, the same as for a push. */
#ifndef ROAM_DAEMON_FILES_PULL_HOST_H
#define ROAM_DAEMON_FILES_PULL_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

#define PULL_HOST_MAX_CONNS 8       /* pull connections served at once (others: BUSY) */
#define PULL_HOST_MAX_REQUESTS 65536 /* requests on one connection (a 4 GiB file at 64 KiB) x 16 */
#define PULL_HOST_TIMEOUT_S 30
#define PULL_HOST_CACHE 4 /* files whose chunk hashes are kept between connections */
#define PULL_HOST_MAX_HELD 64 /* files received or pulled served as held (the oldest goes) */

/* Scans dir and makes it the published set: the number of files, or -errno
 * (publish_scan_dir's; the refused path into bad). The previous set stays
 * on failure. */
int pull_host_publish(const char *dir, char *bad, size_t bad_size);
/* The same in a detached thread, the result logged ("published DIR (N
 * files)" or "cannot publish DIR: why"); scans run one at a time. */
int pull_host_publish_start(const char *dir);
/* The same, and the index sealed to group's members and uploaded to the
 * server (index_publish.h; NULL or "": every group of ours); with cache,
 * the files' encrypted copies too (index_cache.h). */
int pull_host_publish_to(const char *dir, const char *group, bool cache);
/* At the worker's start: what was published before a restart (publish_state.h),
 * scanned and published again; state_fd the worker's state directory. */
void pull_host_restore(int state_fd);
void pull_host_unpublish(void);
/* The published file with this hash opened again (publish_open's checks):
 * the fd (the caller closes it) and its size, or -ENOENT, -ESTALE, -EXDEV. */
int pull_host_open(const uint8_t hash[32], uint64_t *size);
/* How many files are published (0: none). */
size_t pull_host_count(void);
/* Serves one connection whose first 4 bytes (the magic, already read) are
 * in first: requests until the peer closes, a bad request, the timeout or
 * PULL_HOST_MAX_REQUESTS. Does not close sock. */
void pull_host_serve(int sock, const uint8_t first[4]);
void pull_host_free(void); /* at exit */
/* A file this node received (a push) or pulled, served by its hash like a
 * published one: fd is kept (dup'ed) while it is held, at most
 * PULL_HOST_MAX_HELD (the oldest is dropped); a file since deleted (no
 * link left), or no longer of that size or hash, is not served. */
int pull_host_hold(int fd, const uint8_t hash[FILES_HASH_LEN], uint64_t size);
size_t pull_host_held(void); /* how many (tests) */
uint64_t pull_host_cache_hits(void); /* connections that found the chunk hashes computed (tests) */

#endif
