/* stream_upload: a node that registers, opens its /v1/stream and then sends
 * MIB mebibytes of junk up that connection (nodes only listen on a stream),
 * then prints what the stream brings until it closes. For t_server_input.sh.
 *
 *   stream_upload ADDR PORT TOKEN NAME MIB
 *
 * Prints "streaming", "uploaded N MiB", "recv <data>" lines, "closed". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/token.h"
#include "crypto/crypto.h"

static SSL *ssl;
static uint8_t k[COORD_KEY_LEN], pub[COORD_KEY_LEN];

static int send_request(const char *method, const char *target, const char *body)
{
	char auth[COORD_AUTH_HEADER_MAX], head[512];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t len = body ? strlen(body) : 0;
	int n;

	crypto_random(nonce, sizeof(nonce));
	if (coord_auth_build(auth, sizeof(auth), k, pub, method, target, (int64_t)time(NULL), nonce, body, len) < 0)
		return -1;
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: roam\r\n%s: %s\r\nContent-Length: %zu\r\n\r\n", method,
		     target, COORD_AUTH_HEADER, auth, len);
	if (SSL_write(ssl, head, n) != n || (len && SSL_write(ssl, body, (int)len) != (int)len))
		return -1;
	return 0;
}

/* Reads until needle shows up in what came since the last call. */
static int read_until(const char *needle, char *buf, size_t size)
{
	size_t have = 0;
	int n;

	while (have < size - 1 && (n = SSL_read(ssl, buf + have, (int)(size - 1 - have))) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, needle))
			return 0;
	}
	return -1;
}

int main(int argc, char *argv[])
{
	struct coord_register_req reg = { .has_preauth_key = true, .port = 51820 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 20, 0 };
	static char buf[1 << 16], junk[16384];
	struct coord_token token;
	uint8_t priv[COORD_KEY_LEN];
	unsigned long mib, sent = 0;
	SSL_CTX *ctx;
	char *body;
	int fd, n;

	if (argc != 6 || crypto_init() < 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    coord_token_decode(argv[3], &token) < 0)
		return 2;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	mib = strtoul(argv[5], NULL, 10);
	crypto_random(priv, sizeof(priv));
	x25519_clamp(priv);
	if (x25519_public(pub, priv) < 0 || coord_control_key(k, priv, token.server_pub) < 0)
		return 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ctx = SSL_CTX_new(TLS_client_method()); /* the lab's own server: no verification */
	if (fd < 0 || !ctx || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		return 1;
	snprintf(reg.name, sizeof(reg.name), "%s", argv[4]);
	memcpy(reg.preauth_key, token.preauth_key, sizeof(reg.preauth_key));
	body = coord_register_req_to_json(&reg);
	if (!body || send_request("POST", "/v1/register", body) < 0 || read_until("\"node_id\"", buf, sizeof(buf)) < 0) {
		printf("register failed\n");
		return 1;
	}
	free(body);
	if (send_request("GET", "/v1/stream", NULL) < 0 || read_until("\"type\":\"peers\"", buf, sizeof(buf)) < 0) {
		printf("stream failed\n");
		return 1;
	}
	printf("streaming\n");
	fflush(stdout);
	memset(junk, 'x', sizeof(junk));
	while (sent < mib * 1024 * 1024 && SSL_write(ssl, junk, sizeof(junk)) == (int)sizeof(junk))
		sent += sizeof(junk);
	printf("uploaded %lu MiB\n", sent / (1024 * 1024));
	fflush(stdout);
	while ((n = SSL_read(ssl, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		printf("recv %s\n", buf);
		fflush(stdout);
	}
	printf("closed\n");
	return 0;
}
