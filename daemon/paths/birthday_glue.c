/* Hard-NAT traversal in roamd's monitor (daemon/paths/birthday_glue.h):
 * attempts, their sockets and PINGs, backoff, and the winners' sockets. */
#include "daemon/paths/birthday_glue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/le.h"
#include "util/log.h"

/* The two sides start on their own clocks (each when its direct paths
 * have stayed dead for BIRTHDAY_GLUE_STUCK_NS, within a few hundred ms of
 * each other): the easy side waits longer than the default before its
 * spray, so that the hard side's mappings exist by then. */
#define BIRTHDAY_GLUE_SPRAY_DELAY_NS (500 * EV_NSEC_PER_MSEC)
#define BIRTHDAY_GLUE_ACTIONS 64 /* per poll */
#define TXID_SALT_LEN (COORD_PROBE_TXID_LEN - 8)

struct glue_attempt {
	bool used;
	void *peer;
	uint32_t node_id;
	struct sockaddr_any target; /* HARD: the easy endpoint; EASY: the hard address (its port unused) */
	uint8_t txid_salt[TXID_SALT_LEN]; /* txid = salt || le64 counter */
	uint64_t txid_next;
	uint8_t aux_slot[BIRTHDAY_SOCKETS_MAX]; /* HARD: planner slot -> socket */
	uint8_t aux_open[BIRTHDAY_SOCKETS_MAX / 8];
	struct birthday_attempt plan;
};

struct glue_winner {
	bool used;
	void *peer;
	struct endpoint path; /* EP_UDP_AUX on the held socket */
	uint8_t slot;
};

struct glue_backoff {
	uint32_t node_id; /* 0: free */
	struct birthday_backoff b;
};

struct birthday_glue {
	struct ev_loop *loop;
	struct aux_sockets *aux;
	const struct birthday_glue_ops *ops;
	struct ev_timer timer;
	uint64_t keep_check_ns;
	struct birthday_glue_stats stats;
	struct glue_attempt attempts[BIRTHDAY_GLUE_MAX_ATTEMPTS];
	struct glue_winner winners[AUX_SLOTS];
	struct glue_backoff backoff[BIRTHDAY_GLUE_BACKOFF_PEERS];
};

static uint32_t glue_uniform(void *ctx, uint32_t upper)
{
	(void)ctx;
	uint64_t r;
	crypto_random(&r, sizeof(r));
	return (uint32_t)(r % upper); /* upper < 2^17: bias below 2^-46 */
}

