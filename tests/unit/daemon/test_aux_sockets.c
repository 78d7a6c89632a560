/* The extra sockets of birthday probing (daemon/paths/aux_sockets.h) over
 * loopback: the cap, reference counting, input with the slot and source,
 * sends from a slot, and no file descriptor left behind. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/paths/aux_sockets.h"

static unsigned t_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct {
	unsigned count;
	uint8_t slot;
	struct sockaddr_any from;
	char text[32];
	struct aux_sockets *release_on_input;
} got;

static void t_input(void *ctx, uint8_t slot, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now)
{
	(void)ctx;
	(void)now;
	got.count++;
	got.slot = slot;
	got.from = *from;
	snprintf(got.text, sizeof(got.text), "%.*s", (int)len, (const char *)buf);
	if (got.release_on_input)
		(void)aux_socket_release(got.release_on_input, slot); /* closing from inside the callback */
}

/* Once per wakeup, after its datagrams. */
static unsigned dones;
static void t_done(void *ctx)
{
	(void)ctx;
	dones++;
}

static void t_loopback(struct sockaddr_any *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	a->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->len = sizeof(a->in4);
}

static void t_stop(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_loop_stop(loop);
}

/* Runs the loop for about 50 ms. */
static void t_spin(struct ev_loop *loop)
{
	struct ev_timer stop;
	ev_timer_init(&stop, t_stop, NULL);
	ev_now_update(loop);
	ev_timer_start(loop, &stop, ev_now(loop) + 50 * EV_NSEC_PER_MSEC);
	ev_loop_run(loop);
	ev_timer_stop(loop, &stop);
}

int main(void)
{
	struct ev_loop *loop;
	struct aux_sockets *s;
	struct aux_sockets_stats st;
	uint8_t slots[8], slot;
	unsigned fds0 = t_fds();

	CHECK_EQ(ev_loop_new(&loop), 0);
	CHECK_EQ(aux_sockets_new(loop, 0, t_input, t_done, NULL, &s), -EINVAL);
	CHECK_EQ(aux_sockets_new(loop, AUX_SLOTS + 1, t_input, t_done, NULL, &s), -EINVAL);
	CHECK_EQ(aux_sockets_new(loop, 8, t_input, t_done, NULL, &s), 0);
	unsigned fds1 = t_fds();

	/* The cap. */
	for (int i = 0; i < 8; i++)
		CHECK_EQ(aux_socket_open(s, &slots[i]), 0);
	CHECK_EQ(aux_socket_open(s, &slot), -ENOSPC);
	CHECK_EQ(aux_sockets_free_slots(s), 0);
	CHECK_EQ(t_fds(), fds1 + 8);
	aux_sockets_get_stats(s, &st);
	CHECK_EQ(st.open_now, 8);
	CHECK_EQ(st.opened_total, 8);
	CHECK_EQ(st.open_failures, 1);

	/* Input: slot and source; a send from the slot reaches the peer. */
	int peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_any peer_addr, to;
	t_loopback(&peer_addr, 0);
	CHECK_EQ(bind(peer, &peer_addr.sa, peer_addr.len), 0);
	CHECK_EQ(getsockname(peer, &peer_addr.sa, &peer_addr.len), 0);
	t_loopback(&to, aux_socket_port(s, slots[5]));
	CHECK(aux_socket_port(s, slots[5]) != 0);
	CHECK_EQ(sendto(peer, "ping5", 5, 0, &to.sa, to.len), 5);
	t_spin(loop);
	CHECK_EQ(got.count, 1);
	CHECK_EQ(dones, 1);
	CHECK_EQ(got.slot, slots[5]);
	CHECK(sockaddr_any_equal(&got.from, &peer_addr));
	CHECK(strcmp(got.text, "ping5") == 0);
	CHECK_EQ(aux_socket_send(s, slots[5], &peer_addr, "pong5", 5), 0);
	char buf[16] = { 0 };
	struct sockaddr_any from = { .len = sizeof(from.in6) };
	CHECK_EQ(recvfrom(peer, buf, sizeof(buf), 0, &from.sa, &from.len), 5);
	CHECK_EQ(sockaddr_any_port(&from), aux_socket_port(s, slots[5]));

	/* References: held twice, released twice, then closed; others unaffected. */
	CHECK_EQ(aux_socket_hold(s, slots[2]), 0);
	CHECK_EQ(aux_socket_release(s, slots[2]), 0);
	CHECK(aux_socket_is_open(s, slots[2]));
	CHECK_EQ(aux_socket_release(s, slots[2]), 0);
	CHECK(!aux_socket_is_open(s, slots[2]));
	CHECK_EQ(aux_socket_release(s, slots[2]), -EBADF);
	CHECK_EQ(aux_socket_hold(s, slots[2]), -EBADF);
	CHECK_EQ(aux_socket_send(s, slots[2], &peer_addr, "x", 1), -EBADF);
	CHECK_EQ(t_fds(), fds1 + 7 + 1); /* and the peer's socket */
	/* A freed slot is not handed out again at once. */
	CHECK_EQ(aux_socket_open(s, &slot), 0);
	CHECK(slot != slots[2]);

	/* Released from inside its own input callback: no use after close. */
	got.release_on_input = s;
	t_loopback(&to, aux_socket_port(s, slots[6]));
	CHECK_EQ(sendto(peer, "a", 1, 0, &to.sa, to.len), 1);
	CHECK_EQ(sendto(peer, "b", 1, 0, &to.sa, to.len), 1);
	t_spin(loop);
	CHECK_EQ(got.count, 2); /* "b" was not read: the socket closed after "a" */
	CHECK_EQ(dones, 2);
	CHECK(!aux_socket_is_open(s, slots[6]));

	aux_sockets_get_stats(s, &st);
	CHECK_EQ(st.open_now, 7);
	CHECK_EQ(st.sent, 1);
	CHECK_EQ(st.received, 2);
	aux_sockets_free(s);
	aux_sockets_free(NULL);
	close(peer);
	ev_loop_free(loop);
	CHECK_EQ(t_fds(), fds0);
	return check_report("test_aux_sockets");
}
