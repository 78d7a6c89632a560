/* The datagram pair between roamd's monitor and its agent: a second
 * SOCK_SEQPACKET socketpair, beside the privsep one, that carries relay
 * datagrams (the exact bytes of a relay link, RELAY header included) when
 * the relay link is a TCP one (TLS, WebSocket, long-poll): the monitor
 * holds the engine, the agent the TLS and HTTP that carry the link.
 * Each datagram goes behind one byte of ours: the index of the relay whose
 * link carries it (0: the control server; several relays).
 *
 * The pair is for bulk data: the datagrams of a loop turn travel packed,
 * several to a message ([len le16][bytes], up to DGRAM_PAIR_MSG bytes a
 * message), and the messages go with sendmmsg/recvmmsg (DGRAM_PAIR_BATCH
 * per call). A message per datagram cost each side a socket buffer, a
 * memory-cgroup charge and a wakeup per datagram: most of the agent's time
 * on a busy TLS link (docs/performance.md "Relays"). The receiver checks
 * every length (dgram_pair_split, fuzzed: the monitor parses what the
 * sandboxed agent sends). This file moves bytes and knows neither process
 * nor the relay byte. */
#ifndef ROAM_DAEMON_DGRAM_PAIR_H
#define ROAM_DAEMON_DGRAM_PAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DGRAM_PAIR_BATCH 32 /* messages per sendmmsg / recvmmsg */
/* Largest datagram the pair carries: a relayed WireGuard message at any
 * MTU roamd accepts, with its RELAY header. Larger ones are counted and
 * dropped (the server's relay would drop them too). */
#define DGRAM_PAIR_SLOT 16384
#define DGRAM_PAIR_REC_HDR 2
#define DGRAM_PAIR_MSG 32768 /* bytes a message; a largest datagram fits one */
#define DGRAM_PAIR_TX_BYTES (8 * DGRAM_PAIR_MSG) /* the send arena; a full one is flushed */
#define DGRAM_PAIR_SOCKBUF (4 * 1024 * 1024)

struct dgram_pair {
	int fd; /* -1: closed */
	uint8_t *rx;  /* DGRAM_PAIR_BATCH messages of DGRAM_PAIR_MSG */
	uint8_t *tx;  /* DGRAM_PAIR_TX_BYTES: the messages, back to back */
	size_t tx_used;
	unsigned tx_count; /* messages; the last one may grow */
	struct iovec tx_iov[DGRAM_PAIR_BATCH];
	unsigned tx_recs[DGRAM_PAIR_BATCH]; /* datagrams in each */
	uint64_t tx_dropped; /* full socket buffer, or too large */
	uint64_t rx_dropped; /* truncated or malformed messages */
};

/* Takes fd (non-blocking from here on); -ENOMEM. */
int dgram_pair_init(struct dgram_pair *p, int fd);
void dgram_pair_close(struct dgram_pair *p); /* closes fd; NULL-safe, idempotent */

/* Queues hdr (may be NULL) + msg as one datagram; a full arena or batch is
 * sent at once, the rest by dgram_pair_flush (the last phase of the loop
 * turn). */
void dgram_pair_queue(struct dgram_pair *p, const uint8_t *hdr, size_t hdr_len, const uint8_t *msg, size_t len);
void dgram_pair_flush(struct dgram_pair *p);

/* Receives one batch of messages and calls on_dgram for each datagram in
 * them (its buffer is writable and valid during the call). Returns the
 * number of messages received, 0 when nothing waits, -errno (-ECONNRESET:
 * the other end closed). */
int dgram_pair_recv(struct dgram_pair *p, void (*on_dgram)(void *ctx, uint8_t *d, size_t len), void *ctx);

/* The datagrams of one message: on_dgram for each whole record, in order;
 * the number of them, or -EBADMSG at the first record that is empty,
 * longer than DGRAM_PAIR_SLOT or than what is left (nothing after it is
 * delivered). */
int dgram_pair_split(uint8_t *m, size_t len, void (*on_dgram)(void *ctx, uint8_t *d, size_t len), void *ctx);

#endif
