/* The underlay UDP socket: one socket for both IP families, batched I/O.
 *
 * udp_open() makes a dual-stack AF_INET6 socket (IPV6_V6ONLY = 0), or an
 * AF_INET one where IPv6 is unavailable. Addresses in and out are always
 * normalised struct sockaddr_any (IPv4 peers as AF_INET), whatever the
 * socket's family; the mapping to ::ffff:a.b.c.d happens here.
 *
 * Batches: a struct udp_batch is UDP_BATCH_MAX slots, each a buffer pointer,
 * its capacity, a length and an endpoint, plus the kernel-facing
 * mmsghdr/iovec/sockaddr arrays. Later offloads fit the same shape: UDP GSO
 * (a UDP_SEGMENT cmsg on a slot whose buffer holds several equal-sized
 * datagrams for one endpoint) and UDP GRO (UDP_GRO cmsg on receive, the
 * segment size reported per slot) would add a segment size to the slot. */
#ifndef ROAM_NET_UDP_H
#define ROAM_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/addr.h"

#define UDP_BATCH_MAX 64

/* Socket buffer size asked for (SO_RCVBUFFORCE as root, else SO_RCVBUF up to
 * net.core.rmem_max): enough for bursts at several Gbit/s. */
#define UDP_SOCKET_BUFFER_BYTES (4 * 1024 * 1024)

struct udp_socket {
	int fd;         /* non-blocking, close-on-exec; -1 when closed */
	int family;     /* AF_INET6 (dual-stack) or AF_INET (IPv6 unavailable) */
	uint16_t port;  /* bound port, host order */
	bool gso;       /* kernel takes UDP_SEGMENT sends (cleared if it refuses one) */
	bool gro;       /* UDP_GRO is on: received slots may carry several datagrams */
};

/* Most segments one GSO send or one GRO receive may carry (kernel limit). */
#define UDP_GSO_MAX_SEGMENTS 64
/* A slot big enough for any coalesced receive or GSO send. */
#define UDP_GSO_SLOT_BYTES 65536

struct udp_slot {
	uint8_t *buf;   /* not owned by the slot: see udp_batch_new() */
	size_t cap;     /* receive: room in buf */
	size_t len;     /* receive: bytes received; send: bytes to send */
	struct sockaddr_any addr; /* receive: source; send: destination */
	int err;        /* send: 0 sent, or -errno this datagram failed with */
	bool truncated; /* receive: datagram was longer than cap (drop it) */
	/* Offloads: len is several datagrams of segment_size bytes (the last
	 * may be shorter), sent with one UDP_SEGMENT (GSO) message or received
	 * coalesced by UDP_GRO. 0: buf holds exactly one datagram. */
	uint16_t segment_size;
};

struct udp_batch {
	size_t count; /* slots filled by recv / to be sent by send */
	struct udp_slot slots[UDP_BATCH_MAX];
	/* private: what recvmmsg/sendmmsg see */
	struct mmsghdr msgs[UDP_BATCH_MAX];
	struct iovec iovs[UDP_BATCH_MAX];
	struct sockaddr_in6 names[UDP_BATCH_MAX];
	struct {
		_Alignas(size_t) char buf[64]; /* CMSG_SPACE(sizeof(int)), aligned like a cmsghdr */
	} ctrl[UDP_BATCH_MAX];
	uint8_t *arena; /* buffers from udp_batch_new, freed with the batch */
	/* udp_recv_batch sets up msgs for receiving once, then restores only
	 * the rx_filled headers the kernel wrote (see udp_linux.c). */
	size_t rx_filled;
	bool rx_ready, rx_gro;
};

/* Bind to port (0: the kernel picks; the result is in out->port) on all
 * addresses. -EADDRINUSE and other -errno from socket/bind. */
int udp_open(uint16_t port, struct udp_socket *out);
void udp_close(struct udp_socket *s); /* NULL or closed: no-op */

/* A batch whose slots point into one arena of UDP_BATCH_MAX * slot_cap bytes
 * owned by the batch. A sender may instead point slot.buf at its own buffers;
 * the batch never frees those, and udp_batch_free() frees only the arena. */
