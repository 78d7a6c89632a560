/* roam publish DIR: the directory walked into the entries of a PUBLISH
 * index (relative path, size, mtime, BLAKE2b-256, chunk tree root), and a published file
 * opened again for a pull. Runs in the file worker (unprivileged,
 * sandboxed), never in a privileged process.
 *
 * What is published: regular files under DIR, and symlinks whose target
 * (resolved) is a regular file inside DIR. A symlink whose target resolves
 * outside DIR refuses the whole publish (-EXDEV, the offending path in
 * `bad`): publishing it would hand out a file the user did not put in DIR.
 * Symlinked directories are not followed (loops; their files are published
 * under their own path when inside DIR). Other kinds (devices, FIFOs,
 * sockets) and dangling links are skipped. Every path is checked with
 * files_index_path_valid(). Caps: FILES_INDEX_MAX_ENTRIES entries, the
 * index body within FILES_INDEX_BODY_MAX, PUBLISH_SCAN_DEPTH levels. */
#ifndef ROAM_DAEMON_FILES_PUBLISH_SCAN_H
#define ROAM_DAEMON_FILES_PUBLISH_SCAN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

#define PUBLISH_SCAN_DEPTH 32

struct publish_file {
	char *path; /* relative, '/'-separated, NUL-terminated */
	uint64_t size;
	int64_t mtime;
	uint8_t hash[FILES_HASH_LEN];
	uint8_t root[FILES_HASH_LEN]; /* chunk tree at FILES_CHUNK_DEFAULT (files/pull.h) */
	uint8_t *thumb;               /* publish_scan_thumbs: a JPEG, or NULL */
	size_t thumb_len;
};

struct publish_scan {
	char root[PATH_MAX]; /* DIR resolved */
	struct publish_file *files; /* sorted by path */
	size_t n, cap;
	size_t body_len; /* the index body these entries make */
	char bad[FILES_INDEX_PATH_MAX + 1]; /* on failure: the path refused, if one was */
};

/* -EXDEV (a symlink out of DIR), -E2BIG (too many files or too large an
 * index), -ELOOP (too deep), -ENOTDIR, or a walk's -errno. On failure the
 * scan is freed except `bad`. */
int publish_scan_dir(const char *dir, struct publish_scan *out);
void publish_scan_free(struct publish_scan *sc);
/* Thumbnails (daemon/files/thumb.c) for the JPEG photos among the files,
 * as long as the index body stays within FILES_INDEX_BODY_MAX; a file that
 * is not a JPEG, too large, changed or undecodable simply gets none.
 * Returns how many were made. Run in the file worker only. */
int publish_scan_thumbs(struct publish_scan *sc);
/* The plaintext index body (files_index_body_put()); *body is malloc'd. */
int publish_scan_body(const struct publish_scan *sc, uint8_t **body, size_t *len);
/* The entry for a path (NULL if the path is invalid or not published). */
const struct publish_file *publish_scan_find(const struct publish_scan *sc, const char *path, size_t len);
/* Opens a published file to serve it: still inside root (symlinks resolved
 * again), still a regular file of the size and mtime indexed (-ESTALE if it
 * changed since; the caller re-publishes). Returns the fd or -errno. */
int publish_open(const struct publish_scan *sc, const struct publish_file *f);

#endif
