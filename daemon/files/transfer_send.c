/* A push, the sending side (a thread of the file worker): offer the file
 * under its identity (a cheap hash of its name, size, mtime, head and
 * tail), send from the offset the receiver answers while hashing what is
 * sent (on a second thread, hash_pipe.h, so the socket stays busy while a
 * MiB is hashed), then send the hash and wait for the receiver's verdict. Hashing
 * while sending rather than before the offer saves a whole pass over the
 * file before the first byte moves (a third of a push's time). A resumed
 * send hashes the prefix the receiver already has from the local file
 * first: the receiver hashed its copy of that prefix too, so the final
 * comparison still covers every byte. A broken connection is retried (the
 * receiver keeps what it got and answers with its length) for up to
 * retry_ns without progress. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/hash_pipe.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define IO_TIMEOUT_S 30
#define IDENTITY_EDGE (64u << 10) /* the identity reads this much at each end */

int xfer_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xfer_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void xfer_set_timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Under the lock. */
void xfer_finish(struct xfer *x, enum xfer_state state, const char *error)
{
	x->state = x->cancel && state != XFER_DELIVERED && state != XFER_RECEIVED ? XFER_CANCELLED : state;
	if (error && x->state != XFER_CANCELLED)
		snprintf(x->error, sizeof(x->error), "%s", error);
	if (x->sock >= 0)
		close(x->sock);
	x->sock = -1;
	x->run_end_ns = worker_now_ns();
	worker_changed(xfer_worker, x);
}

void xfer_set_state(struct xfer *x, enum xfer_state s)
{
	pthread_mutex_lock(&xfer_worker->lock);
	x->state = s;
	worker_changed(xfer_worker, x);
	pthread_mutex_unlock(&xfer_worker->lock);
}

bool xfer_cancelled(struct xfer *x)
{
	pthread_mutex_lock(&xfer_worker->lock);
	bool c = x->cancel;
	pthread_mutex_unlock(&xfer_worker->lock);
	return c;
}

int xfer_hash_file(struct xfer *x, struct files_push_offer *o)
{
	static __thread uint8_t buf[1 << 18];
	struct stat st;
	crypto_generichash_state hs;
	if (fstat(x->file_fd, &st) < 0)
		return -errno;
	o->size = (uint64_t)st.st_size;
	o->mtime = st.st_mtim.tv_sec;
	x->size = o->size;
	crypto_generichash_init(&hs, NULL, 0, FILES_HASH_LEN);
	for (uint64_t off = 0; off < o->size;) {
		ssize_t n = pread(x->file_fd, buf, sizeof(buf), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ESTALE : -errno; /* it shrank */
		crypto_generichash_update(&hs, buf, (size_t)n);
		off += (uint64_t)n;
		if (xfer_cancelled(x))
			return -ECANCELED;
	}
	crypto_generichash_final(&hs, o->hash, FILES_HASH_LEN);
	return 0;
}

static __thread uint8_t edge_buf[IDENTITY_EDGE];
static void pace(uint64_t sent, uint64_t start_ns);

/* 0 with n bytes at off in buf; -ESTALE if the file is shorter. */
static int read_at(int fd, uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ESTALE : -errno;
		got += (size_t)r;
	}
	return 0;
}

/* The offer: size and mtime, and the identity in o->hash. A file changed
 * in its middle only, keeping its size and mtime, would continue a partial
 * file of the old content: the final hash then differs, the receiver drops
 * the part, and the sender starts once more from zero (attempt). */
static int xfer_identity(struct xfer *x, struct files_push_offer *o)
{
	static const char label[] = "roam push identity v1";
	struct stat st;
	crypto_generichash_state hs;
	uint8_t le[16];
	int ret;
	if (fstat(x->file_fd, &st) < 0)
		return -errno;
	o->size = x->size = (uint64_t)st.st_size;
	o->mtime = st.st_mtim.tv_sec;
	for (int i = 0; i < 8; i++) {
		le[i] = (uint8_t)(o->size >> (8 * i));
		le[8 + i] = (uint8_t)((uint64_t)o->mtime >> (8 * i));
	}
	crypto_generichash_init(&hs, NULL, 0, FILES_HASH_LEN);
	crypto_generichash_update(&hs, (const uint8_t *)label, sizeof(label));
	crypto_generichash_update(&hs, (const uint8_t *)o->name, strlen(o->name) + 1);
	crypto_generichash_update(&hs, le, sizeof(le));
	size_t edge = o->size < IDENTITY_EDGE ? (size_t)o->size : IDENTITY_EDGE;
	if ((ret = read_at(x->file_fd, edge_buf, 0, edge)) < 0)
		return ret;
	crypto_generichash_update(&hs, edge_buf, edge);
	if ((ret = read_at(x->file_fd, edge_buf, o->size - edge, edge)) < 0)
		return ret;
	crypto_generichash_update(&hs, edge_buf, edge);
	crypto_generichash_final(&hs, o->hash, FILES_HASH_LEN);
	return 0;
}