int udp_batch_new(size_t slot_cap, struct udp_batch **out);
void udp_batch_free(struct udp_batch *b);

/* Receive up to UDP_BATCH_MAX datagrams without blocking into slots[i].buf
 * (capacity slots[i].cap). Returns the count (also in b->count, >= 1),
 * -EAGAIN when nothing is queued, or another -errno. */
int udp_recv_batch(const struct udp_socket *s, struct udp_batch *b);
/* The slots' buf and cap are read at the first receive into a batch (and at
 * the first after a send through it): a caller that points a receive slot
 * elsewhere later must set b->rx_ready = false. */

/* For a thread that owns a socket's receiving: udp_set_blocking_recv()
 * clears O_NONBLOCK (every send here passes MSG_DONTWAIT, so sends never
 * block) and sets a receive timeout; then udp_recv_batch_wait() blocks until
 * one datagram is queued and returns it with whatever else is queued
 * (MSG_WAITFORONE), or -EAGAIN when timeout_ms passed with nothing. */
int udp_set_blocking_recv(const struct udp_socket *s, int timeout_ms);
int udp_recv_batch_wait(const struct udp_socket *s, struct udp_batch *b);

/* Send slots[0..count) without blocking. Returns how many slots were used up:
 * sent, or failed on their own (slots[i].err, e.g. -ENETUNREACH or
 * -EAFNOSUPPORT for IPv6 on an IPv4-only socket) and skipped. A return below
 * count means the socket buffer is full (EAGAIN/ENOBUFS): the caller may wait
 * for EPOLLOUT and send the rest, or drop them as WireGuard does. A negative
 * return is a socket-level error before anything went (-EBADF, ...). */
int udp_send_batch(struct udp_socket *s, struct udp_batch *b);

/* Ask the kernel to coalesce received datagrams (UDP_GRO); then receive
 * slots need UDP_GSO_SLOT_BYTES of room. 0 or -errno (old kernel). */
int udp_enable_gro(struct udp_socket *s);

/* One datagram (handshake messages). 0 or -errno (-EAGAIN when full). */
int udp_send(const struct udp_socket *s, const struct sockaddr_any *dst, const void *buf, size_t len);

/* A send queue for a program that sends while it handles a receive batch
 * (the server's relay): between udp_sendq_cork() and udp_sendq_uncork()
 * datagrams are copied into a batch and leave with sendmmsg when it is full
 * and at the uncork, instead of one sendto each; consecutive datagrams of
 * one size for one destination share a slot sent as one UDP GSO message.
 * Uncorked, udp_sendq_send() is udp_send(). What the socket cannot take
 * (buffer full, as WireGuard drops) or refuses is dropped and counted. */
struct udp_sendq {
	struct udp_batch *batch; /* slots of UDP_GSO_SLOT_BYTES */
	bool corked;
	/* Coalesce only datagrams that fit an Ethernet MTU on their own: a GSO
	 * segment over the route's MTU makes the kernel refuse the whole send
	 * (udp_send_batch then sends one by one and stops using GSO). */
	uint16_t gso_mtu;
	uint64_t dropped;        /* datagrams, since udp_sendq_init */
};

#define UDP_SENDQ_GSO_MTU 1500

int udp_sendq_init(struct udp_sendq *q); /* 0 or -ENOMEM */
void udp_sendq_destroy(struct udp_sendq *q);
void udp_sendq_cork(struct udp_sendq *q);
/* Sends what is queued; returns how many datagrams were dropped, or -errno
 * when the socket itself failed (everything queued is dropped). */
int udp_sendq_uncork(struct udp_socket *s, struct udp_sendq *q);
/* Queue one datagram (copied) when corked, else send it now (as
 * udp_send()). Corked: 0, or -EMSGSIZE over UDP_GSO_SLOT_BYTES; a datagram
 * the socket refuses later counts in the uncork's drops. */
int udp_sendq_send(struct udp_socket *s, struct udp_sendq *q, const struct sockaddr_any *dst, const void *buf,
		   size_t len);

#endif
