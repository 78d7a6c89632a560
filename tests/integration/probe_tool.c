/* probe_tool: path probes (docs/control-protocol.md, "Path probes") built
 * with lib/coord/probe.h from a node's key file, sent from a lab host to a
 * roamd, for t_paths_probe_abuse.sh: what a node holding a key, or an
 * outsider, can make a roamd do with probes.
 *
 *   probe_tool ping KEY PEER_PUB TARGET N SECONDS [badmac]
 *       N PINGs signed as KEY's node to PEER_PUB, spread over SECONDS, to
 *       TARGET (ADDR:PORT); counts the PONGs that verify (until 1 s after the
 *       last PING). badmac: every PING's mac has one bit flipped.
 *   probe_tool pong KEY PEER_PUB TARGET OBSERVED N
 *       N PONGs answering nothing (fresh txids) that claim OBSERVED.
 *   probe_tool callme KEY PEER_PUB TARGET ENDPOINT[,ENDPOINT...]
 *       one CALLME listing the endpoints, sent straight to TARGET.
 *   probe_tool listen ADDR:PORT SECONDS
 *       counts the datagrams arriving at ADDR:PORT within SECONDS.
 *
 * KEY is a file holding a base64 private key (a managed node's node.key,
 * or `roam genkey`'s output); PEER_PUB a base64 public key. Prints one JSON
 * line: {"sent":N,"pongs":M,"observed":"ADDR:PORT"|null} or {"received":N}.
 * Exit 0, or 2 on bad arguments or I/O errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "coord/probe.h"
#include "crypto/crypto.h"
#include "net/addr.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock timestamps that never go back (the replay rule of the spec). */
static uint64_t next_timestamp(void)
{
	static uint64_t last;
	uint64_t now = clock_ns(CLOCK_REALTIME);
	last = now > last ? now : last + 1;
	return last;
}

static int die(const char *what)
{
	fprintf(stderr, "probe_tool: %s\n", what);
	return 2;
}

static int read_key_file(const char *path, uint8_t key[32])
{
	char text[128] = { 0 };
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
		text[--n] = 0;
	return crypto_key_from_base64(key, text);
}

static int open_socket(const struct sockaddr_any *bind_to, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind_to && bind(fd, &bind_to->sa, bind_to->len) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Reads what arrived: PONGs that verify with k are counted, the first one's
 * observed address kept. */
static void drain_pongs(int fd, const struct coord_probe_keys *k, unsigned *pongs, struct sockaddr_any *observed)
{
	uint8_t buf[2048];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		struct coord_probe_pong pong;
		if (coord_probe_pong_verify(buf, (size_t)n, k, &pong) == 0) {
			if (++*pongs == 1)
				*observed = pong.observed;
		}
	}
}

static void print_result(unsigned sent, unsigned pongs, const struct sockaddr_any *observed)
{
	char text[SOCKADDR_ANY_STRLEN];
	if (observed->len && sockaddr_any_format(observed, text, sizeof(text)) == 0)
		printf("{\"sent\":%u,\"pongs\":%u,\"observed\":\"%s\"}\n", sent, pongs, text);
	else
		printf("{\"sent\":%u,\"pongs\":%u,\"observed\":null}\n", sent, pongs);
}

static int cmd_ping(int fd, const struct coord_probe_keys *k, const struct sockaddr_any *to, unsigned count,
		    double seconds, bool bad_mac)
{
	uint8_t msg[sizeof(struct coord_msg_probe_ping)];
	struct sockaddr_any observed = { .len = 0 };
	unsigned sent = 0, pongs = 0;
	uint64_t start = clock_ns(CLOCK_MONOTONIC), span = (uint64_t)(seconds * 1e9);
	while (sent < count) {
		/* Catch up with the schedule, then sleep a millisecond. */
		uint64_t due = count > 1 ? span * sent / (count - 1) : 0;
		while (sent < count && clock_ns(CLOCK_MONOTONIC) - start >= due) {
			uint8_t txid[COORD_PROBE_TXID_LEN];
			if (getrandom(txid, sizeof(txid), 0) != (ssize_t)sizeof(txid))
				return die("getrandom");
			coord_probe_ping_build(msg, k, txid, next_timestamp());
			if (bad_mac)
				msg[sizeof(msg) - 1] ^= 1;
			if (sendto(fd, msg, sizeof(msg), 0, &to->sa, to->len) < 0 && errno != EAGAIN && errno != ENOBUFS)
				return die("sendto");
			sent++;
			due = count > 1 ? span * sent / (count - 1) : 0;
		}
		drain_pongs(fd, k, &pongs, &observed);
		poll(NULL, 0, 1);
	}
	uint64_t until = clock_ns(CLOCK_MONOTONIC) + 1000000000u;
	while (clock_ns(CLOCK_MONOTONIC) < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 50);
		drain_pongs(fd, k, &pongs, &observed);
	}
	print_result(sent, pongs, &observed);
	return 0;
}

