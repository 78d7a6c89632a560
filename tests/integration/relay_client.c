/* relay_client: a hand-made node for t_relay_links.sh that speaks roam-server's
 * relay links (docs/control-protocol.md, "Relay links") over OpenSSL and
 * lib/coord/relay_link.h, with WebSocket frames written by hand so that bad
 * ones can be sent too. Blocking I/O; test code only.
 *
 *   relay_client --server ADDR:PORT --token TOKEN --key FILE --name NAME
 *                --kind tls|ws|poll [--stream] [--dup] [--no-register] CMD...
 *
 * It registers (POST /v1/register; not with --no-register), prints "id N",
 * opens the link (a refusal: "upgrade refused: STATUS ...", exit 3), prints
 * "ready", then runs each CMD (one argument each, words split by spaces):
 *   send DST COUNT SIZE [PACE] COUNT (< 4096) RELAY datagrams to node DST,
 *                         WireGuard transport messages of SIZE bytes
 *                         (32 + 16 n) with a sequence number and a pattern
 *                         inside; a pause of PACE ms after every 100
 *   expect COUNT MS       receive until COUNT distinct (source, seq) datagrams
 *                         arrived (or MS passed), and 300 ms more for extras;
 *                         prints "received N dup D bad B"; exit 1 unless
 *                         N == COUNT and D == B == 0
 *   take COUNT MS         as expect, stopping at COUNT (no wait for extras)
 *   cut                   (poll) drop the GET's connection, whatever it was
 *                         in the middle of; the next GET resumes
 *   say DST TEXT          one datagram to DST in coord_sim's text shape
 *   expect_text TEXT MS   wait for a datagram in that shape holding TEXT
 *   ping ECHO             RELAY_PING, prints "pong ECHO" when it comes back
 *   raw HEX               one datagram of those bytes on the link
 *   bytes HEX             those bytes as they are on the TLS connection
 *   closed MS             wait for the server to close; prints "closed CODE"
 *                         (WebSocket close code, 0 for TLS); exit 1 if not
 *   postraw HEX           (poll) POST /v1/relay/poll/send with that body;
 *                         prints "status N"
 *   wsframe OP MASKED HEX (ws) one frame as given (MASKED 0: unmasked)
 *   wsbig N               (ws) one masked binary frame of N bytes
 *   count MS              count datagrams until none came for MS; prints
 *                         "count N bytes B mbit R" (R over the time they took)
 *   reverse DST COUNT SIZE (poll) COUNT datagrams in one batch, their
 *                         record seqs in descending order
 *   wsping                (ws) a WebSocket ping; prints "wspong" when answered
 *   gets                  (poll) prints "gets N": the GETs sent so far
 *   bind                  (--relay) RELAY_BIND with the ticket over UDP;
 *                         prints "bound" on a valid BINDING_ACK, else fails
 *   bindraw HEX           (--relay) that datagram over UDP; "answer N"
 *   udpsend DST COUNT SIZE (after bind) as send, over UDP
 *   udpcount MS           (after bind) as count, over UDP (the RELAYs that
 *                         came to the bound socket)
 *   unlink                close the link (the relay then delivers over UDP)
 *   reopen                close the link and open a new one (same ticket);
 *                         prints "reopened" (a refusal exits 3)
 *   hold MS               sleep, reading nothing
 *   waitfile PATH MS      sleep until PATH exists (the test's go-ahead);
 *                         exit 1 if it does not within MS
 *   idle N                open N more TLS-stream links (each replaces the
 *                         last) and N TLS connections that send nothing
 * --stream: long-poll GETs with stream=1; --dup: long-poll batches carry
 * every record twice and are posted twice (the server drops the copies);
 * --relay ADDR:PORT: after registering, take the ticket and the relay's key
 * (map entry --relay-id, default 1) from the node's stream on the control
 * server, then open the link on that relay-only server (Roam-Auth with
 * K_nr, Roam-Ticket); prints "ticket". --ticket-flip N: byte N of the
 * ticket flipped first (bad input).
 * --ackpost: (with --stream) acknowledge every 64 datagrams with an empty
 * POST send?ack=N, the streaming GET staying open. */