static bool bit_get(const uint8_t *bits, unsigned i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void glue_rearm(struct birthday_glue *g)
{
	uint64_t next = UINT64_MAX;
	for (unsigned i = 0; i < BIRTHDAY_GLUE_MAX_ATTEMPTS; i++) {
		uint64_t t = g->attempts[i].used ? birthday_next_deadline(&g->attempts[i].plan) : UINT64_MAX;
		next = t < next ? t : next;
	}
	if (g->stats.winners_held && g->keep_check_ns < next)
		next = g->keep_check_ns;
	if (next == UINT64_MAX)
		ev_timer_stop(g->loop, &g->timer);
	else
		ev_timer_start(g->loop, &g->timer, next);
}

/* The peer's entry; a new one takes a free entry, else one whose wait is
 * over, else the one that ends soonest (forgetting a backoff only lets a
 * peer's next attempt come sooner, still one at a time). */
static struct glue_backoff *backoff_of(struct birthday_glue *g, uint32_t node_id, uint64_t now)
{
	struct glue_backoff *spare = &g->backoff[0];
	for (unsigned i = 0; i < BIRTHDAY_GLUE_BACKOFF_PEERS; i++) {
		struct glue_backoff *e = &g->backoff[i];
		if (e->node_id == node_id)
			return e;
		if (!spare->node_id)
			continue;
		if (!e->node_id || birthday_backoff_allows(&e->b, now) || e->b.not_before_ns < spare->b.not_before_ns)
			spare = e;
	}
	*spare = (struct glue_backoff){ .node_id = node_id };
	return spare;
}

static void attempt_release_sockets(struct birthday_glue *g, struct glue_attempt *a)
{
	for (unsigned k = 0; k < a->plan.opened; k++)
		if (bit_get(a->aux_open, k))
			(void)aux_socket_release(g->aux, a->aux_slot[k]);
	memset(a->aux_open, 0, sizeof(a->aux_open));
}

/* The attempt is over (won, timed out, stopped): its sockets close, a
 * winner's only once its path lets go of it. */
static void attempt_end(struct birthday_glue *g, struct glue_attempt *a, uint64_t now)
{
	bool won = a->plan.state == BIRTHDAY_WON;
	uint64_t next_ns = 0;
	attempt_release_sockets(g, a);
	if (a->plan.state != BIRTHDAY_STOPPED) {
		struct birthday_backoff *b = &backoff_of(g, a->node_id, now)->b;
		birthday_backoff_ended(b, won, now);
		next_ns = b->not_before_ns > now ? b->not_before_ns - now : 0;
	}
	g->stats.probes_sent += a->plan.probes_sent;
	if (won) {
		g->stats.won++;
		g->stats.last_ms = (a->plan.end_ns - a->plan.start_ns) / EV_NSEC_PER_MSEC;
	} else if (a->plan.state == BIRTHDAY_TIMED_OUT) {
		g->stats.failed++;
		log_info("peer %u: hard NAT: no match after %u PINGs; relayed, next try in %u s or more", a->node_id,
			 a->plan.probes_sent, (unsigned)(next_ns / EV_NSEC_PER_SEC));
	} else {
		g->stats.stopped++;
	}
	a->used = false;
	g->stats.running--;
}

static void txid_make(struct glue_attempt *a, uint8_t txid[COORD_PROBE_TXID_LEN])
{
	memcpy(txid, a->txid_salt, TXID_SALT_LEN);
	le64_put(txid + TXID_SALT_LEN, a->txid_next++);
}

static void attempt_act(struct birthday_glue *g, struct glue_attempt *a, const struct birthday_action *act)
{
	uint8_t txid[COORD_PROBE_TXID_LEN];
	struct sockaddr_any to = a->target;
	struct endpoint ep;
	switch (act->kind) {
	case BIRTHDAY_ACT_OPEN:
		if (aux_socket_open(g->aux, &a->aux_slot[act->slot]) == 0)
			a->aux_open[act->slot / 8] |= (uint8_t)(1u << (act->slot % 8));
		else
			(void)birthday_open_failed(&a->plan, act->slot);
		return;
	case BIRTHDAY_ACT_PING_FROM:
		if (!bit_get(a->aux_open, act->slot))
			return;
		endpoint_aux(&ep, a->aux_slot[act->slot], &a->target);
		break;
	case BIRTHDAY_ACT_PING_TO:
		if (to.sa.sa_family == AF_INET)
			to.in4.sin_port = htons(act->port);
		else
			to.in6.sin6_port = htons(act->port);
		endpoint_from_sockaddr(&ep, &to);
		break;
	}
	txid_make(a, txid);
	g->ops->send_ping(a->peer, &ep, txid);
}

static void attempt_run(struct birthday_glue *g, struct glue_attempt *a, uint64_t now)
{
	struct birthday_action acts[BIRTHDAY_GLUE_ACTIONS];
	size_t n;
	do {
		n = birthday_poll(&a->plan, now, acts, BIRTHDAY_GLUE_ACTIONS);
		for (size_t i = 0; i < n; i++)
			attempt_act(g, a, &acts[i]);
	} while (n == BIRTHDAY_GLUE_ACTIONS);
	if (a->plan.state != BIRTHDAY_RUNNING)
		attempt_end(g, a, now);
}

static void keep_check(struct birthday_glue *g, uint64_t now)
{
	for (unsigned i = 0; i < AUX_SLOTS; i++) {
		struct glue_winner *w = &g->winners[i];
		if (w->used && !g->ops->path_in_use(w->peer, &w->path)) {
			(void)aux_socket_release(g->aux, w->slot);
			w->used = false;
			g->stats.winners_held--;
		}
	}
	g->keep_check_ns = now + BIRTHDAY_GLUE_KEEP_CHECK_NS;
}

static void on_glue_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct birthday_glue *g = t->data;
	uint64_t now = ev_now(loop);
	for (unsigned i = 0; i < BIRTHDAY_GLUE_MAX_ATTEMPTS; i++)
		if (g->attempts[i].used && birthday_next_deadline(&g->attempts[i].plan) <= now)
			attempt_run(g, &g->attempts[i], now);
	if (g->stats.winners_held && now >= g->keep_check_ns)
		keep_check(g, now);
	glue_rearm(g);
}

int birthday_glue_new(struct ev_loop *loop, struct aux_sockets *aux, const struct birthday_glue_ops *ops,
		      struct birthday_glue **out)
{
	if (!aux || !ops || !ops->send_ping || !ops->path_found || !ops->path_in_use)
		return -EINVAL;
	struct birthday_glue *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->loop = loop;
	g->aux = aux;
	g->ops = ops;
	ev_timer_init(&g->timer, on_glue_timer, g);
	*out = g;
	return 0;
}

