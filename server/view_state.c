/* View versions that survive a restart (docs/architecture.md, "100 000
 * nodes"). STATE/view.state holds this server's epoch, a ceiling no issued
 * seq reached, and per node the version and hash of its last pushed peer
 * line, with a digest of every node's record. A restart that finds the same
 * records keeps the epoch: nodes come back with the version they hold and
 * get only what changed, and a node back as it was pushes nothing. Between
 * two saves every push is appended to STATE/view.journal (a write, no
 * fsync: a killed server loses nothing, a machine that loses power loses
 * the tail, whose versions are then void: view.h's gap). Everything is void
 * when the records changed meanwhile (an admin command, another server).
 *
 * For lifetime + grace after such a restart (the nodes coming back), pushes
 * are held VIEW_RESTART_BATCH_MS and sent once for whatever changed in that
 * time, and a node on its way back (not bound and streaming yet) is not
 * pushed: register, endpoints, binding make one line, or none when it is
 * back as it was. At its end, the nodes not back are pushed (offline). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/server.h"
#include "util/log.h"

#define VIEW_STATE_MAGIC "roamvw1"
#define VIEW_CEILING_STEP (1ull << 32)
#define VIEW_RESTART_BATCH_MS 250
/* The snapshot (100 000 nodes: ~3 MB, ~10 ms) every VIEW_SNAPSHOT_TICKS
 * ticks when something was pushed, the journal in between; at the next tick
 * when a record changed (the journal has no records: until the snapshot,
 * every version would be void after a crash). */
#define VIEW_SAVE_MS 1000
#define VIEW_SNAPSHOT_TICKS 5

struct view_file_head {
	char magic[8];
	uint64_t epoch, saved_seq, ceiling, floor, digest, count;
};

struct view_file_node {
	uint32_t id, pad;
	uint64_t seq, reset, hash;
};

/* Everything the nodes' records say that a viewer's view depends on: kept
 * up to date by the directory (dir_record_hash), not a walk of every node
 * at each snapshot (~2 % of a core with 100 000 nodes). */
static uint64_t records_digest(const struct directory *d)
{
	return d->records_sum;
}

static uint64_t removal_floor(const struct srv_view *v)
{
	uint64_t last = v->count ? v->log[(v->head + v->count - 1) % VIEW_LOG_MAX].seq : 0;

	/* The log does not survive: a version before its last entry is void. */
	return last > v->floor ? last : v->floor;
}

