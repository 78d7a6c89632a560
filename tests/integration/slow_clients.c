/* slow_clients: hold many TCP connections to a server and never finish the
 * TLS handshake (half send nothing, half a partial ClientHello); a slot the
 * server closes is reconnected after a second. For t_server_flood.sh.
 *
 *   slow_clients ADDR PORT COUNT SECONDS
 *
 * Prints one summary line: "held H refused R connects C" (H: connections
 * open at the end for 2 s or more, i.e. ones the server kept; R: closed by
 * the server; C: connect() calls). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS_MAX 20000

struct slot {
	int fd;
	double opened_at;
	double retry_at; /* fd < 0: reconnect then */
};

static struct sockaddr_storage server;
static socklen_t server_len;
static unsigned long refused, connects;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void slot_open(int ep, struct slot *s, size_t i)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u64 = i };
	int fd = socket(server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	connects++;
	if (fd < 0 || (connect(fd, (struct sockaddr *)&server, server_len) < 0 && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (fd >= 0)
			close(fd);
		s->fd = -1;
		s->retry_at = now_s() + 1;
		return;
	}
	s->fd = fd;
	s->opened_at = now_s();
}

static void slot_event(int ep, struct slot *s, size_t i, uint32_t events)
{
	/* A TLS record header and the start of a ClientHello: the server
	 * waits for the rest. */
	static const unsigned char partial_hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = i };
	char buf[256];

	if (events & EPOLLOUT) {
		if (i % 2 && send(s->fd, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL) < 0)
			events |= EPOLLERR;
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

		if (n > 0 && !(events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
			return; /* an alert or such: keep holding */
		close(s->fd);
		s->fd = -1;
		s->retry_at = now_s() + 1;
		refused++;
	}
}

int main(int argc, char *argv[])
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&server;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&server;
	struct rlimit rl = { SLOTS_MAX + 64, SLOTS_MAX + 64 };
	struct epoll_event evs[256];
	unsigned long held = 0;
	struct slot *slots;
	double end;
	size_t count;
	int ep, port;

	if (argc != 5) {
		fputs("usage: slow_clients ADDR PORT COUNT SECONDS\n", stderr);
		return 2;
	}
	port = atoi(argv[2]);
	count = strtoul(argv[3], NULL, 10);
	if (count < 1 || count > SLOTS_MAX || port < 1 || port > 65535)
		return 2;
	if (inet_pton(AF_INET, argv[1], &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		server_len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, argv[1], &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		server_len = sizeof(*v6);
	} else {
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
	slots = calloc(count, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0)
		return 1;
	for (size_t i = 0; i < count; i++)
		slot_open(ep, &slots[i], i);
	end = now_s() + atof(argv[4]);
	while (now_s() < end) {
		int n = epoll_wait(ep, evs, 256, 100);
		double t = now_s();

		for (int k = 0; k < n; k++)
			slot_event(ep, &slots[evs[k].data.u64], (size_t)evs[k].data.u64, evs[k].events);
		for (size_t i = 0; i < count; i++)
			if (slots[i].fd < 0 && slots[i].retry_at <= t)
				slot_open(ep, &slots[i], i);
	}
	end = now_s();
	for (size_t i = 0; i < count; i++)
		held += slots[i].fd >= 0 && end - slots[i].opened_at >= 2;
	printf("held %lu refused %lu connects %lu\n", held, refused, connects);
	return 0;
}
