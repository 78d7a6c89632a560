/* In the file worker: an offline push's upload continued after a restart
 * of roamd (docs/files.md, "A restart mid-upload"). Once record 0 is out,
 * the upload saves STATE_DIR/files/upload-TOKEN (0600: it holds the
 * stream's state and so its key): the header and record 0 as sent, the
 * encryptor after record 0 (files_enc_save, MACed), the server's id, and
 * the plaintext's size, mtime and BLAKE2b. After a restart the worker asks
 * the monitor to reopen the file by TOKEN (the monitor keeps the path: the
 * worker cannot open by name); the upload thread checks the reopened file
 * hashes to the saved hash, restores the encryptor, encrypts again from
 * the start (deterministic from the saved state: the same bytes) and sends
 * only what follows the offset the server holds. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/worker.h"
#include "files/files.h"
#include "util/log.h"

#define PENDING_MAX XFER_MAX_SEND
#define SAVE_BYTES_MAX 8192
#define PREFIX "upload-"
#define HM_LEN (FILES_HEADER_LEN + FILES_META_RECORD_LEN)
#define SAVED_MAX_AGE_S (7 * 24 * 3600) /* the server's default expiry */

/* Saved uploads not yet given back by the monitor (the loop's thread only),
 * and the server's ids of every saved upload until it ends (under the
 * worker's lock: the poller must not take them for orphans while their
 * file is being reopened and hashed). */
static char pending[PENDING_MAX][FILES_TOKEN_LEN + 1];
static struct {
	char token[FILES_TOKEN_LEN + 1];
	char server_id[40];
} held[PENDING_MAX];

bool offline_resume_holds(const char *server_id)
{
	bool found = false;
	pthread_mutex_lock(&xfer_worker->lock);
	for (int i = 0; i < PENDING_MAX && !found; i++)
		found = held[i].server_id[0] && strcmp(held[i].server_id, server_id) == 0;
	pthread_mutex_unlock(&xfer_worker->lock);
	return found;
}

static void release(const char *token)
{
	pthread_mutex_lock(&xfer_worker->lock);
	for (int i = 0; i < PENDING_MAX; i++)
		if (strcmp(held[i].token, token) == 0)
			memset(&held[i], 0, sizeof(held[i]));
	pthread_mutex_unlock(&xfer_worker->lock);
}

/* The server's id in a saved upload, into held[n]. */
static void hold(struct worker *w, int n, const char *name)
{
	static char buf[SAVE_BYTES_MAX + 1];
	int fd = openat(w->state_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, buf, SAVE_BYTES_MAX);
	if (fd >= 0)
		close(fd);
	cJSON *s = len > 0 ? cJSON_ParseWithLength(buf, (size_t)len) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "server_id");
	pthread_mutex_lock(&w->lock);
	snprintf(held[n].token, sizeof(held[n].token), "%s", pending[n]);
	snprintf(held[n].server_id, sizeof(held[n].server_id), "%s", cJSON_IsString(id) ? id->valuestring : "");
	pthread_mutex_unlock(&w->lock);
	cJSON_Delete(s);
	crypto_wipe(buf, sizeof(buf));
}

static void file_name(char *out, size_t size, const char *token)
{
	snprintf(out, size, PREFIX "%s", token);
}

