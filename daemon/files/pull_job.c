/* `roam pull` in the file worker (pull_job.h): one thread per pull, at
 * most PULL_JOB_MAX at once. It finds the holders among the peers we share
 * a group with (the publisher first; each asked for the file's TREE: a
 * NOT_FOUND means it does not hold it), pulls from all of them at once
 * (pull_fetch.c), and places the file like a push does: never over an
 * existing file, free space checked first, in the inbox (INBOX/PEER/) or
 * the directory the monitor opened for it. The part stays after any break
 * and a pull of the same file continues it (its verified chunks kept). */
#include "daemon/files/pull_job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/index_fetch.h"
#include "daemon/files/pull_fetch.h"
#include "daemon/files/pull_host.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define CONNECT_MS 3000
#define PROBE_S 5
#define SPACE_RESERVE (16ull << 20)
#define HOLDER_TIMEOUT_MS 10000

struct cand {
	char name[64];
	struct ip_prefix addrs[2];
	int n;
};

/* Peers to ask, the publisher first, at most PULL_JOB_CANDIDATES. */
static unsigned candidates(struct worker *w, const char *publisher, struct cand *out)
{
	unsigned n = 0;
	pthread_mutex_lock(&w->lock);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < w->n_peers; i++) {
			const struct worker_peer *p = &w->peers[i];
			bool is_pub = strcmp(p->name, publisher) == 0;
			if (pass == 0 ? !is_pub : is_pub)
				continue;
			unsigned k = 0;
			while (k < n && strcmp(out[k].name, p->name) != 0)
				k++;
			if (k == n) {
				if (n == PULL_JOB_CANDIDATES)
					continue;
				memset(&out[n], 0, sizeof(out[n]));
				snprintf(out[n].name, sizeof(out[n].name), "%s", p->name);
				n++;
			}
			if (out[k].n < 2)
				out[k].addrs[out[k].n++] = p->addr;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

static int connect_start(const struct ip_prefix *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	worker_sockaddr_of(a, FILES_PUSH_PORT, &ss, &len);
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* One address of every candidate at once (k: which), for those still
 * without a connection: socks[i] connected to candidate i, or -1. */
static void connect_round(const struct cand *c, unsigned n, int k, int *socks, int ms)
{
	struct pollfd pfd[PULL_JOB_CANDIDATES];
	unsigned owner[PULL_JOB_CANDIDATES], np = 0;
	for (unsigned i = 0; i < n; i++) {
		int fd = socks[i] < 0 && k < c[i].n ? connect_start(&c[i].addrs[k]) : -1;
		if (fd >= 0) {
			pfd[np] = (struct pollfd){ .fd = fd, .events = POLLOUT };
			owner[np++] = i;
		}
	}
	uint64_t end = worker_now_ns() + (uint64_t)ms * 1000000u;
	for (unsigned left = np; left > 0;) {
		uint64_t now = worker_now_ns();
		if (now >= end || poll(pfd, np, (int)((end - now) / 1000000u) + 1) < 0)
			break;
		for (unsigned j = 0; j < np; j++) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (pfd[j].fd < 0 || !pfd[j].revents)
				continue;
			getsockopt(pfd[j].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err == 0) {
				socks[owner[j]] = pfd[j].fd;
				int fl = fcntl(pfd[j].fd, F_GETFL);
				fcntl(pfd[j].fd, F_SETFL, fl & ~O_NONBLOCK);
			} else {
				close(pfd[j].fd);
			}
			pfd[j].fd = -1;
			left--;
		}
	}
	for (unsigned j = 0; j < np; j++)
		if (pfd[j].fd >= 0)
			close(pfd[j].fd);
}

/* Every candidate at once, its first address (IPv6 when it has one), then
 * the other for those that did not answer: one connection per peer (two
 * would each cost the holder a thread). */
static void connect_all(const struct cand *c, unsigned n, int *socks)
{
	for (unsigned i = 0; i < n; i++)
		socks[i] = -1;
	connect_round(c, n, 0, socks, CONNECT_MS / 2);
	connect_round(c, n, 1, socks, CONNECT_MS / 2);
}

/* One request and its reply; the payload (exactly the reply's length, at
 * most cap) into out. The reply's status, or -errno. */
static int exchange(int sock, const struct files_pull_req *r, struct files_pull_reply *p, uint8_t *out, size_t cap)
{
	uint8_t req[FILES_PULL_REQ_LEN], rep[FILES_PULL_REPLY_LEN];
	files_pull_req_build(req, r);
	int ret = xfer_write_full(sock, req, sizeof(req));
	if (ret == 0)
		ret = xfer_read_full(sock, rep, sizeof(rep));
	if (ret == 0)
		ret = files_pull_reply_parse(rep, sizeof(rep), p);
	if (ret == 0 && (p->type != r->type || p->payload_len > cap))
		ret = -EBADMSG;
	if (ret == 0 && p->payload_len)
		ret = xfer_read_full(sock, out, p->payload_len);
	return ret < 0 ? ret : (int)p->status;
}

/* The publisher's answer for x->lookup: hash, root and size into x. */
static int lookup(struct xfer *x, int sock)
{
	struct files_pull_req r = { FILES_PULL_LOOKUP, { 0 }, FILES_CHUNK_DEFAULT, 0, 0 };
	struct files_pull_reply p;
	uint8_t out[FILES_PULL_LOOKUP_LEN];
	files_pull_path_key(x->lookup, strlen(x->lookup), r.hash);
	int ret = exchange(sock, &r, &p, out, sizeof(out));
	if (ret != FILES_PULL_OK)
		return ret < 0 ? ret : -ENOENT;
	if (p.payload_len != FILES_PULL_LOOKUP_LEN)
		return -EBADMSG;
	pthread_mutex_lock(&xfer_worker->lock);
	memcpy(x->hash, out, FILES_HASH_LEN);
	memcpy(x->root, out + FILES_HASH_LEN, FILES_HASH_LEN);
	x->size = p.size;
	x->lookup[0] = '\0';
	worker_changed(xfer_worker, x);
	pthread_mutex_unlock(&xfer_worker->lock);
	return 0;
}

/* Does the peer on sock hold x's file? Its TREE (read and dropped: the
 * fetch asks for it again, from the first holder, and checks it). */
static bool holds(const struct xfer *x, int sock)
{
	struct files_pull_req r = { FILES_PULL_TREE, { 0 }, FILES_CHUNK_DEFAULT, 0, 0 };
	struct files_pull_reply p;
	size_t cap = (size_t)FILES_TREE_MAX_GROUPS * FILES_HASH_LEN; /* 128 KiB */
	uint8_t *groups = malloc(cap);
	memcpy(r.hash, x->hash, FILES_HASH_LEN);
	bool yes = groups && exchange(sock, &r, &p, groups, cap) == FILES_PULL_OK && p.size == x->size;
	free(groups);
	return yes;
}

/* x->lookup in the publisher's sealed index from the server (works while
 * it is offline): 0 with hash, root and size set; -ENOENT when the index
 * has no such path; index_fetch's error else. */
static int from_index(struct xfer *x)
{
	struct files_index *ix = NULL;
	uint32_t id = 0;
	pthread_mutex_lock(&xfer_worker->lock);
	for (size_t i = 0; i < xfer_worker->n_peers && !id; i++)
		if (strcmp(xfer_worker->peers[i].name, x->peer) == 0)
			id = xfer_worker->peers[i].id;
	pthread_mutex_unlock(&xfer_worker->lock);
	int ret = id ? index_fetch(xfer_worker, id, &ix) : -ESRCH;
	if (ret == -ENOENT)
		ret = -ESRCH; /* not in our view (yet, after a restart): not final */
	const struct files_index_entry *e = ret == 0 ? files_index_find(ix, x->lookup, strlen(x->lookup)) : NULL;
	if (ret == 0 && !e)
		ret = -ENOENT;
	if (e) {
		pthread_mutex_lock(&xfer_worker->lock);
		memcpy(x->hash, e->hash, FILES_HASH_LEN);
		memcpy(x->root, e->root, FILES_HASH_LEN);
		x->size = e->size;
		x->lookup[0] = '\0';
		if (e->cached) { /* the copy's id and key: for a pull while no holder is online */
			x->cached = true;
			x->publisher_id = id;
			x->cache_e = *e;
			x->cache_e.path = NULL;
			x->cache_e.thumb = NULL;
		}
		worker_changed(xfer_worker, x);
		pthread_mutex_unlock(&xfer_worker->lock);
	}
	if (ix)
		files_index_free(ix);
	return ret;
}

struct found {
	int socks[FILES_SRC_MAX];
	char names[FILES_SRC_MAX][64];
	unsigned n;
	bool publisher_online;
};

/* The holders of x's file among the candidates, the publisher first. */
static int find_holders(struct xfer *x, struct found *h, char *why, size_t why_size)
{
	struct cand c[PULL_JOB_CANDIDATES];
	int socks[PULL_JOB_CANDIDATES];
	unsigned n = candidates(xfer_worker, x->peer, c);
	bool pub_known = n > 0 && strcmp(c[0].name, x->peer) == 0;
	h->n = 0;
	connect_all(c, n, socks);
	h->publisher_online = pub_known && socks[0] >= 0;
	int ret = 0;
	if (x->lookup[0]) { /* by path: the sealed index says which file, else the publisher */
		int ir = from_index(x);
		ret = ir == 0 ? 0 : h->publisher_online ? (xfer_set_timeouts(socks[0], PROBE_S), lookup(x, socks[0]))
					       : ir == -ENOENT ? -ENOENT : -EHOSTUNREACH;
		if (ret == -ENOENT)
			snprintf(why, why_size, "%s publishes no file at that path", x->peer);
		else if (ret < 0)
			snprintf(why, why_size, "%s is offline and its index cannot say (%s)", x->peer,
				 ir == -ESRCH ? "not in our view" : index_fetch_strerror(ir));
	}
	for (unsigned i = 0; i < n; i++) {
		if (socks[i] < 0)
			continue;
		xfer_set_timeouts(socks[i], PROBE_S);
		if (ret == 0 && h->n < FILES_SRC_MAX && holds(x, socks[i])) {
			h->socks[h->n] = socks[i];
			memcpy(h->names[h->n++], c[i].name, sizeof(h->names[0])); /* both 64, NUL-terminated */
		} else {
			close(socks[i]);
		}
	}
	if (ret == 0 && h->n == 0)
		snprintf(why, why_size, "no holder online (%s %s)", x->peer,
			 !pub_known ? "shares no group with us" : h->publisher_online ? "does not hold it" : "is offline");
	return ret < 0 ? ret : h->n ? 0 : -EHOSTUNREACH;
}

struct progress_ctx {
	struct xfer *x;
	const struct found *h;
};

/* Each turn of the fetch: bytes, sources and their rates into the table;
 * a cancel stops it. */
static int on_progress(void *arg, const struct files_sched *s)
{
	struct progress_ctx *pc = arg;
	struct xfer *x = pc->x;
	uint64_t done = (uint64_t)s->done * s->chunk_size;
	pthread_mutex_lock(&xfer_worker->lock);
	if (!x->run_started) { /* the rate counts from what the part already had */
		x->run_started = true;
		x->run_start_bytes = done < x->size ? done : x->size;
		x->run_start_ns = worker_now_ns();
	}
	x->done = done < x->size ? done : x->size;
	x->n_src = pc->h->n;
	for (unsigned i = 0; i < pc->h->n; i++) {
		struct xfer_src *o = &x->src[i];
		snprintf(o->peer, sizeof(o->peer), "%s", pc->h->names[i]);
		o->bytes = s->src[i].bytes;
		o->rate = files_sched_rate(s, i);
		o->active = s->src[i].state == FILES_SRC_ACTIVE;
	}
	worker_changed(xfer_worker, x);
	bool stop = x->cancel;
	pthread_mutex_unlock(&xfer_worker->lock);
	return stop ? -ECANCELED : 0;
}

/* The directory to write in: the monitor's (dest_fd), else INBOX/PEER. */
static int open_dir(struct xfer *x)
{
	if (x->dest_fd >= 0) {
		int fd = fcntl(x->dest_fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	snprintf(x->dir, sizeof(x->dir), "%s", x->peer);
	return xfer_sender_dir(x);
}

/* Fetches into the part, from the holders (h) or the server's copy (h
 * NULL), and places it: 0, or -errno with why. */
static int fetch(struct xfer *x, struct found *h, int dirfd, char *why, size_t why_size)
{
	char part[48], final[FILES_NAME_MAX + 1];
	struct stat st;
	struct statvfs sv;
	memcpy(part, ".pull-", 7);
	sodium_bin2hex(part + 6, sizeof(part) - 6, x->hash, 8);
	strcat(part, ".part");
	int fd = openat(dirfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640), ret;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = fd < 0 ? -errno : -EINVAL;
		snprintf(why, why_size, "cannot write %s there: %s", part, strerror(-ret));
		goto out;
	}
	uint64_t have = (uint64_t)st.st_blocks * 512;
	if (fstatvfs(fd, &sv) < 0 ||
	    (uint64_t)sv.f_bavail * sv.f_frsize + (have < x->size ? have : x->size) < x->size + SPACE_RESERVE) {
		ret = -ENOSPC;
		snprintf(why, why_size, "not enough free space for it");
		goto out;
	}
	if (st.st_size > 0)
		log_info("files: continuing the pull of %s (%lld bytes there)", x->name, (long long)st.st_size);
	if (!h) { /* no holder online: the server's encrypted copy (pull_cache.c) */
		ret = pull_cache_run(x, fd, (uint64_t)st.st_size, why, why_size);
	} else {
		struct pull_fetch f = { .size = x->size, .out_fd = fd, .n = h->n, .timeout_ms = HOLDER_TIMEOUT_MS,
					.resume = st.st_size > 0, .progress = on_progress };
		struct progress_ctx pc = { x, h };
		f.ctx = &pc;
		memcpy(f.hash, x->hash, FILES_HASH_LEN);
		memcpy(f.root, x->root, FILES_HASH_LEN);
		memcpy(f.socks, h->socks, sizeof(f.socks));
		ret = pull_fetch_run(&f);
		if (ret < 0)
			snprintf(why, why_size, "%s", ret == -EIO ? "every holder went away (pulling again continues it)"
						      : ret == -EBADMSG ? "the file does not hash to what was asked"
									: strerror(-ret));
	}
	if (ret < 0) {
		if (ret == -EBADMSG)
			unlinkat(dirfd, part, 0);
		goto out;
	}
	if (ftruncate(fd, (off_t)x->size) < 0 || fsync(fd) < 0 ||
	    (ret = xfer_place(dirfd, part, x->name, final, sizeof(final))) < 0) {
		ret = ret < 0 ? ret : -errno;
		snprintf(why, why_size, "cannot move it into place: %s", strerror(-ret));
		goto out;
	}
	pull_host_hold(fd, x->hash, x->size); /* a holder for the next puller */
	pthread_mutex_lock(&xfer_worker->lock);
	if (x->dest_fd >= 0)
		snprintf(x->where, sizeof(x->where), "%s/%s", x->dest, final);
	else
		snprintf(x->where, sizeof(x->where), "%s/%s", x->dir, final);
	pthread_mutex_unlock(&xfer_worker->lock);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Two pulls of one file to one directory would write one part: the
 * second is refused. -EBUSY, or 0 with x marked as fetching. */
static int claim(struct xfer *x)
{
	int ret = 0;
	pthread_mutex_lock(&xfer_worker->lock);
	for (int i = 0; i < XFER_SLOTS && ret == 0; i++) {
		const struct xfer *y = &xfer_worker->xfers[i];
		if (y != x && y->pull && y->fetching && y->state == XFER_RECEIVING &&
		    memcmp(y->hash, x->hash, FILES_HASH_LEN) == 0 && strcmp(y->dest, x->dest) == 0 &&
		    (x->dest[0] || strcmp(y->peer, x->peer) == 0))
			ret = -EBUSY;
	}
	if (ret == 0) {
		x->fetching = true;
		x->state = XFER_RECEIVING;
		x->run_start_ns = worker_now_ns();
		worker_changed(xfer_worker, x);
	}
	pthread_mutex_unlock(&xfer_worker->lock);
	return ret;
}

static void tell_monitor(const struct xfer *x)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "{\"t\":\"pull_done\",\"id\":\"%s\"}", x->id);
	send(FILES_WORKER_FD, msg, strlen(msg), MSG_NOSIGNAL);
}

static void *pull_thread(void *arg)
{
	struct xfer *x = arg;
	struct found h = { .n = 0 };
	char why[200] = "", name[FILES_NAME_MAX + 1];
	int dirfd = -1, ret;
	/* A pull continued after a restart waits for the peers to come back
	 * (the view comes a moment after the worker starts): looks again. */
	uint64_t until = worker_now_ns() + (x->pull_wait ? PULL_JOB_WAIT_S * 1000000000ull : 0);

	while ((ret = find_holders(x, &h, why, sizeof(why))) < 0 && ret != -ENOENT && !xfer_cancelled(x) &&
	       worker_now_ns() < until)
		sleep(1);
	bool cached = ret == -EHOSTUNREACH && x->cached; /* no holder online, a copy on the server */
	if (xfer_cancelled(x)) {
		ret = -ECANCELED;
	} else if ((ret == 0 || cached) && claim(x) < 0) {
		ret = -EBUSY;
		snprintf(why, sizeof(why), "the same file is being pulled to the same place");
	} else if (ret == 0 || cached) {
		if (cached)
			log_info("files: pulling %s from the server's copy (%s)", x->name, why);
		else
			log_info("files: pulling %s from %u holder%s", x->name, h.n, h.n == 1 ? "" : "s");
		dirfd = open_dir(x);
		ret = dirfd < 0 ? dirfd : fetch(x, cached ? NULL : &h, dirfd, why, sizeof(why));
		if (dirfd < 0)
			snprintf(why, sizeof(why), "cannot write the destination: %s", strerror(-dirfd));
	}
	for (unsigned i = 0; i < h.n; i++)
		close(h.socks[i]);
	if (dirfd >= 0)
		close(dirfd);
	pthread_mutex_lock(&xfer_worker->lock);
	xfer_finish(x, ret == 0 ? XFER_RECEIVED : XFER_FAILED, ret == 0 ? NULL : why);
	crypto_wipe(&x->cache_e, sizeof(x->cache_e));
	if (x->dest_fd >= 0)
		close(x->dest_fd);
	x->dest_fd = -1;
	tell_monitor(x);
	memcpy(name, x->name, sizeof(name));
	pthread_mutex_unlock(&xfer_worker->lock); /* x may be reused from here on */
	if (ret == 0)
		log_info("files: pulled %s", name);
	else
		log_info("files: pull of %s failed: %s", name, why);
	return NULL;
}

static int hex_field(const cJSON *msg, const char *key, uint8_t out[FILES_HASH_LEN])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);
	size_t n = 0;
	return cJSON_IsString(v) && strlen(v->valuestring) == 2 * FILES_HASH_LEN &&
			       sodium_hex2bin(out, FILES_HASH_LEN, v->valuestring, 2 * FILES_HASH_LEN, NULL, &n, NULL) == 0 &&
			       n == FILES_HASH_LEN
		       ? 0
		       : -EINVAL;
}

