/* The published set and the pull connections it answers (pull_host.h). */
#include "daemon/files/pull_host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/files/index_fetch.h"
#include "daemon/files/index_publish.h"
#include "daemon/files/publish_scan.h"
#include "daemon/files/publish_state.h"
#include "daemon/files/pull_serve.h"
#include "daemon/files/worker.h"
#include "util/log.h"

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct publish_scan *published; /* under host_lock */
static uint8_t (*path_keys)[FILES_HASH_LEN]; /* published->files[i]'s files_pull_path_key, under host_lock */

/* Received or pulled files served by hash (pull_host_hold), under host_lock. */
static struct held_file {
	int fd; /* -1: free */
	uint8_t hash[FILES_HASH_LEN];
	uint64_t size, seq;
} held[PULL_HOST_MAX_HELD];
static uint64_t held_seq;
static bool held_ready;

static void held_init(void) /* under host_lock */
{
	if (held_ready)
		return;
	for (int i = 0; i < PULL_HOST_MAX_HELD; i++)
		held[i].fd = -1;
	held_ready = true;
}
static unsigned serving;               /* connections, under host_lock */

/* Bumped by unpublish: a scan started before it must not publish after it. */
static unsigned generation; /* under host_lock */

static unsigned generation_now(void)
{
	pthread_mutex_lock(&host_lock);
	unsigned g = generation;
	pthread_mutex_unlock(&host_lock);
	return g;
}

/* Thumbnails for the index, as many as its sealed form on the server
 * holds (index_publish.h), and the index body (malloc'd). */
static int index_body(struct publish_scan *sc, uint8_t **body, size_t *len)
{
	publish_scan_thumbs(sc);
	for (size_t i = sc->n; i-- > 0 && sc->body_len + INDEX_SEAL_OVERHEAD > INDEX_SEALED_MAX;) {
		struct publish_file *f = &sc->files[i];
		sc->body_len -= f->thumb_len;
		free(f->thumb);
		f->thumb = NULL;
		f->thumb_len = 0;
	}
	return publish_scan_body(sc, body, len);
}

/* pull_host_publish, unless an unpublish came since gen (-ECANCELED);
 * with body, the index body too (thumbnails made). */
