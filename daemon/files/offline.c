/* The offline push through the server's cache (docs/files.md, "Offline
 * push"), in the file worker: the sender encrypts with lib/files (the file
 * key sealed to the recipient's file public key) and uploads the
 * ciphertext in chunks, resuming at the offset the server holds after any
 * break; a thread polls the cache, downloads what waits for us, decrypts
 * it into the inbox, sends the receipt, and turns the sender's receipts
 * into "delivered". Blocking libcurl, one request at a time per thread. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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

#define UPLOAD_CHUNK (1024 * 1024)   /* server/files/cache.h FCACHE_CHUNK_MAX */
#define UPLOAD_CHUNK_OLD (60 * 1024) /* what a server from before 1 MiB bodies takes */
#define UPLOAD_BUF (UPLOAD_CHUNK + FILES_CHUNK_DEFAULT + FILES_ABYTES + FILES_META_RECORD_LEN)
#define SEEN_MAX 256                 /* server ids already fetched (or refused) */

const char *offline_jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : "";
}

double offline_jnum(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* PUT bytes at offset, retrying after breaks (the server restarting, the
 * network) for as long as the worker's retry time: 0, or -errno with why;
 * -E2BIG (no why): the server wants smaller bodies (413; or an answer
 * without its proof through an intercepting proxy, where the proxy may
 * have said it). */
static int put_chunk(struct xfer *x, uint64_t offset, const uint8_t *buf, size_t len, char *why, size_t why_size)
{
	char target[128];
	uint64_t start = worker_now_ns();
	snprintf(target, sizeof(target), "/v1/files/data?id=%s&offset=%llu", x->server_id, (unsigned long long)offset);
	for (;;) {
		cJSON *j;
		long st = offline_call("PUT", target, buf, len, &j);
		double got = offline_jnum(j, "received");
		if (st == 409 && got == (double)(offset + len))
			st = 200; /* stored before, the answer was lost */
		if ((st == 413 || st == -EBADMSG) && len > UPLOAD_CHUNK_OLD) {
			cJSON_Delete(j);
			return -E2BIG;
		}
		if (st >= 400 && st < 500)
			snprintf(why, why_size, "the server refused the upload: %s",
				 st == 409 ? "it holds another part of the file" : offline_jstr(j, "error"));
		cJSON_Delete(j);
		if (st == 200)
			return 0;
		if (st >= 400 && st < 500)
			return -EPERM;
		if (xfer_cancelled(x))
			return -ECANCELED;
		if (worker_now_ns() - start > xfer_worker->retry_ns) {
			snprintf(why, why_size, "the server stopped answering");
			return -ETIMEDOUT;
		}
		xfer_set_state(x, XFER_WAITING);
		sleep_ms(1000);
		xfer_set_state(x, XFER_UPLOADING);
	}
}

#define HM_LEN (FILES_HEADER_LEN + FILES_META_RECORD_LEN)

static void cancel_on_server(struct xfer *x);

/* A new upload: the header and record 0 into out, the file created on the
 * server, the state saved for a restart. */
static int upload_fresh(struct xfer *x, const struct files_push_offer *o, struct files_enc *e, uint8_t *out,
			uint64_t *total, char *why, size_t why_size)
{
	struct files_meta m = { .size = o->size, .mtime = o->mtime };
	cJSON *j;
	char body[96];
	snprintf(m.name, sizeof(m.name), "%s", o->name);
	memcpy(m.hash, o->hash, FILES_HASH_LEN);
	int ret = files_enc_init(e, out, &xfer_worker->key, x->recipient_pub, &m, FILES_CHUNK_DEFAULT);
	if (ret < 0 || files_encrypted_size(FILES_CHUNK_DEFAULT, o->size, total) < 0) {
		snprintf(why, why_size, "cannot encrypt it");
		return -EINVAL;
	}
	snprintf(body, sizeof(body), "{\"to\":%u,\"size\":%llu}", x->to, (unsigned long long)*total);
	long st = offline_call("POST", "/v1/files", body, strlen(body), &j);
	if (st != 201 || !*offline_jstr(j, "id") || strlen(offline_jstr(j, "id")) >= sizeof(x->server_id)) {
		snprintf(why, why_size, "%s", st < 0 ? "cannot reach the server" : *offline_jstr(j, "error") ? offline_jstr(j, "error")
												: "the server refused the file");
		cJSON_Delete(j);
		files_enc_wipe(e);
		return -EPERM;
	}
	pthread_mutex_lock(&xfer_worker->lock);
	snprintf(x->server_id, sizeof(x->server_id), "%s", offline_jstr(j, "id"));
	pthread_mutex_unlock(&xfer_worker->lock);
	cJSON_Delete(j);
	ret = files_enc_meta(e, out + FILES_HEADER_LEN);
	if (ret == 0 && x->token[0] && offline_resume_save(x, out, HM_LEN, e, o, *total) < 0)
		log_warn("files: cannot save the upload's state: a restart will start it over");
	return ret;
}

/* A saved upload of this very file: the server's offset to continue from
 * (0 and -errno when it cannot continue: the caller starts over). */
static int upload_resumed(struct xfer *x, const struct files_push_offer *o, struct files_enc *e, uint8_t *out,
			  uint64_t *total, uint64_t *from)
{
	char target[128];
	cJSON *j;
	if (offline_resume_load(x, out, e, o, total) < 0)
		return -ESTALE;
	/* An empty PUT at 0: the server answers with what it holds. */
	snprintf(target, sizeof(target), "/v1/files/data?id=%s&offset=0", x->server_id);
	long st = offline_call("PUT", target, "", 0, &j);
	double got = offline_jnum(j, "received");
	bool uploading = strcmp(offline_jstr(j, "state"), "uploading") == 0;
	cJSON_Delete(j);
	if ((st != 200 && st != 409) || got < 0 || got > (double)*total || (!uploading && got != (double)*total)) {
		files_enc_wipe(e);
		return -ENOENT;
	}
	*from = (uint64_t)got;
	log_info("files: continuing the upload of %s at byte %llu of %llu", o->name, (unsigned long long)*from,
		 (unsigned long long)*total);
	return 0;
}

/* The PUTs of one upload on a thread of their own: chunk n goes out while
 * the upload's thread encrypts chunk n + 1 (the server's answer takes a
 * round trip; encrypting a MiB takes about as long). One PUT at a time, on
 * this thread's libcurl handle: its connection stays authenticated for the
 * 1 MiB bodies (server/http.c). */
struct putter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct xfer *x;
	const uint8_t *buf;
	uint64_t off;
	size_t len;
	bool busy, quit;
	int ret;
	char why[200];
};

