/* relay_load: datagrams per second through a UDP relay at < 0.1 % loss.
 *
 *   relay_load roam --server IP:PORT --token T --key-a F --id-a N --key-b F --id-b M [common]
 *   relay_load turn --server IP:PORT [common]
 *   relay_load turn-tls --server IP:PORT [--size N] [--seconds S] [--pid PID]
 *       an unpaced flow between two TURN/TLS clients (relay_load_tls.c)
 *   common: [--size 1200] [--seconds 2] [--rate-first 20000] [--rate-max 2000000]
 *           [--pid PID] [--gso SEGS]
 *
 * Node A sends to node B through the relay at paced rates stepping up by
 * 1/4; a receiver thread counts what arrives. Per step: sent, received,
 * loss, and the CPU time the relay process (all its threads, --pid) used in
 * that window, from /proc/PID/task/TID/schedstat (nanoseconds). A step that
 * loses 0.1 % or more is tried twice more (the machine is shared), then the
 * run stops. Last line:
 *   result rate=R cpu=C per_core=P
 * R: the highest rate delivered with < 0.1 % loss, C: the relay's CPU
 * (cores) at that rate, P = R / C. */
#include "bench/relay_load.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"

#define LOAD_BATCH 64
#define LOAD_LOSS_MAX 0.001
#define LOAD_DRAIN_NS 300000000ull

struct load_rx {
	const struct relay_load_flow *flow;
	atomic_ullong count;
	atomic_bool stop;
};

uint64_t relay_load_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int relay_load_socket(const struct sockaddr_any *server)
{
	int size = 32 * 1024 * 1024;
	int fd = socket(server->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	if (connect(fd, &server->sa, server->len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

ssize_t relay_load_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, cap, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

uint64_t relay_load_cpu_ns(int pid)
{
	char path[64];
	struct dirent *e;
	uint64_t total = 0;
	DIR *d;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		char stat[96];
		unsigned long long ns;
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(stat, sizeof(stat), "/proc/%d/task/%.16s/schedstat", pid, e->d_name);
		if (!(f = fopen(stat, "re")))
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			total += ns;
		fclose(f);
	}
	closedir(d);
	return total;
}

/* Datagrams of the flow's length in one received slot: with UDP GRO a
 * relay's GSO message arrives whole (gso: its segment size, or 0). */
static unsigned long long rx_count(const struct relay_load_flow *f, const uint8_t *buf, size_t len, int gso)
{
	size_t seg = gso > 0 ? (size_t)gso : len;

	if (seg != f->rx_len || buf[0] != f->rx_first || len % seg)
		return 0;
	return len / seg;
}

static int rx_gso_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		int size;
		if (c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_GRO)
			continue;
		memcpy(&size, CMSG_DATA(c), sizeof(size));
		return size;
	}
	return 0;
}

/* Counts what arrives. UDP GRO keeps the tool's own receive cost low, so
 * that the two cores go to the relay rather than to counting. */
static void *rx_main(void *arg)
{
	enum { SLOT = 65536, SLOTS = 16 };
	static uint8_t bufs[SLOTS][SLOT];
	static char ctrl[SLOTS][CMSG_SPACE(sizeof(int))];
	struct load_rx *rx = arg;
	struct mmsghdr msgs[SLOTS];
	struct iovec iovs[SLOTS];
	struct timeval tv = { .tv_usec = 50000 };
	int on = 1;

	setsockopt(rx->flow->rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(rx->flow->rx_fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on));
	while (!atomic_load(&rx->stop)) {
		for (int i = 0; i < SLOTS; i++) {
			iovs[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = SLOT };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iovs[i], .msg_iovlen = 1,
							   .msg_control = ctrl[i], .msg_controllen = sizeof(ctrl[i]) };
		}
		int n = recvmmsg(rx->flow->rx_fd, msgs, SLOTS, MSG_WAITFORONE, NULL);
		unsigned long long good = 0;
		for (int i = 0; i < n; i++)
			good += rx_count(rx->flow, bufs[i], msgs[i].msg_len, rx_gso_size(&msgs[i].msg_hdr));
		atomic_fetch_add(&rx->count, good);
	}
	return NULL;
}

/* Send at rate datagrams/s for secs; returns how many left (a full local
 * socket buffer counts as not sent: the tool, not the relay, is short). */
