/* `roam pull` in the file worker (docs/files.md, "Pull"): a thread per
 * pull that finds the holders among the peers sharing a group with us,
 * fetches from all of them at once (pull_fetch.h), and places the file in
 * the inbox (INBOX/PEER/) or a directory the monitor opened, never over an
 * existing file. A pull shows in `roam files` as direction "pulled", with
 * its sources. The part stays after a break; the monitor sends a pull
 * again after a restart (files_host.c) and the verified chunks are kept. */
#ifndef ROAM_DAEMON_FILES_PULL_JOB_H
#define ROAM_DAEMON_FILES_PULL_JOB_H

#include "daemon/files/worker.h"

#define PULL_JOB_MAX 4         /* pulls at once (more: refused) */
#define PULL_JOB_CANDIDATES 16 /* peers asked whether they hold the file */
#define PULL_JOB_WAIT_S 60     /* a continued pull waits this long for a holder */

struct cJSON;
/* {"t":"pull","id","peer","name", and "path" (looked up with the peer) or
 * "hash","root","size"; "dest" (shown) with dest_fd, else the inbox;
 * "resume": continued after a restart}. Takes dest_fd (-1: none). */
void pull_job_start(struct worker *w, const struct cJSON *msg, int dest_fd);
/* `roam files`: a pull's sources (peer, bytes, rate, state) into o. Under the lock. */
void pull_job_report(const struct xfer *x, struct cJSON *o);
/* Files received by a push since the last call, handed to pull_host_hold. */
void pull_job_hold_received(struct worker *w);

/* pull_cache.c: x's file from the publisher's encrypted copy on the server
 * (roam publish --cache) into fd, from the chunk at `have` bytes on: 0, or
 * -errno with why (-EBADMSG when the whole file does not hash right). */
int pull_cache_run(struct xfer *x, int fd, uint64_t have, char *why, size_t why_size);

#endif
