/* Multi-source pull against one source, in one process over loopback TCP:
 * HOLDERS holders (3) of one SIZE_MB file (64), each held to RATE_MBIT
 * (80 Mbit/s) by pacing its replies (a token bucket: it sleeps until the
 * bytes it sent fit its rate), pulled with pull_fetch_run from one holder,
 * then from all; prints both times, rates and the ratio (goal >= 2x).
 * What it measures: the scheduler, the pipelining and the checks of the
 * real pull code (daemon/files/pull_fetch.c, pull_serve.c); not roamd, the
 * overlay or tc (the lab test and bench/files.sh do, once the pull is wired
 * into roamd).
 * Usage: files_pull [SIZE_MB [RATE_MBIT [HOLDERS]]] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/files/pull_fetch.h"
#include "daemon/files/pull_serve.h"
#include "daemon/files/worker.h"

struct holder {
	int sock;
	double rate; /* bytes/s */
	const struct pull_held *held;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	uint8_t buf[FILES_PULL_REQ_LEN];
	struct files_pull_req r;
	double start = now_s(), sent = 0;
	while (xfer_read_full(h->sock, buf, sizeof(buf)) == 0 && files_pull_req_parse(buf, sizeof(buf), &r) == 0) {
		uint32_t len = 0;
		if (pull_serve_request(h->sock, &r, h->held) < 0)
			break;
		if (files_pull_payload_len(&r, h->held->size, &len) == 0)
			sent += len + FILES_PULL_REPLY_LEN;
		double due = start + sent / h->rate - now_s();
		if (due > 0) {
			struct timespec ts = { (time_t)due, (long)((due - (double)(time_t)due) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	close(h->sock);
	return NULL;
}

/* A loopback TCP pair: *a for the holder, *b for the puller. */
static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
		return -errno;
	*b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*b < 0 || connect(*b, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	*a = accept(l, NULL, NULL);
	close(l);
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return *a < 0 ? -errno : 0;
}

static double pull(unsigned n, const struct pull_held *held, double rate, int outfd, struct pull_fetch *f)
{
	struct holder hs[FILES_SRC_MAX];
	pthread_t th[FILES_SRC_MAX];
	memset(f, 0, sizeof(*f));
	memcpy(f->hash, held->hash, FILES_HASH_LEN);
	memcpy(f->root, held->root, FILES_HASH_LEN);
	f->size = held->size;
	f->out_fd = outfd;
	f->n = n;
	f->timeout_ms = 10000;
	for (unsigned i = 0; i < n; i++) {
		hs[i] = (struct holder){ .rate = rate, .held = held };
		if (tcp_pair(&hs[i].sock, &f->socks[i]) < 0 || pthread_create(&th[i], NULL, holder_main, &hs[i]) != 0)
			return -1;
	}
	double t0 = now_s();
	int ret = pull_fetch_run(f);
	double t = now_s() - t0;
	for (unsigned i = 0; i < n; i++) {
		shutdown(f->socks[i], SHUT_RDWR);
		pthread_join(th[i], NULL);
		close(f->socks[i]);
	}
	return ret == 0 ? t : -1;
}

int main(int argc, char **argv)
{
	uint64_t size = (uint64_t)(argc > 1 ? atoi(argv[1]) : 64) << 20;
	double rate = (argc > 2 ? atof(argv[2]) : 80) * 1e6 / 8;
	unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 3;
	char path[] = "/tmp/roam-bench-pull-XXXXXX", out[64];
	uint8_t hash[FILES_HASH_LEN], *buf = malloc(1 << 20);
	crypto_generichash_state st;
	struct pull_held held;
	struct pull_fetch f;
	int fd = mkstemp(path);

	if (sodium_init() < 0 || fd < 0 || !buf || n < 1 || n > FILES_SRC_MAX)
		return 1;
	crypto_generichash_init(&st, NULL, 0, FILES_HASH_LEN);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		randombytes_buf(buf, 1 << 20);
		crypto_generichash_update(&st, buf, 1 << 20);
		if (write(fd, buf, 1 << 20) != 1 << 20)
			return 1;
	}
	crypto_generichash_final(&st, hash, sizeof(hash));
	snprintf(out, sizeof(out), "%s.out", path);
	int outfd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (outfd < 0 || pull_held_load(&held, fd, size, hash) < 0)
		return 1;
	double one = pull(1, &held, rate, outfd, &f);
	double many = pull(n, &held, rate, outfd, &f);
	printf("pull of %llu MiB, each holder at %.0f Mbit/s\n", (unsigned long long)(size >> 20), rate * 8 / 1e6);
	printf("  1 holder:  %6.2f s  %7.1f Mbit/s\n", one, (double)size * 8 / one / 1e6);
	printf("  %u holders: %6.2f s  %7.1f Mbit/s  chunks", n, many, (double)size * 8 / many / 1e6);
	for (unsigned i = 0; i < n; i++)
		printf(" %llu", (unsigned long long)f.sched.src[i].chunks);
	printf("\n  ratio %.2fx (goal >= 2x)\n", one / many);
	pull_held_free(&held);
	close(fd);
	close(outfd);
	unlink(path);
	unlink(out);
	free(buf);
	return one > 0 && many > 0 ? 0 : 1;
}