/* Hands [0, end) of the file to the hash: the prefix a resumed send skips. */
static int hash_prefix(struct xfer *x, struct hash_pipe *hp, uint64_t end)
{
	for (uint64_t off = 0; off < end;) {
		size_t n = end - off < HASH_PIPE_CHUNK ? (size_t)(end - off) : HASH_PIPE_CHUNK;
		int ret = read_at(x->file_fd, hash_pipe_buffer(hp), off, n);
		if (ret < 0)
			return ret;
		hash_pipe_push(hp, n);
		off += n;
		if (xfer_cancelled(x))
			return -ECANCELED;
	}
	return 0;
}

/* The bytes from offset to the end, each buffer handed to the hash thread
 * once read and sent while it is hashed. */
static int send_body(struct xfer *x, int fd, struct hash_pipe *hp, uint64_t offset, uint64_t size)
{
	uint64_t start = worker_now_ns(), first = offset;
	int ret;
	while (offset < size) {
		size_t step = size - offset < HASH_PIPE_CHUNK ? (size_t)(size - offset) : HASH_PIPE_CHUNK;
		if (xfer_worker->rate_limit && step > 65536)
			step = 65536;
		uint8_t *b = hash_pipe_buffer(hp);
		if ((ret = read_at(x->file_fd, b, offset, step)) < 0)
			return ret;
		hash_pipe_push(hp, step);
		if (xfer_write_full(fd, b, step) < 0)
			return xfer_cancelled(x) ? -ECANCELED : -EAGAIN;
		offset += step;
		pthread_mutex_lock(&xfer_worker->lock);
		x->done = offset;
		pthread_mutex_unlock(&xfer_worker->lock);
		pace(offset - first, start);
	}
	return 0;
}

/* Everything from the file through the hash thread, then the hash. */
static int send_all(struct xfer *x, int fd, uint64_t offset, uint64_t size)
{
	uint8_t msg[FILES_PUSH_HASH_LEN], hash[FILES_HASH_LEN];
	crypto_generichash_state hs;
	struct hash_pipe hp;
	crypto_generichash_init(&hs, NULL, 0, FILES_HASH_LEN);
	int ret = hash_pipe_start(&hp, &hs);
	if (ret < 0)
		return -EAGAIN;
	ret = hash_prefix(x, &hp, offset);
	if (ret == 0)
		ret = send_body(x, fd, &hp, offset, size);
	hash_pipe_stop(&hp);
	if (ret < 0)
		return ret;
	crypto_generichash_final(&hs, hash, sizeof(hash));
	files_push_hash_build(msg, hash);
	if (xfer_write_full(fd, msg, sizeof(msg)) < 0)
		return xfer_cancelled(x) ? -ECANCELED : -EAGAIN;
	pthread_mutex_lock(&xfer_worker->lock);
	memcpy(x->hash, hash, sizeof(hash));
	pthread_mutex_unlock(&xfer_worker->lock);
	return 0;
}

static int connect_peer(struct xfer *x)
{
	for (int i = 0; i < x->n_addrs; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		const struct ip_prefix *a = &x->addrs[i];
		memset(&ss, 0, sizeof(ss));
		if (a->family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(FILES_PUSH_PORT);
			memcpy(&s6->sin6_addr, a->addr, 16);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(FILES_PUSH_PORT);
			memcpy(&s4->sin_addr, a->addr, 4);
			sl = sizeof(*s4);
		}
		int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		xfer_set_timeouts(fd, 10); /* connect() too */
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
			xfer_set_timeouts(fd, IO_TIMEOUT_S);
			return fd;
		}
		close(fd);
	}
	return -ECONNREFUSED;
}

/* Test builds: a rate limit, so a test can interrupt a transfer midway. */
static void pace(uint64_t sent, uint64_t start_ns)
{
	uint64_t rate = xfer_worker->rate_limit;
	if (!rate)
		return;
	uint64_t due = start_ns + sent * 1000000000ull / rate, now = worker_now_ns();
	if (due > now) {
		struct timespec ts = { (time_t)((due - now) / 1000000000ull), (long)((due - now) % 1000000000ull) };
		nanosleep(&ts, NULL);
	}
}

/* One attempt: 0 delivered; -EAGAIN worth retrying; another -errno with
 * why set: final. */
