/* The extra UDP sockets of birthday probing (daemon/paths/aux_sockets.h). */
#include "daemon/paths/aux_sockets.h"

#include "net/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct aux_slot {
	struct udp_socket sock; /* fd -1: free */
	unsigned refs;
	struct ev_io io;
	struct aux_sockets *owner;
	uint8_t index;
};

struct aux_sockets {
	struct ev_loop *loop;
	aux_input_fn input;
	aux_input_done_fn done;
	void *ctx;
	struct aux_sockets_stats stats;
	uint8_t next_slot; /* slots are handed out round robin, so a closed one is not reused at once */
	struct aux_slot slots[AUX_SLOTS];
	/* One datagram at a time: the largest UDP payload, so nothing is cut. */
	uint8_t rx_buf[65536];
};

static void on_aux_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct aux_slot *slot = io->data;
	struct aux_sockets *s = slot->owner;
	unsigned got = 0;
	(void)revents;
	for (int i = 0; i < AUX_RX_PER_WAKEUP && slot->sock.fd >= 0; i++) {
		struct sockaddr_in6 name;
		socklen_t namelen = sizeof(name);
		struct sockaddr_any from;
		ssize_t n = recvfrom(slot->sock.fd, s->rx_buf, sizeof(s->rx_buf), MSG_TRUNC, (struct sockaddr *)&name,
				     &namelen);
		if (n < 0)
			break; /* EAGAIN, or an ICMP error queued on the socket: nothing to deliver */
		if ((size_t)n > sizeof(s->rx_buf)) {
			s->stats.truncated++;
			continue;
		}
		if (sockaddr_any_from((struct sockaddr *)&name, namelen, &from) < 0)
			continue;
		s->stats.received++;
		/* The callback may release this slot (closing it): the loop checks fd. */
		s->input(s->ctx, slot->index, s->rx_buf, (size_t)n, &from, ev_now(loop));
		got++;
	}
	if (got && s->done)
		s->done(s->ctx);
}

int aux_sockets_new(struct ev_loop *loop, unsigned max_open, aux_input_fn input, aux_input_done_fn done, void *ctx,
		    struct aux_sockets **out)
{
	if (max_open == 0 || max_open > AUX_SLOTS || !input)
		return -EINVAL;
	struct aux_sockets *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->input = input;
	s->done = done;
	s->ctx = ctx;
	s->stats.open_max = max_open;
	for (unsigned i = 0; i < AUX_SLOTS; i++) {
		s->slots[i].sock.fd = -1;
		s->slots[i].owner = s;
		s->slots[i].index = (uint8_t)i;
	}
	*out = s;
	return 0;
}

static void slot_close(struct aux_sockets *s, struct aux_slot *slot)
{
	ev_io_stop(s->loop, &slot->io);
	udp_close(&slot->sock);
	slot->refs = 0;
	s->stats.open_now--;
}

void aux_sockets_free(struct aux_sockets *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < AUX_SLOTS; i++)
		if (s->slots[i].sock.fd >= 0)
			slot_close(s, &s->slots[i]);
	free(s);
}

static struct aux_slot *slot_find_free(struct aux_sockets *s)
{
	for (unsigned i = 0; i < AUX_SLOTS; i++) {
		struct aux_slot *slot = &s->slots[(uint8_t)(s->next_slot + i)];
		if (slot->sock.fd < 0) {
			s->next_slot = (uint8_t)(slot->index + 1);
			return slot;
		}
	}
	return NULL;
}

int aux_socket_open(struct aux_sockets *s, uint8_t *slot_out)
{
	return aux_socket_open_dev(s, NULL, slot_out);
}

int aux_socket_open_dev(struct aux_sockets *s, const char *ifname, uint8_t *slot_out)
{
	struct aux_slot *slot;
	int r;

	if (s->stats.open_now >= s->stats.open_max || !(slot = slot_find_free(s))) {
		s->stats.open_failures++;
		return -ENOSPC;
	}
	/* The tunnels' kind of socket (dual-stack, large buffers): the winner
	 * carries the peer's data. Port 0: the kernel picks. */
	if ((r = udp_open(0, &slot->sock)) < 0)
		goto fail;
	/* Whatever the default route says, its datagrams leave through ifname
	 * (the route lookup keeps to that device's routes, its default route
	 * included) with one of that interface's addresses as the source. */
	if (ifname && setsockopt(slot->sock.fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
		r = -errno;
		udp_close(&slot->sock);
		goto fail;
	}
	ev_io_init(&slot->io, slot->sock.fd, EPOLLIN, on_aux_readable, slot);
	if ((r = ev_io_start(s->loop, &slot->io)) < 0) {
		udp_close(&slot->sock);
		goto fail;
	}
	slot->refs = 1; /* the opener's */
	s->stats.open_now++;
	s->stats.opened_total++;
	*slot_out = slot->index;
	return 0;

fail:
	s->stats.open_failures++;
	return r;
}

int aux_socket_hold(struct aux_sockets *s, uint8_t slot)
{
	if (s->slots[slot].sock.fd < 0)
		return -EBADF;
	s->slots[slot].refs++;
	return 0;
}

int aux_socket_release(struct aux_sockets *s, uint8_t slot)
{
	struct aux_slot *a = &s->slots[slot];
	if (a->sock.fd < 0)
		return -EBADF;
	if (--a->refs == 0)
		slot_close(s, a);
	return 0;
}

bool aux_socket_is_open(const struct aux_sockets *s, uint8_t slot)
{
	return s->slots[slot].sock.fd >= 0;
}

unsigned aux_sockets_free_slots(const struct aux_sockets *s)
{
	return s->stats.open_max - s->stats.open_now;
}

uint16_t aux_socket_port(const struct aux_sockets *s, uint8_t slot)
{
	return s->slots[slot].sock.fd >= 0 ? s->slots[slot].sock.port : 0;
}

int aux_socket_send(struct aux_sockets *s, uint8_t slot, const struct sockaddr_any *to, const void *msg, size_t len)
{
	struct aux_slot *a = &s->slots[slot];
	if (a->sock.fd < 0)
		return -EBADF;
	int r = udp_send(&a->sock, to, msg, len);
	if (r < 0) {
		s->stats.send_errors++;
		return r;
	}
	s->stats.sent++;
	return 0;
}

void aux_sockets_get_stats(const struct aux_sockets *s, struct aux_sockets_stats *out)
{
	*out = s->stats;
}
