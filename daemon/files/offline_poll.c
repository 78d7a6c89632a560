/* The offline push's other half (daemon/files/offline.c): every poll_ns
 * the worker asks the server's cache what waits for it and what became of
 * what it sent. A waiting file is downloaded, checked record by record and
 * decrypted (lib/files), moved into the inbox like a pushed one, and
 * acknowledged with a receipt, after which the server deletes it; a receipt
 * for a file we sent is checked and turns it "delivered". */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define SEEN_MAX 256 /* server ids this worker has handled */
/* One GET's bytes: server/files/cache.h FCACHE_DOWNLOAD_BIN_MAX (an older
 * server's JSON replies bring FCACHE_DOWNLOAD_MAX). */
#define DOWNLOAD_MAX (1024 * 1024)

static char seen[SEEN_MAX][40];
static unsigned seen_next;

static bool was_seen(const char *id)
{
	for (unsigned i = 0; i < SEEN_MAX; i++)
		if (strcmp(seen[i], id) == 0)
			return true;
	return false;
}

static void mark_seen(const char *id)
{
	snprintf(seen[seen_next++ % SEEN_MAX], sizeof(seen[0]), "%s", id);
}

static void unmark_seen(const char *id)
{
	for (unsigned i = 0; i < SEEN_MAX; i++)
		if (strcmp(seen[i], id) == 0)
			seen[i][0] = '\0';
}

/* What the last GET brought: records are sliced from it. */
struct ahead {
	uint64_t off;
	size_t len;
	uint8_t *buf; /* DOWNLOAD_MAX */
	unsigned gets; /* made for this download (the log says how many) */
	uint64_t bytes;
};

/* One GET of up to DOWNLOAD_MAX bytes at offset into c: binary
 * (application/octet-stream), or base64 in JSON from an older server. */
static int fetch_piece(struct ahead *c, const char *id, uint64_t offset)
{
	char target[128];
	cJSON *j;
	size_t n = 0;
	snprintf(target, sizeof(target), "/v1/files/data?id=%s&offset=%llu", id, (unsigned long long)offset);
	long st = offline_get_bytes(target, c->buf, DOWNLOAD_MAX, &n, &j);
	int r = st == 200 && !j && n > 0 ? 0 : -EIO;
	if (st == 200 && j) {
		/* (coord_b64_decode is for keys and nonces: 128 bytes at most.) */
		const char *data = offline_jstr(j, "data"), *end = NULL;
		r = offline_jnum(j, "offset") == (double)offset &&
				    sodium_base642bin(c->buf, DOWNLOAD_MAX, data, strlen(data), NULL, &n, &end,
						      sodium_base64_VARIANT_ORIGINAL) == 0 &&
				    end == data + strlen(data) && n > 0
			    ? 0
			    : -EIO;
	}
	if (r < 0)
		log_warn("files: download of %s at %llu: HTTP %ld%s%s", id, (unsigned long long)offset, st,
			 *offline_jstr(j, "error") ? ": " : "", offline_jstr(j, "error"));
	cJSON_Delete(j);
	c->off = offset;
	c->len = r == 0 ? n : 0; /* a failed decode may have written part of it */
	c->gets++;
	c->bytes += c->len;
	return r;
}

/* Bytes [offset, offset + len) of the ciphertext, from what was fetched
 * ahead, else by GETs from offset. */
static int fetch(struct ahead *c, const char *id, uint64_t offset, uint8_t *out, size_t len)
{
	while (len) {
		if (offset >= c->off && offset < c->off + c->len) {
			size_t n = c->off + c->len - offset < len ? (size_t)(c->off + c->len - offset) : len;
			memcpy(out, c->buf + (offset - c->off), n);
			out += n;
			offset += n;
			len -= n;
			continue;
		}
		int r = fetch_piece(c, id, offset);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A download's saved decryptor (lib/files files_dec_save, 0600 in the
 * worker's state directory: it holds the stream key) and the plaintext
 * kept so far: after a restart the download continues at the next record.
 * Returns the record to start at (0: from the beginning). */
static uint32_t resume(struct xfer *x, struct files_dec *d, const uint8_t *hdr, const uint8_t sender[FILES_KEY_LEN],
		       const char *state, int partfd, uint64_t *kept)
{
	uint8_t saved[FILES_SAVE_LEN + 1];
	int fd = openat(xfer_worker->state_fd, state, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, saved, sizeof(saved)) : -1;
	struct stat st;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)FILES_SAVE_LEN ||
	    files_dec_restore(d, hdr, FILES_HEADER_LEN, &xfer_worker->key, sender, saved, (size_t)n) < 0) {
		crypto_wipe(saved, sizeof(saved));
		return 0;
	}
	crypto_wipe(saved, sizeof(saved));
	/* Records 1 .. next-1 are whole chunks: that much plaintext, at least. */
	uint64_t want = (uint64_t)(d->next - 1) * d->h.chunk_size;
	if (fstat(partfd, &st) < 0 || (uint64_t)st.st_size < want || ftruncate(partfd, (off_t)want) < 0 ||
	    lseek(partfd, (off_t)want, SEEK_SET) < 0) {
		files_dec_wipe(d);
		return 0;
	}
	const struct files_meta *m = files_dec_meta(d);
	pthread_mutex_lock(&xfer_worker->lock);
	snprintf(x->name, sizeof(x->name), "%s", m->name);
	x->size = m->size;
	x->done = x->run_start_bytes = want;
	worker_changed(xfer_worker, x);
	pthread_mutex_unlock(&xfer_worker->lock);
	*kept = want;
	return d->next;
}

