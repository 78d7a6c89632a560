/* Views as deltas (docs/architecture.md, "100 000 nodes"; the protocol in
 * docs/control-protocol.md, "View versions"). Every change the server
 * pushes gets the next sequence number of this server's epoch; a node
 * keeps the last version it was sent ("EPOCH.SEQ", hex) and opens its next
 * stream with it, and gets only the peers pushed since (their view_seq),
 * the removals since (a bounded log, with the groups the removed node had,
 * so nobody hears of a node outside its groups), and a "view" line. A
 * version of another epoch, older than the log, older than the node's own
 * last wholesale change (its groups), or from the future: the full view. */
#ifndef ROAM_SERVER_VIEW_H
#define ROAM_SERVER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/json.h"

struct event;

#define VIEW_LOG_MAX 4096 /* removals remembered; beyond, older versions get full views */

struct view_removal {
	uint64_t seq;
	uint8_t public_key[COORD_KEY_LEN];
	uint8_t groups_count;
	uint32_t groups[COORD_GROUPS_MAX]; /* the removed node's groups before the change, ascending */
};

struct srv_view {
	uint64_t epoch; /* random per run: a version from another run or server is not ours */
	uint64_t seq;   /* the last one issued */
	uint64_t floor; /* a version below this gets the full view (log evicted, overflow) */
	struct view_removal *log; /* ring of VIEW_LOG_MAX */
	size_t head, count;
	uint64_t deltas, full_views, delta_lines; /* for the stats */
	uint64_t pushes_skipped;                  /* a peer line equal to the last one pushed */
	/* After a restart (view_state.c): versions in [gap_lo, gap_hi) were
	 * issued after the last save and are void. */
	uint64_t gap_lo, gap_hi;
	uint64_t ceiling, saved_seq; /* view_state.c: no seq at or above ceiling was ever issued */
	int journal_fd;              /* view_state.c: each push appended; < 0: none */
	unsigned ticks;              /* view_state.c: save ticks since the last snapshot */
	/* view_state.c: the window after a restart that kept the versions */
	bool restarted;
	int64_t restart_until;
	struct event *batch_ev, *save_ev;
	uint32_t *pending; /* node ids whose push waits for the batch */
	size_t pending_count, pending_cap;
};

int view_init(struct srv_view *v);
void view_free(struct srv_view *v);
uint64_t view_next(struct srv_view *v);
/* Text of (epoch, seq) into buf (COORD_VIEW_VERSION_MAX + 1). */
void view_format(const struct srv_view *v, uint64_t seq, char *buf, size_t size);
/* The seq of a version of this epoch that a delta can start from; false:
 * the full view. */
bool view_parse_since(const struct srv_view *v, const char *text, uint64_t *since);
/* A node that some viewers may lose sight of (removed, regrouped,
 * unapproved): remembered with its groups before the change. Returns its seq. */
uint64_t view_log_removal(struct srv_view *v, const uint8_t public_key[COORD_KEY_LEN], const uint32_t *groups,
			  size_t groups_count);
/* Every version issued so far is void (the full view for all). */
void view_reset_all(struct srv_view *v);
/* Call cb for each removal after since, oldest first. */
void view_foreach_removal(const struct srv_view *v, uint64_t since,
			  void (*cb)(void *ctx, const struct view_removal *r), void *ctx);

/* FNV-1a, for equality only (no adversary gains from a collision: a node
 * could only hide its own change). */
uint64_t view_hash(const void *data, size_t len, uint64_t h);
#define VIEW_HASH_INIT 0xcbf29ce484222325ull
/* A rendered peer object's hash without its "last_seen" (which moves
 * without news for its viewers): an equal one need not be pushed again. */
uint64_t view_peer_hash(const char *peer_json);

#endif
