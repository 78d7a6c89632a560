/* The puller's side of a PULL (files/pull.h): one file from several holders
 * at once over connected sockets, the chunk tree fetched and checked against
 * the root the sealed index gives, each chunk checked before it is written,
 * the whole file's hash checked at the end. Requests are pipelined per
 * holder (lib/files/sources.c sizes each holder's window to its rate). A
 * blocking call for a thread of the file worker. Memory: the chunk hashes
 * (32 bytes per 64 KiB chunk: 512 KiB per GiB) and one chunk per holder. */
#ifndef ROAM_DAEMON_FILES_PULL_FETCH_H
#define ROAM_DAEMON_FILES_PULL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "files/pull.h"
#include "files/sources.h"

struct pull_fetch {
	/* in */
	uint8_t hash[FILES_HASH_LEN]; /* the whole file's */
	uint8_t root[FILES_HASH_LEN]; /* its chunk tree's (from the index) */
	uint64_t size;
	int out_fd;                   /* written with pwrite at each chunk's offset */
	int socks[FILES_SRC_MAX];     /* connected to the holders; closed by the caller */
	unsigned n;
	int timeout_ms;               /* a holder silent this long with requests out is dropped */
	/* A resumed pull: the chunks already in out_fd that check against the
	 * tree are kept (read and hashed once the tree is in). Nothing else is
	 * trusted: a part left by a crash, even a power loss, can only hold
	 * chunks that verify or are fetched again. */
	bool resume;
	/* Called after the tree is in and after each chunk written (and at
	 * least every 100 ms): a negative return stops the pull with it. */
	int (*progress)(void *ctx, const struct files_sched *s);
	void *ctx;
	/* out */
	struct files_sched sched;     /* per-source chunks, bytes, rate, state */
};

/* 0 once every chunk is written and the file hashes to `hash`; -EIO when
 * no holder is left, -EBADMSG when the whole file does not hash right,
 * or what progress returned. */
int pull_fetch_run(struct pull_fetch *f);

#endif
