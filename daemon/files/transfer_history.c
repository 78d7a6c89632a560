/* `roam files` across restarts: the worker's table (what was sent and
 * received, the XFER_SLOTS newest) saved to STATE_DIR/files/history.json
 * whenever it changed (checked at every tick), written to a new file and
 * renamed over the old one so a crash leaves either the old or the new
 * list. At start the list is read back: finished entries stay as they
 * were, an offline push that was "queued" stays queued (the poller finds
 * its receipt on the server and makes it "delivered" then), and anything
 * that was moving when roamd stopped is "failed" (a new push continues an
 * online one from the receiver's partial file), except a download from the
 * server's cache, which the poller continues by itself, and an upload with
 * a saved state, which offline_resume.c continues (each as a new entry). Restored entries get new
 * ids ("h1", "h2", ...): the monitor numbers its pushes from 1 again. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define HISTORY_FILE "history.json"
#define HISTORY_MAX_BYTES (512u << 10) /* XFER_SLOTS entries of well under 2 KiB */

static uint64_t saved_seq;

static const char *const state_names[] = {
	[XFER_FREE] = "free", [XFER_HASHING] = "hashing", [XFER_CONNECTING] = "connecting",
	[XFER_WAITING] = "waiting", [XFER_SENDING] = "sending", [XFER_RECEIVING] = "receiving",
	[XFER_UPLOADING] = "uploading", [XFER_QUEUED] = "queued", [XFER_DOWNLOADING] = "downloading",
	[XFER_DELIVERED] = "delivered", [XFER_RECEIVED] = "received", [XFER_FAILED] = "failed",
	[XFER_CANCELLED] = "cancelled",
};

const char *xfer_state_name(enum xfer_state s)
{
	return state_names[s];
}

static void add_hex(cJSON *o, const char *key, const uint8_t *bin, size_t len)
{
	char hex[2 * 64 + 1];
	sodium_bin2hex(hex, sizeof(hex), bin, len);
	cJSON_AddStringToObject(o, key, hex);
}

static void get_hex(const cJSON *o, const char *key, uint8_t *bin, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t got = 0;
	if (!cJSON_IsString(v) || sodium_hex2bin(bin, len, v->valuestring, strlen(v->valuestring), NULL, &got, NULL) < 0 ||
	    got != len)
		memset(bin, 0, len);
}

static void get_str(const cJSON *o, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	snprintf(out, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static uint64_t get_u64(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1.8e19 ? (uint64_t)v->valuedouble : 0;
}

/* Under the lock. */
static cJSON *entry_json(const struct xfer *x)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "state", state_names[x->state]);
	cJSON_AddBoolToObject(o, "outgoing", x->outgoing);
	cJSON_AddStringToObject(o, "name", x->name);
	cJSON_AddStringToObject(o, "peer", x->peer);
	cJSON_AddStringToObject(o, "where", x->where);
	cJSON_AddStringToObject(o, "error", x->error);
	cJSON_AddNumberToObject(o, "size", (double)x->size);
	cJSON_AddNumberToObject(o, "done", (double)x->done);
	add_hex(o, "hash", x->hash, sizeof(x->hash));
	if (x->offline) {
		cJSON_AddBoolToObject(o, "offline", true);
		cJSON_AddNumberToObject(o, "to", x->to);
		cJSON_AddStringToObject(o, "server_id", x->server_id);
		cJSON_AddStringToObject(o, "token", x->token);
		add_hex(o, "file_id", x->file_id, sizeof(x->file_id));
		add_hex(o, "recipient_pub", x->recipient_pub, sizeof(x->recipient_pub));
	}
	return o;
}

