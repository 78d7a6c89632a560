/* The highest index sequence accepted per (publisher, group) (index_seen.h). */
#include "daemon/files/index_seen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 64 /* "publisher gid seq\n" */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen {
	uint32_t publisher, gid;
	uint64_t seq;
	uint64_t used; /* when last raised (tick): the oldest goes when full */
} table[INDEX_SEEN_MAX];
static size_t n_seen;
static uint64_t tick;
static int save_fd = -1;

static struct seen *slot_of(uint32_t publisher, uint32_t gid, int make) /* under seen_lock */
{
	size_t oldest = 0;
	for (size_t i = 0; i < n_seen; i++) {
		if (table[i].publisher == publisher && table[i].gid == gid)
			return &table[i];
		if (table[i].used < table[oldest].used)
			oldest = i;
	}
	if (!make)
		return NULL;
	struct seen *s = n_seen < INDEX_SEEN_MAX ? &table[n_seen++] : &table[oldest];
	*s = (struct seen){ publisher, gid, 0, 0 };
	return s;
}

/* The table written whole (a temporary file renamed over the old one). */
static void save(void) /* under seen_lock */
{
	if (save_fd < 0)
		return;
	int fd = openat(save_fd, INDEX_SEEN_FILE ".new", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < n_seen; i++)
		fprintf(f, "%" PRIu32 " %" PRIu32 " %" PRIu64 "\n", table[i].publisher, table[i].gid, table[i].seq);
	if (fflush(f) == 0 && fsync(fd) == 0)
		renameat(save_fd, INDEX_SEEN_FILE ".new", save_fd, INDEX_SEEN_FILE);
	fclose(f);
}

void index_seen_init(int dirfd)
{
	pthread_mutex_lock(&seen_lock);
	save_fd = dirfd;
	int fd = dirfd < 0 ? -1 : openat(dirfd, INDEX_SEEN_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	char line[LINE_MAX_LEN];
	uint32_t p, g;
	uint64_t s;
	while (f && n_seen < INDEX_SEEN_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNu32 " %" SCNu32 " %" SCNu64, &p, &g, &s) == 3) {
			struct seen *e = slot_of(p, g, 1);
			e->seq = s > e->seq ? s : e->seq;
			e->used = ++tick;
		}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&seen_lock);
}

int index_seen_accept(uint32_t publisher, uint32_t gid, uint64_t seq)
{
	pthread_mutex_lock(&seen_lock);
	struct seen *s = slot_of(publisher, gid, 1);
	int ret = seq < s->seq ? -ESTALE : 0;
	if (ret == 0 && (seq > s->seq || s->used == 0)) {
		s->seq = seq;
		s->used = ++tick;
		save();
	}
	pthread_mutex_unlock(&seen_lock);
	return ret;
}

void index_seen_reset(void)
{
	pthread_mutex_lock(&seen_lock);
	n_seen = 0;
	tick = 0;
	pthread_mutex_unlock(&seen_lock);
}
