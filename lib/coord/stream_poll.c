/* The poll reply's framing (stream_poll.h). */
#include "coord/stream_poll.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HEAD_MAX 160 /* {"type":"poll","session":"<22>","seq":<16 digits>} and some slack */

int coord_poll_head_build(char *buf, size_t size, const char *session, uint64_t seq)
{
	int n = snprintf(buf, size, "{\"type\":\"poll\",\"session\":\"%s\",\"seq\":%llu}\n", session,
			 (unsigned long long)seq);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static int head_parse(const char *text, size_t len, struct coord_poll_head *out)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
	const cJSON *session = cJSON_GetObjectItemCaseSensitive(root, "session");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
	int r = -EPROTO;

	if (!cJSON_IsObject(root) || !cJSON_IsString(type) || strcmp(type->valuestring, "poll") != 0 ||
	    !cJSON_IsString(session) || strlen(session->valuestring) != COORD_POLL_SESSION_TEXT ||
	    strspn(session->valuestring, b64url) != COORD_POLL_SESSION_TEXT || !cJSON_IsNumber(seq) ||
	    !(seq->valuedouble >= 1 && seq->valuedouble < (double)COORD_POLL_SEQ_MAX) ||
	    seq->valuedouble != (double)(uint64_t)seq->valuedouble)
		goto out;
	memcpy(out->session, session->valuestring, COORD_POLL_SESSION_TEXT + 1);
	out->seq = (uint64_t)seq->valuedouble;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

int coord_poll_reply_parse(const char *body, size_t len, struct coord_poll_head *head,
			   int (*on_line)(void *ctx, uint64_t seq, const char *line, size_t len), void *ctx)
{
	struct coord_poll_head h;
	const char *nl = len ? memchr(body, '\n', len < HEAD_MAX ? len : HEAD_MAX) : NULL;
	size_t off, lines = 0;
	uint64_t seq;
	int r;

	if (len > COORD_POLL_REPLY_MAX || !nl || head_parse(body, (size_t)(nl - body), &h) < 0)
		return -EPROTO;
	/* Whole lines only, none empty: checked before any is delivered. */
	off = (size_t)(nl - body) + 1;
	for (size_t at = off; at < len; lines++) {
		const char *end = memchr(body + at, '\n', len - at);
		if (!end || end == body + at)
			return -EPROTO;
		at = (size_t)(end - body) + 1;
	}
	if (lines > COORD_POLL_SEQ_MAX - h.seq)
		return -EPROTO;
	*head = h;
	for (seq = h.seq; off < len; seq++) {
		const char *end = memchr(body + off, '\n', len - off);
		if (on_line && (r = on_line(ctx, seq, body + off, (size_t)(end - body) - off)) < 0)
			return r;
		off = (size_t)(end - body) + 1;
	}
	return 0;
}
