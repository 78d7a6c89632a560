/* roamd's file service (issue 11, online PUSH; docs/files.md):
 *
 *   roam push / roam files ──control socket──► roamd (monitor, root)
 *        opens the file to send (as root: the user asked), passes its fd
 *        │  SOCK_SEQPACKET, one JSON object per message (+ SCM_RIGHTS)
 *        ▼
 *   roamd-files (worker: the agent's user, no capabilities,
 *        no_new_privs, seccomp): TCP port 7301 on the overlay addresses
 *        only, checks every connection's source against the peer set,
 *        writes the inbox, sends pushed files.
 *
 * The worker is roamd re-executed, like the agent (daemon/privsep.h), so
 * it never held the node's key; it is a process of its own rather than a
 * part of the agent because it needs what the agent must not have (files
 * it creates and renames) and the agent has what it needs not (TLS to the
 * server, the control key). */
#ifndef ROAM_DAEMON_FILE_SERVICE_H
#define ROAM_DAEMON_FILE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILES_WORKER_ARGV0 "roamd-files"
#define FILES_WORKER_FD 3
#define FILES_MSG_MAX (256 * 1024) /* one message between monitor and worker */
#define FILES_SNAPSHOT_MAX 64      /* transfers the worker reports (the newest) */

struct roamd;
struct roamd_options;
struct ctl_command;

/* Monitor side (files_host.c). */
int roamd_files_start(struct roamd *d, const struct roamd_options *opt);
void roamd_files_stop(struct roamd *d);
void roamd_files_view_changed(struct roamd *d); /* peers or our overlay addresses changed */
void roamd_files_poll_now(struct roamd *d);     /* the server's stream: files wait in its cache */
/* roam status: "files": the service's state, the inbox, our file public key. */
struct cJSON;
void roamd_files_status_json(const struct roamd *d, struct cJSON *root);
/* Our file public key (for the agent to register): 0, or -ENOENT. */
int roamd_files_public_key(const struct roamd *d, uint8_t out[32]);
/* push, files, files_cancel: the reply (malloc'ed JSON). */
char *roamd_files_request(struct roamd *d, const struct ctl_command *cmd);
/* ls: the request passed to the worker, 0 (roamd_control_answer(ticket)
 * follows when its listing comes back), or -1 with *error the reply now. */
int roamd_files_ls(struct roamd *d, const struct ctl_command *cmd, uint64_t ticket, char **error);

/* offline_reopen.c (monitor): the offline pushes a restart may continue,
 * by token, in FILE (STATE_DIR/files-uploads.json). 0 or -errno. */
#define FILES_TOKEN_LEN 32 /* hex */
int files_uploads_add(const char *file, const char *path, const char *peer, char token[FILES_TOKEN_LEN + 1]);
int files_uploads_find(const char *file, const char *token, char *path, size_t path_size, char *peer, size_t peer_size);
void files_uploads_remove(const char *file, const char *token);
/* A JSON array kept in a root-owned file (at most ~290 KiB, else empty),
 * saved whole (written beside, fsynced, renamed over). */
struct cJSON;
struct cJSON *files_json_load(const char *file);
int files_json_save(const char *file, const struct cJSON *arr);

/* pull_request.c (monitor): `roam pull`, checked here, run by the worker;
 * kept in STATE_DIR/files-pulls.json until the worker says it ended, so a
 * restart sends it again (the part and its verified chunks are kept). */
typedef int (*files_send_fn)(void *ctx, struct cJSON *msg, int pass_fd);
char *files_pull_request(struct roamd *d, const char *list, const char *args, uint32_t *next_id, files_send_fn send,
			 void *ctx);
void files_pull_resend(const char *list, uint32_t *next_id, files_send_fn send, void *ctx);
void files_pull_ended(const char *list, const char *id);

/* Worker side (worker.c): main() of the re-executed roamd. */
int roamd_files_main(void);

/* A control reply carrying a formatted error (files_host.c): the pull and
 * push requests' one way to say what went wrong. */
__attribute__((format(printf, 1, 2))) char *roamd_files_error(const char *fmt, ...);

#endif