/* Fills a fresh slot from {"t":"pull",...}: 0, or -EINVAL. Under the lock. */
static int fill_slot(struct xfer *x, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(msg, "peer");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(msg, "path");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(msg, "size");
	const cJSON *dest = cJSON_GetObjectItemCaseSensitive(msg, "dest");
	if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof(x->id) || !cJSON_IsString(peer) ||
	    !cJSON_IsString(name) || !files_push_name_ok(name->valuestring, strlen(name->valuestring)))
		return -EINVAL;
	if (cJSON_IsString(path)) {
		if (!files_index_path_valid(path->valuestring, strlen(path->valuestring)) ||
		    strlen(path->valuestring) >= sizeof(x->lookup))
			return -EINVAL;
		snprintf(x->lookup, sizeof(x->lookup), "%s", path->valuestring);
	} else if (hex_field(msg, "hash", x->hash) < 0 || hex_field(msg, "root", x->root) < 0 || !cJSON_IsNumber(size) ||
		   size->valuedouble < 0 || size->valuedouble > (double)FILES_MAX_SIZE) {
		return -EINVAL;
	} else {
		x->size = (uint64_t)size->valuedouble;
	}
	x->pull = true;
	x->state = XFER_CONNECTING;
	x->sock = -1;
	x->file_fd = -1;
	snprintf(x->id, sizeof(x->id), "%s", id->valuestring);
	snprintf(x->peer, sizeof(x->peer), "%s", peer->valuestring);
	snprintf(x->name, sizeof(x->name), "%s", name->valuestring);
	if (cJSON_IsString(dest))
		snprintf(x->dest, sizeof(x->dest), "%s", dest->valuestring);
	x->pull_wait = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "resume"));
	return 0;
}

