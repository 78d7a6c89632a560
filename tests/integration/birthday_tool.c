/* Birthday probing across the lab's real NATs, without roamd: the planner
 * (lib/path/birthday.h) and the extra sockets (daemon/paths/aux_sockets.h)
 * driven by a tiny test protocol, to show the mechanism works between a
 * per-destination NAT and an endpoint-independent one (t_birthday_nat.sh).
 *
 *   birthday_tool reflect PORT
 *       answers every datagram with the address it came from ("R a.b.c.d:p")
 *   birthday_tool easy --reflector IP:PORT --peer-ip IP --start-at-ms T
 *   birthday_tool hard --peer IP:PORT --start-at-ms T
 *   birthday_tool pick OUR_MAPPING PEER_MAPPING   (eim | per-destination)
 *
 * Messages (not authenticated: a test tool on lab addresses only): 'P'
 * PING, 'O' PONG, 'D' data, each followed by an 8-byte run id that both
 * sides get from the start time. Both sides start at the wall-clock time T
 * (ms), each prints JSON lines to stdout: "endpoint" (easy, from the
 * reflector), then one "result". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/paths/aux_sockets.h"
#include "ev/loop.h"
#include "net/addr.h"
#include "path/birthday.h"

#define TOOL_RUN_NS (8 * EV_NSEC_PER_SEC)   /* the attempt's 5 s, then time for data */
#define TOOL_DATA_INTERVAL_NS (100 * EV_NSEC_PER_MSEC)
#define TOOL_DATA_COUNT 10
#define TOOL_LINGER_NS (1500 * EV_NSEC_PER_MSEC)

struct tool {
	struct ev_loop *loop;
	enum birthday_role role;
	struct birthday_attempt attempt;
	struct ev_timer timer, data_timer, end_timer;
	uint64_t run_id, start_ns, won_ns;
	bool won;
	struct sockaddr_any peer;   /* hard: the easy endpoint; easy: the hard address (port 0) */
	struct sockaddr_any winner; /* easy: the hard endpoint that answered */
	/* hard */
	struct aux_sockets *aux;
	uint8_t aux_slot[BIRTHDAY_SOCKETS_MAX]; /* planner slot -> aux slot */
	bool aux_open[BIRTHDAY_SOCKETS_MAX];
	uint16_t win_slot;
	unsigned open_peak;
	/* easy */
	int fd;
	struct ev_io io;
	unsigned data_sent, data_rx, pings_rx;
};

static uint32_t tool_uniform(void *ctx, uint32_t upper)
{
	(void)ctx;
	uint64_t r;
	while (getrandom(&r, sizeof(r), 0) != sizeof(r))
		;
	return (uint32_t)(r % upper); /* bias below 2^-40 for upper < 2^24 */
}

static void msg_make(uint8_t out[9], char type, uint64_t run_id)
{
	out[0] = (uint8_t)type;
	memcpy(out + 1, &run_id, 8);
}

/* Hard: send on planner slot k's socket. */
static void hard_send(struct tool *t, uint16_t k, char type)
{
	uint8_t m[9];
	msg_make(m, type, t->run_id);
	if (t->aux_open[k])
		(void)aux_socket_send(t->aux, t->aux_slot[k], &t->peer, m, sizeof(m));
}

static void easy_send(struct tool *t, const struct sockaddr_any *to, char type)
{
	uint8_t m[9];
	msg_make(m, type, t->run_id);
	(void)sendto(t->fd, m, sizeof(m), 0, &to->sa, to->len);
}

static void rearm(struct tool *t)
{
	uint64_t next = birthday_next_deadline(&t->attempt);
	if (next == UINT64_MAX)
		ev_timer_stop(t->loop, &t->timer);
	else
		ev_timer_start(t->loop, &t->timer, next);
}

