/* `roam ls PEER [PATH]` in the file worker: the monitor passes the request
 * with the control connection's ticket; a thread fetches and opens the
 * peer's index (index_fetch.h) and sends the listing back with the ticket,
 * which the monitor answers the CLI with (files_host.c). */
#include "daemon/files/index_ls.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/files/file_service.h"
#include "daemon/files/index_cache.h"
#include "daemon/files/index_fetch.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define LS_THREADS_MAX 4 /* listings fetched at once (more: "busy") */
/* One message to the monitor holds the listing: entries (and with --thumbs
 * thumbnails) past this are left out and the listing says "truncated". */
#define LS_REPLY_BUDGET (FILES_MSG_MAX / 2)

static atomic_int running;

struct ls_job {
	char ticket[24];
	uint32_t peer;
	char name[64];
	char path[FILES_INDEX_PATH_MAX + 1]; /* "": all */
	bool thumbs;
};

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* PATH itself, or a file under the directory PATH. */
static bool under(const struct files_index_entry *e, const char *path)
{
	size_t n = strlen(path);
	if (!n)
		return true;
	if (e->path_len < n || memcmp(e->path, path, n) != 0)
		return false;
	return e->path_len == n || e->path[n] == '/';
}

static cJSON *entry_json(const struct files_index_entry *e, bool thumbs, size_t *budget)
{
	char h[2 * FILES_HASH_LEN + 1], r[2 * FILES_HASH_LEN + 1];
	size_t cost = 2 * e->path_len + 256;
	if (cost > *budget)
		return NULL;
	*budget -= cost;
	cJSON *o = cJSON_CreateObject();
	char *p = strndup(e->path, e->path_len); /* not NUL-terminated in the body */
	cJSON_AddStringToObject(o, "path", p ? p : "");
	free(p);
	cJSON_AddNumberToObject(o, "size", (double)e->size);
	cJSON_AddNumberToObject(o, "mtime", (double)e->mtime);
	hex(h, e->hash, FILES_HASH_LEN);
	hex(r, e->root, FILES_HASH_LEN);
	cJSON_AddStringToObject(o, "hash", h);
	cJSON_AddStringToObject(o, "root", r);
	cJSON_AddNumberToObject(o, "thumbnail_bytes", (double)e->thumb_len);
	cJSON_AddBoolToObject(o, "cached", e->cached); /* a copy on the server (roam publish --cache) */
	size_t b64 = sodium_base64_ENCODED_LEN(e->thumb_len, sodium_base64_VARIANT_ORIGINAL);
	if (thumbs && e->thumb_len && b64 + 32 <= *budget) {
		char *t = malloc(b64);
		if (t) {
			sodium_bin2base64(t, b64, e->thumb, e->thumb_len, sodium_base64_VARIANT_ORIGINAL);
			cJSON_AddStringToObject(o, "thumbnail", t);
			*budget -= b64 + 32;
			free(t);
		}
	}
	return o;
}

#ifdef ROAM_TEST_HOOKS
/* ROAM_TEST_FILES_LS_VERIFY: each cached file read back from the server
 * and decrypted, its BLAKE2b-256 compared with the index's ("verified"). */
static void verify_copy(cJSON *o, uint32_t publisher, const struct files_index_entry *e)
{
	static __thread uint8_t chunk[FILES_CHUNK_DEFAULT];
	uint8_t hash[FILES_HASH_LEN];
	crypto_generichash_state hs;
	long n = 0;
	if (!getenv("ROAM_TEST_FILES_LS_VERIFY") || !e->cached)
		return;
	crypto_generichash_init(&hs, NULL, 0, sizeof(hash));
	for (uint32_t i = 0; n >= 0 && (uint64_t)i * FILES_CHUNK_DEFAULT < (e->size ? e->size : 1); i++)
		if ((n = index_cache_read(publisher, e, i, chunk)) >= 0)
			crypto_generichash_update(&hs, chunk, (size_t)n);
	crypto_generichash_final(&hs, hash, sizeof(hash));
	cJSON_AddBoolToObject(o, "verified", n >= 0 && memcmp(hash, e->hash, sizeof(hash)) == 0);
}
#endif

