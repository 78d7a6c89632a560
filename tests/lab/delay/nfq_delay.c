// SPDX-License-Identifier: MIT
/*
 * lab-nfq-delay: add latency to packets in the network lab.
 *
 * The lab kernel has no netem, so latency is added in userspace: iptables
 * rules send packets to an NFQUEUE, this program holds each packet's verdict
 * for the requested delay and then accepts it. Only the verdict waits; the
 * packet itself stays in the kernel, so we ask for metadata only
 * (NFQNL_COPY_META) and never copy payloads.
 *
 * Packets leave in arrival order: a jittered deadline is never earlier than
 * the previous one, so jitter stretches gaps but does not reorder (unlike
 * netem). Because the queue is FIFO and the kernel numbers packets in arrival
 * order, one NFQNL_MSG_VERDICT_BATCH for the newest due packet releases every
 * older one too.
 *
 * usage: lab-nfq-delay -d MS [-j MS] [-q QUEUE] [-n MAXPKTS]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* SO_RCVBUFFORCE, and POSIX clocks under -std=c17 */
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

enum {
	DELAY_MAX_MS = 60000,
	QUEUE_DEFAULT_MAX = 65536,
	QUEUE_LIMIT_MAX = 1 << 20,
	RCVBUF_BYTES = 8 << 20,
	MSG_BUF_BYTES = 8192,
	/* one whole packet message plus headers, as libnetfilter_queue advises */
	RECV_BUF_BYTES = 0xffff + 4096,
};

struct held_packet {
	uint32_t id;
	int64_t deadline_ns;
};

/* A FIFO ring of packets whose verdict is pending. */
struct delay_queue {
	struct held_packet *ring;
	uint32_t cap;
	uint32_t head;
	uint32_t len;
	int64_t last_deadline_ns;
	uint64_t rng;
	int64_t delay_ns;
	int64_t jitter_ns;
	uint64_t delayed;
	uint64_t overflowed;
};

struct queue_conn {
	struct mnl_socket *nl;
	uint32_t queue_num;
	uint32_t portid;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: jitter needs spread, not unpredictability. */
static uint64_t rng_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

static int64_t deadline_for(struct delay_queue *q, int64_t now)
{
	int64_t deadline = now + q->delay_ns;

	if (q->jitter_ns > 0) {
		uint64_t span = (uint64_t)q->jitter_ns * 2 + 1;

		deadline += (int64_t)(rng_next(&q->rng) % span) - q->jitter_ns;
	}
	/* Keep FIFO order so that one batch verdict stays correct. */
	if (deadline < q->last_deadline_ns)
		deadline = q->last_deadline_ns;
	q->last_deadline_ns = deadline;
	return deadline;
}

static int queue_send(struct queue_conn *c, struct nlmsghdr *nlh)
{
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static int queue_verdict(struct queue_conn *c, int type, uint32_t id, int verdict)
{
	char buf[MSG_BUF_BYTES];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, type, c->queue_num);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	return queue_send(c, nlh);
}

/* Accept every held packet whose deadline has passed. */
static int release_due(struct queue_conn *c, struct delay_queue *q, int64_t now)
{
	uint32_t last_id = 0;
	bool any = false;

	while (q->len > 0 && q->ring[q->head].deadline_ns <= now) {
		last_id = q->ring[q->head].id;
		any = true;
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	if (!any)
		return 0;
	return queue_verdict(c, NFQNL_MSG_VERDICT_BATCH, last_id, NF_ACCEPT);
}

/* On exit, let held packets go rather than have the kernel drop them. */
static int release_all(struct queue_conn *c, struct delay_queue *q)
{
	return release_due(c, q, INT64_MAX);
}

struct recv_ctx {
	struct queue_conn *conn;
	struct delay_queue *queue;
	int64_t now;
	int err;
};

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct recv_ctx *ctx = data;
	struct delay_queue *q = ctx->queue;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	uint32_t id;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);

	if (q->len == q->cap) {
		/* A full link drops, as netem's limit does. */
		q->overflowed++;
		ctx->err = queue_verdict(ctx->conn, NFQNL_MSG_VERDICT, id, NF_DROP);
		return ctx->err < 0 ? MNL_CB_ERROR : MNL_CB_OK;
	}
	q->ring[(q->head + q->len) % q->cap] = (struct held_packet){
		.id = id,
		.deadline_ns = deadline_for(q, ctx->now),
	};
	q->len++;
	q->delayed++;
	return MNL_CB_OK;
}

