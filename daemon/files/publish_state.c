/* The published set across restarts (publish_state.h). */
#include "daemon/files/publish_state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_MAX (16 * 1024) /* a directory's path, 32 groups' sequences */
#define GROUPS_MAX 32

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int state_dirfd = -1;
/* {"dir","group","cache","seq":{G:N}}; without "dir": nothing published
 * (unpublished: the sequences kept); NULL: nothing ever published. */
static cJSON *record;

static int save(void) /* under state_lock */
{
	if (state_dirfd < 0)
		return 0;
	if (!record)
		return 0;
	char *text = cJSON_PrintUnformatted(record);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	int ret = 0, fd = openat(state_dirfd, PUBLISH_STATE_FILE ".new",
				 O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		ret = -errno;
	else if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
		 renameat(state_dirfd, PUBLISH_STATE_FILE ".new", state_dirfd, PUBLISH_STATE_FILE) < 0)
		ret = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

static uint64_t highest(const cJSON *seqs)
{
	const cJSON *s;
	uint64_t max = 0;
	cJSON_ArrayForEach(s, seqs)
		if (cJSON_IsNumber(s) && s->valuedouble > (double)max)
			max = (uint64_t)s->valuedouble;
	return max;
}

int publish_state_init(int dirfd, char *dir, size_t dir_size, char *group, size_t group_size, bool *cache,
		       uint64_t *max_seq)
{
	static char buf[RECORD_MAX + 1];
	pthread_mutex_lock(&state_lock);
	state_dirfd = dirfd;
	cJSON_Delete(record);
	record = NULL;
	int fd = dirfd < 0 ? -1 : openat(dirfd, PUBLISH_STATE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, RECORD_MAX);
	int ret = fd < 0 ? -ENOENT : n <= 0 ? -EIO : 0;
	if (fd >= 0)
		close(fd);
	cJSON *r = ret == 0 ? cJSON_ParseWithLength(buf, (size_t)n) : NULL;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "dir"), *g = cJSON_GetObjectItemCaseSensitive(r, "group");
	const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(r, "seq");
	*max_seq = 0;
	if (ret == 0 && !cJSON_IsObject(seqs))
		ret = -EBADMSG;
	else if (ret == 0 && !d) /* unpublished: only the sequences are left */
		ret = -ENOENT;
	else if (ret == 0 && (!cJSON_IsString(d) || d->valuestring[0] != '/' || strlen(d->valuestring) >= dir_size ||
			      !cJSON_IsString(g) || strlen(g->valuestring) >= group_size))
		ret = -EBADMSG;
	if (ret == 0) {
		snprintf(dir, dir_size, "%s", d->valuestring);
		snprintf(group, group_size, "%s", g->valuestring);
		*cache = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "cache"));
	}
	if (ret == 0 || ret == -ENOENT) {
		*max_seq = seqs ? highest(seqs) : 0;
		record = r;
		r = NULL;
	}
	cJSON_Delete(r);
	pthread_mutex_unlock(&state_lock);
	return ret;
}

int publish_state_set(const char *dir, const char *group, bool cache)
{
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return -ENOMEM;
	cJSON_AddStringToObject(r, "dir", dir);
	cJSON_AddStringToObject(r, "group", group ? group : "");
	cJSON_AddBoolToObject(r, "cache", cache);
	pthread_mutex_lock(&state_lock);
	/* The sequences stay: an index to a group must go higher than any before. */
	cJSON *seqs = record ? cJSON_DetachItemFromObjectCaseSensitive(record, "seq") : NULL;
	cJSON_AddItemToObject(r, "seq", seqs ? seqs : cJSON_CreateObject());
	cJSON_Delete(record);
	record = r;
	int ret = save();
	pthread_mutex_unlock(&state_lock);
	return ret;
}

int publish_state_seq(const char *group, uint64_t seq)
{
	pthread_mutex_lock(&state_lock);
	cJSON *seqs = cJSON_GetObjectItemCaseSensitive(record, "seq");
	int ret = 0;
	if (seqs && (cJSON_GetObjectItemCaseSensitive(seqs, group) || cJSON_GetArraySize(seqs) < GROUPS_MAX)) {
		cJSON_DeleteItemFromObjectCaseSensitive(seqs, group);
		cJSON_AddNumberToObject(seqs, group, (double)seq);
		ret = save();
	}
	pthread_mutex_unlock(&state_lock);
	return ret;
}

int publish_state_clear(void)
{
	pthread_mutex_lock(&state_lock);
	/* The sequences stay (publish_state_set); the rest goes. */
	cJSON_DeleteItemFromObjectCaseSensitive(record, "dir");
	cJSON_DeleteItemFromObjectCaseSensitive(record, "group");
	cJSON_DeleteItemFromObjectCaseSensitive(record, "cache");
	int ret = save();
	pthread_mutex_unlock(&state_lock);
	return ret;
}
