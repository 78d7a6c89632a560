/* A file pulled from several holders (pull_fetch.h). */
#include "daemon/files/pull_fetch.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/files/worker.h"

struct src_io {
	uint32_t queue[FILES_SRC_WINDOW_MAX]; /* chunks asked, in order */
	unsigned head, count;
	uint8_t hdr[FILES_PULL_REPLY_LEN];
	size_t hdr_got;
	uint32_t want; /* payload of the reply being read */
	size_t got;
	uint64_t last_ns; /* when it last sent us something */
	uint8_t *buf;     /* one chunk */
};

struct fetch {
	struct pull_fetch *f;
	struct src_io io[FILES_SRC_MAX];
	uint8_t *hashes; /* every chunk's hash, checked against the root */
	uint16_t *words;
	uint32_t chunks;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int ask(int sock, const struct pull_fetch *f, enum files_pull_type type, uint32_t first, uint32_t count)
{
	uint8_t req[FILES_PULL_REQ_LEN];
	struct files_pull_req r = { type, { 0 }, FILES_CHUNK_DEFAULT, first, count };
	memcpy(r.hash, f->hash, FILES_HASH_LEN);
	files_pull_req_build(req, &r);
	return xfer_write_full(sock, req, sizeof(req));
}

/* A blocking TREE or GROUP exchange; the payload into out (exactly len). */
static int ask_hashes(int sock, const struct pull_fetch *f, enum files_pull_type type, uint32_t g, uint8_t *out,
		      size_t len)
{
	uint8_t rep[FILES_PULL_REPLY_LEN];
	struct files_pull_reply p;
	int ret = ask(sock, f, type, g, 0);
	if (ret == 0)
		ret = xfer_read_full(sock, rep, sizeof(rep));
	if (ret == 0)
		ret = files_pull_reply_parse(rep, sizeof(rep), &p);
	if (ret == 0 && (p.status != FILES_PULL_OK || p.type != type || p.size != f->size || p.payload_len != len))
		ret = -EBADMSG;
	return ret == 0 ? xfer_read_full(sock, out, len) : ret;
}

/* Every chunk hash, from the first holder that gives a tree under the root. */
static int load_tree(struct fetch *x)
{
	struct pull_fetch *f = x->f;
	struct files_tree_check c;
	uint32_t ng = files_tree_groups(x->chunks);
	uint8_t *groups = malloc((size_t)ng * FILES_HASH_LEN);
	int ret = groups ? -EIO : -ENOMEM;

	for (unsigned s = 0; groups && s < f->n; s++) {
		ret = files_tree_check_init(&c, f->root, f->size, FILES_CHUNK_DEFAULT, (uint8_t(*)[FILES_HASH_LEN])groups,
					    NULL);
		if (ret == 0)
			ret = ask_hashes(f->socks[s], f, FILES_PULL_TREE, 0, groups, (size_t)ng * FILES_HASH_LEN);
		if (ret == 0)
			ret = files_tree_check_groups(&c, groups, (size_t)ng * FILES_HASH_LEN);
		for (uint32_t g = 0; ret == 0 && g < ng; g++) {
			uint8_t *at = x->hashes + (size_t)g * FILES_TREE_GROUP * FILES_HASH_LEN;
			size_t len = (size_t)(g + 1 < ng ? FILES_TREE_GROUP : x->chunks - g * FILES_TREE_GROUP) * FILES_HASH_LEN;
			c.hashes = (uint8_t(*)[FILES_HASH_LEN])at; /* checked in place */
			ret = ask_hashes(f->socks[s], f, FILES_PULL_GROUP, g, at, len);
			if (ret == 0)
				ret = files_tree_check_hashes(&c, g, at, len);
		}
		if (ret == 0)
			break;
		files_sched_drop(&f->sched, s, now_ns()); /* it lied, or went away */
		ret = -EIO;
	}
	free(groups);
	return ret;
}

/* A resumed pull: each chunk already in the part that hashes right is
 * kept. Holes read as zeros and fail (unless the chunk is zeros: then it
 * is right anyway). */
static int keep_verified(struct fetch *x)
{
	struct pull_fetch *f = x->f;
	struct stat st;
	uint8_t h[FILES_HASH_LEN];
	if (fstat(f->out_fd, &st) < 0)
		return -errno;
	for (uint32_t i = 0; i < x->chunks; i++) {
		uint64_t off = (uint64_t)i * FILES_CHUNK_DEFAULT;
		size_t want = f->size - off < FILES_CHUNK_DEFAULT ? (size_t)(f->size - off) : FILES_CHUNK_DEFAULT;
		if (off + want > (uint64_t)st.st_size || want == 0)
			break;
		ssize_t n = pread(f->out_fd, x->io[0].buf, want, (off_t)off);
		if (n != (ssize_t)want)
			break;
		files_tree_chunk_hash(x->io[0].buf, want, h);
		if (sodium_memcmp(h, x->hashes + (size_t)i * FILES_HASH_LEN, FILES_HASH_LEN) == 0)
			files_sched_have(&f->sched, i);
	}
	return 0;
}

static int report(struct fetch *x)
{
	return x->f->progress ? x->f->progress(x->f->ctx, &x->f->sched) : 0;
}

static void fill(struct fetch *x, unsigned s, uint64_t now)
{
	struct src_io *io = &x->io[s];
	uint32_t idx;
	while (io->count < FILES_SRC_WINDOW_MAX && files_sched_next(&x->f->sched, s, now, &idx) == 1) {
		if (ask(x->f->socks[s], x->f, FILES_PULL_CHUNKS, idx, 1) < 0) {
			files_sched_drop(&x->f->sched, s, now);
			return;
		}
		if (io->count == 0)
			io->last_ns = now; /* the silence counts from the first request */
		io->queue[(io->head + io->count++) % FILES_SRC_WINDOW_MAX] = idx;
	}
}

/* A whole reply for the chunk at the head of s's queue. 0, or -1 to drop s. */
static int take(struct fetch *x, unsigned s, uint64_t now)
{
	struct src_io *io = &x->io[s];
	uint32_t idx = io->queue[io->head];
	io->head = (io->head + 1) % FILES_SRC_WINDOW_MAX;
	io->count--;
	io->hdr_got = io->got = 0;
	uint8_t h[FILES_HASH_LEN];
	files_tree_chunk_hash(io->buf, io->want, h);
	if (sodium_memcmp(h, x->hashes + (size_t)idx * FILES_HASH_LEN, FILES_HASH_LEN) != 0)
		return files_sched_failed(&x->f->sched, s, idx, now) == 1 ? -1 : 0;
	if (x->words[idx] & FILES_SCHED_DONE) /* a second copy, no longer needed */
		return files_sched_done(&x->f->sched, s, idx, io->want, now, NULL) < 0 ? -1 : 0;
	if (pwrite(x->f->out_fd, io->buf, io->want, (off_t)((uint64_t)idx * FILES_CHUNK_DEFAULT)) != (ssize_t)io->want)
		return -1;
	return files_sched_done(&x->f->sched, s, idx, io->want, now, NULL) < 0 ? -1 : 0;
}

/* Reads what s has for us. 0, or -1 to drop s. */
static int on_readable(struct fetch *x, unsigned s, uint64_t now)
{
	struct src_io *io = &x->io[s];
	int sock = x->f->socks[s];
	for (;;) {
		ssize_t n;
		if (io->count == 0)
			return 0; /* all answered; anything more is read (and refused) once we ask again */
		if (io->hdr_got < sizeof(io->hdr)) {
			n = recv(sock, io->hdr + io->hdr_got, sizeof(io->hdr) - io->hdr_got, MSG_DONTWAIT);
		} else {
			n = recv(sock, io->buf + io->got, io->want - io->got, MSG_DONTWAIT);
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1; /* gone */
		io->last_ns = now;
		if (io->hdr_got < sizeof(io->hdr)) {
			io->hdr_got += (size_t)n;
			if (io->hdr_got < sizeof(io->hdr))
				continue;
			struct files_pull_reply p;
			struct files_pull_req r = { FILES_PULL_CHUNKS, { 0 }, FILES_CHUNK_DEFAULT, io->queue[io->head], 1 };
			uint32_t want;
			if (files_pull_reply_parse(io->hdr, sizeof(io->hdr), &p) < 0 || p.status != FILES_PULL_OK ||
			    p.type != FILES_PULL_CHUNKS || p.size != x->f->size ||
			    files_pull_payload_len(&r, x->f->size, &want) < 0 || p.payload_len != want)
				return -1;
			io->want = want;
		} else {
			io->got += (size_t)n;
		}
		if (io->hdr_got == sizeof(io->hdr) && io->got == io->want && take(x, s, now) < 0)
			return -1;
	}
}

static void drop(struct fetch *x, unsigned s, uint64_t now)
{
	files_sched_drop(&x->f->sched, s, now);
	x->io[s].count = 0;
	shutdown(x->f->socks[s], SHUT_RDWR);
}

static int run_loop(struct fetch *x)
{
	struct pull_fetch *f = x->f;
	while (!files_sched_complete(&f->sched)) {
		struct pollfd pfd[FILES_SRC_MAX];
		unsigned map[FILES_SRC_MAX], np = 0;
		uint64_t now = now_ns();
		for (unsigned s = 0; s < f->n; s++) {
			if (f->sched.src[s].state != FILES_SRC_ACTIVE)
				continue;
			fill(x, s, now);
			if (x->io[s].count > 0 && now - x->io[s].last_ns > (uint64_t)f->timeout_ms * 1000000u) {
				drop(x, s, now);
				continue;
			}
			if (f->sched.src[s].state == FILES_SRC_ACTIVE && x->io[s].count > 0) {
				pfd[np] = (struct pollfd){ .fd = f->socks[s], .events = POLLIN };
				map[np++] = s;
			}
		}
		if (np == 0)
			return files_sched_complete(&f->sched) ? 0 : -EIO;
		if (poll(pfd, np, 100) < 0 && errno != EINTR)
			return -errno;
		now = now_ns();
		for (unsigned i = 0; i < np; i++)
			if (pfd[i].revents && on_readable(x, map[i], now) < 0)
				drop(x, map[i], now);
		/* each turn: at least every 100 ms, and after chunks came */
		int ret = report(x);
		if (ret < 0)
			return ret;
	}
	return report(x);
}

static int check_whole(const struct pull_fetch *f)
{
	uint8_t buf[1 << 16], h[FILES_HASH_LEN];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, FILES_HASH_LEN);
	for (uint64_t off = 0; off < f->size;) {
		ssize_t n = pread(f->out_fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		crypto_generichash_update(&st, buf, (size_t)n);
		off += (uint64_t)n;
	}
	crypto_generichash_final(&st, h, sizeof(h));
	return sodium_memcmp(h, f->hash, FILES_HASH_LEN) == 0 ? 0 : -EBADMSG;
}

int pull_fetch_run(struct pull_fetch *f)
{
	struct fetch x = { .f = f };
	int ret = files_tree_chunks(f->size, FILES_CHUNK_DEFAULT, &x.chunks);
	uint64_t now = now_ns();

	if (ret < 0 || f->n == 0 || f->n > FILES_SRC_MAX)
		return ret < 0 ? ret : -EINVAL;
	x.hashes = malloc((size_t)x.chunks * FILES_HASH_LEN);
	x.words = malloc((size_t)x.chunks * sizeof(*x.words));
	ret = x.hashes && x.words ? files_sched_init(&f->sched, x.words, x.chunks, FILES_CHUNK_DEFAULT) : -ENOMEM;
	for (unsigned s = 0; ret == 0 && s < f->n; s++) {
		x.io[s].buf = malloc(FILES_CHUNK_DEFAULT);
		ret = x.io[s].buf ? files_sched_add(&f->sched, s, now) : -ENOMEM;
	}
	if (ret == 0)
		ret = load_tree(&x);
	if (ret == 0 && f->resume)
		ret = keep_verified(&x);
	if (ret == 0)
		ret = report(&x);
	if (ret == 0)
		ret = run_loop(&x);
	if (ret == 0)
		ret = check_whole(f);
	for (unsigned s = 0; s < f->n; s++)
		free(x.io[s].buf);
	free(x.hashes);
	free(x.words);
	f->sched.chunk = NULL; /* the words are gone */
	return ret;
}
