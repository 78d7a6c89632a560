/* The answer to a relay link's Upgrade (daemon/relaylink/upgrade_head.h):
 * what is a 101 we accept, and what is refused. */
#include <errno.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "daemon/relaylink/upgrade_head.h"

/* RFC 6455, 1.3: key dGhlIHNhbXBsZSBub25jZQ== */
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static int check(const char *head, const char *ws, int *status)
{
	return upgrade_head_check(head, strlen(head), ws, status);
}

int main(void)
{
	int st;
	static const struct {
		const char *head;
		const char *ws;
		int ret, status;
	} cases[] = {
		{ "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: roam-relay/1\r\n\r\n", NULL, 0, 101 },
		{ "HTTP/1.1 101 Switching Protocols\r\nupgrade:  ROAM-RELAY/1 \r\n\r\n", NULL, 0, 101 },
		{ "HTTP/1.0 101 X\r\nUpgrade: roam-relay/1\r\n\r\n", NULL, 0, 101 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", NULL, -EPROTO, 101 },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", NULL, -EPROTO, 101 },
		{ "HTTP/1.1 200 OK\r\nUpgrade: roam-relay/1\r\n\r\n", NULL, -EPROTO, 200 },
		{ "HTTP/1.1 401 Unauthorized\r\n\r\n", NULL, -EACCES, 401 },
		{ "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", NULL, -EACCES, 407 },
		{ "HTTP/1.1 1010 Nope\r\n\r\n", NULL, -EPROTO, 0 },
		{ "HTTP/2 101\r\n\r\n", NULL, -EPROTO, 0 },
		{ "garbage", NULL, -EPROTO, 0 },
		{ "", NULL, -EPROTO, 0 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " ACCEPT
		  "\r\nSec-WebSocket-Protocol: roam-relay.v1\r\n\r\n",
		  ACCEPT, 0, 101 },
		/* the accept key is compared exactly */
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "
		  "S3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: roam-relay.v1\r\n\r\n",
		  ACCEPT, -EPROTO, 101 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
		  ACCEPT, -EPROTO, 101 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: roam-relay/1\r\nSec-WebSocket-Accept: " ACCEPT
		  "\r\nSec-WebSocket-Protocol: roam-relay.v1\r\n\r\n",
		  ACCEPT, -EPROTO, 101 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = -1;
		int ret = check(cases[i].head, cases[i].ws, &st);
		if (ret != cases[i].ret || st != cases[i].status)
			fprintf(stderr, "case %zu: ret %d status %d\n", i, ret, st);
		CHECK_EQ(ret, cases[i].ret);
		CHECK_EQ(st, cases[i].status);
	}
	/* Through a TLS-intercepting proxy: the 101 proves the server. */
	uint8_t k[32], nonce[16];
	char proof[COORD_SERVER_AUTH_MAX], head[512];
	memset(k, 7, sizeof(k));
	memset(nonce, 9, sizeof(nonce));
	CHECK_EQ(coord_reply_auth_build(proof, sizeof(proof), k, nonce, 101, NULL, 0), 0);
	snprintf(head, sizeof(head), "HTTP/1.1 101 X\r\nUpgrade: roam-relay/1\r\nroam-server-auth:  %s \r\n\r\n", proof);
	CHECK_EQ(upgrade_head_server_auth(head, strlen(head), k, nonce), 0);
	nonce[0] ^= 1; /* another request's proof */
	CHECK_EQ(upgrade_head_server_auth(head, strlen(head), k, nonce), -EBADMSG);
	nonce[0] ^= 1;
	k[0] ^= 1; /* the proxy's own mac */
	CHECK_EQ(upgrade_head_server_auth(head, strlen(head), k, nonce), -EBADMSG);
	k[0] ^= 1;
	CHECK_EQ(coord_reply_auth_build(proof, sizeof(proof), k, nonce, 200, NULL, 0), 0);
	snprintf(head, sizeof(head), "HTTP/1.1 101 X\r\nUpgrade: roam-relay/1\r\nRoam-Server-Auth: %s\r\n\r\n", proof);
	CHECK_EQ(upgrade_head_server_auth(head, strlen(head), k, nonce), -EBADMSG); /* a 200's proof */
	const char *none = "HTTP/1.1 101 X\r\nUpgrade: roam-relay/1\r\n\r\n";
	CHECK_EQ(upgrade_head_server_auth(none, strlen(none), k, nonce), -EBADMSG);
	const char *two = "HTTP/1.1 101 X\r\nUpgrade: roam-relay/1\r\n\r\n\x00\x05hello";
	CHECK_EQ(upgrade_head_end(two, 48), 41);
	CHECK_EQ(upgrade_head_end(two, 40), 0);
	CHECK_EQ(upgrade_head_end("\r\n\r", 3), 0);
	printf("test_upgrade_head: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