static int cmd_pong(int fd, const struct coord_probe_keys *k, const struct sockaddr_any *to, const char *claim,
		    unsigned count)
{
	uint8_t msg[sizeof(struct coord_msg_probe_pong)];
	struct sockaddr_any observed;
	if (sockaddr_any_parse(claim, &observed) < 0)
		return die("bad OBSERVED address");
	for (unsigned i = 0; i < count; i++) {
		uint8_t txid[COORD_PROBE_TXID_LEN];
		if (getrandom(txid, sizeof(txid), 0) != (ssize_t)sizeof(txid))
			return die("getrandom");
		if (coord_probe_pong_build(msg, k, txid, next_timestamp(), &observed) < 0)
			return die("pong_build");
		if (sendto(fd, msg, sizeof(msg), 0, &to->sa, to->len) < 0)
			return die("sendto");
		poll(NULL, 0, 10);
	}
	printf("{\"sent\":%u}\n", count);
	return 0;
}

static int cmd_callme(int fd, const struct coord_probe_keys *k, const struct sockaddr_any *to, char *list)
{
	struct sockaddr_any eps[COORD_CALLME_ENDPOINTS_MAX];
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == COORD_CALLME_ENDPOINTS_MAX || sockaddr_any_parse(tok, &eps[n]) < 0)
			return die("bad or too many endpoints");
		n++;
	}
	uint8_t msg[COORD_CALLME_MAX], txid[COORD_PROBE_TXID_LEN];
	size_t len;
	if (getrandom(txid, sizeof(txid), 0) != (ssize_t)sizeof(txid))
		return die("getrandom");
	if (coord_probe_callme_build(msg, &len, k, txid, next_timestamp(), eps, n) < 0)
		return die("callme_build");
	if (sendto(fd, msg, len, 0, &to->sa, to->len) < 0)
		return die("sendto");
	printf("{\"sent\":1}\n");
	return 0;
}

static int cmd_listen(const char *where, double seconds)
{
	struct sockaddr_any at;
	if (sockaddr_any_parse(where, &at) < 0)
		return die("bad ADDR:PORT");
	int fd = open_socket(&at, at.sa.sa_family);
	if (fd < 0)
		return die("bind");
	unsigned received = 0;
	uint64_t until = clock_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);
	uint8_t buf[2048];
	while (clock_ns(CLOCK_MONOTONIC) < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 50);
		while (recv(fd, buf, sizeof(buf), 0) >= 0)
			received++;
	}
	close(fd);
	printf("{\"received\":%u}\n", received);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: probe_tool ping KEY PEER_PUB TARGET N SECONDS [badmac]\n"
			"       probe_tool pong KEY PEER_PUB TARGET OBSERVED N\n"
			"       probe_tool callme KEY PEER_PUB TARGET ENDPOINT[,ENDPOINT...]\n"
			"       probe_tool listen ADDR:PORT SECONDS\n");
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "listen") == 0)
		return cmd_listen(argv[2], atof(argv[3]));
	if (argc < 6) {
		usage();
		return 2;
	}
	uint8_t priv[32], peer_pub[32];
	struct coord_probe_keys k;
	struct sockaddr_any to;
	if (read_key_file(argv[2], priv) < 0)
		return die("cannot read the key file");
	if (crypto_key_from_base64(peer_pub, argv[3]) < 0)
		return die("bad PEER_PUB");
	if (coord_probe_keys_derive(&k, priv, peer_pub) < 0)
		return die("cannot derive probe keys");
	crypto_wipe(priv, sizeof(priv));
	if (sockaddr_any_parse(argv[4], &to) < 0)
		return die("bad TARGET");
	int fd = open_socket(NULL, to.sa.sa_family);
	if (fd < 0)
		return die("socket");
	int ret = 2;
	if (strcmp(argv[1], "ping") == 0 && (argc == 7 || argc == 8))
		ret = cmd_ping(fd, &k, &to, (unsigned)atoi(argv[5]), atof(argv[6]),
			       argc == 8 && strcmp(argv[7], "badmac") == 0);
	else if (strcmp(argv[1], "pong") == 0 && argc == 7)
		ret = cmd_pong(fd, &k, &to, argv[5], (unsigned)atoi(argv[6]));
	else if (strcmp(argv[1], "callme") == 0 && argc == 6)
		ret = cmd_callme(fd, &k, &to, argv[5]);
	else
		usage();
	coord_probe_keys_wipe(&k);
	close(fd);
	return ret;
}
