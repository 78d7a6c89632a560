/* A middlebox that injects garbage WireGuard-looking datagrams (issue 13's
 * tamper test, t_handover_tamper.sh): from a spoofed source (the peer's
 * public mapping) to a node, COUNT datagrams, one every INTERVAL_MS,
 * alternating a handshake initiation of the right size with random bytes
 * (its mac1 fails) and a data message under a random index. Run inside the
 * site router's namespace, with conntrack told to leave these alone (the
 * test adds an nftables notrack rule), through a raw socket.
 *
 *   tamper_inject SRC_IP SRC_PORT DST_IP DST_PORT COUNT INTERVAL_MS */
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INITIATION_LEN 148
#define DATA_LEN 96

int main(int argc, char *argv[])
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct in_addr src;
	uint8_t pkt[sizeof(struct iphdr) + sizeof(struct udphdr) + INITIATION_LEN];
	if (argc != 7 || inet_pton(AF_INET, argv[1], &src) != 1 || inet_pton(AF_INET, argv[3], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: tamper_inject SRC_IP SRC_PORT DST_IP DST_PORT COUNT INTERVAL_MS\n");
		return 2;
	}
	long count = strtol(argv[5], NULL, 10), interval_ms = strtol(argv[6], NULL, 10);
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IP_HDRINCL implied */
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	srand((unsigned)time(NULL));
	for (long i = 0; i < count && i < 1000000; i++) {
		size_t payload = i % 2 ? DATA_LEN : INITIATION_LEN;
		size_t len = sizeof(struct iphdr) + sizeof(struct udphdr) + payload;
		struct iphdr *ip = (struct iphdr *)pkt;
		struct udphdr *udp = (struct udphdr *)(ip + 1);
		uint8_t *wg = (uint8_t *)(udp + 1);
		memset(pkt, 0, sizeof(pkt));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons((uint16_t)len); /* the kernel fills id and checksum */
		ip->saddr = src.s_addr;
		ip->daddr = dst.sin_addr.s_addr;
		udp->source = htons((uint16_t)atoi(argv[2]));
		udp->dest = htons((uint16_t)atoi(argv[4]));
		udp->len = htons((uint16_t)(len - sizeof(struct iphdr))); /* checksum 0: none (IPv4) */
		for (size_t b = 4; b < payload; b++)
			wg[b] = (uint8_t)rand();
		wg[0] = i % 2 ? 4 : 1; /* data, or a handshake initiation */
		if (sendto(fd, pkt, len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("sendto");
			return 1;
		}
		struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	close(fd);
	return 0;
}