/* The journal starts empty after each snapshot. */
static void journal_reset(struct server *s)
{
	char path[SERVER_PATH_MAX];

	if (s->view.journal_fd >= 0) {
		if (ftruncate(s->view.journal_fd, 0) == 0)
			return;
		close(s->view.journal_fd);
	}
	s->view.journal_fd = -1;
	if (identity_path(path, s->cfg.state_dir, "view.journal") == 0)
		s->view.journal_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

void view_state_journal(struct server *s, const struct dir_node *n)
{
	struct view_file_node e = { .id = n->rec.id, .seq = n->view_seq, .reset = n->view_reset_seq, .hash = n->view_hash };

	if (s->view.journal_fd < 0)
		return;
	if (write(s->view.journal_fd, &e, sizeof(e)) != (ssize_t)sizeof(e)) {
		/* No later entry may follow a lost one: none until the next save. */
		close(s->view.journal_fd);
		s->view.journal_fd = -1;
	}
}

/* The pushes after the snapshot, in order; returns the last seq applied. */
static uint64_t journal_replay(struct server *s, uint64_t saved, uint64_t ceiling)
{
	char path[SERVER_PATH_MAX];
	struct view_file_node e;
	FILE *f;

	if (identity_path(path, s->cfg.state_dir, "view.journal") < 0 || !(f = fopen(path, "re")))
		return saved;
	while (fread(&e, sizeof(e), 1, f) == 1 && e.seq < ceiling && e.reset < ceiling) {
		struct dir_node *n = dir_node_get(&s->dir, e.id);
		if (n && e.seq >= n->view_seq) {
			n->view_seq = e.seq;
			n->view_reset_seq = e.reset;
			n->view_hash = e.hash;
		}
		if (e.seq > saved)
			saved = e.seq;
	}
	fclose(f);
	return saved;
}

int view_state_save(struct server *s)
{
	char path[SERVER_PATH_MAX], tmp[SERVER_PATH_MAX + 8];
	struct srv_view *v = &s->view;
	struct view_file_head head = { .magic = VIEW_STATE_MAGIC };
	struct view_file_node *nodes;
	size_t count = 0;
	FILE *f;
	int r = 0, fd;

	if (!s->store || identity_path(path, s->cfg.state_dir, "view.state") < 0)
		return -EINVAL;
	if (v->seq + VIEW_CEILING_STEP / 2 > v->ceiling)
		v->ceiling = v->seq + VIEW_CEILING_STEP;
	if (!(nodes = calloc(s->dir.count ? s->dir.count : 1, sizeof(*nodes))))
		return -ENOMEM;
	for (size_t id = 0; id < s->dir.by_id_cap && count < s->dir.count; id++) {
		const struct dir_node *n = s->dir.by_id[id];
		if (n && (n->view_seq || n->view_reset_seq || n->view_hash))
			nodes[count++] = (struct view_file_node){ .id = n->rec.id, .seq = n->view_seq,
								  .reset = n->view_reset_seq, .hash = n->view_hash };
	}
	head.epoch = v->epoch;
	head.saved_seq = v->seq;
	head.ceiling = v->ceiling;
	head.floor = removal_floor(v);
	head.digest = records_digest(&s->dir);
	head.count = count;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (fwrite(&head, sizeof(head), 1, f) != 1 || (count && fwrite(nodes, sizeof(*nodes), count, f) != count))
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -EIO;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
	} else {
		v->saved_seq = v->seq;
		v->ticks = 0;
		s->dir.records_changed = false;
		journal_reset(s);
	}
out:
	free(nodes);
	if (r)
		log_warn("%s: %s", path, strerror(-r));
	return r;
}

static int view_state_read(struct server *s, const char *path)
{
	struct srv_view *v = &s->view;
	struct view_file_head head;
	struct view_file_node e;
	FILE *f = fopen(path, "re");
	int r = -EBADMSG;

	if (!f)
		return -errno;
	if (fread(&head, sizeof(head), 1, f) != 1 || memcmp(head.magic, VIEW_STATE_MAGIC, 8) != 0 ||
	    head.count > s->dir.by_id_cap || head.saved_seq >= head.ceiling || head.floor > head.saved_seq)
		goto out;
	if (head.digest != records_digest(&s->dir)) {
		r = -ESTALE; /* records changed while we were away */
		goto out;
	}
	for (uint64_t i = 0; i < head.count; i++) {
		struct dir_node *n;
		if (fread(&e, sizeof(e), 1, f) != 1 || e.seq > head.saved_seq || e.reset > head.saved_seq)
			goto out;
		if ((n = dir_node_get(&s->dir, e.id))) {
			n->view_seq = e.seq;
			n->view_reset_seq = e.reset;
			n->view_hash = e.hash;
		}
	}
	v->epoch = head.epoch;
	v->floor = head.floor;
	v->gap_lo = journal_replay(s, head.saved_seq, head.ceiling) + 1;
	v->gap_hi = head.ceiling;
	v->seq = head.ceiling;
	r = 0;
out:
	fclose(f);
	return r;
}

static void restart_batch(evutil_socket_t fd, short what, void *arg);

int view_state_load(struct server *s)
{
	char path[SERVER_PATH_MAX];
	int r;

	if ((r = identity_path(path, s->cfg.state_dir, "view.state")) < 0)
		return r;
	r = view_state_read(s, path);
	if (r < 0) {
		/* A fresh epoch (view_init's): every version nodes hold is void. */
		for (size_t id = 0; id < s->dir.by_id_cap; id++) {
			struct dir_node *n = s->dir.by_id[id];
			if (n)
				n->view_seq = n->view_reset_seq = n->view_hash = 0;
		}
		if (r != -ENOENT)
			log_info("%s: %s: nodes get their whole view", path, r == -ESTALE ? "records changed" : "unusable");
	} else {
		s->view.restarted = true;
		log_info("view versions kept across the restart (%zu nodes)", s->dir.count);
	}
	s->view.ceiling = s->view.seq;
	return view_state_save(s);
}