void birthday_glue_free(struct birthday_glue *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < BIRTHDAY_GLUE_MAX_ATTEMPTS; i++)
		if (g->attempts[i].used)
			attempt_release_sockets(g, &g->attempts[i]);
	for (unsigned i = 0; i < AUX_SLOTS; i++)
		if (g->winners[i].used)
			(void)aux_socket_release(g->aux, g->winners[i].slot);
	ev_timer_stop(g->loop, &g->timer);
	free(g);
}

static struct glue_attempt *attempt_of(struct birthday_glue *g, const void *peer)
{
	for (unsigned i = 0; i < BIRTHDAY_GLUE_MAX_ATTEMPTS; i++)
		if (g->attempts[i].used && g->attempts[i].peer == peer)
			return &g->attempts[i];
	return NULL;
}

/* The relay carries the peer's data and no direct path has answered for
 * BIRTHDAY_GLUE_STUCK_NS, though there is one to try. */
static bool direct_stuck(const struct path_set *set, uint64_t now)
{
	const struct path *active = path_active(set);
	bool any_direct = false;
	if (!active || active->transport == PATH_TRANSPORT_UDP_DIRECT)
		return false;
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (!p->in_use || p->transport != PATH_TRANSPORT_UDP_DIRECT)
			continue;
		if ((p->state != PATH_PROBING && p->state != PATH_DEAD) || now - p->state_since_ns < BIRTHDAY_GLUE_STUCK_NS)
			return false;
		any_direct = true;
	}
	return any_direct;
}

int birthday_glue_consider(struct birthday_glue *g, void *peer, const struct path_set *set,
			   const struct birthday_glue_view *v, uint64_t now)
{
	enum birthday_role role;
	struct birthday_config cfg;
	struct glue_attempt *a = NULL;
	if (attempt_of(g, peer))
		return -EALREADY;
	if (v->ours == BIRTHDAY_NAT_UNKNOWN || v->peers == BIRTHDAY_NAT_UNKNOWN)
		return -EAGAIN;
	if (birthday_role_pick(v->ours == BIRTHDAY_NAT_HARD, v->peers == BIRTHDAY_NAT_HARD, &role) < 0)
		return -EOPNOTSUPP;
	int family = v->peer_public.len ? v->peer_public.sa.sa_family : AF_UNSPEC;
	if (!v->node_id || (family != AF_INET && family != AF_INET6) || !direct_stuck(set, now))
		return -EAGAIN;
	struct glue_backoff *bo = backoff_of(g, v->node_id, now);
	if (!birthday_backoff_allows(&bo->b, now))
		return -EAGAIN;
	for (unsigned i = 0; i < BIRTHDAY_GLUE_MAX_ATTEMPTS && !a; i++)
		a = g->attempts[i].used ? NULL : &g->attempts[i];
	birthday_config_default(&cfg);
	cfg.spray_delay_ns = BIRTHDAY_GLUE_SPRAY_DELAY_NS;
	if (role == BIRTHDAY_HARD) {
		unsigned free_sockets = aux_sockets_free_slots(g->aux);
		if (free_sockets < BIRTHDAY_GLUE_MIN_SOCKETS)
			return -EAGAIN;
		if (free_sockets < cfg.sockets)
			cfg.sockets = (uint16_t)free_sockets;
	}
	if (!a || birthday_start(&a->plan, &cfg, role, glue_uniform, NULL, now) < 0)
		return -EAGAIN;
	a->used = true;
	a->peer = peer;
	a->node_id = v->node_id;
	a->target = v->peer_public;
	a->txid_next = 0;
	memset(a->aux_open, 0, sizeof(a->aux_open));
	crypto_random(a->txid_salt, sizeof(a->txid_salt));
	birthday_backoff_started(&bo->b, now);
	g->stats.started[role]++;
	g->stats.running++;
	char target[SOCKADDR_ANY_STRLEN];
	sockaddr_any_format(&v->peer_public, target, sizeof(target));
	log_info("peer %u: hard NAT (%s per destination): birthday probing as the %s side towards %s", v->node_id,
		 role == BIRTHDAY_HARD ? "ours" : "its", birthday_role_name(role), target);
	attempt_run(g, a, now);
	glue_rearm(g);
	return 0;
}

/* HARD: the planner slot whose socket src came by, towards the easy endpoint. */
static int hard_slot_of(const struct glue_attempt *a, const struct endpoint *src)
{
	struct sockaddr_any from;
	int aux = endpoint_aux_slot(src);
	if (aux < 0 || endpoint_to_sockaddr(src, &from) < 0 || !sockaddr_any_equal(&from, &a->target))
		return -ENOENT;
	for (unsigned k = 0; k < a->plan.opened; k++)
		if (bit_get(a->aux_open, k) && a->aux_slot[k] == aux)
			return (int)k;
	return -ENOENT;
}