/* A pull that cannot run: failed in the list with why (when a slot is
 * free), and the monitor told to forget it. Under the lock. */
static void refuse(struct xfer *x, const cJSON *msg, const char *why)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (x) {
		if (x->dest_fd >= 0)
			close(x->dest_fd);
		x->dest_fd = -1;
		xfer_finish(x, XFER_FAILED, why);
	}
	if (cJSON_IsString(id) && strlen(id->valuestring) < sizeof(x->id)) {
		static struct xfer tmp; /* under the lock: large */
		snprintf(tmp.id, sizeof(tmp.id), "%s", id->valuestring);
		tell_monitor(&tmp);
	}
	log_warn("files: pull refused: %s", why);
}

void pull_job_start(struct worker *w, const cJSON *msg, int dest_fd)
{
	unsigned busy = 0;
	pthread_mutex_lock(&w->lock);
	for (int k = 0; k < XFER_SLOTS; k++)
		busy += w->xfers[k].pull && (w->xfers[k].state == XFER_CONNECTING || w->xfers[k].state == XFER_RECEIVING);
	struct xfer *x = worker_slot_take(w);
	int ret = x ? fill_slot(x, msg) : -ENOSPC;
	if (ret == -EINVAL)
		memset(x, 0, sizeof(*x));
	if (ret == 0) {
		x->dest_fd = dest_fd;
		dest_fd = -1;
		worker_changed(w, x);
	}
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (ret < 0)
		refuse(NULL, msg, ret == -EINVAL ? "a malformed request" : "every slot of the list is busy");
	else if (busy >= PULL_JOB_MAX)
		refuse(x, msg, "too many pulls at once (4): pull again when one ended");
	else if (pthread_create(&th, &attr, pull_thread, x) != 0)
		refuse(x, msg, "cannot start a thread");
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&w->lock);
	if (dest_fd >= 0)
		close(dest_fd);
}