/* --- the restart window --- */

static void restart_flush(struct server *s)
{
	struct srv_view *v = &s->view;
	uint32_t *ids = v->pending;
	size_t count = v->pending_count;

	v->pending = NULL;
	v->pending_count = v->pending_cap = 0;
	for (size_t i = 0; i < count; i++) {
		struct dir_node *n = dir_node_get(&s->dir, ids[i]);
		if (!n || !n->push_pending)
			continue;
		n->push_pending = false;
		/* Registered, not bound or not streaming yet: on its way back
		 * (register, bind, endpoints, stream), not news yet; the line
		 * once it is back is (the window's end pushes the others). */
		if (!n->view_back && !(n->online && n->stream))
			continue;
		n->view_back = true;
		server_push_peer_now(s, n);
	}
	free(ids);
}

static void restart_batch(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	int64_t now = server_wall_now();

	(void)fd;
	(void)what;
	restart_flush(s);
	if (now < s->view.restart_until)
		return;
	/* The window ends: those still away are offline for their viewers
	 * (those that were offline before push nothing: the same line). */
	s->view.restarted = false;
	event_del(s->view.batch_ev);
	for (size_t id = 0; id < s->dir.by_id_cap; id++) {
		struct dir_node *n = s->dir.by_id[id];
		if (n && !n->view_back) {
			n->push_pending = false;
			server_push_peer_now(s, n);
		}
	}
	log_info("restart window over: %llu unchanged peer lines not pushed",
		 (unsigned long long)s->view.pushes_skipped);
}

static void save_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (s->dir.records_changed || (s->view.seq != s->view.saved_seq && ++s->view.ticks >= VIEW_SNAPSHOT_TICKS))
		view_state_save(s);
}

int view_state_start(struct server *s)
{
	struct timeval tv = { 0, VIEW_RESTART_BATCH_MS * 1000 }, save = { VIEW_SAVE_MS / 1000, (VIEW_SAVE_MS % 1000) * 1000 };

	if (!s->store)
		return 0;
	s->view.save_ev = event_new(s->base, -1, EV_PERSIST, save_tick, s);
	if (!s->view.save_ev || event_add(s->view.save_ev, &save) < 0)
		return -ENOMEM;
	if (!s->view.restarted)
		return 0;
	s->view.restart_until = server_wall_now() + (int64_t)(s->cfg.binding_lifetime_s + s->cfg.grace_s);
	s->view.batch_ev = event_new(s->base, -1, EV_PERSIST, restart_batch, s);
	if (!s->view.batch_ev || event_add(s->view.batch_ev, &tv) < 0)
		return -ENOMEM;
	return 0;
}

bool view_state_defer(struct server *s, struct dir_node *n)
{
	struct srv_view *v = &s->view;

	if (!v->restarted)
		return false;
	if (n->push_pending)
		return true;
	if (v->pending_count == v->pending_cap) {
		size_t cap = v->pending_cap ? v->pending_cap * 2 : 1024;
		uint32_t *p = realloc(v->pending, cap * sizeof(*p));
		if (!p)
			return false; /* push it now */
		v->pending = p;
		v->pending_cap = cap;
	}
	v->pending[v->pending_count++] = n->rec.id;
	n->push_pending = true;
	return true;
}

void view_state_close(struct server *s)
{
	if (s->store && s->view.log)
		view_state_save(s);
	if (s->view.journal_fd >= 0)
		close(s->view.journal_fd);
	s->view.journal_fd = -1;
	if (s->view.batch_ev)
		event_free(s->view.batch_ev);
	if (s->view.save_ev)
		event_free(s->view.save_ev);
	s->view.batch_ev = s->view.save_ev = NULL;
	free(s->view.pending);
	s->view.pending = NULL;
	s->view.pending_count = s->view.pending_cap = 0;
	/* What the rest of server_close does (relay links closing: their
	 * nodes' presence changes) defers nothing from here on: no batch
	 * would send it, and its list would leak. */
	s->view.restarted = false;
}
