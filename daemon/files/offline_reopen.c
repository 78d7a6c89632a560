/* In the monitor: the offline pushes whose upload a restart may continue
 * (docs/files.md, "Offline push", "A restart mid-upload"). The worker
 * cannot open files by name, so after a restart it asks the monitor to
 * reopen the file of an upload it had saved, naming it only by the random
 * token the monitor gave that push. The monitor keeps the token's path and
 * peer in STATE_DIR/files-uploads.json (root's, outside the worker's
 * directory) and reopens nothing else: a worker that could name any path
 * would read any file on the host. At most UPLOADS_MAX entries: the
 * oldest goes first. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/file_service.h"
#include "util/log.h"

#define UPLOADS_MAX 64
#define UPLOADS_BYTES_MAX (UPLOADS_MAX * 4600) /* a path, a name and a token each */

cJSON *files_json_load(const char *file)
{
	static char buf[UPLOADS_BYTES_MAX + 1];
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	cJSON *arr = n > 0 && (size_t)n <= UPLOADS_BYTES_MAX ? cJSON_ParseWithLength(buf, (size_t)n) : NULL;
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		arr = cJSON_CreateArray();
	}
	return arr;
}

int files_json_save(const char *file, const cJSON *arr)
{
	char tmp[600];
	char *text = cJSON_PrintUnformatted(arr);
	if (!text || snprintf(tmp, sizeof(tmp), "%s.new", file) >= (int)sizeof(tmp)) {
		free(text);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	int ret = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || rename(tmp, file) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

int files_uploads_add(const char *file, const char *path, const char *peer, char token[FILES_TOKEN_LEN + 1])
{
	uint8_t raw[FILES_TOKEN_LEN / 2];
	crypto_random(raw, sizeof(raw));
	sodium_bin2hex(token, FILES_TOKEN_LEN + 1, raw, sizeof(raw));
	cJSON *arr = files_json_load(file);
	while (cJSON_GetArraySize(arr) >= UPLOADS_MAX)
		cJSON_DeleteItemFromArray(arr, 0);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "peer", peer);
	cJSON_AddNumberToObject(o, "created", (double)time(NULL));
	cJSON_AddItemToArray(arr, o);
	int ret = files_json_save(file, arr);
	cJSON_Delete(arr);
	return ret;
}

int files_uploads_find(const char *file, const char *token, char *path, size_t path_size, char *peer, size_t peer_size)
{
	cJSON *arr = files_json_load(file);
	const cJSON *o;
	int ret = -ENOENT;
	cJSON_ArrayForEach(o, arr)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "token");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "path");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "peer");
		if (cJSON_IsString(t) && cJSON_IsString(p) && cJSON_IsString(n) && strcmp(t->valuestring, token) == 0) {
			snprintf(path, path_size, "%s", p->valuestring);
			snprintf(peer, peer_size, "%s", n->valuestring);
			ret = 0;
			break;
		}
	}
	cJSON_Delete(arr);
	return ret;
}

void files_uploads_remove(const char *file, const char *token)
{
	cJSON *arr = files_json_load(file);
	int i = 0, found = -1;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "token");
		if (cJSON_IsString(t) && strcmp(t->valuestring, token) == 0)
			found = i;
		i++;
	}
	if (found >= 0) {
		cJSON_DeleteItemFromArray(arr, found);
		int ret = files_json_save(file, arr);
		if (ret < 0)
			log_warn("files: cannot save the list of uploads: %s", strerror(-ret));
	}
	cJSON_Delete(arr);
}