static void on_won(struct tool *t, uint16_t which)
{
	if (birthday_won(&t->attempt, which, ev_now(t->loop)) < 0)
		return;
	t->won = true;
	t->won_ns = ev_now(t->loop);
	if (t->role == BIRTHDAY_HARD) {
		t->win_slot = which;
		/* The path holds the winner; the attempt lets go of every socket. */
		(void)aux_socket_hold(t->aux, t->aux_slot[which]);
		for (unsigned k = 0; k < BIRTHDAY_SOCKETS_MAX; k++)
			if (t->aux_open[k])
				(void)aux_socket_release(t->aux, t->aux_slot[k]);
		for (unsigned k = 0; k < BIRTHDAY_SOCKETS_MAX; k++)
			t->aux_open[k] = k == which;
	}
	ev_timer_start(t->loop, &t->data_timer, t->won_ns);
	/* Data both ways for a second, then done (the other side wins within it). */
	ev_timer_start(t->loop, &t->end_timer, t->won_ns + TOOL_LINGER_NS);
	rearm(t);
}

static uint16_t hard_slot_of(const struct tool *t, uint8_t aux_slot)
{
	for (unsigned k = 0; k < BIRTHDAY_SOCKETS_MAX; k++)
		if (t->aux_open[k] && t->aux_slot[k] == aux_slot)
			return (uint16_t)k;
	return UINT16_MAX;
}

static bool msg_ours(const struct tool *t, const uint8_t *buf, size_t len)
{
	return len == 9 && memcmp(buf + 1, &t->run_id, 8) == 0;
}

static void hard_input(void *ctx, uint8_t aux_slot, uint8_t *buf, size_t len, const struct sockaddr_any *from,
		       uint64_t now)
{
	struct tool *t = ctx;
	uint16_t k = hard_slot_of(t, aux_slot);
	(void)now;
	if (k == UINT16_MAX || !msg_ours(t, buf, len) || !sockaddr_any_equal(from, &t->peer))
		return;
	if (buf[0] == 'P') {
		t->pings_rx++;
		hard_send(t, k, 'O');
		(void)birthday_hint(&t->attempt, k);
		rearm(t);
	} else if (buf[0] == 'O') {
		on_won(t, k);
	} else if (buf[0] == 'D' && t->won && k == t->win_slot) {
		t->data_rx++;
	}
}

static void easy_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct tool *t = io->data;
	uint8_t buf[64];
	(void)loop;
	(void)revents;
	for (;;) {
		struct sockaddr_any from = { .len = sizeof(from.in6) };
		ssize_t n = recvfrom(t->fd, buf, sizeof(buf), 0, &from.sa, &from.len);
		if (n < 0)
			return;
		sockaddr_any_normalize(&from);
		if (!msg_ours(t, buf, (size_t)n) || from.sa.sa_family != AF_INET ||
		    from.in4.sin_addr.s_addr != t->peer.in4.sin_addr.s_addr)
			continue;
		if (buf[0] == 'P') {
			t->pings_rx++;
			easy_send(t, &from, 'O');
		} else if (buf[0] == 'O' && !t->won) {
			t->winner = from;
			on_won(t, sockaddr_any_port(&from));
		} else if (buf[0] == 'D' && t->won) {
			/* The hard side may have won on another socket than the one
			 * whose PONG made us win (both flows were open): it keeps
			 * only its winner, so follow the flow its data comes by,
			 * as roamd's path layer follows authenticated traffic. */
			t->winner = from;
			t->data_rx++;
		}
	}
}

