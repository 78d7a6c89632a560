/* The answer to a relay link's Upgrade (upgrade_head.h). */
#include "daemon/relaylink/upgrade_head.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "coord/auth.h"

size_t upgrade_head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' && buf[i] == '\n')
			return i + 1;
	return 0;
}

/* The value of header name among the lines after the status line, trimmed
 * (*vlen bytes), or NULL. Names compare case-insensitively (RFC 9110). */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end = head + len;
	const char *line = memchr(head, '\n', len);
	while (line && ++line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			return NULL;
		size_t ll = (size_t)(eol - line);
		if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		line = eol;
	}
	return NULL;
}

static bool value_is(const char *v, size_t vlen, const char *want, bool nocase)
{
	size_t n = strlen(want);
	return v && vlen == n && (nocase ? strncasecmp(v, want, n) == 0 : memcmp(v, want, n) == 0);
}

static int parse_status(const char *head, size_t len)
{
	/* "HTTP/1.x NNN" */
	if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[7] < '0' || head[7] > '9' || head[8] != ' ')
		return 0;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return 0;
		code = code * 10 + (head[i] - '0');
	}
	return len == 12 || head[12] == ' ' || head[12] == '\r' ? code : 0;
}

int upgrade_head_check(const char *head, size_t len, const char *ws_accept, int *status)
{
	size_t vlen = 0;
	const char *v;
	*status = len <= UPGRADE_HEAD_MAX ? parse_status(head, len) : 0;
	if (*status == 401 || *status == 403 || *status == 407)
		return -EACCES;
	if (*status != 101)
		return -EPROTO;
	v = header_value(head, len, "Upgrade", &vlen);
	if (!value_is(v, vlen, ws_accept ? "websocket" : "roam-relay/1", true))
		return -EPROTO;
	if (!ws_accept)
		return 0;
	v = header_value(head, len, "Sec-WebSocket-Accept", &vlen);
	if (!value_is(v, vlen, ws_accept, false))
		return -EPROTO;
	v = header_value(head, len, "Sec-WebSocket-Protocol", &vlen);
	return value_is(v, vlen, "roam-relay.v1", false) ? 0 : -EPROTO;
}

int upgrade_head_server_auth(const char *head, size_t len, const uint8_t k[32], const uint8_t nonce[16])
{
	char value[COORD_SERVER_AUTH_MAX];
	size_t vlen = 0;
	const char *v = len <= UPGRADE_HEAD_MAX ? header_value(head, len, COORD_SERVER_AUTH_HEADER, &vlen) : NULL;

	if (!v || vlen >= sizeof(value))
		return -EBADMSG;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	return coord_reply_auth_verify(value, k, nonce, 101, "", 0) == 0 ? 0 : -EBADMSG;
}
