#include "server/reply_auth.h"

#include <stdio.h>

#include "coord/auth.h"

void reply_auth_header_line(char *buf, size_t size, const struct reply_auth *ra, int status, const char *body,
			    size_t body_len)
{
	char value[COORD_SERVER_AUTH_MAX];

	if (size)
		buf[0] = '\0';
	if (!ra || !ra->on || coord_reply_auth_build(value, sizeof(value), ra->k, ra->nonce, status, body, body_len) < 0)
		return;
	if ((size_t)snprintf(buf, size, "%s: %s\r\n", COORD_SERVER_AUTH_HEADER, value) >= size && size)
		buf[0] = '\0';
}

int reply_auth_line(struct reply_auth *ra, char *buf, size_t size, const char *line, size_t line_len)
{
	return coord_line_mac_build(buf, size, ra->k, ra->nonce, ra->seq++, line, line_len);
}