static void save_state(const struct files_dec *d, int fd)
{
	uint8_t blob[FILES_SAVE_LEN];
	if (files_dec_save(d, &xfer_worker->key, blob) == 0 && pwrite(fd, blob, sizeof(blob), 0) != (ssize_t)sizeof(blob))
		log_debug("files: cannot save a download's state: %s", strerror(errno));
	crypto_wipe(blob, sizeof(blob));
}

/* Test builds: downloads slowed down too, so a test can interrupt one. */
static void pace(size_t n)
{
	if (xfer_worker->rate_limit) {
		long ms = (long)(n * 1000 / xfer_worker->rate_limit);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Downloads one file into SENDER/.ID.part, record by record (continuing a
 * download a restart interrupted), and moves it into the inbox: 0 with the
 * meta's hash and the header's file id set; -EIO: try again later. */
static int download(struct xfer *x, const char *id, uint64_t size, const struct worker_peer *from,
		    uint8_t file_id[FILES_ID_LEN], uint8_t hash[FILES_HASH_LEN], char *why, size_t why_size)
{
	static __thread uint8_t rec[FILES_CHUNK_MAX + FILES_ABYTES], plain[FILES_CHUNK_MAX];
	struct ahead ahead = { .buf = malloc(DOWNLOAD_MAX) };
	uint8_t hdr[FILES_HEADER_LEN];
	struct files_dec d;
	char part[64], state[64], final[FILES_NAME_MAX + 1];
	int dirfd = -1, partfd = -1, statefd = -1, ret = -EIO;
	uint64_t kept = 0;
	memset(&d, 0, sizeof(d));
	snprintf(part, sizeof(part), ".%s.part", id);
	snprintf(state, sizeof(state), "dl-%s.state", id);
	if (!ahead.buf || (ret = fetch(&ahead, id, 0, hdr, sizeof(hdr))) < 0) {
		snprintf(why, why_size, "cannot download it");
		free(ahead.buf);
		return ret;
	}
	if ((dirfd = xfer_sender_dir(x)) < 0 ||
	    (partfd = openat(dirfd, part, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    (statefd = openat(xfer_worker->state_fd, state, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, why_size, "cannot write the inbox");
		ret = -EIO;
		goto out;
	}
	uint32_t start = resume(x, &d, hdr, from->file_key, state, partfd, &kept);
	if (start)
		log_info("files: continuing the download of %s from %s at byte %llu", x->name, from->name,
			 (unsigned long long)kept);
	else if (ftruncate(partfd, 0) < 0 ||
		 (ret = files_dec_init(&d, hdr, sizeof(hdr), &xfer_worker->key, from->file_key)) < 0) {
		snprintf(why, why_size, "not a file for us from %s", from->name);
		ret = ret < 0 ? ret : -EIO;
		goto out;
	}
	for (uint32_t i = start; !files_dec_done(&d); i++) {
		uint64_t off;
		size_t len, plen = 0;
		if ((ret = files_record_span(&d.h, i, &off, &len)) < 0 || off + len > size ||
		    (ret = fetch(&ahead, id, off, rec, len)) < 0 || (ret = files_dec_record(&d, rec, len, plain, &plen)) < 0) {
			snprintf(why, why_size, ret == -EIO ? "cannot download it" : "it did not decrypt (altered?)");
			ret = ret < 0 ? ret : -EBADMSG;
			goto out;
		}
		if (i == 0) {
			const struct files_meta *m = files_dec_meta(&d);
			if (!m || !files_push_name_ok(m->name, strlen(m->name))) {
				snprintf(why, why_size, "refused its file name");
				ret = -EINVAL;
				goto out;
			}
			pthread_mutex_lock(&xfer_worker->lock);
			snprintf(x->name, sizeof(x->name), "%s", m->name);
			x->size = m->size;
			worker_changed(xfer_worker, x);
			pthread_mutex_unlock(&xfer_worker->lock);
		} else if (write(partfd, plain, plen) != (ssize_t)plen) {
			snprintf(why, why_size, "cannot write the inbox");
			ret = -EIO;
			goto out;
		}
		if (!files_dec_done(&d))
			save_state(&d, statefd); /* after the plaintext: a resume never skips a byte */
		pthread_mutex_lock(&xfer_worker->lock);
		x->done += plen;
		pthread_mutex_unlock(&xfer_worker->lock);
		pace(len);
	}
	const struct files_meta *m = files_dec_meta(&d);
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)m->mtime } };
	futimens(partfd, times);
	if (fsync(partfd) < 0 || xfer_place(dirfd, part, m->name, final, sizeof(final)) < 0) {
		snprintf(why, why_size, "cannot move it into the inbox");
		ret = -EIO;
		goto out;
	}
	memcpy(file_id, d.h.file_id, FILES_ID_LEN);
	memcpy(hash, m->hash, FILES_HASH_LEN);
	log_info("files: downloaded %llu bytes of %s in %u GETs", (unsigned long long)ahead.bytes, id, ahead.gets);
	pthread_mutex_lock(&xfer_worker->lock);
	snprintf(x->where, sizeof(x->where), "%s/%s", x->dir, final);
	pthread_mutex_unlock(&xfer_worker->lock);
	ret = 0;
out:
	if (partfd >= 0)
		close(partfd);
	if (statefd >= 0)
		close(statefd);
	/* A break (-EIO) keeps the part and the state for the next try. */
	if (ret != -EIO) {
		unlinkat(xfer_worker->state_fd, state, 0);
		if (ret < 0 && dirfd >= 0)
			unlinkat(dirfd, part, 0);
	}
	if (dirfd >= 0)
		close(dirfd);
	files_dec_wipe(&d);
	crypto_wipe(plain, sizeof(plain));
	free(ahead.buf);
	return ret;
}

static void receive_one(const cJSON *o)
{
	struct worker *w = xfer_worker;
	struct worker_peer from;
	const char *id = offline_jstr(o, "id");
	uint8_t file_id[FILES_ID_LEN], hash[FILES_HASH_LEN], receipt[FILES_RECEIPT_LEN];
	char why[160] = "", b64[2 * FILES_RECEIPT_LEN], body[512];
	double size = offline_jnum(o, "size");
	/* Only from a peer of the view (a shared group) whose file key we know. */
	if (strlen(id) != 32 || was_seen(id) || size < 0 || worker_peer_by_id(w, (uint32_t)offline_jnum(o, "from"), &from) < 0 || !from.has_file_key)
		return;
	mark_seen(id);
	pthread_mutex_lock(&w->lock);
	struct xfer *x = worker_slot_take(w);
	if (x) {
		x->state = XFER_DOWNLOADING;
		x->sock = x->file_fd = -1;
		snprintf(x->id, sizeof(x->id), "r%u", ++w->next_recv_id);
		snprintf(x->peer, sizeof(x->peer), "%s", from.name);
		snprintf(x->dir, sizeof(x->dir), "%s", from.name);
		x->run_start_ns = worker_now_ns();
		worker_changed(w, x);
	}
	pthread_mutex_unlock(&w->lock);
	if (!x)
		return;
	int ret = download(x, id, (uint64_t)size, &from, file_id, hash, why, sizeof(why));
	if (ret == -EIO)
		unmark_seen(id); /* the next poll tries again, continuing where it stopped */
	if (ret == 0) {
		cJSON *j;
		files_receipt_build(receipt, &w->key, from.file_key, file_id, hash);
		coord_b64_encode(b64, sizeof(b64), receipt, sizeof(receipt), 0);
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"receipt\":\"%s\"}", id, b64);
		if (offline_call("POST", "/v1/files/receipt", body, strlen(body), &j) != 200)
			log_warn("files: the server did not take the receipt for %s (it keeps the file until expiry)", id);
		cJSON_Delete(j);
	}
	pthread_mutex_lock(&w->lock);
	xfer_finish(x, ret == 0 ? XFER_RECEIVED : XFER_FAILED, ret == 0 ? NULL : why);
	pthread_mutex_unlock(&w->lock);
	log_info("files: from the server's cache, from %s: %s%s", from.name, ret == 0 ? "received" : "failed: ",
		 ret == 0 ? "" : why);
}

/* A file we sent: its receipt checked makes it delivered; the server's
 * cancel or expiry ends it too. A cancel asked here goes to the server. */
static void sent_one(const cJSON *o)
{
	struct worker *w = xfer_worker;
	const char *id = offline_jstr(o, "id"), *state = offline_jstr(o, "state");
	uint8_t receipt[FILES_RECEIPT_LEN];
	const char *rb = offline_jstr(o, "receipt");
	bool have_receipt = coord_b64_decode(receipt, sizeof(receipt), rb, strlen(rb), 0) == 0;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < XFER_SLOTS; i++) {
		struct xfer *x = &w->xfers[i];
		if (x->state != XFER_QUEUED || strcmp(x->server_id, id) != 0)
			continue;
		if (strcmp(state, "delivered") == 0 && have_receipt &&
		    files_receipt_verify(receipt, sizeof(receipt), &w->key, x->recipient_pub, x->file_id, x->hash) == 0)
			xfer_finish(x, XFER_DELIVERED, NULL);
		else if (strcmp(state, "delivered") == 0)
			xfer_finish(x, XFER_FAILED, "the server says delivered, but the receipt does not check out");
		else if (strcmp(state, "expired") == 0)
			xfer_finish(x, XFER_FAILED, "expired on the server before the peer came back");
		else if (strcmp(state, "cancelled") == 0)
			xfer_finish(x, XFER_CANCELLED, NULL);
	}
	pthread_mutex_unlock(&w->lock);
}