static void *putter_thread(void *arg)
{
	struct putter *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->busy && !p->quit)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->busy)
			break;
		pthread_mutex_unlock(&p->lock);
		char why[200] = "";
		int ret = put_chunk(p->x, p->off, p->buf, p->len, why, sizeof(why));
		pthread_mutex_lock(&p->lock);
		p->ret = ret;
		snprintf(p->why, sizeof(p->why), "%s", why);
		p->busy = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void put_start(struct putter *p, uint64_t off, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&p->lock);
	p->off = off;
	p->buf = buf;
	p->len = len;
	p->busy = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* The PUT in flight ended: its result (why copied when it failed). */
static int put_wait(struct putter *p, char *why, size_t why_size)
{
	pthread_mutex_lock(&p->lock);
	while (p->busy)
		pthread_cond_wait(&p->cond, &p->lock);
	int ret = p->ret;
	if (ret < 0 && p->why[0])
		snprintf(why, why_size, "%s", p->why);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static int put_sync(struct putter *p, uint64_t off, const uint8_t *buf, size_t len, char *why, size_t why_size)
{
	put_start(p, off, buf, len);
	return put_wait(p, why, why_size);
}

/* A 1 MiB PUT refused (-E2BIG): the server takes 1 MiB only on a
 * connection that has authenticated (a new one after a break has not):
 * the same bytes again, one smaller PUT first, then 1 MiB again; refused
 * twice in a row, the server is older than 1 MiB bodies and *chunk stays
 * small. */
static int put_smaller(struct putter *p, const char *name, uint64_t off, const uint8_t *buf, size_t len,
		       size_t *chunk, unsigned *refused, char *why, size_t why_size)
{
	size_t done = 0, piece = UPLOAD_CHUNK_OLD;
	int ret = -E2BIG;
	do {
		if (ret == -E2BIG && ++*refused == 2)
			log_info("files: the server takes no 1 MiB bodies: uploading %s in %d KiB", name,
				 UPLOAD_CHUNK_OLD / 1024);
		if (ret == -E2BIG)
			piece = UPLOAD_CHUNK_OLD;
		size_t n = len - done < piece ? len - done : piece;
		ret = put_sync(p, off + done, buf + done, n, why, why_size);
		if (ret == 0) {
			done += n;
			piece = *refused >= 2 ? UPLOAD_CHUNK_OLD : UPLOAD_CHUNK; /* that PUT authenticated the connection */
		}
	} while ((ret == 0 || ret == -E2BIG) && done < len);
	*chunk = *refused >= 2 ? UPLOAD_CHUNK_OLD : UPLOAD_CHUNK;
	return ret;
}

/* Encrypts the file and uploads it, one chunk encrypted while the last is
 * PUT (struct putter): two buffers of at most one chunk plus one record
 * each, so memory stays flat whatever the size. A resumed upload encrypts
 * again from the start and sends from the server's offset. */
static int upload_chunks(struct xfer *x, const struct files_push_offer *o, struct files_enc *e, uint8_t *out[2],
			 uint64_t total, uint64_t from, struct putter *p, char *why, size_t why_size)
{
	static __thread uint8_t plain[FILES_CHUNK_DEFAULT];
	uint64_t sent = 0, pos = 0, flight_off = 0;
	size_t have = HM_LEN, rl, chunk = UPLOAD_CHUNK, flight = 0; /* flight: bytes of the PUT in flight */
	unsigned refused = 0; /* 413s since the last 1 MiB PUT the server took */
	unsigned puts = 0, overlapped = 0; /* PUTs; chunks encrypted while one was in flight (the log) */
	int cur = 0, ret = 0;
	while (ret == 0 && (sent < total || flight)) {
		overlapped += flight && have < chunk && !files_enc_done(e);
		while (ret == 0 && have < chunk && !files_enc_done(e)) {
			size_t len = o->size - pos < FILES_CHUNK_DEFAULT ? (size_t)(o->size - pos) : FILES_CHUNK_DEFAULT;
			if (pread(x->file_fd, plain, len, (off_t)pos) != (ssize_t)len ||
			    files_enc_chunk(e, plain, len, out[cur] + have, &rl) < 0) {
				snprintf(why, why_size, "the file changed while it was being sent");
				ret = -ESTALE;
				break;
			}
			pos += len;
			have += rl;
		}
		if (flight) { /* the last chunk's PUT: done while this one was encrypted */
			int r = put_wait(p, why, why_size);
			if (r == -E2BIG)
				r = put_smaller(p, o->name, flight_off, out[1 - cur], flight, &chunk, &refused, why, why_size);
			else if (r == 0 && flight == UPLOAD_CHUNK)
				refused = 0;
			ret = ret < 0 ? ret : r;
			if (r == 0) {
				pthread_mutex_lock(&xfer_worker->lock);
				x->done = flight_off + flight;
				pthread_mutex_unlock(&xfer_worker->lock);
			}
			flight = 0;
		}
		if (ret == 0 && xfer_cancelled(x))
			ret = -ECANCELED;
		if (ret < 0 || sent == total)
			break;
		size_t len = have < chunk ? have : chunk;
		if (sent < from) { /* the server has these: encrypted again only to reach the rest */
			len = from - sent < len ? (size_t)(from - sent) : len;
			memmove(out[cur], out[cur] + len, have - len);
		} else {
			if (xfer_worker->rate_limit) /* test builds: time to interrupt it */
				sleep_ms((long)(len * 1000 / xfer_worker->rate_limit));
			put_start(p, sent, out[cur], len);
			puts++;
			flight_off = sent;
			flight = len;
			memcpy(out[1 - cur], out[cur] + len, have - len); /* the rest starts the next chunk */
			cur = 1 - cur;
		}
		sent += len;
		have -= len;
	}
	if (flight)
		put_wait(p, why, why_size);
	crypto_wipe(plain, sizeof(plain));
	if (ret == 0)
		log_info("files: uploaded %s from byte %llu: %u PUTs, %u chunks encrypted while one was in flight", o->name,
			 (unsigned long long)from, puts, overlapped);
	return ret;
}

static int upload(struct xfer *x, const struct files_push_offer *o, char *why, size_t why_size)
{
	struct files_enc e;
	uint64_t total = 0, from = 0;
	/* Not thread-local: every thread of the worker would carry them. */
	uint8_t *out[2] = { malloc(UPLOAD_BUF), malloc(UPLOAD_BUF) };
	struct putter p = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .x = x };
	pthread_t th;
	if (!out[0] || !out[1] || pthread_create(&th, NULL, putter_thread, &p) != 0) {
		free(out[0]);
		free(out[1]);
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	int ret = x->resume ? upload_resumed(x, o, &e, out[0], &total, &from) : -ENOENT;
	if (ret < 0 && x->resume) {
		log_info("files: the upload of %s cannot continue: it starts over", o->name);
		cancel_on_server(x);
		x->server_id[0] = '\0';
	}
	if (ret < 0)
		ret = upload_fresh(x, o, &e, out[0], &total, why, why_size);
	if (ret == 0) {
		pthread_mutex_lock(&xfer_worker->lock);
		memcpy(x->file_id, e.h.file_id, FILES_ID_LEN);
		memcpy(x->hash, o->hash, FILES_HASH_LEN);
		x->state = XFER_UPLOADING;
		x->size = total;
		x->done = x->run_start_bytes = from;
		x->run_start_ns = worker_now_ns();
		worker_changed(xfer_worker, x);
		pthread_mutex_unlock(&xfer_worker->lock);
		ret = upload_chunks(x, o, &e, out, total, from, &p, why, why_size);
		files_enc_wipe(&e);
	}
	pthread_mutex_lock(&p.lock);
	p.quit = true;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	pthread_join(th, NULL);
	for (int i = 0; i < 2; i++) {
		crypto_wipe(out[i], UPLOAD_BUF);
		free(out[i]);
	}
	return ret;
}

static void cancel_on_server(struct xfer *x)
{
	char target[96];
	cJSON *j;
	if (!x->server_id[0])
		return;
	snprintf(target, sizeof(target), "/v1/files?id=%s", x->server_id);
	offline_call("DELETE", target, NULL, 0, &j);
	cJSON_Delete(j);
}

void *xfer_upload_thread(void *arg)
{
	struct xfer *x = arg;
	struct files_push_offer o = { 0 };
	char why[200] = "";
	snprintf(o.name, sizeof(o.name), "%s", x->name);
	int ret = xfer_hash_file(x, &o);
	if (ret < 0)
		snprintf(why, sizeof(why), "cannot read the file: %s", strerror(-ret));
	if (ret == 0)
		ret = upload(x, &o, why, sizeof(why));
	if (ret == -ECANCELED)
		cancel_on_server(x);
	pthread_mutex_lock(&xfer_worker->lock);
	if (ret == 0) {
		x->state = XFER_QUEUED; /* the poller turns its receipt into "delivered" */
		x->run_end_ns = worker_now_ns();
		worker_changed(xfer_worker, x);
	} else {
		xfer_finish(x, XFER_FAILED, why);
	}
	close(x->file_fd);
	x->file_fd = -1;
	pthread_mutex_unlock(&xfer_worker->lock);
	offline_resume_done(x); /* x's token: unchanged while the slot is not finished */
	if (ret == 0)
		log_info("files: uploaded for an offline peer, waiting on the server");
	else
		log_info("files: offline push failed: %s", why);
	return NULL;
}