static bool token_ok(const char *t)
{
	if (strlen(t) != FILES_TOKEN_LEN)
		return false;
	for (const char *p = t; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void offline_resume_scan(struct worker *w)
{
	DIR *dir = w->state_fd < 0 ? NULL : fdopendir(dup(w->state_fd));
	struct dirent *e;
	int n = 0;
	if (!dir)
		return;
	struct stat st;
	while ((e = readdir(dir)) && n < PENDING_MAX) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 || !token_ok(e->d_name + strlen(PREFIX)) ||
		    fstatat(w->state_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Past the server's expiry its copy is gone anyway. */
		if (st.st_mtime + SAVED_MAX_AGE_S < time(NULL)) {
			unlinkat(w->state_fd, e->d_name, 0);
			continue;
		}
		snprintf(pending[n], sizeof(pending[0]), "%s", e->d_name + strlen(PREFIX));
		hold(w, n++, e->d_name);
	}
	closedir(dir);
	if (n)
		log_info("files: %d uploads to continue from before the restart", n);
}

void offline_resume_ask(void)
{
	for (int i = 0; i < PENDING_MAX; i++) {
		char msg[96];
		if (!pending[i][0])
			continue;
		snprintf(msg, sizeof(msg), "{\"t\":\"reopen\",\"token\":\"%.32s\"}", pending[i]);
		send(FILES_WORKER_FD, msg, strlen(msg), MSG_NOSIGNAL);
	}
}

bool offline_resume_claimed(const char *token)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (strcmp(pending[i], token) == 0) {
			pending[i][0] = '\0';
			return true;
		}
	return false;
}

void offline_resume_forget(struct worker *w, const char *token)
{
	char name[sizeof(PREFIX) + FILES_TOKEN_LEN];
	if (!token_ok(token))
		return;
	offline_resume_claimed(token);
	release(token);
	file_name(name, sizeof(name), token);
	if (unlinkat(w->state_fd, name, 0) == 0)
		log_info("files: an upload from before the restart cannot continue (its file is gone)");
}

static void add_hex(cJSON *o, const char *key, const uint8_t *bin, size_t len)
{
	char *hex = malloc(2 * len + 1);
	if (!hex)
		return;
	sodium_bin2hex(hex, 2 * len + 1, bin, len);
	cJSON_AddStringToObject(o, key, hex);
	free(hex);
}

static int get_hex(const cJSON *o, const char *key, uint8_t *bin, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t got = 0;
	if (!cJSON_IsString(v) || sodium_hex2bin(bin, len, v->valuestring, strlen(v->valuestring), NULL, &got, NULL) < 0 ||
	    got != len)
		return -EBADMSG;
	return 0;
}

int offline_resume_save(const struct xfer *x, const uint8_t *hm, size_t hm_len, const struct files_enc *e,
			const struct files_push_offer *o, uint64_t total)
{
	uint8_t blob[FILES_SAVE_LEN];
	char name[sizeof(PREFIX) + FILES_TOKEN_LEN], tmp[sizeof(name) + 4];
	if (!x->token[0] || hm_len != HM_LEN || files_enc_save(e, &xfer_worker->key, blob) < 0)
		return -EINVAL;
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "server_id", x->server_id);
	cJSON_AddNumberToObject(s, "size", (double)o->size);
	cJSON_AddNumberToObject(s, "mtime", (double)o->mtime);
	cJSON_AddNumberToObject(s, "total", (double)total);
	add_hex(s, "hash", o->hash, FILES_HASH_LEN);
	add_hex(s, "hm", hm, hm_len);
	add_hex(s, "enc", blob, sizeof(blob));
	crypto_wipe(blob, sizeof(blob));
	char *text = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	file_name(name, sizeof(name), x->token);
	snprintf(tmp, sizeof(tmp), "%s.new", name);
	int ret = -ENOMEM, fd = text ? openat(xfer_worker->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	if (fd >= 0) {
		size_t len = strlen(text);
		ret = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 &&
				      renameat(xfer_worker->state_fd, tmp, xfer_worker->state_fd, name) == 0
			      ? 0
			      : -EIO;
		close(fd);
	}
	if (text)
		crypto_wipe(text, strlen(text));
	free(text);
	return ret;
}

int offline_resume_load(struct xfer *x, uint8_t *hm, struct files_enc *e, const struct files_push_offer *o,
			uint64_t *total)
{
	static __thread char buf[SAVE_BYTES_MAX + 1];
	uint8_t blob[FILES_SAVE_LEN], hash[FILES_HASH_LEN];
	char name[sizeof(PREFIX) + FILES_TOKEN_LEN];
	file_name(name, sizeof(name), x->token);
	int fd = openat(xfer_worker->state_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, SAVE_BYTES_MAX);
	if (fd >= 0)
		close(fd);
	cJSON *s = n > 0 ? cJSON_ParseWithLength(buf, (size_t)n) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "server_id");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(s, "size"), *mtime = cJSON_GetObjectItemCaseSensitive(s, "mtime");
	const cJSON *tot = cJSON_GetObjectItemCaseSensitive(s, "total");
	int ret = -ENOENT;
	if (s && cJSON_IsString(id) && strlen(id->valuestring) < sizeof(x->server_id) && cJSON_IsNumber(size) &&
	    cJSON_IsNumber(mtime) && cJSON_IsNumber(tot) && get_hex(s, "hash", hash, sizeof(hash)) == 0 &&
	    get_hex(s, "hm", hm, HM_LEN) == 0 && get_hex(s, "enc", blob, sizeof(blob)) == 0) {
		/* The same file: its size, mtime and whole hash (hashed just now). */
		ret = -ESTALE;
		if ((uint64_t)size->valuedouble == o->size && (int64_t)mtime->valuedouble == o->mtime &&
		    sodium_memcmp(hash, o->hash, sizeof(hash)) == 0 &&
		    files_enc_restore(e, hm, FILES_HEADER_LEN, &xfer_worker->key, blob, sizeof(blob)) == 0) {
			snprintf(x->server_id, sizeof(x->server_id), "%s", id->valuestring);
			*total = (uint64_t)tot->valuedouble;
			ret = 0;
		}
	}
	crypto_wipe(blob, sizeof(blob));
	crypto_wipe(buf, sizeof(buf));
	cJSON_Delete(s);
	return ret;
}

void offline_resume_done(const struct xfer *x)
{
	char name[sizeof(PREFIX) + FILES_TOKEN_LEN], msg[96];
	if (!x->token[0])
		return;
	file_name(name, sizeof(name), x->token);
	unlinkat(xfer_worker->state_fd, name, 0);
	release(x->token);
	snprintf(msg, sizeof(msg), "{\"t\":\"upload_done\",\"token\":\"%.32s\"}", x->token);
	send(FILES_WORKER_FD, msg, strlen(msg), MSG_NOSIGNAL);
}