#define ORPHAN_AGE_S 120

/* An upload of ours that no transfer here knows and no saved upload will
 * continue (offline_resume.c), started a while ago: a previous run of
 * roamd was stopped during it. Its quota is freed at once
 * rather than at its expiry (pushing the file again starts a new one). */
static bool orphan(const cJSON *o)
{
	const char *id = offline_jstr(o, "id");
	if (strcmp(offline_jstr(o, "state"), "uploading") != 0 || offline_jnum(o, "created") < 0 ||
	    offline_jnum(o, "created") > (double)time(NULL) - ORPHAN_AGE_S)
		return false;
	pthread_mutex_lock(&xfer_worker->lock);
	bool known = false;
	for (int i = 0; i < XFER_SLOTS; i++)
		known |= xfer_worker->xfers[i].outgoing && strcmp(xfer_worker->xfers[i].server_id, id) == 0;
	pthread_mutex_unlock(&xfer_worker->lock);
	return !known && !offline_resume_holds(id);
}

static void drop_orphan(const cJSON *o)
{
	char target[96];
	cJSON *j;
	snprintf(target, sizeof(target), "/v1/files?id=%.39s", offline_jstr(o, "id"));
	if (offline_call("DELETE", target, NULL, 0, &j) == 200)
		log_info("files: dropped an upload a previous run left unfinished on the server");
	cJSON_Delete(j);
}