#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "tests/integration/relay_client.h"
#include "util/le.h"

struct relay_client g;

#define SEQ_MAX 4096 /* a send's datagrams are numbered 1..SEQ_MAX-1 */

static void make_dgram(uint8_t *d, uint32_t dst, uint64_t seq, size_t size)
{
	memset(d, 0, 8);
	d[0] = COORD_MSG_RELAY;
	le32_put(d + 4, dst);
	d[8] = 4; /* WireGuard transport data */
	memset(d + 9, 0, 3);
	le64_put(d + 16, seq);
	for (size_t i = 24; i < 8 + size; i++)
		d[i] = (uint8_t)(seq * 7 + i);
}

static bool check_dgram(const uint8_t *d, size_t len, uint64_t *seq)
{
	if (len < 8 + 32 || d[0] != COORD_MSG_RELAY || d[8] != 4)
		return false;
	*seq = le64_get(d + 16);
	if (*seq == 0 || *seq >= SEQ_MAX)
		return false;
	for (size_t i = 24; i < len; i++)
		if (d[i] != (uint8_t)(*seq * 7 + i))
			return false;
	return true;
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1] && n < cap && sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static uint8_t dg[RELAY_LINK_DGRAM_MAX + 16]; /* the datagram at hand */

/* Each command gets the words after its name; 0 done, 1 failed, 2 bad words. */
static int cmd_send(const char *w)
{
	unsigned long long dst, count, size, pace = 0;

	int nw = sscanf(w, "%llu %llu %llu %llu", &dst, &count, &size, &pace);
	if (nw < 3 || size < 32 || size > RELAY_LINK_DGRAM_MAX - 8 || count >= SEQ_MAX)
		return 2;
	for (uint64_t i = 1; i <= count; i++) {
		make_dgram(dg, (uint32_t)dst, i, size);
		if (link_send(dg, 8 + size) < 0)
			die("send failed");
		if (pace && i % 100 == 0)
			usleep((useconds_t)(pace * 1000));
	}
	printf("sent %llu\n", count);
	return 0;
}

/* One datagram of expect/take: counted by (source, seq), sources being
 * small ids and seqs < SEQ_MAX. */
static void expect_one(int r, unsigned long *got, unsigned long *dup, unsigned long *bad)
{
	size_t key = (size_t)le32_get(dg + 4) * SEQ_MAX + (size_t)le64_get(dg + 16);
	uint64_t seq;

	if (!check_dgram(dg, (size_t)r, &seq) || key >= sizeof(g.seen) * 8)
		(*bad)++;
	else if (g.seen[key / 8] & (1 << (key % 8)))
		(*dup)++;
	else {
		g.seen[key / 8] |= (uint8_t)(1 << (key % 8));
		(*got)++;
	}
}

static int expect_or_take(const char *w, bool take)
{
	unsigned long long want, ms;
	unsigned long got = 0, dup = 0, bad = 0;
	bool extra = take;
	int r;

	if (sscanf(w, "%llu %llu", &want, &ms) != 2)
		return 2;
	int64_t deadline = now_ms() + (int64_t)ms;
	memset(g.seen, 0, sizeof(g.seen));
	for (;;) {
		if (got >= want && take)
			break;
		if (got >= want && !extra) {
			extra = true; /* anything more is one too many */
			deadline = now_ms() + 300;
		}
		if ((r = link_recv(dg, deadline)) <= 0)
			break;
		if (dg[0] == COORD_MSG_RELAY) /* not a keepalive or PONG */
			expect_one(r, &got, &dup, &bad);
	}
	printf("received %lu dup %lu bad %lu\n", got, dup, bad);
	return got == want && !dup && !bad ? 0 : 1;
}

static int cmd_expect(const char *w) { return expect_or_take(w, false); }
static int cmd_take(const char *w) { return expect_or_take(w, true); }

