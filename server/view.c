/* View versions and the removal log (view.h). No I/O, no clock. */
#include "server/view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int view_init(struct srv_view *v)
{
	memset(v, 0, sizeof(*v));
	v->log = calloc(VIEW_LOG_MAX, sizeof(*v->log));
	if (!v->log)
		return -ENOMEM;
	crypto_random(&v->epoch, sizeof(v->epoch));
	v->epoch |= 1; /* never 0: "0.x" is no version of ours */
	v->seq = 1;
	v->floor = 1;
	v->journal_fd = -1;
	return 0;
}

void view_free(struct srv_view *v)
{
	free(v->log);
	v->log = NULL;
	v->count = 0;
}

uint64_t view_next(struct srv_view *v)
{
	return ++v->seq;
}

void view_format(const struct srv_view *v, uint64_t seq, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIx64 ".%" PRIx64, v->epoch, seq);
}

static bool parse_hex(const char *s, size_t len, uint64_t *out)
{
	uint64_t x = 0;

	if (!len || len > 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
		if (d == 16)
			return false;
		x = x << 4 | d;
	}
	*out = x;
	return true;
}

bool view_parse_since(const struct srv_view *v, const char *text, uint64_t *since)
{
	const char *dot;
	uint64_t epoch, seq;

	if (!text || !coord_view_version_valid(text) || !(dot = strchr(text, '.')))
		return false;
	if (!parse_hex(text, (size_t)(dot - text), &epoch) || !parse_hex(dot + 1, strlen(dot + 1), &seq))
		return false;
	/* Another run, older than what we remember, or not issued yet. */
	if (epoch != v->epoch || seq < v->floor || seq > v->seq || (seq >= v->gap_lo && seq < v->gap_hi))
		return false;
	*since = seq;
	return true;
}

uint64_t view_log_removal(struct srv_view *v, const uint8_t public_key[COORD_KEY_LEN], const uint32_t *groups,
			  size_t groups_count)
{
	size_t slot = (v->head + v->count) % VIEW_LOG_MAX;
	struct view_removal *e;

	if (v->count == VIEW_LOG_MAX) {
		/* The oldest goes: whoever has not seen it needs the full view. */
		v->floor = v->log[v->head].seq;
		slot = v->head;
		v->head = (v->head + 1) % VIEW_LOG_MAX;
	} else {
		v->count++;
	}
	e = &v->log[slot];
	e->seq = view_next(v);
	memcpy(e->public_key, public_key, COORD_KEY_LEN);
	if (groups_count > COORD_GROUPS_MAX)
		groups_count = COORD_GROUPS_MAX;
	e->groups_count = (uint8_t)groups_count;
	memcpy(e->groups, groups, groups_count * sizeof(*groups));
	return e->seq;
}

void view_reset_all(struct srv_view *v)
{
	v->floor = view_next(v);
}

void view_foreach_removal(const struct srv_view *v, uint64_t since,
			  void (*cb)(void *ctx, const struct view_removal *r), void *ctx)
{
	for (size_t i = 0; i < v->count; i++) {
		const struct view_removal *e = &v->log[(v->head + i) % VIEW_LOG_MAX];
		if (e->seq > since)
			cb(ctx, e);
	}
}

uint64_t view_hash(const void *data, size_t len, uint64_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t view_peer_hash(const char *peer_json)
{
	static const char field[] = "\"last_seen\":";
	const char *at = strstr(peer_json, field), *end;
	uint64_t h;

	if (!at)
		return view_hash(peer_json, strlen(peer_json), VIEW_HASH_INIT);
	h = view_hash(peer_json, (size_t)(at - peer_json), VIEW_HASH_INIT);
	end = at + sizeof(field) - 1;
	end += strspn(end, "0123456789.e+-");
	return view_hash(end, strlen(end), h);
}
