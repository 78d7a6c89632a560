/* coord_sim's shared core (a static library, libroam_sim, linked by coord_sim
 * and roam-loadtest): the loop, the UDP side of a simulated node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "coord/udp.h"
#include "crypto/crypto.h"

struct sim g_sim;

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sim_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int epoll_set(int fd, uint64_t tag, uint32_t events, bool add)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(g_sim.epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

/* A UDP socket connected to the server: its local address is the node's
 * private endpoint, and only the server can talk to it (acks, relays). */
/* keep: the port it had, if free (a node that reconnects keeps its socket:
 * its peers see the same endpoint); otherwise, or !keep, a new one. */
static int udp_open(struct sim_node *n, bool keep)
{
	struct sockaddr_any local;
	int fd = socket(g_sim.server.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	local.len = sizeof(local.in6);
	if (fd < 0)
		return -errno;
	if (keep && n->udp_fd >= 0) {
		close(fd); /* still open (a try that failed): keep it, and its port */
		return 0;
	}
	if (keep && n->local.len && n->local.sa.sa_family == g_sim.server.sa.sa_family && n->udp_fd < 0 &&
	    bind(fd, &n->local.sa, n->local.len) == 0)
		; /* its port again */
	else if (sim_source(n, &local) && bind(fd, &local.sa, local.len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	local.len = sizeof(local.in6);
	if (connect(fd, &g_sim.server.sa, g_sim.server.len) < 0 || getsockname(fd, &local.sa, &local.len) < 0 ||
	    epoll_set(fd, ((uint64_t)n->idx << 1) | 1, EPOLLIN, true) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	sockaddr_any_normalize(&local);
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	n->udp_fd = fd;
	n->local = local;
	return 0;
}

int sim_udp_open(struct sim_node *n)
{
	return udp_open(n, false);
}

/* A BINDING, with the cookie of a CHALLENGE when answering one. */
size_t sim_binding_build(struct sim_node *n, const uint8_t *cookie, uint8_t msg[sizeof(struct coord_msg_binding_cookie)])
{
	uint8_t nonce[COORD_BINDING_NONCE_LEN];
	uint64_t ts = sim_now_ns();

	if (ts <= n->last_ts)
		ts = n->last_ts + 1; /* strictly increasing, as the server demands */
	n->last_ts = ts;
	crypto_random(nonce, sizeof(nonce));
	if (cookie) {
		coord_binding_cookie_build(msg, n->k, n->id, ts, nonce, cookie);
		return sizeof(struct coord_msg_binding_cookie);
	}
	coord_binding_build(msg, n->k, n->id, ts, nonce);
	return sizeof(struct coord_msg_binding);
}

void sim_send_binding(struct sim_node *n, const uint8_t *cookie)
{
	uint8_t msg[sizeof(struct coord_msg_binding_cookie)];
	size_t len = sim_binding_build(n, cookie, msg);

	if (send(n->udp_fd, msg, len, 0) < 0 && g_sim.verbose)
		printf("error udp-send %s\n", strerror(errno));
}

/* TEXT in the shape of a WireGuard transport message (type 4, a 16-byte
 * header, the rest padded to 16 bytes with room for the tag), the only kind
 * of payload besides handshakes the relay forwards. */
void sim_send_relay(struct sim_node *n, uint32_t dst, const char *text)
{
	uint8_t msg[sizeof(struct coord_msg_relay_header) + 16 + 256 + 16] = { 0 };
	size_t tlen = strlen(text), len;

	if (tlen > 255)
		tlen = 255;
	coord_relay_header_write(msg, dst);
	msg[8] = 4;
	memcpy(msg + 8 + 16, text, tlen);
	len = 8 + COORD_WG_TRANSPORT_MIN + (tlen + 15) / 16 * 16;
	send(n->udp_fd, msg, len, 0);
}

static void udp_readable(struct sim_node *n)
{
	uint8_t buf[2048], cookie[COORD_COOKIE_LEN];
	struct sockaddr_any seen;
	const uint8_t *payload;
	size_t plen;
	uint64_t ts;
	uint32_t id;
	ssize_t len;

	while ((len = recv(n->udp_fd, buf, sizeof(buf), 0)) > 0) {
		if (buf[0] == COORD_MSG_PUSH_DATA) {
			sim_push_input(n, buf, (size_t)len);
			if (n->udp_fd < 0)
				return;
		} else if (coord_binding_ack_parse(buf, (size_t)len, n->k, n->id, &ts, &seen) == 0) {
			char text[SOCKADDR_ANY_STRLEN];
			n->bound = true;
			sockaddr_any_format(&seen, text, sizeof(text));
			if (g_sim.verbose) {
				printf("ack %s\n", text);
			} else if (!n->keep_udp && !g_sim.push) {
				/* Bench: 10 000 nodes must fit 20 000 fds (a container's hard
				 * limit); the server keeps the binding without the socket. */
				close(n->udp_fd);
				n->udp_fd = -1;
				return;
			}
		} else if (coord_challenge_parse(buf, (size_t)len, n->k, n->id, &ts, cookie) == 0) {
			/* Prove we receive here: the BINDING again, with the cookie. */
			if (g_sim.verbose)
				printf("challenge\n");
			sim_send_binding(n, cookie);
		} else if (coord_relay_parse(buf, (size_t)len, &id, &payload, &plen) == 0) {
			if (plen >= 16 && payload[0] == 4) {
				payload += 16;
				plen -= 16;
			}
			if (g_sim.hooks && g_sim.hooks->relay)
				g_sim.hooks->relay(n, id, payload, plen);
			if (g_sim.verbose)
				printf("relay-from %u %.*s\n", id, (int)strnlen((const char *)payload, plen), payload);
		} else if (g_sim.verbose) {
			printf("udp-unknown %zd bytes\n", len);
		}
	}
	sim_push_flush(n); /* one acknowledgement for the batch */
}

static void run_io(struct epoll_event *ev)
{
	struct sim_node *n;
	uint32_t want;

	if (ev->data.u64 == UINT64_MAX) {
		sim_stdin_readable();
		return;
	}
	n = &g_sim.nodes[ev->data.u64 >> 1];
	if (ev->data.u64 & 1) {
		udp_readable(n);
		return;
	}
	if (n->http.state == SIM_CLOSED)
		return;
	want = sim_http_io(&n->http);
	if (n->push_switch) {
		sim_push_switch(n);
		return;
	}
	if (want && n->http.fd >= 0)
		epoll_set(n->http.fd, (uint64_t)n->idx << 1, want, false);
}

bool sim_source(const struct sim_node *n, struct sockaddr_any *out)
{
	if (!g_sim.src_per || g_sim.server.sa.sa_family != AF_INET)
		return false;
	memset(out, 0, sizeof(*out));
	out->in4.sin_family = AF_INET;
	out->in4.sin_addr.s_addr = htonl(ntohl(g_sim.src_base.s_addr) + (uint32_t)((g_sim.name_base + (size_t)n->idx) / g_sim.src_per));
	out->len = sizeof(out->in4);
	return true;
}

int sim_node_start(struct sim_node *n)
{
	int r;

	if ((r = udp_open(n, true)) < 0)
		return r;
	n->http.ops = &sim_node_http_ops;
	n->http.user = n;
	struct sockaddr_any src;
	if ((r = sim_http_connect(&n->http, g_sim.ctx, &g_sim.server, g_sim.pin, sim_source(n, &src) ? &src : NULL)) < 0)
		return r;
	/* In flight until its view, or until it goes down (sim_node_down
	 * counts it out only for a node not SIM_DONE: a node started again
	 * after a loss is one too, or roam-loadtest's window would fill). */
	n->phase = SIM_REGISTER;
	g_sim.in_flight++;
	return epoll_set(n->http.fd, (uint64_t)n->idx << 1, EPOLLIN | EPOLLOUT, true);
}

void sim_node_rearm(struct sim_node *n)
{
	if (n->http.state != SIM_CLOSED && n->http.fd >= 0)
		epoll_set(n->http.fd, (uint64_t)n->idx << 1, EPOLLIN | EPOLLOUT, false);
}

/* One loop iteration: wait up to timeout_ms, handle what is ready. */
void sim_poll(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(g_sim.epfd, evs, 256, timeout_ms);

	for (int i = 0; i < n; i++)
		run_io(&evs[i]);
	fflush(stdout);
}

/* --server: a numeric HOST:PORT, also the Host header. */
int sim_parse_server(const char *text)
{
	char host[128];
	const char *colon = strrchr(text, ':');

	if (sockaddr_any_parse(text, &g_sim.server) < 0 || !colon)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
	snprintf(g_sim.host, sizeof(g_sim.host), "%s", text);
	return 0;
}