/* Cancels asked for files waiting on the server. */
static void cancel_queued(void)
{
	struct worker *w = xfer_worker;
	char ids[XFER_SLOTS][40];
	int n = 0;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < XFER_SLOTS; i++)
		if (w->xfers[i].state == XFER_QUEUED && w->xfers[i].cancel)
			snprintf(ids[n++], sizeof(ids[0]), "%s", w->xfers[i].server_id);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < n; i++) {
		char target[96];
		cJSON *j;
		snprintf(target, sizeof(target), "/v1/files?id=%.39s", ids[i]);
		offline_call("DELETE", target, NULL, 0, &j);
		cJSON_Delete(j);
	}
}

void offline_poll_wake(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->poll_now = true;
	pthread_cond_signal(&w->poll_cond);
	pthread_mutex_unlock(&w->lock);
}

/* Until the period is over or someone asks now. */
static void poll_wait(struct worker *w)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	uint64_t ns = (uint64_t)until.tv_nsec + w->poll_ns % 1000000000ull;
	until.tv_sec += (time_t)(w->poll_ns / 1000000000ull + ns / 1000000000ull);
	until.tv_nsec = (long)(ns % 1000000000ull);
	pthread_mutex_lock(&w->lock);
	while (!w->poll_now && pthread_cond_timedwait(&w->poll_cond, &w->lock, &until) == 0)
		;
	w->poll_now = false;
	pthread_mutex_unlock(&w->lock);
}

void *offline_poll_thread(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		cJSON *j = NULL;
		cancel_queued();
		if (offline_call("GET", "/v1/files", NULL, 0, &j) == 200) {
			const cJSON *o;
			cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "files")) {
				if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "incoming")))
					receive_one(o);
				else if (orphan(o))
					drop_orphan(o);
				else
					sent_one(o);
			}
		}
		cJSON_Delete(j);
		poll_wait(w);
	}
	return NULL;
}