static int cmd_ping(const char *w)
{
	unsigned long long echo_want;
	uint64_t echo;
	uint8_t type;
	int r;

	if (sscanf(w, "%llu", &echo_want) != 1)
		return 2;
	relay_ping_build(dg, COORD_MSG_RELAY_PING, echo_want);
	if (link_send(dg, sizeof(struct relay_msg_ping)) < 0)
		die("ping failed");
	int64_t deadline = now_ms() + 5000;
	while ((r = link_recv(dg, deadline)) > 0) {
		if (relay_ping_parse(dg, (size_t)r, &type, &echo) == 0 && type == COORD_MSG_RELAY_PONG) {
			printf("pong %llu\n", (unsigned long long)echo);
			return echo == echo_want ? 0 : 1;
		}
	}
	printf("no pong\n");
	return 1;
}

static int cmd_raw(const char *w)
{
	size_t n = hex_decode(w, dg, sizeof(dg));

	if (!n || link_send(dg, n) < 0)
		die("raw send failed");
	return 0;
}

static int cmd_bytes(const char *w)
{
	size_t n = hex_decode(w, dg, sizeof(dg));

	if (!n || conn_write(&g.link, dg, n) < 0)
		die("bytes send failed");
	return 0;
}

static int cmd_closed(const char *w)
{
	unsigned long long ms;
	int r;

	if (sscanf(w, "%llu", &ms) != 1)
		return 2;
	int64_t deadline = now_ms() + (int64_t)ms;
	while ((r = link_recv(dg, deadline)) > 0)
		;
	printf("closed %d\n", r < 0 ? g.ws_close : -1);
	return r < 0 ? 0 : 1;
}

static int cmd_postraw(const char *w)
{
	static uint8_t out[4096];
	size_t n = hex_decode(w, dg, sizeof(dg)), got;

	printf("status %d\n", http_simple(&g.post, "POST", "/v1/relay/poll/send", false, NULL, dg, n, out, &got,
					  sizeof(out)));
	return 0;
}

static int cmd_say(const char *w)
{
	unsigned long long dst;
	char text[256];

	if (sscanf(w, "%llu %255s", &dst, text) != 2)
		return 2;
	/* coord_sim's shape: type 4, a 16-byte header, the text padded */
	size_t tl = strlen(text), len = 8 + 32 + (tl + 15) / 16 * 16;
	memset(dg, 0, len);
	dg[0] = COORD_MSG_RELAY;
	le32_put(dg + 4, (uint32_t)dst);
	dg[8] = 4;
	memcpy(dg + 24, text, tl);
	if (link_send(dg, len) < 0)
		die("say failed");
	return 0;
}

static int cmd_expect_text(const char *w)
{
	unsigned long long ms;
	char text[256];
	int r;

	if (sscanf(w, "%255s %llu", text, &ms) != 2)
		return 2;
	int64_t deadline = now_ms() + (int64_t)ms;
	while ((r = link_recv(dg, deadline)) > 0) {
		if (r > 24 && dg[0] == COORD_MSG_RELAY && memmem(dg + 24, (size_t)r - 24, text, strlen(text))) {
			printf("text from %u %s\n", le32_get(dg + 4), text);
			return 0;
		}
	}
	printf("no text %s\n", text);
	return 1;
}

static int cmd_wsframe(const char *w)
{
	unsigned long long op, masked;
	char hex[8192];

	if (sscanf(w, "%llu %llu %8191s", &op, &masked, hex) != 3)
		return 2;
	size_t n = hex_decode(hex, dg, sizeof(dg));
	if (ws_frame(&g.link, (uint8_t)op, dg, n, masked != 0) < 0)
		die("wsframe failed");
	return 0;
}

static int cmd_wsbig(const char *w)
{
	unsigned long long n;
	uint8_t *big;

	if (sscanf(w, "%llu", &n) != 1 || !(big = calloc(1, n)))
		return 2;
	ws_frame(&g.link, 2, big, n, true); /* the server may close before the end */
	free(big);
	return 0;
}