/* Files received since the last call (by a push, or listed again after a
 * restart: the history keeps their place and hash, a pull into DEST's
 * included): served as held. From
 * the worker's loop; the opening is quick (one openat per new file). */
void pull_job_hold_received(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < XFER_SLOTS; i++) {
		struct xfer *x = &w->xfers[i];
		if (x->state != XFER_RECEIVED || x->held || x->pull || !x->where[0])
			continue;
		x->held = true;
		/* In the inbox, or (a pull into DEST, listed again after a
		 * restart) where the history says: an absolute path, realpath'd
		 * by roam pull. Served only while it hashes to x->hash (the
		 * serving checks), so a file changed since is not. Non-blocking:
		 * a FIFO put there must not stall the loop. */
		if (strstr(x->where, ".."))
			continue;
		int fd = openat(w->inbox_fd, x->where, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			pull_host_hold(fd, x->hash, x->size);
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&w->lock);
}

void pull_job_report(const struct xfer *x, cJSON *o)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "sources");
	for (unsigned i = 0; i < x->n_src && i < FILES_SRC_MAX; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "peer", x->src[i].peer);
		cJSON_AddNumberToObject(s, "bytes", (double)x->src[i].bytes);
		cJSON_AddNumberToObject(s, "rate", (double)x->src[i].rate);
		cJSON_AddStringToObject(s, "state", x->src[i].active ? "active" : "dropped");
		cJSON_AddItemToArray(arr, s);
	}
}
