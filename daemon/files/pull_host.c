/* The published set and the pull connections it answers (pull_host.h). */
#include "daemon/files/pull_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/files/publish_scan.h"
#include "daemon/files/pull_serve.h"
#include "daemon/files/worker.h"
#include "util/log.h"

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct publish_scan *published; /* under host_lock */
static unsigned serving;               /* connections, under host_lock */

int pull_host_publish(const char *dir, char *bad, size_t bad_size)
{
	struct publish_scan *sc = calloc(1, sizeof(*sc));
	int ret;
	if (!sc)
		return -ENOMEM;
	ret = publish_scan_dir(dir, sc);
	if (ret < 0) {
		if (bad && bad_size)
			snprintf(bad, bad_size, "%s", sc->bad);
		free(sc);
		return ret;
	}
	pthread_mutex_lock(&host_lock);
	struct publish_scan *old = published;
	published = sc;
	ret = (int)sc->n;
	pthread_mutex_unlock(&host_lock);
	/* A connection being served holds its own fd, never the scan. */
	if (old)
		publish_scan_free(old);
	free(old);
	return ret;
}

void pull_host_unpublish(void)
{
	pthread_mutex_lock(&host_lock);
	struct publish_scan *old = published;
	published = NULL;
	pthread_mutex_unlock(&host_lock);
	if (old)
		publish_scan_free(old);
	free(old);
}

void pull_host_free(void)
{
	pull_host_unpublish();
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
	pthread_mutex_unlock(&host_lock);
	return ret;
}

/* Makes h the file asked for by r (loaded once per connection and hash):
 * 0, or -errno when it is not served (the reply is then NOT_FOUND). */
static int hold(struct pull_held *h, bool *loaded, const struct files_pull_req *r)
{
	uint64_t size = 0;
	if (*loaded && sodium_memcmp(h->hash, r->hash, FILES_HASH_LEN) == 0)
		return 0;
	if (*loaded) {
		close(h->fd);
		pull_held_free(h);
		*loaded = false;
	}
	int fd = open_by_hash(r->hash, &size);
	if (fd < 0)
		return fd;
	int ret = pull_held_load(h, fd, size, r->hash);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*loaded = true;
	return 0;
}

void pull_host_serve(int sock, const uint8_t first[4])
{
	uint8_t buf[FILES_PULL_REQ_LEN];
	struct files_pull_req r;
	struct pull_held h;
	bool loaded = false, busy;

	pthread_mutex_lock(&host_lock);
	busy = serving >= PULL_HOST_MAX_CONNS;
	if (!busy)
		serving++;
	pthread_mutex_unlock(&host_lock);
	memset(&h, 0, sizeof(h));
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
		int ret = hold(&h, &loaded, &r);
		if (ret < 0 && ret != -ENOENT)
			log_info("files: not serving a published file: %s (publish again)", strerror(-ret));
		if (pull_serve_request(sock, &r, ret < 0 ? NULL : &h) < 0)
			break;
	}
	if (loaded) {
		close(h.fd);
		pull_held_free(&h);
	}
	if (!busy) {
		pthread_mutex_lock(&host_lock);
		serving--;
		pthread_mutex_unlock(&host_lock);
	}
}
