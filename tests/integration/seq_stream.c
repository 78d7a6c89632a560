/* A sequence-numbered UDP stream, to measure a handover's interruption
 * (issue 13): the sender sends a datagram every INTERVAL ms for SECONDS
 * seconds; the receiver, until SECONDS after its start, records arrivals
 * and prints one JSON line: received, lost (numbers never seen below the
 * highest seen), duplicates, late (arrived after a higher number), and
 * max_gap_ms, the longest time between two arrivals (the interruption a
 * real-time application sees).
 *
 *   seq_stream send ADDRESS PORT INTERVAL_MS SECONDS
 *   seq_stream recv PORT SECONDS [INTERVAL_MS COUNT]
 *
 * With INTERVAL_MS and COUNT (what the sender sends), a stream that never
 * came back counts too: lost is COUNT - received, and the time from the
 * last arrival to the stream's expected end is a gap like any other. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SEQ_MAX (1u << 20) /* 5 ms for 87 minutes: plenty for a test */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int do_send(const char *host, const char *port, unsigned interval_ms, unsigned seconds)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return 2;
	int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return 2;
	uint64_t n = (uint64_t)seconds * 1000u / interval_ms;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint32_t seq = 0; seq < n && seq < SEQ_MAX; seq++) {
		uint8_t msg[64] = { 0 };
		uint32_t be = htonl(seq);
		memcpy(msg, &be, 4);
		/* Errors (no route for a moment) are the handover's, not ours: go on. */
		(void)sendto(fd, msg, sizeof(msg), 0, ai->ai_addr, ai->ai_addrlen);
		next.tv_nsec += (long)interval_ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	freeaddrinfo(ai);
	close(fd);
	return 0;
}

static int do_recv(const char *port, unsigned seconds, unsigned interval_ms, unsigned long count)
{
	static uint8_t seen[SEQ_MAX];
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)) };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	int off = 0;
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("seq_stream recv");
		return 2;
	}
	uint64_t end = mono_ns() + (uint64_t)seconds * 1000000000u, last = 0, max_gap = 0, max_gap_at = 0, first = 0;
	uint32_t highest = 0;
	unsigned long received = 0, dups = 0, late = 0;
	for (;;) {
		uint64_t now = mono_ns();
		if (now >= end)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		uint8_t msg[64];
		ssize_t r = recv(fd, msg, sizeof(msg), 0);
		if (r < 4)
			continue;
		now = mono_ns();
		uint32_t seq;
		memcpy(&seq, msg, 4);
		seq = ntohl(seq);
		if (seq >= SEQ_MAX)
			continue;
		if (seen[seq]) {
			dups++;
			continue;
		}
		seen[seq] = 1;
		received++;
		if (received > 1 && seq < highest)
			late++;
		if (seq > highest)
			highest = seq;
		if (!first)
			first = now;
		if (last && now - last > max_gap) {
			max_gap = now - last;
			max_gap_at = now - first;
		}
		last = now;
	}
	unsigned long lost = received ? highest + 1 - received : 0;
	if (count && received) {
		uint64_t expected_end = first + (uint64_t)(count - 1) * interval_ms * 1000000u;
		lost = count > received ? count - received : 0;
		if (expected_end > last && expected_end - last > max_gap) {
			max_gap = expected_end - last;
			max_gap_at = expected_end - first;
		}
	}
	printf("{\"received\": %lu, \"lost\": %lu, \"duplicates\": %lu, \"late\": %lu, \"max_gap_ms\": %.1f, "
	       "\"max_gap_at_ms\": %.0f}\n",
	       received, lost, dups, late, (double)max_gap / 1e6, (double)max_gap_at / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3], (unsigned)atoi(argv[4]) ? (unsigned)atoi(argv[4]) : 5,
			       (unsigned)atoi(argv[5]));
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2], (unsigned)atoi(argv[3]), 0, 0);
	if (argc == 6 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), strtoul(argv[5], NULL, 10));
	fprintf(stderr, "usage: seq_stream send ADDRESS PORT INTERVAL_MS SECONDS | recv PORT SECONDS [INTERVAL_MS COUNT]\n");
	return 2;
}