static uint64_t blast(const struct relay_load_flow *f, uint32_t rate, double secs, int segs)
{
	uint8_t *gso_buf = malloc(65536);
	struct mmsghdr msgs[LOAD_BATCH];
	struct iovec iov = { .iov_base = gso_buf, .iov_len = f->len };
	uint64_t t0 = relay_load_mono_ns(), end = t0 + (uint64_t)(secs * 1e9), sent = 0, now;
	char ctrl[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	int per_msg = 1;

	if (!gso_buf)
		return 0;
	iov.iov_base = gso_buf;
	memcpy(gso_buf, f->msg, f->len);
	if (segs > 1) {
		/* roamd's shape: equal datagrams to one destination in one send. */
		uint16_t seg = (uint16_t)f->len;
		per_msg = segs;
		for (int i = 0; i < segs; i++)
			memcpy(gso_buf + (size_t)i * f->len, f->msg, f->len);
		iov = (struct iovec){ .iov_base = gso_buf, .iov_len = (size_t)segs * f->len };
		struct cmsghdr *c = (struct cmsghdr *)ctrl;
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
	for (int i = 0; i < LOAD_BATCH; i++)
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
						   .msg_control = segs > 1 ? ctrl : NULL,
						   .msg_controllen = segs > 1 ? sizeof(ctrl) : 0 };
	while ((now = relay_load_mono_ns()) < end) {
		uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e9);
		if (sent + (uint64_t)per_msg > due) {
			struct timespec nap = { .tv_nsec = 20000 };
			nanosleep(&nap, NULL);
			continue;
		}
		uint64_t want = (due - sent) / (uint64_t)per_msg;
		int n = sendmmsg(f->tx_fd, msgs, want > LOAD_BATCH ? LOAD_BATCH : (unsigned)want, MSG_DONTWAIT);
		if (n > 0)
			sent += (uint64_t)n * (uint64_t)per_msg;
		else
			sched_yield();
	}
	free(gso_buf);
	return sent;
}

/* --senders N: N threads share the rate on the same socket (the same
 * source, so the relay sees one client), so that one thread's sendmmsg
 * through the lab's routers is not the ceiling. */
struct blaster {
	const struct relay_load_flow *f;
	uint32_t rate;
	double secs;
	int segs;
	uint64_t sent;
};

static void *blast_main(void *arg)
{
	struct blaster *b = arg;
	b->sent = blast(b->f, b->rate, b->secs, b->segs);
	return NULL;
}

static uint64_t blast_all(const struct relay_load_flow *f, uint32_t rate, const struct relay_load_args *a)
{
	struct blaster b[LOAD_SENDERS_MAX] = { 0 };
	pthread_t th[LOAD_SENDERS_MAX];
	int started = 0;
	uint64_t sent = 0;

	for (int i = 0; i < a->senders; i++) {
		b[i] = (struct blaster){ f, rate / (uint32_t)a->senders + (i == 0 ? rate % (uint32_t)a->senders : 0),
					 a->seconds, a->segs, 0 };
		if (i > 0 && pthread_create(&th[i], NULL, blast_main, &b[i]) == 0)
			started |= 1 << i;
	}
	blast_main(&b[0]);
	for (int i = 1; i < a->senders; i++)
		if (started & (1 << i))
			pthread_join(th[i], NULL);
	for (int i = 0; i < a->senders; i++)
		sent += b[i].sent;
	return sent;
}

struct step {
	uint32_t rate;
	uint64_t sent, recv;
	double cpu, loss;
};

static void run_step(const struct relay_load_flow *f, struct load_rx *rx, const struct relay_load_args *a,
		     uint32_t rate, struct step *out)
{
	uint64_t c0, c1, t0, t1, before = atomic_load(&rx->count);
	struct timespec drain = { .tv_nsec = LOAD_DRAIN_NS };

	c0 = relay_load_cpu_ns(a->pid);
	t0 = relay_load_mono_ns();
	out->rate = rate;
	out->sent = blast_all(f, rate, a);
	nanosleep(&drain, NULL);
	t1 = relay_load_mono_ns();
	c1 = relay_load_cpu_ns(a->pid);
	out->recv = atomic_load(&rx->count) - before;
	out->loss = out->sent ? 1.0 - (double)out->recv / (double)out->sent : 1.0;
	out->cpu = (double)(c1 - c0) / (double)(t1 - t0 - LOAD_DRAIN_NS);
	printf("step rate=%u sent=%llu recv=%llu loss_pct=%.3f relay_cpu=%.3f sent_rate=%.0f\n", rate,
	       (unsigned long long)out->sent, (unsigned long long)out->recv, out->loss * 100, out->cpu,
	       (double)out->sent / a->seconds);
	fflush(stdout);
}

