/* peer_query.h: "?address=ADDR" or "?key=HEX", nothing else. */
#include "coord/peer_query.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/hex.h"

int coord_peer_query_parse(const char *target, struct coord_peer_query *out)
{
	static const char path[] = COORD_PEER_PATH "?";
	const char *v;
	char text[INET6_ADDRSTRLEN];
	size_t len;

	memset(out, 0, sizeof(*out));
	if (strncmp(target, path, sizeof(path) - 1) != 0)
		return -EINVAL;
	target += sizeof(path) - 1;
	if (strncmp(target, "key=", 4) == 0) {
		v = target + 4;
		if (hex_decode(out->key, COORD_KEY_LEN, v, strlen(v)) < 0)
			return -EINVAL;
		out->by_key = true;
		return 0;
	}
	if (strncmp(target, "address=", 8) != 0)
		return -EINVAL;
	v = target + 8;
	if ((len = strlen(v)) == 0 || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, v, len + 1);
	if (inet_pton(AF_INET6, text, out->addr) == 1)
		out->family = AF_INET6;
	else if (inet_pton(AF_INET, text, out->addr) == 1)
		out->family = AF_INET;
	else
		return -EINVAL;
	return 0;
}

int coord_peer_query_format(const struct coord_peer_query *q, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	int n;

	if (q->by_key) {
		char hex[2 * COORD_KEY_LEN + 1];
		hex_encode(hex, q->key, COORD_KEY_LEN);
		n = snprintf(buf, size, "%s?key=%s", COORD_PEER_PATH, hex);
	} else {
		if ((q->family != AF_INET && q->family != AF_INET6) ||
		    !inet_ntop(q->family, q->addr, text, sizeof(text)))
			return -EINVAL;
		n = snprintf(buf, size, "%s?address=%s", COORD_PEER_PATH, text);
	}
	return n < 0 ? -EINVAL : (size_t)n >= size ? -ENOSPC : 0;
}
