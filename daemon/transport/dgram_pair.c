/* The monitor <-> agent datagram pair (dgram_pair.h). */
#include "daemon/transport/dgram_pair.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int dgram_pair_init(struct dgram_pair *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->rx = malloc((size_t)DGRAM_PAIR_BATCH * DGRAM_PAIR_MSG);
	p->tx = malloc(DGRAM_PAIR_TX_BYTES);
	if (!p->rx || !p->tx) {
		free(p->rx);
		free(p->tx);
		p->rx = p->tx = NULL;
		return -ENOMEM;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	p->fd = fd;
	return 0;
}

void dgram_pair_close(struct dgram_pair *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->rx);
	free(p->tx);
	p->rx = p->tx = NULL;
	p->tx_used = 0;
	p->tx_count = 0;
}

void dgram_pair_flush(struct dgram_pair *p)
{
	struct mmsghdr msgs[DGRAM_PAIR_BATCH];
	unsigned done = 0;
	if (!p->tx_count)
		return;
	memset(msgs, 0, sizeof(msgs[0]) * p->tx_count);
	for (unsigned i = 0; i < p->tx_count; i++) {
		msgs[i].msg_hdr.msg_iov = &p->tx_iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (p->fd >= 0 && done < p->tx_count) {
		int n = sendmmsg(p->fd, msgs + done, p->tx_count - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (unsigned)n;
	}
	/* A full socket buffer drops the rest, as a full UDP socket would:
	 * the tunnels' own congestion control copes. */
	for (unsigned i = done; i < p->tx_count; i++)
		p->tx_dropped += p->tx_recs[i];
	p->tx_count = 0;
	p->tx_used = 0;
}

void dgram_pair_queue(struct dgram_pair *p, const uint8_t *hdr, size_t hdr_len, const uint8_t *msg, size_t len)
{
	size_t n = hdr_len + len, rec = DGRAM_PAIR_REC_HDR + n;
	if (p->fd < 0 || !p->tx || n == 0 || n > DGRAM_PAIR_SLOT) {
		p->tx_dropped++;
		return;
	}
	/* Onto the last message while it and the arena have room (the last
	 * message ends the arena), else a new one, after a flush if needed. */
	if (p->tx_used + rec > DGRAM_PAIR_TX_BYTES)
		dgram_pair_flush(p);
	struct iovec *last = p->tx_count ? &p->tx_iov[p->tx_count - 1] : NULL;
	if (!last || last->iov_len + rec > DGRAM_PAIR_MSG) {
		if (p->tx_count == DGRAM_PAIR_BATCH)
			dgram_pair_flush(p);
		last = &p->tx_iov[p->tx_count];
		last->iov_base = p->tx + p->tx_used;
		last->iov_len = 0;
		p->tx_recs[p->tx_count++] = 0;
	}
	uint8_t *at = p->tx + p->tx_used;
	at[0] = (uint8_t)n;
	at[1] = (uint8_t)(n >> 8);
	if (hdr_len) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(at + DGRAM_PAIR_REC_HDR, hdr, hdr_len);
	memcpy(at + DGRAM_PAIR_REC_HDR + hdr_len, msg, len);
	last->iov_len += rec;
	p->tx_recs[p->tx_count - 1]++;
	p->tx_used += rec;
}

int dgram_pair_split(uint8_t *m, size_t len, void (*on_dgram)(void *ctx, uint8_t *d, size_t len), void *ctx)
{
	int count = 0;
	size_t off = 0;
	while (off < len) {
		if (len - off < DGRAM_PAIR_REC_HDR)
			return -EBADMSG;
		size_t n = (size_t)m[off] | (size_t)m[off + 1] << 8;
		off += DGRAM_PAIR_REC_HDR;
		if (n == 0 || n > DGRAM_PAIR_SLOT || n > len - off)
			return -EBADMSG;
		on_dgram(ctx, m + off, n);
		off += n;
		count++;
	}
	return count;
}

int dgram_pair_recv(struct dgram_pair *p, void (*on_dgram)(void *ctx, uint8_t *d, size_t len), void *ctx)
{
	struct mmsghdr msgs[DGRAM_PAIR_BATCH];
	struct iovec iov[DGRAM_PAIR_BATCH];
	if (p->fd < 0 || !p->rx)
		return -EBADF;
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < DGRAM_PAIR_BATCH; i++) {
		iov[i].iov_base = p->rx + (size_t)i * DGRAM_PAIR_MSG;
		iov[i].iov_len = DGRAM_PAIR_MSG;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	int n;
	do
		n = recvmmsg(p->fd, msgs, DGRAM_PAIR_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (int i = 0; i < n; i++) {
		/* A zero-length message is the other end closing (SEQPACKET). */
		if (msgs[i].msg_len == 0)
			return -ECONNRESET;
		if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    dgram_pair_split(iov[i].iov_base, msgs[i].msg_len, on_dgram, ctx) < 0)
			p->rx_dropped++;
	}
	return n;
}