static int write_atomic(int dirfd, const char *text)
{
	size_t len = strlen(text);
	int ret = 0, fd = openat(dirfd, HISTORY_FILE ".new", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    renameat(dirfd, HISTORY_FILE ".new", dirfd, HISTORY_FILE) < 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

void xfer_history_tick(struct worker *w)
{
	if (w->state_fd < 0)
		return;
	pthread_mutex_lock(&w->lock);
	uint64_t seq = w->seq;
	if (seq == saved_seq) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	const struct xfer *order[XFER_SLOTS];
	int n = 0;
	for (int i = 0; i < XFER_SLOTS; i++)
		if (w->xfers[i].state != XFER_FREE)
			order[n++] = &w->xfers[i];
	for (int i = 1; i < n; i++) /* oldest first, as restored */
		for (int j = i; j > 0 && order[j]->seq < order[j - 1]->seq; j--) {
			const struct xfer *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, entry_json(order[i]));
	pthread_mutex_unlock(&w->lock);
	char *text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	int ret = text ? write_atomic(w->state_fd, text) : -ENOMEM;
	free(text);
	if (ret == 0)
		saved_seq = seq;
	else if (saved_seq != UINT64_MAX) { /* said once, then tried again quietly */
		log_warn("files: cannot save the list of transfers: %s", strerror(-ret));
		saved_seq = UINT64_MAX;
	}
}

static enum xfer_state restored_state(const char *name, const char **error)
{
	*error = NULL;
	for (size_t s = XFER_FREE + 1; s < sizeof(state_names) / sizeof(state_names[0]); s++) {
		if (strcmp(name, state_names[s]) != 0)
			continue;
		if (s == XFER_QUEUED || s == XFER_DELIVERED || s == XFER_RECEIVED || s == XFER_FAILED ||
		    s == XFER_CANCELLED)
			return (enum xfer_state)s;
		if (s == XFER_DOWNLOADING)
			return XFER_FREE; /* the poller continues it from its saved state: a new entry */
		break;
	}
	*error = "interrupted: roamd stopped during it";
	return XFER_FAILED;
}

/* 1 restored into slot n, 0 skipped. */
static int entry_restore(struct worker *w, const cJSON *o, unsigned n)
{
	struct xfer *x = &w->xfers[n];
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
	const char *error;
	enum xfer_state state = restored_state(cJSON_IsString(st) ? st->valuestring : "", &error);
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(o, "token");
	char saved[96];
	snprintf(saved, sizeof(saved), "upload-%.32s", cJSON_IsString(token) ? token->valuestring : "");
	if (cJSON_IsString(st) && strcmp(st->valuestring, "uploading") == 0 && cJSON_IsString(token) &&
	    token->valuestring[0]) {
		int fd = openat(w->state_fd, saved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			state = XFER_FREE; /* offline_resume.c continues it: a new entry */
		}
	}
	if (state == XFER_FREE)
		return 0;
	memset(x, 0, sizeof(*x));
	x->sock = x->file_fd = -1;
	x->state = state;
	x->outgoing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "outgoing"));
	x->offline = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "offline"));
	snprintf(x->id, sizeof(x->id), "h%u", n + 1);
	get_str(o, "name", x->name, sizeof(x->name));
	get_str(o, "peer", x->peer, sizeof(x->peer));
	get_str(o, "where", x->where, sizeof(x->where));
	get_str(o, "error", x->error, sizeof(x->error));
	if (error)
		snprintf(x->error, sizeof(x->error), "%s", error);
	x->size = get_u64(o, "size");
	x->done = x->run_start_bytes = get_u64(o, "done");
	get_hex(o, "hash", x->hash, sizeof(x->hash));
	if (x->offline) {
		x->to = (uint32_t)get_u64(o, "to");
		get_str(o, "server_id", x->server_id, sizeof(x->server_id));
		get_hex(o, "file_id", x->file_id, sizeof(x->file_id));
		get_hex(o, "recipient_pub", x->recipient_pub, sizeof(x->recipient_pub));
	}
	if (error)
		x->server_id[0] = '\0'; /* its upload on the server is an orphan: the poller drops it */
	if (x->state == XFER_QUEUED && (!x->outgoing || !x->offline || !x->server_id[0])) {
		x->state = XFER_FAILED; /* only an offline push waits on the server */
		snprintf(x->error, sizeof(x->error), "interrupted: roamd stopped during it");
	}
	worker_changed(w, x);
	return 1;
}

/* Before any thread starts: no lock needed. A missing or damaged file is
 * an empty list (the list is a convenience; the files themselves are
 * safe either way). */
void xfer_history_load(struct worker *w)
{
	static char buf[HISTORY_MAX_BYTES + 1];
	int fd = w->state_fd < 0 ? -1 : openat(w->state_fd, HISTORY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t len = read(fd, buf, sizeof(buf));
	close(fd);
	cJSON *arr = len > 0 && (size_t)len <= HISTORY_MAX_BYTES ? cJSON_ParseWithLength(buf, (size_t)len) : NULL;
	if (arr && !cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		arr = NULL;
	}
	unsigned n = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		if (n == XFER_SLOTS)
			break;
		if (cJSON_IsObject(o))
			n += (unsigned)entry_restore(w, o, n);
	}
	if (!arr && len != 0)
		log_warn("files: %s is damaged: the list of transfers starts empty", HISTORY_FILE);
	cJSON_Delete(arr);
	saved_seq = w->seq;
	if (n)
		log_info("files: %u transfers from before the restart", n);
}