static void hold_winner(struct birthday_glue *g, struct glue_attempt *a, uint16_t k, const struct endpoint *path)
{
	for (unsigned i = 0; i < AUX_SLOTS; i++) {
		struct glue_winner *w = &g->winners[i];
		if (w->used)
			continue;
		if (aux_socket_hold(g->aux, a->aux_slot[k]) < 0)
			return;
		*w = (struct glue_winner){ .used = true, .peer = a->peer, .path = *path, .slot = a->aux_slot[k] };
		g->stats.winners_held++;
		if (g->stats.winners_held == 1)
			g->keep_check_ns = ev_now(g->loop) + BIRTHDAY_GLUE_KEEP_CHECK_NS;
		return;
	}
}

/* EASY: src is the hard side's address? */
static bool from_target_host(const struct glue_attempt *a, const struct endpoint *src, struct sockaddr_any *from)
{
	if (endpoint_transport(src) != EP_UDP || endpoint_to_sockaddr(src, from) < 0 ||
	    from->sa.sa_family != a->target.sa.sa_family)
		return false;
	if (from->sa.sa_family == AF_INET)
		return from->in4.sin_addr.s_addr == a->target.in4.sin_addr.s_addr;
	return memcmp(&from->in6.sin6_addr, &a->target.in6.sin6_addr, 16) == 0;
}

static void attempt_won(struct birthday_glue *g, struct glue_attempt *a, int hard_slot, const struct endpoint *path,
			uint64_t now)
{
	char text[ENDPOINT_STRLEN];
	endpoint_format(path, text, sizeof(text));
	log_info("peer %u: hard NAT: %s works after %u ms and %u PINGs", a->node_id, text,
		 (unsigned)((now - a->plan.start_ns) / EV_NSEC_PER_MSEC), a->plan.probes_sent);
	if (hard_slot >= 0)
		hold_winner(g, a, (uint16_t)hard_slot, path);
	g->ops->path_found(a->peer, path);
	attempt_end(g, a, now);
	glue_rearm(g);
}

bool birthday_glue_pong(struct birthday_glue *g, void *peer, const uint8_t txid[COORD_PROBE_TXID_LEN],
			const struct endpoint *src, uint64_t now)
{
	struct glue_attempt *a = attempt_of(g, peer);
	struct sockaddr_any from;
	if (!a || memcmp(txid, a->txid_salt, TXID_SALT_LEN) != 0 || le64_get(txid + TXID_SALT_LEN) >= a->txid_next)
		return false;
	int which;
	if (a->plan.role == BIRTHDAY_HARD)
		which = hard_slot_of(a, src);
	else
		which = from_target_host(a, src, &from) ? sockaddr_any_port(&from) : -ENOENT;
	/* Ours either way; a PONG from a path we did not try teaches nothing. */
	if (which >= 0 && birthday_won(&a->plan, (uint16_t)which, now) == 0)
		attempt_won(g, a, a->plan.role == BIRTHDAY_HARD ? which : -1, src, now);
	return true;
}

void birthday_glue_ping_seen(struct birthday_glue *g, void *peer, const struct endpoint *src, uint64_t now)
{
	struct glue_attempt *a = attempt_of(g, peer);
	struct sockaddr_any from;
	int k;
	if (!a)
		return;
	if (a->plan.role == BIRTHDAY_EASY) {
		/* The hard side got through to us first: that flow is the path. */
		if (from_target_host(a, src, &from) && birthday_reached(&a->plan, sockaddr_any_port(&from), now) == 0)
			attempt_won(g, a, -1, src, now);
		return;
	}
	if ((k = hard_slot_of(a, src)) < 0)
		return;
	/* The easy side's NAT lets this socket in now: PING from it at once. */
	if (birthday_hint(&a->plan, (uint16_t)k) == 0) {
		attempt_run(g, a, now);
		glue_rearm(g);
	}
}

void birthday_glue_peer_gone(struct birthday_glue *g, void *peer, uint64_t now)
{
	struct glue_attempt *a = attempt_of(g, peer);
	if (a) {
		birthday_stop(&a->plan, now);
		attempt_end(g, a, now);
	}
	for (unsigned i = 0; i < AUX_SLOTS; i++) {
		struct glue_winner *w = &g->winners[i];
		if (w->used && w->peer == peer) {
			(void)aux_socket_release(g->aux, w->slot);
			w->used = false;
			g->stats.winners_held--;
		}
	}
	glue_rearm(g);
}

void birthday_glue_get_stats(const struct birthday_glue *g, struct birthday_glue_stats *out)
{
	*out = g->stats;
}