static int publish_since(const char *dir, unsigned gen, char *bad, size_t bad_size, uint8_t **body, size_t *body_len)
{
	struct publish_scan *sc = calloc(1, sizeof(*sc));
	int ret;
	if (!sc)
		return -ENOMEM;
	ret = publish_scan_dir(dir, sc);
	if (ret == 0 && body && (ret = index_body(sc, body, body_len)) < 0)
		publish_scan_free(sc);
	if (ret < 0) {
		if (bad && bad_size)
			snprintf(bad, bad_size, "%s", sc->bad);
		free(sc);
		return ret;
	}
	uint8_t (*keys)[FILES_HASH_LEN] = malloc((sc->n ? sc->n : 1) * FILES_HASH_LEN);
	if (!keys) {
		publish_scan_free(sc);
		free(sc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sc->n; i++)
		files_pull_path_key(sc->files[i].path, strlen(sc->files[i].path), keys[i]);
	pthread_mutex_lock(&host_lock);
	struct publish_scan *old = sc;
	ret = -ECANCELED;
	if (gen == generation) {
		old = published;
		published = sc;
		uint8_t (*t)[FILES_HASH_LEN] = path_keys;
		path_keys = keys;
		keys = t;
		ret = (int)sc->n;
	}
	pthread_mutex_unlock(&host_lock);
	free(keys);
	/* A connection being served holds its own fd, never the scan. */
	if (old)
		publish_scan_free(old);
	free(old);
	return ret;
}

int pull_host_publish(const char *dir, char *bad, size_t bad_size)
{
	return publish_since(dir, generation_now(), bad, bad_size, NULL, NULL);
}

static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER; /* one scan at a time */

struct publish_job {
	unsigned gen;   /* when it was asked */
	char group[64]; /* the index goes to this group ("": every group of ours) */
	bool cache;     /* and the files' encrypted copies too */
	char dir[];
};

static void *publish_thread(void *arg)
{
	struct publish_job *job = arg;
	const char *dir = job->dir;
	char bad[FILES_INDEX_PATH_MAX + 1] = "";
	uint8_t *body = NULL;
	size_t len = 0;
	pthread_mutex_lock(&scan_lock);
	int ret = publish_since(dir, job->gen, bad, sizeof(bad), &body, &len);
	pthread_mutex_unlock(&scan_lock);
	if (ret < 0)
		log_warn("files: cannot publish %s: %s%s%s", dir, strerror(-ret), bad[0] ? ": " : "", bad);
	else
		log_info("files: published %s (%d files)", dir, ret);
	/* The index for the server, unless an unpublish came meanwhile; and
	 * kept for a restart (publish_state.h). */
	if (ret >= 0 && job->gen == generation_now()) {
		if (publish_state_set(dir, job->group, job->cache) < 0)
			log_warn("files: cannot save what is published: a restart forgets it");
		index_publish_set(body, len, job->group, job->cache);
	}
	free(body);
	free(job);
	return NULL;
}

int pull_host_publish_start(const char *dir)
{
	return pull_host_publish_to(dir, NULL, false);
}

int pull_host_publish_to(const char *dir, const char *group, bool cache)
{
	pthread_t th;
	pthread_attr_t attr;
	size_t len = strlen(dir);
	struct publish_job *copy = malloc(sizeof(*copy) + len + 1);
	int ret;
	if (!copy)
		return -ENOMEM;
	copy->gen = generation_now();
	snprintf(copy->group, sizeof(copy->group), "%s", group ? group : "");
	copy->cache = cache;
	memcpy(copy->dir, dir, len + 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = -pthread_create(&th, &attr, publish_thread, copy);
	pthread_attr_destroy(&attr);
	if (ret < 0)
		free(copy);
	return ret;
}

void pull_host_restore(int state_fd)
{
	char dir[PATH_MAX], group[64];
	bool cache;
	uint64_t seq;
	int ret = publish_state_init(state_fd, dir, sizeof(dir), group, sizeof(group), &cache, &seq);
	index_publish_seq_floor(seq);
	if (ret == -ENOENT)
		return;
	if (ret == 0) {
		log_info("files: publishing %s again (published before the restart)", dir);
		ret = pull_host_publish_to(dir, group, cache);
	}
	if (ret < 0)
		log_warn("files: cannot publish again what was published before the restart: %s", strerror(-ret));
}

void pull_host_unpublish(void)
{
	pthread_mutex_lock(&host_lock);
	struct publish_scan *old = published;
	published = NULL;
	free(path_keys);
	path_keys = NULL;
	generation++;
	pthread_mutex_unlock(&host_lock);
	if (old)
		publish_scan_free(old);
	free(old);
}

size_t pull_host_count(void)
{
	pthread_mutex_lock(&host_lock);
	size_t n = published ? published->n : 0;
	pthread_mutex_unlock(&host_lock);
	return n;
}

/* The published file with this hash opened again (publish_open's checks):
 * the fd and its size, or -ENOENT when none is published, -ESTALE/-EXDEV
 * when it changed since. */
static int open_by_hash(const uint8_t hash[FILES_HASH_LEN], uint64_t *size)
{
	int ret = -ENOENT;
	pthread_mutex_lock(&host_lock);
	for (size_t i = 0; published && i < published->n; i++) {
		const struct publish_file *f = &published->files[i];
		if (sodium_memcmp(f->hash, hash, FILES_HASH_LEN) == 0) {
			ret = publish_open(published, f);
			*size = f->size;
			break;
		}
	}
	for (int i = 0; ret == -ENOENT && held_ready && i < PULL_HOST_MAX_HELD; i++) {
		struct stat st;
		if (held[i].fd < 0 || sodium_memcmp(held[i].hash, hash, FILES_HASH_LEN) != 0)
			continue;
		/* deleted or changed since: no longer held (a write of the same
		 * size is caught by the hash when it is loaded again) */
		if (fstat(held[i].fd, &st) < 0 || st.st_nlink == 0 || (uint64_t)st.st_size != held[i].size) {
			close(held[i].fd);
			held[i].fd = -1;
			continue;
		}
		ret = fcntl(held[i].fd, F_DUPFD_CLOEXEC, 0);
		ret = ret < 0 ? -errno : ret;
		*size = held[i].size;
	}
	pthread_mutex_unlock(&host_lock);
	return ret;
}

int pull_host_hold(int fd, const uint8_t hash[FILES_HASH_LEN], uint64_t size)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0), slot = 0;
	if (copy < 0)
		return -errno;
	pthread_mutex_lock(&host_lock);
	held_init();
	for (int i = 0; i < PULL_HOST_MAX_HELD; i++) {
		if (held[i].fd >= 0 && sodium_memcmp(held[i].hash, hash, FILES_HASH_LEN) == 0) {
			slot = i; /* the newest copy replaces the older one */
			break;
		}
		if (held[i].fd < 0 || (held[slot].fd >= 0 && held[i].seq < held[slot].seq))
			slot = i;
	}
	if (held[slot].fd >= 0)
		close(held[slot].fd);
	held[slot].fd = copy;
	memcpy(held[slot].hash, hash, FILES_HASH_LEN);
	held[slot].size = size;
	held[slot].seq = ++held_seq;
	pthread_mutex_unlock(&host_lock);
	return 0;
}

