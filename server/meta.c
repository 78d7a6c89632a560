#include "server/meta.h"

#include <errno.h>
#include <sys/socket.h>

int server_meta_network6(const char *text, struct ip_prefix *out)
{
	struct ip_prefix p;

	if (ip_prefix_parse(text, &p) < 0 || p.family != AF_INET6)
		return -EBADMSG;
	*out = p;
	return 0;
}

int server_meta_port(const char *text, uint16_t *out)
{
	uint32_t port = 0;

	/* Digits only, checked as they come: atoi() had no bound. */
	if (!*text)
		return -EBADMSG;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -EBADMSG;
		port = port * 10 + (uint32_t)(*text - '0');
		if (port > 65535)
			return -EBADMSG;
	}
	if (port == 0)
		return -EBADMSG;
	*out = (uint16_t)port;
	return 0;
}