static int cmd_count(const char *w)
{
	unsigned long long ms, cnt = 0, bytes = 0;
	int64_t first = 0, last = 0;
	int r;

	if (sscanf(w, "%llu", &ms) != 1)
		return 2;
	while ((r = link_recv(dg, now_ms() + (int64_t)ms)) > 0) {
		if (dg[0] != COORD_MSG_RELAY)
			continue;
		last = now_ms();
		if (!cnt++)
			first = last;
		bytes += (unsigned long long)r;
	}
	printf("count %llu bytes %llu mbit %.0f\n", cnt, bytes,
	       last > first ? (double)bytes * 8 / 1000.0 / (double)(last - first) : 0.0);
	return 0;
}

static int cmd_reverse(const char *w)
{
	static uint8_t body[RELAY_POLL_BATCH_MAX], out[4096];
	unsigned long long dst, count, size;
	size_t n = 0, got;

	if (sscanf(w, "%llu %llu %llu", &dst, &count, &size) != 3 || size < 32 || size > 1500 ||
	    count * (RELAY_POLL_REC_HDR_LEN + 8 + size) > sizeof(body))
		return 2;
	for (uint64_t i = count; i >= 1; i--) {
		make_dgram(dg, (uint32_t)dst, i, size);
		n += relay_poll_record_write(body + n, sizeof(body) - n, g.up_seq + i, dg, 8 + size);
	}
	g.up_seq += count;
	int st = http_simple(&g.post, "POST", "/v1/relay/poll/send", false, NULL, body, n, out, &got, sizeof(out));
	printf("status %d\n", st);
	return st == 204 ? 0 : 1;
}

static int cmd_wsping(const char *w)
{
	unsigned before = g.ws_pongs;
	int64_t deadline = now_ms() + 5000;

	(void)w;
	if (ws_frame(&g.link, 9, (const uint8_t *)"hi", 2, true) < 0)
		die("wsping failed");
	while (g.ws_pongs == before && link_recv(dg, deadline) > 0)
		;
	printf(g.ws_pongs != before ? "wspong\n" : "no wspong\n");
	return g.ws_pongs != before ? 0 : 1;
}

static int cmd_cut(const char *w)
{
	(void)w;
	conn_close(&g.link);
	if (conn_open(&g.link) < 0)
		die("cut: reconnect");
	g.stream_open = false;
	g.recs_len = g.recs_off = 0;
	printf("cut at %llu\n", (unsigned long long)g.down_ack);
	return 0;
}

static int cmd_hold(const char *w)
{
	unsigned long long ms;

	if (sscanf(w, "%llu", &ms) != 1)
		return 2;
	usleep((useconds_t)(ms * 1000));
	return 0;
}

static int cmd_waitfile(const char *w)
{
	char path[512];
	unsigned long long ms;

	if (sscanf(w, "%511s %llu", path, &ms) != 2)
		return 2;
	for (unsigned long long t = 0; access(path, F_OK) != 0; t += 50) {
		if (t >= ms) {
			printf("no %s\n", path);
			return 1;
		}
		usleep(50 * 1000);
	}
	return 0;
}

static int cmd_idle(const char *w)
{
	static struct conn extra[1024];
	unsigned long long n;

	if (sscanf(w, "%llu", &n) != 1 || n > 512)
		return 2;
	for (unsigned long long i = 0; i < n; i++) {
		struct conn keep = g.link;
		upgrade("tls");
		extra[2 * i] = g.link;
		g.link = keep;
		if (conn_open(&extra[2 * i + 1]) < 0)
			die("idle: connect");
	}
	printf("idle %llu\n", n);
	return 0;
}

/* --relay: UDP to the relay-only server's port (the link's host:port). */
static int udp_fd = -1;