size_t pull_host_held(void)
{
	size_t n = 0;
	pthread_mutex_lock(&host_lock);
	for (int i = 0; held_ready && i < PULL_HOST_MAX_HELD; i++)
		n += held[i].fd >= 0;
	pthread_mutex_unlock(&host_lock);
	return n;
}

/* LOOKUP: the published file at the path whose key r carries (its hash
 * and root), or NOT_FOUND. Only the published set answers: a path names
 * nothing among held files. */
static int answer_lookup(int sock, const struct files_pull_req *r)
{
	uint8_t out[FILES_PULL_REPLY_LEN + FILES_PULL_LOOKUP_LEN];
	struct files_pull_reply p = { FILES_PULL_LOOKUP, FILES_PULL_NOT_FOUND, 0, 0 };
	pthread_mutex_lock(&host_lock);
	for (size_t i = 0; published && path_keys && i < published->n; i++) {
		if (sodium_memcmp(path_keys[i], r->hash, FILES_HASH_LEN) == 0) {
			p = (struct files_pull_reply){ FILES_PULL_LOOKUP, FILES_PULL_OK, published->files[i].size,
						       FILES_PULL_LOOKUP_LEN };
			memcpy(out + FILES_PULL_REPLY_LEN, published->files[i].hash, FILES_HASH_LEN);
			memcpy(out + FILES_PULL_REPLY_LEN + FILES_HASH_LEN, published->files[i].root, FILES_HASH_LEN);
			break;
		}
	}
	pthread_mutex_unlock(&host_lock);
	files_pull_reply_build(out, &p);
	return xfer_write_full(sock, out, FILES_PULL_REPLY_LEN + p.payload_len);
}

int pull_host_open(const uint8_t hash[FILES_HASH_LEN], uint64_t *size)
{
	return open_by_hash(hash, size);
}

/* Chunk hashes already computed, shared by the connections serving the
 * same file (a multi-source puller connects once per holder; a puller
 * that reconnects asks again): without it each connection would read and
 * hash the whole file before its first answer. Keyed by hash and the
 * file's identity (device, inode, size, mtime and ctime to the nanosecond:
 * a write since changes the ctime); even a stale entry could not mislead a
 * puller, who checks every chunk, only waste its time. Under
 * host_lock; an entry in use (refs) is never replaced. */
static struct cached {
	uint8_t hash[FILES_HASH_LEN], root[FILES_HASH_LEN];
	uint8_t *chunk_hashes; /* NULL: free */
	uint32_t chunks;
	uint64_t used;
	struct file_id {
		dev_t dev;
		ino_t ino;
		uint64_t size;
		struct timespec mtime, ctime;
	} id;
	unsigned refs;
} cache[PULL_HOST_CACHE];
static uint64_t cache_clock, cache_hits;

/* What a connection serves: h, and the cache entry it borrows h's chunk
 * hashes from (-1: its own). */
struct serving {
	struct pull_held h;
	bool loaded;
	int entry;
};

static void release(struct serving *sv)
{
	if (!sv->loaded)
		return;
	close(sv->h.fd);
	if (sv->entry >= 0) {
		pthread_mutex_lock(&host_lock);
		cache[sv->entry].refs--;
		pthread_mutex_unlock(&host_lock);
		sv->h.chunk_hashes = NULL;
	} else {
		pull_held_free(&sv->h);
	}
	sv->loaded = false;
	sv->entry = -1;
}

static int file_id_of(int fd, struct file_id *id)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	memset(id, 0, sizeof(*id));
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = (uint64_t)st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
	return 0;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Under host_lock: the entry for (hash, id) borrowed into sv, 1; 0 if none. */
static int cache_borrow(struct serving *sv, const uint8_t hash[FILES_HASH_LEN], const struct file_id *id)
{
	uint64_t size = id->size;
	for (int i = 0; i < PULL_HOST_CACHE; i++) {
		struct cached *c = &cache[i];
		if (c->chunk_hashes && file_id_eq(&c->id, id) && sodium_memcmp(c->hash, hash, FILES_HASH_LEN) == 0) {
			c->refs++;
			c->used = ++cache_clock;
			cache_hits++;
			sv->h.size = size;
			sv->h.chunks = c->chunks;
			sv->h.chunk_hashes = c->chunk_hashes;
			memcpy(sv->h.hash, hash, FILES_HASH_LEN);
			memcpy(sv->h.root, c->root, FILES_HASH_LEN);
			sv->entry = i;
			return 1;
		}
	}
	return 0;
}

/* Under host_lock: sv's own chunk hashes handed to the cache, in a free
 * entry or the least recently used one not in use (else sv keeps them). */
