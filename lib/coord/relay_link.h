/* Relay links (docs/control-protocol.md, "Relay links"): the codecs that
 * carry the UDP relay's datagrams over TCP, shared by roamd and roam-server.
 * No I/O, no allocation: the caller owns every buffer.
 *
 * A datagram is what the UDP relay carries (RELAY 0x83 with its 8-byte
 * header, or one of the link's own RELAY_KEEPALIVE / RELAY_PING /
 * RELAY_PONG), 1..RELAY_LINK_DGRAM_MAX bytes. The links differ only in how
 * datagrams are delimited:
 *   TLS stream (Upgrade: roam-relay/1): frames [len le16][datagram], len >= 1;
 *   WebSocket: one binary message per datagram (wslay frames it);
 *   long-poll: records [seq le64][len le16][datagram] in request/reply bodies,
 *     with the duplicate filter relay_seq_window on the receiving side. */
#ifndef ROAM_COORD_RELAY_LINK_H
#define ROAM_COORD_RELAY_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coord/messages.h"

#define RELAY_LINK_DGRAM_MAX 65535
#define RELAY_LINK_KEEPALIVE_S 15    /* send a RELAY_KEEPALIVE after this long without sending */
#define RELAY_LINK_IDLE_TIMEOUT_S 60 /* nothing received this long: the link is dead */

#define RELAY_FRAME_HDR_LEN 2
#define RELAY_POLL_REC_HDR_LEN 10    /* seq le64, len le16 */
#define RELAY_POLL_BATCH_MAX 65536   /* bytes in one uplink POST body or stream=0 reply */
#define RELAY_POLL_WAIT_MAX_MS 25000 /* longest downlink GET */
#define RELAY_POLL_SESSION_LEN 16    /* random bytes of a session id (base64url: 22 chars) */
#define RELAY_POLL_QUEUE_BYTES (512 * 1024) /* unacknowledged per session, each way */
#define RELAY_POLL_QUEUE_DGRAMS 1024
#define RELAY_SEQ_WINDOW 1024        /* uplink seqs this far behind the highest are too old */

/* RELAY_KEEPALIVE: type, reserved[3] = 0. */
#define RELAY_KEEPALIVE_LEN 4
/* RELAY_PING / RELAY_PONG: type, reserved[3] = 0, echo le64. */
struct relay_msg_ping {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t echo[8];
};
static_assert(sizeof(struct relay_msg_ping) == 12, "RELAY_PING is 12 bytes");

/* Called once per complete datagram. d is writable (the server rewrites a
 * RELAY header in place before forwarding) and valid only during the
 * call. A negative return stops the parse and is passed back. */
typedef int (*relay_dgram_fn)(void *ctx, uint8_t *d, size_t len);
typedef int (*relay_rec_fn)(void *ctx, uint64_t seq, uint8_t *d, size_t len);

/* TLS stream reassembly. buf is the caller's, at least RELAY_LINK_DGRAM_MAX
 * bytes; zero the rest (relay_frame_reader_init) before the first feed. */
struct relay_frame_reader {
	uint8_t hdr[RELAY_FRAME_HDR_LEN];
	size_t hdr_have;
	uint8_t *buf;
	size_t want, have; /* want 0: reading a header */
};

void relay_frame_reader_init(struct relay_frame_reader *r, uint8_t *buf);

/* Feeds n bytes in any chunking; calls on_dgram for every datagram
 * completed. Returns n (everything consumed), -EPROTO for a frame of length
 * 0 (the link must be closed: the stream is out of step), or on_dgram's
 * negative return. After an error the reader is unusable. */
ssize_t relay_frame_feed(struct relay_frame_reader *r, const uint8_t *in, size_t n, relay_dgram_fn on_dgram,
			 void *ctx);

/* len must be 1..RELAY_LINK_DGRAM_MAX. */
void relay_frame_header(uint8_t out[RELAY_FRAME_HDR_LEN], size_t len);

/* A frame's datagram length from its header: 1..RELAY_LINK_DGRAM_MAX, or
 * -EPROTO for 0. For a reader that keeps the stream in its own buffer
 * (roam-server reads frames in place from the connection's input). */
ssize_t relay_frame_len(const uint8_t hdr[RELAY_FRAME_HDR_LEN]);

/* Parses a whole long-poll body: every record is checked first (a header
 * cut short, len 0, or bytes after the last record: -EPROTO, and on_rec is
 * never called), then on_rec is called in order. seq is passed as is (0 is
 * the downlink's keepalive record; the uplink rejects it through
 * relay_seq_accept). Returns 0, -EPROTO, or on_rec's negative return. The
 * body is writable for the same reason as relay_dgram_fn's d. */
int relay_poll_parse(uint8_t *body, size_t n, relay_rec_fn on_rec, void *ctx);

/* Writes one record at out; returns its size, or 0 if len is not
 * 1..RELAY_LINK_DGRAM_MAX or the record does not fit in cap. */
size_t relay_poll_record_write(uint8_t *out, size_t cap, uint64_t seq, const uint8_t *d, size_t len);
static inline size_t relay_poll_record_len(size_t len) { return RELAY_POLL_REC_HDR_LEN + len; }

/* The receiver's duplicate filter for uplink seqs: accepts each seq once,
 * within RELAY_SEQ_WINDOW behind the highest accepted. Zero it to start. */
struct relay_seq_window {
	uint64_t top;                          /* highest accepted, 0: none yet */
	uint64_t bits[RELAY_SEQ_WINDOW / 64];  /* bit (seq % RELAY_SEQ_WINDOW): seen */
};

/* false: seq 0, already seen, or RELAY_SEQ_WINDOW or more behind top. */
bool relay_seq_accept(struct relay_seq_window *w, uint64_t seq);

void relay_keepalive_build(uint8_t out[RELAY_KEEPALIVE_LEN]);
/* type: COORD_MSG_RELAY_PING or COORD_MSG_RELAY_PONG. */
void relay_ping_build(uint8_t out[sizeof(struct relay_msg_ping)], uint8_t type, uint64_t echo);
/* 0 for an exact 12-byte PING or PONG with zero reserved bytes, else -EBADMSG. */
int relay_ping_parse(const uint8_t *d, size_t len, uint8_t *type, uint64_t *echo);
/* true for an exact 4-byte keepalive with zero reserved bytes. */
bool relay_keepalive_is(const uint8_t *d, size_t len);

#endif