static int attempt(struct xfer *x, const struct files_push_offer *o, char *why, size_t why_size)
{
	uint8_t msg[FILES_PUSH_OFFER_MAX], answer[FILES_PUSH_ANSWER_LEN], result[FILES_PUSH_RESULT_LEN];
	size_t len;
	enum files_push_status st;
	uint64_t offset;
	int fd = connect_peer(x);
	if (fd < 0)
		return -EAGAIN;
	pthread_mutex_lock(&xfer_worker->lock);
	x->sock = fd;
	bool stop = x->cancel;
	pthread_mutex_unlock(&xfer_worker->lock);
	if (stop)
		return -ECANCELED;
	if (files_push_offer_build(msg, sizeof(msg), o, &len) < 0) {
		snprintf(why, why_size, "cannot offer this file");
		return -EINVAL;
	}
	if (xfer_write_full(fd, msg, len) < 0 || xfer_read_full(fd, answer, sizeof(answer)) < 0)
		return -EAGAIN;
	if (files_push_answer_parse(answer, sizeof(answer), &st, &offset) < 0 || offset > o->size) {
		snprintf(why, why_size, "the receiver answered nonsense");
		return -EPROTO;
	}
	if (st == FILES_PUSH_BUSY)
		return -EAGAIN;
	if (st != FILES_PUSH_OK) {
		snprintf(why, why_size, "%s", files_push_status_text(st));
		return -EPERM;
	}
	pthread_mutex_lock(&xfer_worker->lock);
	x->state = XFER_SENDING;
	x->done = x->run_start_bytes = offset;
	x->run_start_ns = worker_now_ns();
	worker_changed(xfer_worker, x);
	pthread_mutex_unlock(&xfer_worker->lock);
	int ret = send_all(x, fd, offset, o->size);
	if (ret < 0)
		return ret;
	/* The receiver syncs the file to disk before it answers: a moment. */
	xfer_set_timeouts(fd, 4 * IO_TIMEOUT_S);
	if (xfer_read_full(fd, result, sizeof(result)) < 0)
		return xfer_cancelled(x) ? -ECANCELED : -EAGAIN;
	if (files_push_result_parse(result, sizeof(result), &st) < 0) {
		snprintf(why, why_size, "the receiver answered nonsense");
		return -EPROTO;
	}
	if (st == FILES_PUSH_BAD_HASH && offset && !x->restarted) {
		x->restarted = true; /* the part was of another content: once more from zero */
		log_info("files: %s: the continued file did not match; sending it again from the start", x->name);
		return -EAGAIN;
	}
	if (st != FILES_PUSH_OK) {
		snprintf(why, why_size, "%s", files_push_status_text(st));
		return -EIO;
	}
	return 0;
}

void *xfer_send_thread(void *arg)
{
	struct xfer *x = arg;
	struct files_push_offer o = { 0 };
	char why[160] = "";
	snprintf(o.name, sizeof(o.name), "%s", x->name);
	uint64_t t0 = worker_now_ns();
	int ret = xfer_identity(x, &o);
	uint64_t hashed_ns = worker_now_ns() - t0;
	if (ret < 0)
		snprintf(why, sizeof(why), "cannot read the file: %s", strerror(-ret));
	uint64_t last_progress = worker_now_ns(), last_done = 0;
	while (ret == 0) {
		xfer_set_state(x, XFER_CONNECTING);
		ret = attempt(x, &o, why, sizeof(why));
		pthread_mutex_lock(&xfer_worker->lock);
		if (x->sock >= 0)
			close(x->sock);
		x->sock = -1;
		bool stop = x->cancel;
		if (x->done > last_done) {
			last_done = x->done;
			last_progress = worker_now_ns();
		}
		pthread_mutex_unlock(&xfer_worker->lock);
		if (ret != -EAGAIN || stop)
			break;
		if (worker_now_ns() - last_progress > xfer_worker->retry_ns) {
			snprintf(why, sizeof(why), "the peer stopped answering");
			ret = -ETIMEDOUT;
			break;
		}
		xfer_set_state(x, XFER_WAITING);
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
		ret = 0;
	}
	if (ret == -ESTALE)
		snprintf(why, sizeof(why), "the file changed while it was being sent");
	char name[FILES_NAME_MAX + 1], peer[sizeof(x->peer)];
	pthread_mutex_lock(&xfer_worker->lock);
	uint64_t sent = x->done - x->run_start_bytes, data_ns = worker_now_ns() - x->run_start_ns;
	xfer_finish(x, ret == 0 ? XFER_DELIVERED : XFER_FAILED, ret == 0 ? NULL : why);
	close(x->file_fd);
	x->file_fd = -1;
	memcpy(name, x->name, sizeof(name));
	memcpy(peer, x->peer, sizeof(peer));
	pthread_mutex_unlock(&xfer_worker->lock); /* x may be reused from here on */
	if (ret == 0)
		log_info("files: %s to %s: delivered (identity %.2f s; %llu bytes in %.2f s, %.0f Mbit/s)", name, peer,
			 (double)hashed_ns / 1e9, (unsigned long long)sent, (double)data_ns / 1e9,
			 data_ns ? (double)sent * 8e3 / (double)data_ns : 0.0);
	else
		log_info("files: %s to %s: failed: %s", name, peer, why);
	return NULL;
}
