/* Rollback protection for the published indexes we read (docs/files.md,
 * "The index on the server"): the server stores each publisher's sealed
 * index, and could hand back an older one it kept (a file since removed
 * from the publisher's set, a thumbnail since changed). The sequence
 * number is inside the sealed part, under the publisher's MAC, so a reader
 * keeps the highest one it accepted per (publisher, group) and refuses a
 * lower one. Per group, not per publisher: a publisher seals each group's
 * index under its own sequence, and the server answers with any group we
 * share. Kept in the worker's state directory across restarts; at most
 * INDEX_SEEN_MAX pairs (the least recently raised goes first). */
#ifndef ROAM_DAEMON_FILES_INDEX_SEEN_H
#define ROAM_DAEMON_FILES_INDEX_SEEN_H

#include <stdint.h>

#define INDEX_SEEN_MAX 1024
#define INDEX_SEEN_FILE "index-seen"

/* dirfd (-1: in memory only) is where the table is saved; loaded from it now. */
void index_seen_init(int dirfd);
/* 0: seq is at least the highest accepted for (publisher, gid), and is now
 * that; -ESTALE: lower (the server handed back an older index). */
int index_seen_accept(uint32_t publisher, uint32_t gid, uint64_t seq);
/* Forget every pair (tests). */
void index_seen_reset(void);

#endif
