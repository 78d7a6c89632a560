/* portmap_tool: maps a UDP port through daemon/portmap and prints what
 * happens as JSON lines, for t_portmap.sh. It binds the port itself (as the
 * tunnel's socket would be), reports each datagram that reaches it, renews
 * the mapping when portmap_renew_at_ms says, and deletes it on SIGTERM or
 * SIGINT.
 *
 *   portmap_tool --port P [--proto auto|pcp|natpmp|upnp] [--lifetime S]
 *                [--timeout-ms N] [--gateway ADDR]
 *
 * Lines: {"event":"mapped"|"renewed", "protocol", "external", "lifetime",
 * "needs_verification"}, {"event":"datagram","from","bytes"},
 * {"event":"deleted"}, {"event":"failed","error"}. Exit 0 after a clean
 * stop, 1 if mapping or renewal failed, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/portmap/portmap.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_mapping(const char *event, const struct portmap *pm)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &pm->result.external_addr, addr, sizeof(addr));
	printf("{\"event\":\"%s\",\"protocol\":\"%s\",\"external\":\"%s:%u\",\"lifetime\":%u,"
	       "\"needs_verification\":%s}\n",
	       event, portmap_proto_name(pm->result.proto), addr, (unsigned)pm->result.external_port,
	       (unsigned)pm->result.lifetime, pm->result.needs_verification ? "true" : "false");
}

static void print_failed(const char *event, const struct portmap *pm)
{
	printf("{\"event\":\"%s\",\"error\":", event);
	json_str(pm->result.error);
	printf("}\n");
}

static int bind_udp(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("portmap_tool: bind");
		exit(1);
	}
	return fd;
}

static void on_datagram(int fd)
{
	char buf[2048], from[INET_ADDRSTRLEN];
	struct sockaddr_in sa;
	socklen_t sa_len = sizeof(sa);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &sa_len);

	if (n < 0)
		return;
	inet_ntop(AF_INET, &sa.sin_addr, from, sizeof(from));
	printf("{\"event\":\"datagram\",\"from\":\"%s:%u\",\"bytes\":%zd}\n", from, (unsigned)ntohs(sa.sin_port), n);
}

static void parse_args(int argc, char **argv, struct portmap_config *cfg)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },	{ "proto", required_argument, NULL, 'P' },
		{ "lifetime", required_argument, NULL, 'l' },	{ "timeout-ms", required_argument, NULL, 't' },
		{ "gateway", required_argument, NULL, 'g' },	{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			cfg->internal_port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			if (strcmp(optarg, "auto") == 0)
				cfg->protocols = PORTMAP_ALL;
			else if (portmap_proto_from_name(optarg) != PORTMAP_NONE)
				cfg->protocols = 1u << portmap_proto_from_name(optarg);
			else
				goto usage;
			break;
		case 'l':
			cfg->lifetime = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			cfg->timeout_ms = atoi(optarg);
			break;
		case 'g':
			if (inet_pton(AF_INET, optarg, &cfg->gateway) != 1)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (cfg->internal_port != 0 && optind == argc)
		return;
usage:
	fprintf(stderr, "usage: portmap_tool --port P [--proto auto|pcp|natpmp|upnp] [--lifetime S] "
			"[--timeout-ms N] [--gateway ADDR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct portmap_config cfg = { .lifetime = 120 };
	struct portmap pm;
	sigset_t mask;
	int udp, sfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* libminiupnpc writes to TCP sockets */
	parse_args(argc, argv, &cfg);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	udp = bind_udp(cfg.internal_port);
	portmap_init(&pm, &cfg);
	if (portmap_start(&pm) < 0) {
		print_failed("failed", &pm);
		return 1;
	}
	print_mapping("mapped", &pm);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = udp, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		uint64_t now = portmap_now_ms(), due = portmap_renew_at_ms(&pm);
		int wait = due > now ? (int)(due - now) : 0;
		if (poll(pfd, 2, wait) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN)
			on_datagram(udp);
		if (pfd[1].revents & POLLIN)
			break;
		if (portmap_now_ms() >= portmap_renew_at_ms(&pm)) {
			if (portmap_renew(&pm) < 0) {
				print_failed("failed", &pm);
				portmap_stop(&pm);
				return 1;
			}
			print_mapping("renewed", &pm);
		}
	}
	enum portmap_proto proto = pm.result.proto;
	if (portmap_stop(&pm) < 0) {
		print_failed("failed", &pm);
		return 1;
	}
	printf("{\"event\":\"deleted\",\"protocol\":\"%s\"}\n", portmap_proto_name(proto));
	close(udp);
	close(sfd);
	return 0;
}
