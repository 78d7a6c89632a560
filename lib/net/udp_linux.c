#include "net/udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Raise a socket buffer: the FORCE variant ignores net.core.[rw]mem_max but
 * needs CAP_NET_ADMIN; without it the plain option is capped by the sysctl.
 * Best effort either way: a small buffer costs drops under load, not function. */
static void udp_socket_buffer(int fd, int force_opt, int opt)
{
	int size = UDP_SOCKET_BUFFER_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return;
	setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int udp_socket_bind(int family, uint16_t port, int *fd_out)
{
	struct sockaddr_in6 name6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in name4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int off = 0, fd, r;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		/* Dual-stack: IPv4 peers arrive as ::ffff:a.b.c.d on the same port. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&name6, sizeof(name6)) < 0)
			goto fail;
	} else if (bind(fd, (struct sockaddr *)&name4, sizeof(name4)) < 0) {
		goto fail;
	}
	*fd_out = fd;
	return 0;

fail:
	r = -errno;
	close(fd);
	return r;
}

int udp_open(uint16_t port, struct udp_socket *out)
{
	struct sockaddr_any bound;
	struct sockaddr_in6 name;
	socklen_t namelen = sizeof(name);
	int family = AF_INET6, fd = -1, r;

	r = udp_socket_bind(AF_INET6, port, &fd);
	if (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL) {
		/* Kernel without IPv6 (ipv6.disable=1): IPv4 only. */
		family = AF_INET;
		r = udp_socket_bind(AF_INET, port, &fd);
	}
	if (r < 0)
		return r;

	udp_socket_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	udp_socket_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);

	if (getsockname(fd, (struct sockaddr *)&name, &namelen) < 0) {
		r = -errno;
		goto fail;
	}
	r = sockaddr_any_from((struct sockaddr *)&name, namelen, &bound);
	if (r < 0)
		goto fail;
	out->fd = fd;
	out->family = family;
	out->port = sockaddr_any_port(&bound);
	/* Try GSO on the first multi-segment send; a refusal turns it off. */
	out->gso = true;
	out->gro = false;
	return 0;

fail:
	close(fd);
	return r;
}

void udp_close(struct udp_socket *s)
{
	if (!s || s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
}

int udp_batch_new(size_t slot_cap, struct udp_batch **out)
{
	struct udp_batch *b;

	if (slot_cap == 0 || slot_cap > SIZE_MAX / UDP_BATCH_MAX)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->arena = malloc(slot_cap * UDP_BATCH_MAX);
	if (!b->arena) {
		free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < UDP_BATCH_MAX; i++) {
		b->slots[i].buf = b->arena + i * slot_cap;
		b->slots[i].cap = slot_cap;
	}
	*out = b;
	return 0;
}

void udp_batch_free(struct udp_batch *b)
{
	if (!b)
		return;
	free(b->arena);
	free(b);
}

int udp_enable_gro(struct udp_socket *s)
{
	int on = 1;
	if (setsockopt(s->fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) < 0)
		return -errno;
	s->gro = true;
	return 0;
}

/* The UDP_GRO segment size the kernel attached, or 0. */
static uint16_t udp_gro_segment_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 && size <= UINT16_MAX ? (uint16_t)size : 0;
		}
	}
	return 0;
}

/* The headers recvmmsg reads. The kernel writes back only msg_namelen,
 * msg_controllen, msg_flags and msg_len of the messages it filled, and never
 * the iovecs or pointers: so all UDP_BATCH_MAX headers are set up once (and
 * again after a send used the batch's headers), and a later call restores
 * only the lengths of the ones the previous call filled. */
static void udp_recv_prepare(const struct udp_socket *s, struct udp_batch *b)
{
	size_t from = 0, to = UDP_BATCH_MAX;

	if (b->rx_ready && b->rx_gro == s->gro) {
		for (size_t i = 0; i < b->rx_filled; i++) {
			b->msgs[i].msg_hdr.msg_namelen = sizeof(b->names[i]);
			b->msgs[i].msg_hdr.msg_controllen = s->gro ? sizeof(b->ctrl[i].buf) : 0;
		}
		from = to = 0;
	}
	for (size_t i = from; i < to; i++) {
		b->iovs[i].iov_base = b->slots[i].buf;
		b->iovs[i].iov_len = b->slots[i].cap;
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->names[i],
			.msg_namelen = sizeof(b->names[i]),
			.msg_iov = &b->iovs[i],
			.msg_iovlen = 1,
			.msg_control = s->gro ? b->ctrl[i].buf : NULL,
			.msg_controllen = s->gro ? sizeof(b->ctrl[i].buf) : 0,
		};
	}
	b->rx_ready = true;
	b->rx_gro = s->gro;
	b->rx_filled = 0;
}

