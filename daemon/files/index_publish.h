/* The published index sealed to the group's members and kept on the
 * server (docs/files.md, "The index on the server"). The publish scan
 * (pull_host.c) hands the plaintext body here; it is sealed (lib/files
 * RFX1: a fresh group key sealed to each member's file public key) for each
 * group it goes to, and uploaded in pieces to PUT /v1/files/index. Kept in
 * memory so a member who joins later gets it: each view change asks the
 * server for the members again (debounced), and a group whose members
 * changed is sealed again with a higher sequence number. All blocking
 * (HTTP): called from threads, never the worker's loop. */
#ifndef ROAM_DAEMON_FILES_INDEX_PUBLISH_H
#define ROAM_DAEMON_FILES_INDEX_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

/* Room a sealed index needs beyond its body, at the most members. */
#define INDEX_SEAL_OVERHEAD (FILES_INDEX_FIXED_LEN + FILES_INDEX_MAX_MEMBERS * (FILES_INDEX_SLOT_LEN + 32) + 16)

/* body (copied) becomes what we publish, to group (NULL or "": every
 * group of ours), with cache each file's encrypted copy uploaded for each
 * group (index_cache.h); sealed and uploaded now. Groups done, or -errno. */
int index_publish_set(const uint8_t *body, size_t len, const char *group, bool cache);
/* Every sequence from now on above seq (the highest saved before a restart). */
void index_publish_seq_floor(uint64_t seq);
/* Forget it and delete it from the server, in a thread of its own. */
void index_unpublish_start(void);
/* The view changed: a member may have joined (or left). */
void index_publish_view_changed(void);

#endif