static void on_plan_timer(struct ev_loop *loop, struct ev_timer *timer)
{
	struct tool *t = timer->data;
	struct birthday_action acts[64];
	size_t n;
	bool opened = false;
	while ((n = birthday_poll(&t->attempt, ev_now(loop), acts, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct sockaddr_any to = t->peer;
			switch (acts[i].kind) {
			case BIRTHDAY_ACT_OPEN:
				if (aux_socket_open(t->aux, &t->aux_slot[acts[i].slot]) == 0)
					t->aux_open[acts[i].slot] = opened = true;
				else
					(void)birthday_open_failed(&t->attempt, acts[i].slot);
				break;
			case BIRTHDAY_ACT_PING_FROM:
				hard_send(t, acts[i].slot, 'P');
				break;
			case BIRTHDAY_ACT_PING_TO:
				to.in4.sin_port = htons(acts[i].port);
				easy_send(t, &to, 'P');
				break;
			}
		}
		if (n < 64)
			break;
	}
	if (t->attempt.state == BIRTHDAY_TIMED_OUT && t->aux) {
		/* A failed attempt closes every socket it opened. */
		for (unsigned k = 0; k < BIRTHDAY_SOCKETS_MAX; k++)
			if (t->aux_open[k])
				(void)aux_socket_release(t->aux, t->aux_slot[k]);
		memset(t->aux_open, 0, sizeof(t->aux_open));
	}
	if (opened) {
		struct aux_sockets_stats st;
		aux_sockets_get_stats(t->aux, &st);
		t->open_peak = st.open_now > t->open_peak ? st.open_now : t->open_peak;
	}
	rearm(t);
}

static void on_data_timer(struct ev_loop *loop, struct ev_timer *timer)
{
	struct tool *t = timer->data;
	if (t->role == BIRTHDAY_HARD)
		hard_send(t, t->win_slot, 'D');
	else
		easy_send(t, &t->winner, 'D');
	if (++t->data_sent < TOOL_DATA_COUNT)
		ev_timer_start(loop, timer, ev_now(loop) + TOOL_DATA_INTERVAL_NS);
}

static void on_end(struct ev_loop *loop, struct ev_timer *timer)
{
	(void)timer;
	ev_loop_stop(loop);
}

static void sleep_until_wall_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int parse_addr(const char *text, struct sockaddr_any *out)
{
	if (sockaddr_any_parse(text, out) == 0)
		return 0;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s:1", text); /* a bare address */
	if (sockaddr_any_parse(buf, out) < 0)
		return -1;
	out->in4.sin_port = 0;
	return 0;
}

/* The easy side's public endpoint, from the reflector; -1 if it never answers. */
static int easy_learn_endpoint(int fd, const struct sockaddr_any *reflector, char *out, size_t size)
{
	for (int i = 0; i < 20; i++) {
		char buf[80];
		(void)sendto(fd, "?", 1, 0, &reflector->sa, reflector->len);
		usleep(100 * 1000);
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n > 2 && buf[0] == 'R') {
			buf[n] = 0;
			snprintf(out, size, "%.*s", (int)size - 1, buf + 2);
			return 0;
		}
	}
	return -1;
}

static int reflect(const char *port_text)
{
	struct sockaddr_any me = { .in4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port_text)) },
				   .len = sizeof(me.in4) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &me.sa, me.len) < 0)
		return 1;
	for (;;) {
		char buf[64], text[SOCKADDR_ANY_STRLEN + 4];
		struct sockaddr_any from = { .len = sizeof(from.in6) };
		if (recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &from.len) < 0)
			continue;
		sockaddr_any_normalize(&from);
		strcpy(text, "R ");
		sockaddr_any_format(&from, text + 2, sizeof(text) - 2);
		(void)sendto(fd, text, strlen(text), 0, &from.sa, from.len);
	}
}

static int pick(const char *ours, const char *theirs)
{
	enum birthday_role role;
	int r = birthday_role_pick(strcmp(ours, "per-destination") == 0, strcmp(theirs, "per-destination") == 0, &role);
	printf("{\"event\":\"pick\",\"attempt\":%s,\"role\":\"%s\"}\n", r == 0 ? "true" : "false",
	       r == 0 ? birthday_role_name(role) : "none");
	return 0;
}