static int udp_open_once(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	struct timeval tv = { 2, 0 };

	if (udp_fd >= 0)
		return 0;
	if (getaddrinfo(g.host, g.port, &hints, &ai) != 0)
		return -1;
	udp_fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (udp_fd < 0 || connect(udp_fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(udp_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* bindraw HEX: that datagram to the relay's UDP port; prints "answer N"
 * (the bytes of what came back within 2 s, 0: none). bind: a RELAY_BIND
 * with our ticket; prints "bound" on a valid BINDING_ACK. */
static int cmd_bindraw(const char *w)
{
	size_t n = hex_decode(w, dg, sizeof(dg));
	ssize_t r;

	if (udp_open_once() < 0 || send(udp_fd, dg, n, 0) < 0)
		die("udp");
	r = recv(udp_fd, dg, sizeof(dg), 0);
	printf("answer %zd\n", r > 0 ? r : 0);
	return 0;
}

static int cmd_bind(const char *w)
{
	uint8_t raw[TICKET_LEN_MAX], nonce[8], msg[RELAY_BIND_LEN_MAX];
	size_t len = strlen(g.ticket) / 4 * 3 - (strchr(g.ticket, '=') ? strlen(strchr(g.ticket, '=')) : 0);
	uint64_t ts;
	struct sockaddr_any obs;
	int n;
	ssize_t r;

	(void)w;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now); /* the relay checks it against its wall clock */
	crypto_random(nonce, sizeof(nonce));
	if (!g.relay || coord_b64_decode(raw, len, g.ticket, strlen(g.ticket), 0) < 0 || udp_open_once() < 0 ||
	    (n = relay_bind_build(msg, sizeof(msg), g.id, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, nonce, raw, len, g.k)) < 0 ||
	    send(udp_fd, msg, (size_t)n, 0) < 0)
		die("bind");
	r = recv(udp_fd, dg, sizeof(dg), 0);
	if (r <= 0 || coord_binding_ack_parse(dg, (size_t)r, g.k, g.id, &ts, &obs) < 0) {
		printf("not bound\n");
		return 1;
	}
	printf("bound\n");
	return 0;
}

/* udpsend DST COUNT SIZE: as send, over UDP from the bound socket. */
static int cmd_udpsend(const char *w)
{
	unsigned long long dst, count, size;

	if (sscanf(w, "%llu %llu %llu", &dst, &count, &size) != 3 || size < 32 || size > 1400 || count >= SEQ_MAX ||
	    udp_fd < 0)
		return 2;
	for (uint64_t i = 1; i <= count; i++) {
		make_dgram(dg, (uint32_t)dst, i, size);
		if (send(udp_fd, dg, 8 + size, 0) < 0)
			die("udp send");
		usleep(1000);
	}
	printf("sent %llu\n", count);
	return 0;
}

static int cmd_reopen(const char *w)
{
	(void)w;
	conn_close(&g.link);
	open_link(); /* a refusal exits 3 */
	printf("reopened\n");
	return 0;
}

static int cmd_gets(const char *w)
{
	(void)w;
	printf("gets %u\n", g.gets);
	return 0;
}

static int cmd_udpcount(const char *w)
{
	const struct timeval tv = { 0, 100 * 1000 };
	unsigned long long ms, cnt = 0, bytes = 0;
	int64_t quiet_since = now_ms();
	ssize_t r;

	if (sscanf(w, "%llu", &ms) != 1 || udp_fd < 0)
		return 2;
	setsockopt(udp_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (now_ms() - quiet_since < (int64_t)ms) {
		if ((r = recv(udp_fd, dg, sizeof(dg), 0)) <= 0 || dg[0] != COORD_MSG_RELAY)
			continue;
		cnt++;
		bytes += (unsigned long long)r;
		quiet_since = now_ms();
	}
	printf("udpcount %llu bytes %llu\n", cnt, bytes);
	return 0;
}

static int cmd_unlink(const char *w)
{
	(void)w;
	conn_close(&g.link);
	printf("unlinked\n");
	return 0;
}

static const struct {
	const char *name;
	int (*run)(const char *words);
} commands[] = {
	{ "send", cmd_send },       { "expect", cmd_expect },   { "take", cmd_take },
	{ "ping", cmd_ping },       { "raw", cmd_raw },         { "bytes", cmd_bytes },
	{ "closed", cmd_closed },   { "postraw", cmd_postraw }, { "say", cmd_say },
	{ "expect_text", cmd_expect_text }, { "wsframe", cmd_wsframe }, { "wsbig", cmd_wsbig },
	{ "count", cmd_count },     { "cut", cmd_cut },         { "hold", cmd_hold },
	{ "idle", cmd_idle },       { "reverse", cmd_reverse }, { "wsping", cmd_wsping },
	{ "gets", cmd_gets },       { "reopen", cmd_reopen },   { "bind", cmd_bind },
	{ "bindraw", cmd_bindraw }, { "udpsend", cmd_udpsend }, { "waitfile", cmd_waitfile },
	{ "udpcount", cmd_udpcount }, { "unlink", cmd_unlink },
};

static int run_cmd(const char *cmd)
{
	size_t n = strcspn(cmd, " ");
	const char *words = cmd + n + (cmd[n] == ' ');

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].name) != n || strncmp(commands[i].name, cmd, n) != 0)
			continue;
		int r = commands[i].run(words);
		fflush(stdout);
		if (r == 2)
			fprintf(stderr, "relay_client: bad command: %s\n", cmd);
		return r;
	}
	fprintf(stderr, "relay_client: bad command: %s\n", cmd);
	return 2;
}

