/* Fuzzes the admin operations (server/admin/ops.c), what the admin socket
 * and POST /api/v1/ops take: the input is the request body, parsed as the
 * server parses it and applied to a real store in a private temporary
 * directory. Any body must give a reply (ok, or an error in words), never
 * a crash or a leak. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "server/admin/ops.h"
#include "server/store.h"

static char dir[] = "/tmp/roam-fuzz-ops-XXXXXX";
static char path[sizeof(dir) + 16], wal[sizeof(path) + 4], shm[sizeof(path) + 4];
static struct store *st;

static void cleanup(void)
{
	store_close(st);
	unlink(path);
	unlink(wal);
	unlink(shm);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *req, *reply = NULL;
	unsigned changed;
	int r;

	if (!st) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/state.db", dir);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		snprintf(shm, sizeof(shm), "%s-shm", path);
		if (store_open(path, true, &st) < 0)
			abort();
		atexit(cleanup);
	}
	if (size > ADMIN_REQUEST_MAX || !(req = cJSON_ParseWithLength((const char *)data, size)))
		return 0;
	r = admin_ops_apply(st, req, 1700000000, &reply, &changed);
	if (!reply || (r < 0 && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(reply, "error"))) ||
	    (r == 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))))
		abort();
	cJSON_Delete(reply);
	cJSON_Delete(req);
	return 0;
}
