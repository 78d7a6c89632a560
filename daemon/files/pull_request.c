/* `roam pull` in the monitor (file_service.h): the request checked, the
 * destination directory opened here (root, as the user asked) and its
 * descriptor handed to the worker, which runs the pull (pull_job.c). Each
 * pull is kept in STATE_DIR/files-pulls.json (root's; at most PULLS_MAX)
 * until the worker says it ended; after a restart of roamd the monitor
 * sends them again and the worker continues each from its part. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/files/file_service.h"
#include "daemon/roamd.h"
#include "files/push.h"
#include "util/log.h"

#define PULLS_MAX 16

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

/* The worker's message for args (checked), without the id; NULL with *err. */
static cJSON *pull_msg(struct roamd *d, const cJSON *args, char **err)
{
	const char *peer = str_of(args, "peer"), *path = str_of(args, "path"), *name = str_of(args, "name");
	const char *dest = str_of(args, "dest");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(args, "size");
	struct wg_peer *p = peer ? roamd_peer_by_query(d, peer) : NULL;
	const struct managed_peer_info *mp = p ? p->user : NULL;
	*err = NULL;
	if (!mp) {
		*err = roamd_files_error("no peer '%s' (by name, overlay address or public key) shares a group with us",
				  peer ? peer : "");
		return NULL;
	}
	if (path && !files_index_path_valid(path, strlen(path))) {
		*err = roamd_files_error("'%s': not a path in a published index (relative, no '..')", path);
		return NULL;
	}
	if (!path && (!hex64(str_of(args, "hash")) || !hex64(str_of(args, "root")) || !cJSON_IsNumber(size) ||
		      size->valuedouble < 0 || size->valuedouble > (double)FILES_MAX_SIZE)) {
		*err = roamd_control_error("pull: give a PATH, or --hash, --root and --size");
		return NULL;
	}
	char by_hash[32];
	if (!name && path)
		name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!name && !path) {
		snprintf(by_hash, sizeof(by_hash), "pulled-%.16s", str_of(args, "hash"));
		name = by_hash;
	}
	if (!name || !files_push_name_ok(name, strlen(name))) {
		*err = roamd_files_error("'%s': not a file name to store (give --name)", name ? name : "");
		return NULL;
	}
	if (dest && dest[0] != '/') {
		*err = roamd_control_error("pull: DEST must be an absolute path");
		return NULL;
	}
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "pull");
	cJSON_AddStringToObject(msg, "peer", mp->name);
	cJSON_AddStringToObject(msg, "name", name);
	if (path) {
		cJSON_AddStringToObject(msg, "path", path);
	} else {
		cJSON_AddStringToObject(msg, "hash", str_of(args, "hash"));
		cJSON_AddStringToObject(msg, "root", str_of(args, "root"));
		cJSON_AddNumberToObject(msg, "size", size->valuedouble);
	}
	if (dest)
		cJSON_AddStringToObject(msg, "dest", dest);
	return msg;
}

/* The worker's message with DEST opened: 0, or -errno. */
static int send_pull(cJSON *msg, files_send_fn send, void *ctx)
{
	const char *dest = str_of(msg, "dest");
	int fd = -1, ret;
	if (dest) {
		fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	ret = send(ctx, msg, fd);
	if (fd >= 0)
		close(fd); /* the worker has its own copy */
	return ret;
}

char *files_pull_request(struct roamd *d, const char *list, const char *args_json, uint32_t *next_id,
			 files_send_fn send, void *ctx)
{
	cJSON *args = args_json ? cJSON_Parse(args_json) : NULL;
	char *err = NULL, id[16];
	cJSON *msg = args ? pull_msg(d, args, &err) : NULL;
	cJSON_Delete(args);
	if (!msg)
		return err ? err : roamd_control_error("pull: give a peer and a path");
	snprintf(id, sizeof(id), "p%u", ++*next_id);
	cJSON_AddStringToObject(msg, "id", id);
	int ret = send_pull(msg, send, ctx);
	if (ret == 0) {
		cJSON *arr = files_json_load(list);
		while (cJSON_GetArraySize(arr) >= PULLS_MAX)
			cJSON_DeleteItemFromArray(arr, 0); /* the oldest cannot continue after a restart */
		cJSON_AddItemToArray(arr, cJSON_Duplicate(msg, true));
		if (files_json_save(list, arr) < 0)
			log_warn("files: cannot save %s: the pull will not continue after a restart", list);
		cJSON_Delete(arr);
	}
	char *dest = str_of(msg, "dest") ? strdup(str_of(msg, "dest")) : NULL;
	cJSON_Delete(msg);
	if (ret < 0) {
		char *e = dest ? roamd_files_error("%s: %s", dest, strerror(-ret))
			       : roamd_files_error("the file service is not running (%s)", strerror(-ret));
		free(dest);
		return e;
	}
	free(dest);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "id", id);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

void files_pull_resend(const char *list, uint32_t *next_id, files_send_fn send, void *ctx)
{
	cJSON *arr = files_json_load(list), *msg;
	char failed[PULLS_MAX][16];
	int nf = 0;
	cJSON_ArrayForEach(msg, arr) {
		const char *id = str_of(msg, "id");
		unsigned long n = id && id[0] == 'p' ? strtoul(id + 1, NULL, 10) : 0;
		if (n > *next_id && n < UINT32_MAX)
			*next_id = (uint32_t)n; /* new pulls get new ids */
		cJSON_DeleteItemFromObject(msg, "resume");
		cJSON_AddBoolToObject(msg, "resume", true);
		int ret = send_pull(msg, send, ctx);
		if (ret < 0)
			log_warn("files: cannot continue the pull %s: %s", id ? id : "?", strerror(-ret));
		else
			log_info("files: continuing the pull %s", id ? id : "?");
		if (ret < 0 && id && nf < PULLS_MAX)
			snprintf(failed[nf++], sizeof(failed[0]), "%s", id); /* it never will */
	}
	cJSON_Delete(arr);
	for (int i = 0; i < nf; i++)
		files_pull_ended(list, failed[i]);
}

void files_pull_ended(const char *list, const char *id)
{
	cJSON *arr = files_json_load(list);
	for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
		const char *v = str_of(cJSON_GetArrayItem(arr, i), "id");
		if (v && strcmp(v, id) == 0)
			cJSON_DeleteItemFromArray(arr, i);
	}
	files_json_save(list, arr);
	cJSON_Delete(arr);
}
