/* The datagram pair between roamd's monitor and its agent: a second
 * SOCK_SEQPACKET socketpair, beside the privsep one, that carries relay
 * datagrams (the exact bytes of a relay link, RELAY header included) when
 * the relay link is a TCP one (TLS, WebSocket, long-poll): the monitor
 * holds the engine, the agent the TLS and HTTP that carry the link.
 * One datagram per message, behind one byte of ours: the index of the
 * relay whose link carries it (0: the control server; several relays);
 * the pair is for bulk data and batched with sendmmsg/recvmmsg
 * (DGRAM_PAIR_BATCH per call) on both ends. This file moves bytes and
 * knows neither process nor that byte. */
#ifndef ROAM_DAEMON_DGRAM_PAIR_H
#define ROAM_DAEMON_DGRAM_PAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DGRAM_PAIR_BATCH 64
/* Largest datagram the pair carries: a relayed WireGuard message at any
 * MTU roamd accepts, with its RELAY header. Larger ones are counted and
 * dropped (the server's relay would drop them too). */
#define DGRAM_PAIR_SLOT 16384
#define DGRAM_PAIR_TX_BYTES (DGRAM_PAIR_BATCH * 2048) /* one batch's arena; a full one is flushed */
#define DGRAM_PAIR_SOCKBUF (4 * 1024 * 1024)

struct dgram_pair {
	int fd; /* -1: closed */
	uint8_t *rx;  /* DGRAM_PAIR_BATCH slots of DGRAM_PAIR_SLOT */
	uint8_t *tx;  /* DGRAM_PAIR_TX_BYTES */
	size_t tx_used;
	unsigned tx_count;
	struct iovec tx_iov[DGRAM_PAIR_BATCH];
	uint64_t tx_dropped; /* full socket buffer, or too large */
	uint64_t rx_dropped; /* truncated */
};

/* Takes fd (non-blocking from here on); -ENOMEM. */
int dgram_pair_init(struct dgram_pair *p, int fd);
void dgram_pair_close(struct dgram_pair *p); /* closes fd; NULL-safe, idempotent */

/* Queues hdr (may be NULL) + msg as one datagram; a full batch is sent at
 * once, the rest by dgram_pair_flush (the last phase of the loop turn). */
void dgram_pair_queue(struct dgram_pair *p, const uint8_t *hdr, size_t hdr_len, const uint8_t *msg, size_t len);
void dgram_pair_flush(struct dgram_pair *p);

/* Receives one batch and calls on_dgram for each datagram (its buffer is
 * writable and valid during the call). Returns the number received, 0 when
 * nothing waits, -errno (-ECONNRESET: the other end closed). */
int dgram_pair_recv(struct dgram_pair *p, void (*on_dgram)(void *ctx, uint8_t *d, size_t len), void *ctx);

#endif
