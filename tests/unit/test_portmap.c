/* The port mapping client (daemon/portmap) against a scripted fake gateway
 * on a loopback address (a forked child on port 5351): the order PCP,
 * NAT-PMP; that answers which are stale, foreign or of the wrong length are
 * dropped, not taken (PCP's codec, and the length check in front of
 * libnatpmp's reader); renewal time; deletion with the mapping's nonce. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "daemon/portmap/pcp.h"
#include "daemon/portmap/portmap.h"

#define EXT_ADDR "203.0.113.7"
#define TUNNEL_PORT 51820

enum script {
	SCRIPT_PCP_NOISY,	/* PCP: garbage, a wrong nonce, then the answer */
	SCRIPT_NATPMP_ONLY,	/* PCP refused as NAT-PMP does; NAT-PMP with wrong-length decoys */
};

static struct in_addr gw;
static int deletes_seen_fd = -1; /* the child writes one byte per deletion seen */

static void send_to(int fd, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	(void)sendto(fd, msg, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void pcp_answer(int fd, const struct sockaddr_in *to, const uint8_t *req, size_t len, enum script s)
{
	uint8_t resp[PCP_MAP_LEN + 4];

	if (s == SCRIPT_NATPMP_ONLY) {
		/* What a NAT-PMP-only server says to version 2: version 0, result 1. */
		const uint8_t unsupp[8] = { 0, 128 + req[1], 0, 1 };
		send_to(fd, to, unsupp, sizeof(unsupp));
		return;
	}
	if (len != PCP_MAP_LEN)
		return;
	memcpy(resp, req, PCP_MAP_LEN);
	resp[1] = PCP_RESPONSE_BIT | PCP_OPCODE_MAP;
	memset(resp + 8, 0, 16); /* epoch and reserved */
	pcp_addr_from_ipv4(resp + 44, inet_addr(EXT_ADDR));
	resp[42] = 0xca; /* assigned external port 51821 */
	resp[43] = 0x6d;
	if (req[4] | req[5] | req[6] | req[7]) {
		resp[42] = 0x11; /* decoys: external port 4369 */
		resp[43] = 0x11;
		send_to(fd, to, resp, 61); /* not a multiple of 4 */
		resp[24] ^= 0xff;
		send_to(fd, to, resp, PCP_MAP_LEN); /* another client's nonce */
		resp[24] ^= 0xff;
		resp[42] = 0xca;
		resp[43] = 0x6d;
	} else if (deletes_seen_fd >= 0) {
		(void)!write(deletes_seen_fd, "d", 1);
	}
	send_to(fd, to, resp, PCP_MAP_LEN);
}

static void natpmp_answer(int fd, const struct sockaddr_in *to, const uint8_t *req, size_t len)
{
	uint8_t addr[16] = { 0, 128 }, map[16] = { 0, 129 };
	uint32_t ext = inet_addr(EXT_ADDR), decoy = inet_addr("6.6.6.6");

	if (len == 2 && req[1] == 0) {
		memcpy(addr + 8, &decoy, 4);
		send_to(fd, to, addr, 16); /* 16 bytes: an address answer is 12 */
		memcpy(addr + 8, &ext, 4);
		send_to(fd, to, addr, 12);
	} else if (len == 12 && req[1] == 1) {
		memcpy(map + 8, req + 4, 2); /* private port */
		map[10] = 0x11; /* decoy public port 4444, lifetime 7 */
		map[11] = 0x5c;
		map[15] = 7;
		send_to(fd, to, map, 12); /* 12 bytes: a mapping answer is 16 */
		memcpy(map + 10, req + 6, 2);
		memcpy(map + 12, req + 8, 4);
		if ((req[8] | req[9] | req[10] | req[11]) == 0 && deletes_seen_fd >= 0)
			(void)!write(deletes_seen_fd, "d", 1);
		send_to(fd, to, map, 16);
	}
}

/* The fake gateway: answers for up to 5 s, then exits. */
static pid_t gateway_start(enum script s, int *deletes_rd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PCP_PORT), .sin_addr = gw };
	struct timeval tv = { .tv_sec = 5 };
	int pipefd[2], fd;
	pid_t pid;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 || pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		close(fd);
		close(pipefd[1]);
		*deletes_rd = pipefd[0];
		return pid;
	}
	close(pipefd[0]);
	deletes_seen_fd = pipefd[1];
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		uint8_t req[1100];
		struct sockaddr_in from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&from, &from_len);
		if (n < 0)
			_exit(0);
		if (n >= 2 && req[0] == PCP_VERSION)
			pcp_answer(fd, &from, req, (size_t)n, s);
		else if (n >= 2 && req[0] == 0)
			natpmp_answer(fd, &from, req, (size_t)n);
	}
}

