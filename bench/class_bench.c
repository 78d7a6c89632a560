/* What application classes cost the data plane (issue 13): per 1420-byte
 * packet, the classifier (the 4 built-in classes; 32 rules that all miss,
 * the worst case), the per-packet path choice and throughput meter, against
 * sealing the packet with ChaCha20-Poly1305 as roamd does. Prints ns per
 * packet and each as a share of the seal; the goal is under 1 %. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "path/path.h"
#include "path/path_class.h"

#define PKT 1420
#define ROUNDS 2000000

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void send_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx;
	(void)p;
	(void)txid;
}

int main(void)
{
	static uint8_t buf[PKT + 16];
	static struct path_class_rule miss[PATH_CLASS_MAX];
	static const struct path_class_rule builtin[] = {
		{ "voip", 17, -1, 16384, 32767, PATH_POLICY_REDUNDANT }, { "voip-ef", 0, 46, 0, 0, PATH_POLICY_REDUNDANT },
		{ "ssh", 6, -1, 22, 22, PATH_POLICY_LATENCY },           { "bulk", 0, 8, 0, 0, PATH_POLICY_BANDWIDTH },
	};
	static const struct path_ops ops = { .send_probe = send_probe };
	static struct path_set set;
	uint8_t key[32];
	struct aead_ctx ctx;
	struct path_flow f;
	volatile uint32_t sink = 0;

	crypto_init();
	crypto_random(key, sizeof(key));
	aead_ctx_init(&ctx, key, 1);
	/* An IPv4 TCP packet to port 443 that no rule matches. */
	buf[0] = 0x45, buf[9] = 6, buf[12] = 10, buf[16] = 10, buf[19] = 2, buf[22] = 0x01, buf[23] = 0xbb;
	for (unsigned i = 0; i < PATH_CLASS_MAX; i++)
		miss[i] = (struct path_class_rule){ "x", 17, -1, (uint16_t)(1000 + i), (uint16_t)(1000 + i),
						    PATH_POLICY_COST };

	double t0 = now_ns();
	for (uint64_t n = 0; n < ROUNDS / 10; n++)
		aead_ctx_seal(&ctx, n, buf + 64, PKT - 64, buf + 64);
	double seal = (now_ns() - t0) / (ROUNDS / 10);

	t0 = now_ns();
	for (int n = 0; n < ROUNDS; n++) {
		buf[21] = (uint8_t)n; /* another flow each time: no branch learns the answer */
		path_classify(builtin, 4, buf, PKT, &f);
		sink += f.hash;
	}
	double cls4 = (now_ns() - t0) / ROUNDS;

	t0 = now_ns();
	for (int n = 0; n < ROUNDS; n++) {
		buf[21] = (uint8_t)n;
		path_classify(miss, PATH_CLASS_MAX, buf, PKT, &f);
		sink += f.hash;
	}
	double cls32 = (now_ns() - t0) / ROUNDS;

	/* Two paths answered, bandwidth: a choice and the meter per packet. */
	path_set_init(&set, &ops, NULL, 1);
	uint8_t a1[4] = { 192, 0, 2, 1 }, a2[4] = { 192, 0, 2, 2 };
	uint32_t id1, id2;
	path_add(&set, PATH_TRANSPORT_UDP_DIRECT, a1, 4, 0, 1, &id1);
	path_add(&set, PATH_TRANSPORT_UDP_DIRECT, a2, 4, 0, 1, &id2);
	path_set_diversity(&set, id2, 1, 1);
	(void)path_probe_answered(&set, id1, set.paths[0].txid, 2000000);
	(void)path_probe_answered(&set, id2, set.paths[1].txid, 3000000);
	path_set_policy(&set, PATH_POLICY_BANDWIDTH, 3000000);
	t0 = now_ns();
	for (int n = 0; n < ROUNDS; n++) {
		const struct path *p = path_choice(&set, PATH_POLICY_BANDWIDTH, (uint32_t)n * 2654435761u, NULL);
		path_sent_bytes(&set, p, PKT, 4000000 + (uint64_t)n * 1000);
		sink += p ? p->id : 0;
	}
	double choice = (now_ns() - t0) / ROUNDS;

	printf("seal %d B:                 %7.1f ns/packet\n", PKT, seal);
	printf("classify, 4 built-ins:      %7.1f ns (%.2f %% of the seal)\n", cls4, 100 * cls4 / seal);
	printf("classify, 32 rules missed:  %7.1f ns (%.2f %%)\n", cls32, 100 * cls32 / seal);
	printf("choice (bandwidth) + meter: %7.1f ns (%.2f %%)\n", choice, 100 * choice / seal);
	aead_ctx_free(&ctx);
	return sink == 0xdeadbeef; /* keeps the loops */
}