static int receive_packets(struct queue_conn *c, struct delay_queue *q)
{
	static char buf[RECV_BUF_BYTES];
	struct recv_ctx ctx = { .conn = c, .queue = q, .now = now_ns() };
	ssize_t n;

	n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
	if (n < 0) {
		/* ENOBUFS: the kernel dropped queue messages; keep going. */
		if (errno == ENOBUFS || errno == EINTR || errno == EAGAIN)
			return 0;
		return -errno;
	}
	if (mnl_cb_run(buf, (size_t)n, 0, c->portid, on_packet, &ctx) < 0)
		return ctx.err < 0 ? ctx.err : -EPROTO;
	return 0;
}

static int queue_open(struct queue_conn *c, uint32_t queue_num, uint32_t max_len)
{
	char buf[MSG_BUF_BYTES];
	struct nlmsghdr *nlh;
	int one = 1;
	int rcvbuf = RCVBUF_BYTES;
	int err;

	c->queue_num = queue_num;
	c->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!c->nl)
		return -errno;
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	c->portid = mnl_socket_get_portid(c->nl);
	/* Bursts arrive faster than we read; lost notifications only cost a
	 * packet, so prefer a big buffer and no ENOBUFS reports. */
	setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		   &rcvbuf, sizeof(rcvbuf));
	mnl_socket_setsockopt(c->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	err = queue_send(c, nlh);
	if (err < 0)
		return err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, max_len);
	/* We never look at payloads, so GSO packets need not be split. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	return queue_send(c, nlh);
}

static int poll_timeout_ms(const struct delay_queue *q, int64_t now)
{
	int64_t wait_ns;

	if (q->len == 0)
		return 1000; /* wake up now and then to notice a stop request */
	wait_ns = q->ring[q->head].deadline_ns - now;
	if (wait_ns <= 0)
		return 0;
	return (int)((wait_ns + 999999) / 1000000);
}

static int run(struct queue_conn *c, struct delay_queue *q)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(c->nl), .events = POLLIN };
	int err = 0;

	while (!stop_requested) {
		int n = poll(&pfd, 1, poll_timeout_ms(q, now_ns()));

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (pfd.revents & POLLIN)) {
			err = receive_packets(c, q);
			if (err < 0)
				return err;
		}
		err = release_due(c, q, now_ns());
		if (err < 0)
			return err;
	}
	return 0;
}

static int parse_ms(const char *arg, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lab-nfq-delay -d MS [-j MS] [-q QUEUE] [-n MAXPKTS]\n"
		   "  Hold packets queued to NFQUEUE QUEUE (default 0) for MS\n"
		   "  milliseconds, +/- jitter, in arrival order. At most MAXPKTS\n"
		   "  (default %d) are held; more are dropped.\n",
		QUEUE_DEFAULT_MAX);
}

int main(int argc, char **argv)
{
	struct queue_conn conn = { 0 };
	struct delay_queue q = { 0 };
	long delay_ms = -1, jitter_ms = 0, queue_num = 0, max_len = QUEUE_DEFAULT_MAX;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, err;

	while ((opt = getopt(argc, argv, "d:j:q:n:h")) != -1) {
		switch (opt) {
		case 'd':
			err = parse_ms(optarg, DELAY_MAX_MS, &delay_ms);
			break;
		case 'j':
			err = parse_ms(optarg, DELAY_MAX_MS, &jitter_ms);
			break;
		case 'q':
			err = parse_ms(optarg, 65535, &queue_num);
			break;
		case 'n':
			err = parse_ms(optarg, QUEUE_LIMIT_MAX, &max_len);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			err = -EINVAL;
			break;
		}
		if (err < 0) {
			usage(stderr);
			return 2;
		}
	}
	if (delay_ms < 0 || jitter_ms > delay_ms || max_len < 1 || optind != argc) {
		usage(stderr);
		return 2;
	}

	q.cap = (uint32_t)max_len;
	q.ring = calloc(q.cap, sizeof(*q.ring));
	if (!q.ring) {
		fprintf(stderr, "lab-nfq-delay: out of memory\n");
		return 1;
	}
	q.delay_ns = (int64_t)delay_ms * 1000000;
	q.jitter_ns = (int64_t)jitter_ms * 1000000;
	q.rng = (uint64_t)now_ns() | 1;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	err = queue_open(&conn, (uint32_t)queue_num, (uint32_t)max_len);
	if (err == 0)
		err = run(&conn, &q);
	if (conn.nl) {
		release_all(&conn, &q);
		mnl_socket_close(conn.nl);
	}
	free(q.ring);
	if (err < 0) {
		fprintf(stderr, "lab-nfq-delay: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "lab-nfq-delay: %llu packets delayed, %llu dropped (queue full)\n",
		(unsigned long long)q.delayed, (unsigned long long)q.overflowed);
	return 0;
}