static int udp_recv_flags(const struct udp_socket *s, struct udp_batch *b, int flags)
{
	int n;

	udp_recv_prepare(s, b);
	b->count = 0;
	do {
		n = recvmmsg(s->fd, b->msgs, UDP_BATCH_MAX, flags, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	b->rx_filled = (size_t)n;

	for (int i = 0; i < n; i++) {
		struct udp_slot *slot = &b->slots[i];
		struct msghdr *h = &b->msgs[i].msg_hdr;
		slot->len = b->msgs[i].msg_len;
		slot->truncated = (h->msg_flags & MSG_TRUNC) != 0;
		slot->err = 0;
		slot->segment_size = s->gro ? udp_gro_segment_size(h) : 0;
		if (slot->segment_size >= slot->len)
			slot->segment_size = 0;
		if (sockaddr_any_from((const struct sockaddr *)h->msg_name, h->msg_namelen, &slot->addr) < 0)
			memset(&slot->addr, 0, sizeof(slot->addr));
	}
	b->count = (size_t)n;
	return n;
}

int udp_recv_batch(const struct udp_socket *s, struct udp_batch *b)
{
	return udp_recv_flags(s, b, MSG_DONTWAIT);
}

int udp_recv_batch_wait(const struct udp_socket *s, struct udp_batch *b)
{
	return udp_recv_flags(s, b, MSG_WAITFORONE);
}

int udp_set_blocking_recv(const struct udp_socket *s, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fl = fcntl(s->fd, F_GETFL);

	if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* The destination as this socket's family wants it: IPv4 becomes v4-mapped
 * IPv6 on the dual-stack socket; IPv6 cannot go out of an IPv4 socket. */
static int udp_name_for(const struct udp_socket *s, const struct sockaddr_any *dst,
			struct sockaddr_in6 *name, socklen_t *namelen)
{
	memset(name, 0, sizeof(*name));
	if (dst->len && dst->sa.sa_family == AF_INET && s->family == AF_INET6) {
		name->sin6_family = AF_INET6;
		name->sin6_port = dst->in4.sin_port;
		name->sin6_addr.s6_addr[10] = 0xff;
		name->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&name->sin6_addr.s6_addr[12], &dst->in4.sin_addr, 4);
		*namelen = sizeof(*name);
	} else if (dst->len && dst->sa.sa_family == AF_INET) {
		memcpy(name, &dst->in4, sizeof(dst->in4));
		*namelen = sizeof(dst->in4);
	} else if (dst->len && dst->sa.sa_family == AF_INET6 && s->family == AF_INET6) {
		memcpy(name, &dst->in6, sizeof(dst->in6));
		*namelen = sizeof(dst->in6);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* Errors that say the socket itself is unusable, as opposed to one datagram
 * (no route, firewall, too big) that should not hold up the rest. */
static bool udp_error_is_fatal(int err)
{
	return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EOPNOTSUPP;
}

static bool udp_error_is_full(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM;
}

static void udp_send_prepare(const struct udp_socket *s, struct udp_batch *b)
{
	b->rx_ready = false; /* the receive headers are overwritten below */
	for (size_t i = 0; i < b->count; i++) {
		struct udp_slot *slot = &b->slots[i];
		socklen_t namelen = 0;
		slot->err = udp_name_for(s, &slot->addr, &b->names[i], &namelen);
		if (!slot->err && slot->segment_size && slot->len > slot->segment_size && !s->gso)
			slot->err = -EOPNOTSUPP; /* caller must split: see udp_send_batch */
		b->iovs[i].iov_base = slot->buf;
		b->iovs[i].iov_len = slot->len;
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->names[i],
			.msg_namelen = namelen,
			.msg_iov = &b->iovs[i],
			.msg_iovlen = 1,
		};
		if (slot->segment_size && slot->len > slot->segment_size) {
			struct msghdr *h = &b->msgs[i].msg_hdr;
			h->msg_control = b->ctrl[i].buf;
			h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = IPPROTO_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(c), &slot->segment_size, sizeof(uint16_t));
		}
		b->msgs[i].msg_len = 0;
	}
}

/* A GSO message the kernel refused as such (no checksum offload on the
 * route's device, or no UDP_SEGMENT at all): send its datagrams one by one
 * and stop asking for GSO on this socket. */
static int udp_send_segments(struct udp_socket *s, struct udp_slot *slot)
{
	struct sockaddr_in6 name;
	socklen_t namelen;
	int r = udp_name_for(s, &slot->addr, &name, &namelen);
	if (r < 0)
		return r;
	for (size_t off = 0; off < slot->len; off += slot->segment_size) {
		size_t n = slot->len - off < slot->segment_size ? slot->len - off : slot->segment_size;
		if (sendto(s->fd, slot->buf + off, n, MSG_DONTWAIT, (struct sockaddr *)&name, namelen) < 0)
			return -errno;
	}
	return 0;
}

int udp_send_batch(struct udp_socket *s, struct udp_batch *b)
{
	size_t count = b->count > UDP_BATCH_MAX ? UDP_BATCH_MAX : b->count;
	size_t i = 0, run;
	int n;

	b->count = count;
	udp_send_prepare(s, b);
	while (i < count) {
		if (b->slots[i].err) { /* no address this socket can reach */
			i++;
			continue;
		}
		for (run = i; run < count && !b->slots[run].err; run++)
			;
		n = sendmmsg(s->fd, &b->msgs[i], (unsigned)(run - i), MSG_DONTWAIT);
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || udp_error_is_full(errno))
			break;
		if (udp_error_is_fatal(errno) && errno != EOPNOTSUPP)
			return i == 0 ? -errno : (int)i;
		struct udp_slot *slot = &b->slots[i];
		if ((errno == EIO || errno == EINVAL || errno == EOPNOTSUPP) && slot->segment_size &&
		    slot->len > slot->segment_size) {
			s->gso = false;
			slot->err = udp_send_segments(s, slot);
			i++;
			continue;
		}
		/* sendmmsg reports an error only for the first datagram of a call. */
		slot->err = -errno;
		i++;
	}
	/* Slots marked before sending because GSO is off: send them split. */
	for (size_t j = 0; j < i; j++)
		if (b->slots[j].err == -EOPNOTSUPP && b->slots[j].segment_size)
			b->slots[j].err = udp_send_segments(s, &b->slots[j]);
	return (int)i;
}

int udp_send(const struct udp_socket *s, const struct sockaddr_any *dst, const void *buf, size_t len)
{
	struct sockaddr_in6 name;
	socklen_t namelen;
	ssize_t n;
	int r;

	r = udp_name_for(s, dst, &name, &namelen);
	if (r < 0)
		return r;
	do {
		n = sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&name, namelen);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}
