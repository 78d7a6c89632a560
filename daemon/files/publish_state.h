/* What `roam publish` published, kept in the file worker's state directory
 * (STATE_DIR/files/published) so that a restarted roamd publishes it again
 * without being asked (docs/files.md, "Publish"): the directory, the group
 * ("" every group), --cache, and the last index sequence used per group.
 * At start the directory is scanned again (a file changed meanwhile gets
 * its new hash) and the index uploaded with a sequence above every one
 * saved, so readers that remember the highest they saw (index_seen.h)
 * accept it even if the wall clock went back. */
#ifndef ROAM_DAEMON_FILES_PUBLISH_STATE_H
#define ROAM_DAEMON_FILES_PUBLISH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLISH_STATE_FILE "published"

/* dirfd: where the record is kept (-1: nowhere, tests). Reads it: 0 with
 * dir, group and cache filled when something was published (*max_seq the
 * highest sequence saved), -ENOENT when nothing was, -errno. */
int publish_state_init(int dirfd, char *dir, size_t dir_size, char *group, size_t group_size, bool *cache,
		       uint64_t *max_seq);
/* `roam publish`: the new published set (the sequences are kept). */
int publish_state_set(const char *dir, const char *group, bool cache);
/* An index with seq was uploaded for group. */
int publish_state_seq(const char *group, uint64_t seq);
/* `roam unpublish`: nothing is published any more. */
int publish_state_clear(void);

#endif