static void print_result(const struct tool *t)
{
	char winner[SOCKADDR_ANY_STRLEN] = "";
	struct aux_sockets_stats st = { 0 };
	if (t->aux)
		aux_sockets_get_stats(t->aux, &st);
	if (t->won && t->role == BIRTHDAY_EASY)
		sockaddr_any_format(&t->winner, winner, sizeof(winner));
	else if (t->won)
		snprintf(winner, sizeof(winner), "socket %u", t->win_slot);
	printf("{\"event\":\"result\",\"role\":\"%s\",\"won\":%s,\"ms\":%" PRIu64 ",\"winner\":\"%s\","
	       "\"state\":\"%s\",\"probes\":%" PRIu32 ",\"sockets_opened\":%" PRIu64 ",\"sockets_peak\":%u,"
	       "\"sockets_open_at_end\":%u,\"pings_rx\":%u,\"data_rx\":%u}\n",
	       birthday_role_name(t->role), t->won ? "true" : "false",
	       t->won ? (t->won_ns - t->start_ns) / EV_NSEC_PER_MSEC : 0, winner,
	       birthday_state_name(t->attempt.state), t->attempt.probes_sent, st.opened_total, t->open_peak,
	       st.open_now, t->pings_rx, t->data_rx);
}

static int run(struct tool *t, uint64_t start_ms)
{
	struct birthday_config cfg;
	birthday_config_default(&cfg);
	t->run_id = start_ms;
	sleep_until_wall_ms(start_ms);
	ev_now_update(t->loop);
	t->start_ns = ev_now(t->loop);
	if (birthday_start(&t->attempt, &cfg, t->role, tool_uniform, NULL, t->start_ns) < 0)
		return 1;
	ev_timer_init(&t->timer, on_plan_timer, t);
	ev_timer_init(&t->data_timer, on_data_timer, t);
	ev_timer_init(&t->end_timer, on_end, t);
	ev_timer_start(t->loop, &t->timer, t->start_ns);
	ev_timer_start(t->loop, &t->end_timer, t->start_ns + TOOL_RUN_NS);
	ev_loop_run(t->loop);
	print_result(t);
	return t->won ? 0 : 2;
}

int main(int argc, char **argv)
{
	static struct tool t;
	uint64_t start_ms = 0;
	struct sockaddr_any reflector = { 0 };
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "reflect") == 0 && argc == 3)
		return reflect(argv[2]);
	if (strcmp(mode, "pick") == 0 && argc == 4)
		return pick(argv[2], argv[3]);
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--start-at-ms") == 0)
			start_ms = strtoull(argv[i + 1], NULL, 10);
		else if ((strcmp(argv[i], "--peer") == 0 || strcmp(argv[i], "--peer-ip") == 0) &&
			 parse_addr(argv[i + 1], &t.peer) == 0)
			continue;
		else if (strcmp(argv[i], "--reflector") == 0 && sockaddr_any_parse(argv[i + 1], &reflector) == 0)
			continue;
		else
			return fprintf(stderr, "bad argument %s\n", argv[i]), 64;
	}
	if (!start_ms || !t.peer.len || ev_loop_new(&t.loop) < 0)
		return fprintf(stderr, "usage: see the top of birthday_tool.c\n"), 64;
	if (strcmp(mode, "hard") == 0) {
		t.role = BIRTHDAY_HARD;
		if (aux_sockets_new(t.loop, AUX_SLOTS, hard_input, NULL, &t, &t.aux) < 0)
			return 1;
	} else if (strcmp(mode, "easy") == 0 && reflector.len) {
		char endpoint[SOCKADDR_ANY_STRLEN];
		t.role = BIRTHDAY_EASY;
		t.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t.fd < 0 || easy_learn_endpoint(t.fd, &reflector, endpoint, sizeof(endpoint)) < 0)
			return fprintf(stderr, "no answer from the reflector\n"), 1;
		printf("{\"event\":\"endpoint\",\"endpoint\":\"%s\"}\n", endpoint);
		ev_io_init(&t.io, t.fd, EPOLLIN, easy_readable, &t);
		ev_io_start(t.loop, &t.io);
	} else {
		return fprintf(stderr, "usage: see the top of birthday_tool.c\n"), 64;
	}
	int r = run(&t, start_ms);
	aux_sockets_free(t.aux);
	return r;
}
