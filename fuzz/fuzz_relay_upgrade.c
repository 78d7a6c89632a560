/* The answer to a relay link's Upgrade, as roamd reads it from the server
 * or a proxy (daemon/relaylink/upgrade_head.c): the head's end, then the
 * check for the TLS stream and for WebSocket, and the server's proof
 * (Roam-Server-Auth, through a TLS-intercepting proxy). */
#include <string.h>

#include "daemon/relaylink/upgrade_head.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char head[UPGRADE_HEAD_MAX];
	int status;
	if (size > sizeof(head))
		size = sizeof(head);
	memcpy(head, data, size);
	size_t end = upgrade_head_end(head, size);
	size_t n = end ? end : size;
	upgrade_head_check(head, n, NULL, &status);
	upgrade_head_check(head, n, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &status);
	static const uint8_t k[32] = { 1 }, nonce[16] = { 2 };
	upgrade_head_server_auth(head, n, k, nonce);
	return 0;
}
