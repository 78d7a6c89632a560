/* The list of a network's control servers and the failover choice
 * (lib/coord/servers.h). */
#include "coord/servers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "coord/json.h"
#include "coord/json_internal.h"

static int url_ok(const char *url)
{
	size_t n = strnlen(url, COORD_SERVER_URL_MAX);
	if (n == COORD_SERVER_URL_MAX || strncmp(url, "https://", 8) != 0 || n == 8)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return 0;
	return 1;
}

int coord_servers_add(struct coord_servers *l, const char *url)
{
	if (!url_ok(url))
		return -EINVAL;
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->url[i], url) == 0)
			return 0;
	if (l->count == COORD_SERVERS_MAX)
		return -ENOSPC;
	memcpy(l->url[l->count++], url, strlen(url) + 1);
	return 0;
}

/* The next one after current rather than always the first: the nodes of
 * a dead server all move the same way (predictable for the operator), and
 * a node whose next is dead too goes on round the list. */
const char *coord_servers_next(const struct coord_servers *l, const char *current)
{
	size_t at = l->count;
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->url[i], current) == 0)
			at = i;
	if (at == l->count)
		return l->count ? l->url[0] : NULL;
	if (l->count < 2)
		return NULL;
	return l->url[(at + 1) % l->count];
}

static const int64_t *missing_since(const struct coord_servers_missing *m, const char *url)
{
	for (size_t i = 0; i < m->count; i++)
		if (strcmp(m->url[i], url) == 0)
			return &m->since[i];
	return NULL;
}

/* A server alive again starts from nothing: only a continuous absence
 * counts (a restart or an upgrade is not a death). */
size_t coord_servers_prune(struct coord_servers *l, const bool *alive, struct coord_servers_missing *m,
			   const char *self, int64_t now, int64_t gone_s)
{
	struct coord_servers keep = { 0 };
	struct coord_servers_missing still = { 0 };
	size_t gone = 0;

	for (size_t i = 0; i < l->count; i++) {
		const char *url = l->url[i];
		if (!alive[i] && !(self && strcmp(url, self) == 0)) {
			const int64_t *was = missing_since(m, url);
			int64_t since = was ? *was : now;
			if (now - since >= gone_s && l->count - gone > 1) {
				gone++;
				continue;
			}
			memcpy(still.url[still.count], url, strlen(url) + 1);
			still.since[still.count++] = since;
		}
		memcpy(keep.url[keep.count++], url, strlen(url) + 1);
	}
	*l = keep;
	*m = still;
	return gone;
}

/* More than COORD_SERVERS_MAX: the first ones kept (a network may grow
 * past what a node needs to find one alive); a bad entry refuses the line. */
int coord_stream_servers(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "servers"), *it;
	struct coord_servers *l;
	int r = 0;
	if (!cJSON_IsArray(arr))
		return -EINVAL;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it)) {
			r = -EINVAL;
			goto out;
		}
		r = coord_servers_add(l, it->valuestring);
		if (r == -ENOSPC)
			r = 0;
		else if (r < 0)
			goto out;
	}
	r = h->servers ? h->servers(ctx, l) : 0;
out:
	free(l);
	return r;
}

char *coord_line_servers(const struct coord_servers *l)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	if (!o || !cJSON_AddStringToObject(o, "type", "servers") || !(arr = cJSON_AddArrayToObject(o, "servers")))
		goto fail;
	for (size_t i = 0; i < l->count; i++) {
		cJSON *s = cJSON_CreateString(l->url[i]);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			goto fail;
		}
	}
	return coord_json_print_line(o);
fail:
	cJSON_Delete(o);
	return NULL;
}