static int run_steps(const struct relay_load_flow *f, const struct relay_load_args *a)
{
	struct load_rx rx = { .flow = f };
	struct step best = { 0 }, s;
	pthread_t th;
	int fails = 0;

	atomic_init(&rx.count, 0);
	atomic_init(&rx.stop, false);
	if (pthread_create(&th, NULL, rx_main, &rx) != 0)
		return 1;
	for (uint32_t rate = a->rate_first; rate <= a->rate_max;) {
		run_step(f, &rx, a, rate, &s);
		/* Short of the asked rate by more than 2 %: the tool cannot go faster. */
		bool tool_short = (double)s.sent < 0.98 * rate * a->seconds;
		if (s.loss < LOAD_LOSS_MAX && !tool_short) {
			best = s;
			fails = 0;
			rate += rate / 4;
			continue;
		}
		if (tool_short && s.loss < LOAD_LOSS_MAX) {
			printf("note: the load tool sent only %.0f/s: the ceiling is the tool's\n",
			       (double)s.sent / a->seconds);
			if (s.sent > best.sent)
				best = s, best.rate = (uint32_t)((double)s.sent / a->seconds);
			break;
		}
		if (++fails == 3)
			break;
	}
	atomic_store(&rx.stop, true);
	pthread_join(th, NULL);
	double per_core = best.cpu > 0.01 ? best.rate / best.cpu : 0;
	printf("result rate=%u cpu=%.3f per_core=%.0f\n", best.rate, best.cpu, per_core);
	return best.rate ? 0 : 1;
}

static void usage(void)
{
	fputs("usage: relay_load roam --server IP:PORT --token T --key-a FILE --id-a N --key-b FILE --id-b M [common]\n"
	      "       relay_load turn --server IP:PORT [common]\n"
	      "       relay_load turn-tls --server IP:PORT [--size N] [--seconds S] [--pid PID]\n"
	      "common: [--size 1200] [--seconds 2] [--rate-first 20000] [--rate-max 2000000] [--pid PID] [--gso SEGS]\n"
	      "        [--senders N]\n",
	      stderr);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "key-a", required_argument, NULL, 'a' },  { "key-b", required_argument, NULL, 'b' },
		{ "id-a", required_argument, NULL, 'A' },   { "id-b", required_argument, NULL, 'B' },
		{ "size", required_argument, NULL, 'z' },   { "seconds", required_argument, NULL, 'S' },
		{ "rate-first", required_argument, NULL, 'r' }, { "rate-max", required_argument, NULL, 'R' },
		{ "pid", required_argument, NULL, 'p' },    { "gso", required_argument, NULL, 'g' },
		{ "senders", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
	};
	struct relay_load_args a = { .size = 1200, .seconds = 2, .rate_first = 20000, .rate_max = 2000000, .segs = 1,
				  .senders = 1 };
	struct relay_load_flow f;
	const char *mode = argc > 1 ? argv[1] : "";
	int c, r;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': a.server = optarg; break;
		case 't': a.token = optarg; break;
		case 'a': a.key_a = optarg; break;
		case 'b': a.key_b = optarg; break;
		case 'A': a.id_a = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'B': a.id_b = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'z': a.size = strtoul(optarg, NULL, 10); break;
		case 'S': a.seconds = strtod(optarg, NULL); break;
		case 'r': a.rate_first = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'R': a.rate_max = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': a.pid = atoi(optarg); break;
		case 'g': a.segs = atoi(optarg); break;
		case 'n': a.senders = atoi(optarg); break;
		default: usage(); return 2;
		}
	}
	if (a.segs > 1 && (size_t)a.segs * (a.size + 8) > 65000)
		a.segs = (int)(65000 / (a.size + 8));
	if (!a.server || a.size < 32 || a.size + 8 > RELAY_LOAD_MSG_MAX || a.seconds <= 0 || a.rate_first == 0 ||
	    a.segs < 1 || a.segs > 64 || a.senders < 1 || a.senders > LOAD_SENDERS_MAX) {
		usage();
		return 2;
	}
	memset(&f, 0, sizeof(f));
	if (crypto_init() < 0)
		return 1;
	if (!strcmp(mode, "roam"))
		r = relay_load_roam_setup(&a, &f);
	else if (!strcmp(mode, "turn"))
		r = relay_load_turn_setup(&a, &f);
	else if (!strcmp(mode, "turn-tls"))
		return relay_load_turn_tls_main(&a) < 0;
	else
		r = -EINVAL;
	if (r < 0) {
		fprintf(stderr, "relay_load %s: setup: %s\n", mode, strerror(-r));
		return 1;
	}
	r = run_steps(&f, &a);
	close(f.tx_fd);
	close(f.rx_fd);
	return r;
}