static cJSON *listing(const struct ls_job *job)
{
	struct files_index *ix = NULL;
	cJSON *root = cJSON_CreateObject();
	int r = index_fetch(xfer_worker, job->peer, &ix);
	if (r < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s: %s", job->name, index_fetch_strerror(r));
		cJSON_AddStringToObject(root, "error", msg);
		return root;
	}
	size_t budget = LS_REPLY_BUDGET, matched = 0;
	bool truncated = false;
	cJSON_AddStringToObject(root, "peer", job->name);
	cJSON_AddNumberToObject(root, "seq", (double)ix->seq);
	cJSON *files = cJSON_AddArrayToObject(root, "files");
	for (size_t i = 0; i < ix->n; i++) {
		if (!under(&ix->entries[i], job->path))
			continue;
		matched++;
		cJSON *o = truncated ? NULL : entry_json(&ix->entries[i], job->thumbs, &budget);
#ifdef ROAM_TEST_HOOKS
		if (o)
			verify_copy(o, job->peer, &ix->entries[i]);
#endif
		if (o)
			cJSON_AddItemToArray(files, o);
		else
			truncated = true;
	}
	cJSON_AddNumberToObject(root, "count", (double)matched);
	cJSON_AddBoolToObject(root, "truncated", truncated);
	if (job->path[0] && matched == 0) {
		char msg[FILES_INDEX_PATH_MAX + 100];
		snprintf(msg, sizeof(msg), "%s published nothing at %s", job->name, job->path);
		cJSON_Delete(root);
		root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "error", msg);
	}
	files_index_free(ix);
	return root;
}

static void answer(const char *ticket, cJSON *reply)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "ls");
	cJSON_AddStringToObject(msg, "ticket", ticket);
	cJSON_AddItemToObject(msg, "reply", reply); /* ownership to msg */
	char *text = cJSON_PrintUnformatted(msg);
	cJSON_Delete(msg);
	if (!text || send(FILES_WORKER_FD, text, strlen(text), MSG_NOSIGNAL) < 0)
		log_warn("files: cannot answer a listing: %s", text ? strerror(errno) : "out of memory");
	free(text);
}

static void *ls_thread(void *arg)
{
	struct ls_job *job = arg;
	answer(job->ticket, listing(job));
	free(job);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

void index_ls_start(const cJSON *msg)
{
	const cJSON *ticket = cJSON_GetObjectItemCaseSensitive(msg, "ticket");
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(msg, "peer");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(msg, "path");
	if (!cJSON_IsString(ticket) || strlen(ticket->valuestring) >= sizeof(((struct ls_job *)0)->ticket))
		return;
	struct ls_job *job = calloc(1, sizeof(*job));
	if (!job || !cJSON_IsNumber(peer) || peer->valuedouble < 1 || peer->valuedouble > UINT32_MAX ||
	    (cJSON_IsString(path) && strlen(path->valuestring) > FILES_INDEX_PATH_MAX)) {
		free(job);
		cJSON *err = cJSON_CreateObject();
		cJSON_AddStringToObject(err, "error", "ls: a malformed request");
		answer(ticket->valuestring, err);
		return;
	}
	snprintf(job->ticket, sizeof(job->ticket), "%s", ticket->valuestring);
	job->peer = (uint32_t)peer->valuedouble;
	snprintf(job->name, sizeof(job->name), "%s", cJSON_IsString(name) ? name->valuestring : "peer");
	snprintf(job->path, sizeof(job->path), "%s", cJSON_IsString(path) ? path->valuestring : "");
	job->thumbs = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "thumbs"));
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int ret = -EBUSY;
	if (atomic_fetch_add(&running, 1) < LS_THREADS_MAX)
		ret = -pthread_create(&th, &attr, ls_thread, job);
	pthread_attr_destroy(&attr);
	if (ret < 0) {
		atomic_fetch_sub(&running, 1);
		cJSON *err = cJSON_CreateObject();
		cJSON_AddStringToObject(err, "error", ret == -EBUSY ? "ls: busy, try again" : strerror(-ret));
		answer(job->ticket, err);
		free(job);
	}
}