static int load_key(const char *file)
{
	char text[128] = "";
	FILE *f = fopen(file, "re");
	size_t len;

	if (!f)
		return -1;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (coord_b64_decode(g.priv, COORD_KEY_LEN, text, len, 0) < 0 || x25519_public(g.pub, g.priv) < 0 ||
	    coord_control_key(g.k, g.priv, g.token.server_pub) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },    { "name", required_argument, NULL, 'n' },
		{ "kind", required_argument, NULL, 'K' },   { "stream", no_argument, NULL, 'S' },
		{ "dup", no_argument, NULL, 'D' },          { "no-register", no_argument, NULL, 'R' },
		{ "ackpost", no_argument, NULL, 'A' },      { "relay", required_argument, NULL, 'Y' },
		{ "relay-id", required_argument, NULL, 'I' }, { "ticket-flip", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *token = NULL;
	bool reg = true;
	int o, rc = 0;

	g.kind = "tls";
	g.relay_id = 1;
	g.ticket_flip = -1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': g.server = optarg; break;
		case 't': token = optarg; break;
		case 'k': key = optarg; break;
		case 'n': g.name = optarg; break;
		case 'K': g.kind = optarg; break;
		case 'S': g.stream = true; break;
		case 'D': g.dup = true; break;
		case 'R': reg = false; break;
		case 'A': g.ackpost = true; break;
		case 'Y': g.relay = optarg; break;
		case 'I': g.relay_id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'F': g.ticket_flip = atoi(optarg); break;
		default: die("usage: see the top of relay_client.c");
		}
	}
	if (!g.server || !token || !key || !g.name || coord_token_decode(token, &g.token) < 0 ||
	    sscanf(g.server, "%127[^:]:%15s", g.host, g.port) != 2) {
		fprintf(stderr, "relay_client: usage: see the top of relay_client.c\n");
		return 2;
	}
	if (load_key(key) < 0) {
		fprintf(stderr, "relay_client: %s: not a base64 private key\n", key);
		return 2;
	}
	if (!(g.ctx = SSL_CTX_new(TLS_client_method())))
		die("TLS");
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL); /* a test tool: the lab's server only */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* a write to a closed link fails, it does not kill us */
	if (reg)
		do_register();
	if (g.relay)
		fetch_ticket();
	open_link();
	printf("ready\n");
	for (int i = optind; i < argc && rc == 0; i++)
		rc = run_cmd(argv[i]);
	return rc;
}