static void cache_give(struct serving *sv, const struct file_id *id)
{
	int best = -1;
	for (int i = 0; i < PULL_HOST_CACHE; i++) {
		if (cache[i].refs == 0 && (best < 0 || !cache[i].chunk_hashes ||
					   (cache[best].chunk_hashes && cache[i].used < cache[best].used)))
			best = i;
	}
	if (best < 0)
		return;
	struct cached *c = &cache[best];
	free(c->chunk_hashes);
	memcpy(c->hash, sv->h.hash, FILES_HASH_LEN);
	memcpy(c->root, sv->h.root, FILES_HASH_LEN);
	c->chunk_hashes = sv->h.chunk_hashes;
	c->chunks = sv->h.chunks;
	c->id = *id;
	c->used = ++cache_clock;
	c->refs = 1;
	sv->entry = best;
}

/* Makes sv the file asked for by r (opened once per connection and hash):
 * 0, or -errno when it is not served (the reply is then NOT_FOUND). */
static int hold(struct serving *sv, const struct files_pull_req *r)
{
	uint64_t size = 0;
	if (sv->loaded && sodium_memcmp(sv->h.hash, r->hash, FILES_HASH_LEN) == 0)
		return 0;
	release(sv);
	int fd = open_by_hash(r->hash, &size);
	if (fd < 0)
		return fd;
	struct file_id id;
	int found = 0;
	bool have_id = file_id_of(fd, &id) == 0;
	if (have_id) {
		pthread_mutex_lock(&host_lock);
		found = cache_borrow(sv, r->hash, &id);
		pthread_mutex_unlock(&host_lock);
	}
	if (!found) {
		int ret = pull_held_load(&sv->h, fd, size, r->hash);
		if (ret < 0) {
			close(fd);
			return ret;
		}
		/* unchanged while it was hashed: else not worth keeping */
		struct file_id after;
		if (have_id && file_id_of(fd, &after) == 0 && file_id_eq(&id, &after) && id.size == size) {
			pthread_mutex_lock(&host_lock);
			cache_give(sv, &id);
			pthread_mutex_unlock(&host_lock);
		}
	}
	sv->h.fd = fd;
	sv->loaded = true;
	return 0;
}

uint64_t pull_host_cache_hits(void)
{
	pthread_mutex_lock(&host_lock);
	uint64_t n = cache_hits;
	pthread_mutex_unlock(&host_lock);
	return n;
}

void pull_host_serve(int sock, const uint8_t first[4])
{
	uint8_t buf[FILES_PULL_REQ_LEN];
	struct files_pull_req r;
	struct serving sv = { .loaded = false, .entry = -1 };
	bool busy;

	pthread_mutex_lock(&host_lock);
	busy = serving >= PULL_HOST_MAX_CONNS;
	if (!busy)
		serving++;
	pthread_mutex_unlock(&host_lock);
	/* One over the cap answers BUSY to its first request, if it comes at
	 * once: a flood of connections holds threads for a second each. */
	xfer_set_timeouts(sock, busy ? 1 : PULL_HOST_TIMEOUT_S);
	memcpy(buf, first, 4);
	for (unsigned n = 0; n < PULL_HOST_MAX_REQUESTS; n++) {
		if (xfer_read_full(sock, buf + (n ? 0 : 4), sizeof(buf) - (n ? 0 : 4)) < 0 ||
		    files_pull_req_parse(buf, sizeof(buf), &r) < 0)
			break;
		if (busy) {
			uint8_t out[FILES_PULL_REPLY_LEN];
			struct files_pull_reply p = { r.type, FILES_PULL_BUSY, 0, 0 };
			files_pull_reply_build(out, &p);
			xfer_write_full(sock, out, sizeof(out));
			break;
		}
		if (r.type == FILES_PULL_LOOKUP) {
			if (answer_lookup(sock, &r) < 0)
				break;
			continue;
		}
		int ret = hold(&sv, &r);
		if (ret < 0 && ret != -ENOENT)
			log_info("files: not serving a published file: %s (publish again)", strerror(-ret));
		if (pull_serve_request(sock, &r, ret < 0 ? NULL : &sv.h) < 0)
			break;
	}
	release(&sv);
	if (!busy) {
		pthread_mutex_lock(&host_lock);
		serving--;
		pthread_mutex_unlock(&host_lock);
	}
}

void pull_host_free(void)
{
	pull_host_unpublish();
	pthread_mutex_lock(&host_lock);
	for (int i = 0; held_ready && i < PULL_HOST_MAX_HELD; i++) {
		if (held[i].fd >= 0)
			close(held[i].fd);
		held[i].fd = -1;
	}
	for (int i = 0; i < PULL_HOST_CACHE; i++) {
		if (cache[i].refs == 0) {
			free(cache[i].chunk_hashes);
			cache[i].chunk_hashes = NULL;
		}
	}
	pthread_mutex_unlock(&host_lock);
}