static int gateway_stop(pid_t pid, int deletes_rd)
{
	char buf[8];
	ssize_t n;

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	n = read(deletes_rd, buf, sizeof(buf));
	close(deletes_rd);
	return n > 0 ? (int)n : 0;
}

static void test_script(enum script s, enum portmap_proto want)
{
	struct portmap_config cfg = { .internal_port = TUNNEL_PORT, .lifetime = 30, .gateway = gw,
				      .protocols = (1u << PORTMAP_PCP) | (1u << PORTMAP_NATPMP), .timeout_ms = 1500 };
	struct portmap pm;
	int deletes_rd = -1;
	pid_t pid = gateway_start(s, &deletes_rd);

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	portmap_init(&pm, &cfg);
	int err = portmap_start(&pm);
	if (err < 0)
		fprintf(stderr, "portmap_start: %s\n", pm.result.error);
	CHECK_EQ(err, 0);
	CHECK_EQ(pm.result.proto, want);
	CHECK_EQ(pm.result.external_addr.s_addr, inet_addr(EXT_ADDR));
	CHECK_EQ(pm.result.external_port, want == PORTMAP_PCP ? 51821 : TUNNEL_PORT);
	CHECK_EQ(pm.result.lifetime, 30);
	CHECK_EQ(portmap_renew_at_ms(&pm), pm.mapped_at_ms + 15000);
	if (want == PORTMAP_NATPMP)
		CHECK(strstr(pm.result.error, "pcp: server speaks NAT-PMP only") != NULL);
	uint8_t nonce[PCP_NONCE_LEN];
	memcpy(nonce, pm.pcp_nonce, sizeof(nonce));
	CHECK_EQ(portmap_renew(&pm), 0);
	CHECK_MEM(pm.pcp_nonce, nonce, sizeof(nonce)); /* renewal keeps the nonce */
	CHECK_EQ(pm.result.external_addr.s_addr, inet_addr(EXT_ADDR));
	CHECK_EQ(portmap_stop(&pm), 0);
	CHECK_EQ(pm.result.proto, PORTMAP_NONE);
	CHECK_EQ(portmap_renew_at_ms(&pm), 0);
	CHECK_EQ(portmap_stop(&pm), 0); /* nothing mapped: a no-op */
	CHECK_EQ(gateway_stop(pid, deletes_rd), 1);
}

static void test_nothing_answers(void)
{
	/* No gateway on this address: both fail at once (port unreachable). */
	struct portmap_config cfg = { .internal_port = TUNNEL_PORT, .lifetime = 30, .gateway = gw,
				      .protocols = (1u << PORTMAP_PCP) | (1u << PORTMAP_NATPMP), .timeout_ms = 1000 };
	struct portmap pm;
	uint64_t t0 = portmap_now_ms();

	portmap_init(&pm, &cfg);
	CHECK_EQ(portmap_start(&pm), -ENOENT);
	CHECK(portmap_now_ms() - t0 < 1500);
	CHECK(strcmp(pm.result.error, "pcp: no server (port unreachable); natpmp: no server (port unreachable)") == 0);
	cfg.lifetime = 0;
	portmap_init(&pm, &cfg);
	CHECK_EQ(portmap_start(&pm), -EINVAL);
}

int main(void)
{
	/* A loopback address of our own, so parallel runs rarely meet. */
	gw.s_addr = htonl(0x7f000000u | (((unsigned)getpid() & 0xffffu) << 8) | 0x35u);
	signal(SIGPIPE, SIG_IGN);
	test_script(SCRIPT_PCP_NOISY, PORTMAP_PCP);
	test_script(SCRIPT_NATPMP_ONLY, PORTMAP_NATPMP);
	test_nothing_answers();
	return check_report("test_portmap");
}
