/* relay_load roam: two registered nodes (coord_sim node --key registered
 * them) bind their load sockets with BINDINGs signed with their control
 * keys; A then sends RELAY datagrams to B carrying a well-formed WireGuard
 * transport-data message (type 4, a 16-byte header, the rest the shape of
 * ciphertext and tag): what roam-server forwards is exactly this. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/relay_load.h"
#include "coord/auth.h"
#include "coord/token.h"
#include "coord/udp.h"
#include "crypto/crypto.h"

static int load_key(const char *path, const struct coord_token *t, uint8_t k[COORD_KEY_LEN])
{
	uint8_t priv[COORD_KEY_LEN];
	char text[128] = "";
	size_t len;
	int r;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (coord_b64_decode(priv, COORD_KEY_LEN, text, len, 0) < 0)
		return -EINVAL;
	r = coord_control_key(k, priv, t->server_pub);
	crypto_wipe(priv, sizeof(priv));
	return r;
}

/* BINDING from fd until its BINDING_ACK arrives (3 tries, 1 s each). */
static int bind_node(int fd, const uint8_t k[COORD_KEY_LEN], uint32_t id)
{
	uint8_t msg[sizeof(struct coord_msg_binding)], nonce[COORD_BINDING_NONCE_LEN], buf[256];
	struct sockaddr_any seen;
	uint64_t ts, echoed;
	struct timespec now;

	for (int attempt = 0; attempt < 3; attempt++) {
		clock_gettime(CLOCK_REALTIME, &now);
		ts = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		crypto_random(nonce, sizeof(nonce));
		coord_binding_build(msg, k, id, ts, nonce);
		if (send(fd, msg, sizeof(msg), 0) < 0)
			return -errno;
		for (;;) {
			ssize_t n = relay_load_recv(fd, buf, sizeof(buf), 1000);
			if (n < 0)
				break;
			if (coord_binding_ack_parse(buf, (size_t)n, k, id, &echoed, &seen) == 0 && echoed == ts)
				return 0;
		}
	}
	return -ETIMEDOUT;
}

int relay_load_roam_setup(const struct relay_load_args *a, struct relay_load_flow *f)
{
	uint8_t ka[COORD_KEY_LEN], kb[COORD_KEY_LEN];
	struct coord_token token;
	struct sockaddr_any server;
	int r;

	if (!a->token || !a->key_a || !a->key_b || !a->id_a || !a->id_b)
		return -EINVAL;
	if (coord_token_decode(a->token, &token) < 0 || sockaddr_any_parse(a->server, &server) < 0)
		return -EINVAL;
	if ((r = load_key(a->key_a, &token, ka)) < 0 || (r = load_key(a->key_b, &token, kb)) < 0)
		goto out;
	if ((r = f->tx_fd = relay_load_socket(&server)) < 0)
		goto out;
	if ((r = f->rx_fd = relay_load_socket(&server)) < 0)
		goto out;
	if ((r = bind_node(f->tx_fd, ka, a->id_a)) < 0 || (r = bind_node(f->rx_fd, kb, a->id_b)) < 0)
		goto out;
	memset(f->msg, 0, sizeof(f->msg));
	coord_relay_header_write(f->msg, a->id_b);
	f->msg[sizeof(struct coord_msg_relay_header)] = 4; /* WireGuard transport data */
	for (size_t i = sizeof(struct coord_msg_relay_header) + 16; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)(i * 131); /* not all zeros, like ciphertext */
	f->len = sizeof(struct coord_msg_relay_header) + a->size;
	f->rx_len = f->len;
	f->rx_first = COORD_MSG_RELAY;
	r = 0;
out:
	crypto_wipe(ka, sizeof(ka));
	crypto_wipe(kb, sizeof(kb));
	return r;
}
