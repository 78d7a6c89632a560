/* relay_thread.h: the UDP relay's forwarding thread.
 *
 * Design. The directory (server/directory.c) belongs to the main loop and
 * stays single-threaded: no lock is ever taken around it. The thread sees
 * only an immutable snapshot (struct rsnap) that the main loop builds from
 * it: the nodes with a live UDP binding (id, endpoint, expiry, whether a
 * relay link is open, groups), an endpoint hash table and the relay's rate
 * limit. While the thread forwards, the main loop publishes a new one with
 * an atomic pointer swap at the first RT_SNAP_MS tick after the directory
 * changed (dir.relay_gen; every RT_SNAP_REBUILD_TICKS regardless), but no
 * sooner than RT_SNAP_COST_FACTOR times the last build's time after it, so
 * a removed, expired, regrouped or moved node stops being served by the
 * thread within RT_SNAP_MS plus one batch on a small server, ~100 ms with
 * 100 000 nodes (a build walks them all: ~25 ms). An old snapshot is freed after a grace period: the thread marks
 * itself busy while it holds a snapshot pointer (one receive batch) and
 * bumps a counter after each batch; a retired snapshot is freed once the
 * thread was seen idle or its counter moved past the retirement.
 *
 * The thread forwards a RELAY datagram only when the snapshot proves every
 * check of relay_forward (source bound at this endpoint and active,
 * destination bound, active, not on a relay link, in a shared group, rate
 * limit); a datagram it can reject without any state (malformed, not
 * WireGuard, bad size) it drops and counts. Everything else (BINDING,
 * CHALLENGE answers, RELAY_BIND, RELAY_PING, NETCHECK, a RELAY whose
 * source the snapshot does not know yet or whose destination is on a TCP
 * link) is copied to a bounded queue (RT_HANDBACK_MAX datagrams,
 * RT_HANDBACK_BYTES) and the main loop, woken by an eventfd, runs it
 * through relay_input as before, RT_MAIN_BATCH at a time between its other
 * events. So the main loop stays authoritative: a staleness of the snapshot
 * can only send a datagram to the main loop, or (for RT_SNAP_MS) to where a
 * node was bound. The thread's counters are atomics folded into
 * s->stats on the snapshot timer and at stop. Its per-node rate-limit state
 * lives in the snapshot entries (atomics, carried into the next snapshot);
 * what the main loop relays for a node in the snapshot (its relay links,
 * datagrams handed back) counts there too (relay.rate), so a node whose
 * traffic takes both paths has one budget.
 *
 * Waking the main loop costs two context switches, on a paravirtualised
 * machine the dearest part of a datagram; with 100 000 nodes what is
 * handed back is a steady trickle of KEEPs and BINDINGs, one per wake.
 * While the thread hands back more than RT_COALESCE_RATE datagrams a
 * second it wakes the main loop at most once per RT_COALESCE_NS for
 * KEEPs and BINDINGs (at once when RT_COALESCE_MAX wait, or with anything
 * else: a RELAY, a RELAY_PING or NETCHECK whose round trip is measured);
 * below that rate every batch wakes it at once. The receive itself is never
 * delayed (a moderation that did so lost relayed datagrams of a burst,
 * session 9): while a wake is pending the thread waits in ppoll for the
 * socket until the wake is due. */
#include "server/relay_thread.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "coord/probe.h"
#include "coord/relay_link.h"
#include "coord/udp.h"
#include "server/directory.h"
#include "server/relay_moderation.h"
#include "server/relay_snap.h"
#include "server/server.h"
#include "util/log.h"

#define RT_SNAP_MS 20
/* A snapshot is rebuilt when the directory moved (dir.relay_gen), and at
 * least this often while RELAYs flow (its rate-limit figures are carried
 * over either way): a walk of 100 000 nodes costs ~25 ms, so rebuilding
 * every RT_SNAP_MS would take more than a core under relayed traffic. */
#define RT_SNAP_REBUILD_TICKS 250 /* 5 s */
/* And no sooner than RT_SNAP_COST_FACTOR times the last build's time after
 * it: a change reaches the thread within RT_SNAP_MS on a small server,
 * within ~100 ms with 100 000 nodes, never at the cost of the main loop. */
#define RT_SNAP_COST_FACTOR 4
/* Sized for the push channel: every node's BINDING, PUSH_ACKs and their
 * acknowledgements come this way; at 10 000 nodes after a restart 1024 lost
 * ~90 000 of them to a busy main loop (each a resend later). */
#define RT_HANDBACK_MAX 16384
#define RT_HANDBACK_BYTES (8u << 20)
#define RT_MAIN_BATCH 256 /* handed-back datagrams per main-loop callback */
#define RT_SLOT_BYTES 65536
#define RT_DOUBT_PER_TICK 256 /* RELAYs the snapshot refuses, to the main loop */
#define RT_STOP_CHECK_MS 100 /* the receive timeout: how long a stop may wait */


struct rt_item {
	struct sockaddr_any from;
	size_t len;
	uint8_t *buf;
};

enum {
	RT_RELAYED,
	RT_BYTES,
	RT_PROBES,
	RT_DROPPED,
	RT_MALFORMED,
	RT_NOT_WG,
	RT_BAD_SIZE,
	RT_RATE,
	RT_SEND,
	RT_QUEUE_FULL,
	RT_SENDER, /* what rt_doubt dropped, by reason */
	RT_DEST,
	RT_HANDED,  /* datagrams handed back */
	RT_WAKES,   /* main-loop wakes for them */
	RT_COUNTERS
};

struct relay_thread {
	struct server *s; /* the thread reads only s->dir.hash_seed (fixed) */
	struct udp_socket udp; /* a copy: its gso flag is the thread's */
	pthread_t tid;
	int wake_fd;
	atomic_bool stop; /* main: the thread returns within RT_STOP_CHECK_MS */
	struct udp_batch *batch;
	struct udp_sendq tx;
	_Atomic(struct rsnap *) snap;
	atomic_bool busy, used;
	atomic_uint_fast64_t seq;
	_Atomic uint64_t counters[RT_COUNTERS];
	_Atomic uint64_t ticks;             /* main: one more every RT_SNAP_MS */
	uint64_t doubt_tick, doubt_used;    /* the thread's: rt_doubt */
	/* the thread's: the hand-back wake's moderation */
	size_t q_seen;                      /* the queue's length after the last hand-back */
	struct rt_moderation mod;
	pthread_mutex_t lock; /* the hand-back queue */
	struct rt_item q[RT_HANDBACK_MAX];
	size_t q_head, q_count, q_bytes;
	/* main loop only */
	struct rsnap *retired;
	uint64_t snap_gen;   /* the directory's relay_gen the snapshot was built from */
	uint64_t snap_ticks; /* ticks at that build */
	uint64_t snap_gap;   /* ticks to wait between builds: 4x what the last one took (<= 25 % of a core) */
	struct event *wake_ev, *tick_ev;
	bool started;
};

/* Retired snapshots the thread can no longer hold. */
static void rt_reclaim(struct relay_thread *rt)
{
	struct rsnap **p = &rt->retired;
	uint64_t seq = atomic_load(&rt->seq);

	while (*p) {
		struct rsnap *sn = *p;
		if (!sn->retired_busy || seq != sn->retired_seq) {
			*p = sn->retired_next;
			rsnap_free(sn);
		} else {
			p = &sn->retired_next;
		}
	}
}

static void rt_publish(struct relay_thread *rt)
{
	struct rsnap *sn, *old = atomic_load(&rt->snap);
	struct timespec t0, t1;
	uint64_t took_ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rsnap_patch(&rt->s->dir, rt->s->relay.rate_bytes_s, old, &sn) == 0) {
		rt->s->stats.relay_snapshot_patches++;
	} else if (rsnap_build(&rt->s->dir, rt->s->relay.rate_bytes_s, old, &sn) < 0) {
		return; /* the old one stays: retried at the next tick */
	}
	dir_relay_dirty_clear(&rt->s->dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	rt->snap_gap = took_ns * RT_SNAP_COST_FACTOR / (RT_SNAP_MS * UINT64_C(1000000)) + 1;
	rt->snap_gen = rt->s->dir.relay_gen;
	rt->snap_ticks = atomic_load_explicit(&rt->ticks, memory_order_relaxed);
	rt->s->stats.relay_snapshots++;
	old = atomic_exchange(&rt->snap, sn);
	if (!old)
		return;
	/* Order matters (seq_cst): the counter before the busy flag. Idle
	 * now: any later batch loads the new pointer. Busy: wait until that
	 * batch ends (the counter moves). */
	old->retired_seq = atomic_load(&rt->seq);
	old->retired_busy = atomic_load(&rt->busy);
	old->retired_next = rt->retired;
	rt->retired = old;
}

/* --- the thread --- */

static bool rt_share_group(const struct rsnap *sn, const struct rsnap_node *a, const struct rsnap_node *b)
{
	const uint32_t *ga = sn->groups + a->groups_off, *gb = sn->groups + b->groups_off;
	uint32_t i = 0, j = 0;

	while (i < a->groups_count && j < b->groups_count) { /* both ascending */
		if (ga[i] == gb[j])
			return true;
		if (ga[i] < gb[j])
			i++;
		else
			j++;
	}
	return false;
}

/* Called by the thread and (rt_rate_main) the main loop at once: the adds
 * are atomic; a window turning over while the other side adds may lose
 * those few bytes, never the limit. */
static bool rt_rate_allows(const struct rsnap *sn, struct rsnap_node *src, size_t len, int64_t now)
{
	uint64_t used;

	if (!sn->rate_bytes_s)
		return true;
	if (atomic_load_explicit(&src->rate_window, memory_order_relaxed) != now) {
		atomic_store_explicit(&src->rate_window, now, memory_order_relaxed);
		atomic_store_explicit(&src->rate_used, 0, memory_order_relaxed);
	}
	used = atomic_fetch_add_explicit(&src->rate_used, len, memory_order_relaxed);
	if (used + len > sn->rate_bytes_s) {
		atomic_fetch_sub_explicit(&src->rate_used, len, memory_order_relaxed);
		return false;
	}
	return true;
}

/* relay.rate: the main loop's share of a node's budget, in the snapshot it
 * published last (only the main loop frees snapshots, and never the
 * current one). */
static int rt_rate_main(void *ctx, uint32_t node_id, size_t len, int64_t now)
{
	const struct server *s = ctx;
	const struct rsnap *sn = s->rt ? atomic_load(&s->rt->snap) : NULL;
	struct rsnap_node *n = sn ? rsnap_by_id(sn, node_id) : NULL;

	return n ? rt_rate_allows(sn, n, len, now) : -ENOENT;
}

/* A RELAY the snapshot refuses may be one the main loop forwards (the
 * snapshot is up to RT_SNAP_MS old: a node that just bound); up to
 * RT_DOUBT_PER_TICK go there per tick, the rest are dropped here, so that a
 * flood from unbound sources or to unreachable peers cannot fill the main
 * loop. true: drop it. */
static bool rt_doubt(struct relay_thread *rt)
{
	uint64_t tick = atomic_load_explicit(&rt->ticks, memory_order_relaxed);

	if (tick != rt->doubt_tick) {
		rt->doubt_tick = tick;
		rt->doubt_used = 0;
	}
	return rt->doubt_used++ >= RT_DOUBT_PER_TICK;
}

/* true: done here (forwarded or dropped and counted); false: the main loop's. */
static bool rt_forward(struct relay_thread *rt, const struct rsnap *sn, uint8_t *buf, size_t len,
		       const struct sockaddr_any *from, int64_t now, uint64_t *c)
{
	const uint8_t *payload, *probe_sender;
	struct rsnap_node *src;
	const struct rsnap_node *dst;
	uint8_t probe_type;
	size_t payload_len;
	uint32_t dst_id;
	bool probe;

	if (coord_relay_parse(buf, len, &dst_id, &payload, &payload_len) < 0) {
		c[RT_MALFORMED]++;
		goto drop;
	}
	probe = coord_probe_peek(payload, payload_len, &probe_type, &probe_sender) == 0;
	switch (probe ? COORD_WG_OK : coord_wg_message_check(payload, payload_len)) {
	case COORD_WG_OK:
		break;
	case COORD_WG_BAD_SIZE:
		c[RT_BAD_SIZE]++;
		goto drop;
	default:
		c[RT_NOT_WG]++;
		goto drop;
	}
	if (!sn || !(src = rsnap_by_ep(sn, &rt->s->dir, from)) || src->active_until <= now) {
		if (!rt_doubt(rt))
			return false;
		c[RT_SENDER]++;
		goto drop;
	}
	if (!(dst = rsnap_by_id(sn, dst_id)) || dst == src || dst->active_until <= now ||
	    !rt_share_group(sn, src, dst)) {
		if (!rt_doubt(rt))
			return false;
		c[RT_DEST]++;
		goto drop;
	}
	if (dst->linked)
		return false; /* the main loop delivers on the link */
	if (!rt_rate_allows(sn, src, len, now)) {
		c[RT_RATE]++;
		goto drop;
	}
	coord_relay_header_write(buf, src->id);
	if (udp_sendq_send(&rt->udp, &rt->tx, &dst->ep, buf, len) < 0) {
		c[RT_SEND]++;
		goto drop;
	}
	c[RT_RELAYED]++;
	c[RT_BYTES] += len;
	c[RT_PROBES] += probe;
	return true;
drop:
	c[RT_DROPPED]++;
	return true;
}

/* A copy for the main loop; false when the queue is full (dropped). */
static bool rt_handback(struct relay_thread *rt, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok = false;

	if (!copy)
		return false;
	memcpy(copy, buf, len);
	pthread_mutex_lock(&rt->lock);
	if (rt->q_count < RT_HANDBACK_MAX && rt->q_bytes + len <= RT_HANDBACK_BYTES) {
		struct rt_item *it = &rt->q[(rt->q_head + rt->q_count++) % RT_HANDBACK_MAX];
		it->from = *from;
		it->len = len;
		it->buf = copy;
		rt->q_bytes += len;
		ok = true;
	}
	rt->q_seen = rt->q_count;
	pthread_mutex_unlock(&rt->lock);
	if (!ok)
		free(copy);
	return ok;
}

/* What may wait for a coalesced wake: a node's KEEP (or ack) or BINDING. */
static bool rt_can_wait(const uint8_t *buf, size_t len)
{
	return len && (buf[0] == COORD_MSG_PUSH_ACK || coord_msg_type(buf, len) == COORD_MSG_BINDING);
}

/* One datagram: forwarded, dropped, or handed to the main loop (counted in
 * c[RT_HANDED]; *urgent: it should be run at once). */
static void rt_datagram(struct relay_thread *rt, const struct rsnap *sn, uint8_t *buf, size_t len,
			const struct sockaddr_any *from, int64_t now, uint64_t *c, bool *urgent)
{
	/* relay_input's order: RELAY_BIND and RELAY_PING first by type byte. */
	if (len && buf[0] != COORD_MSG_RELAY_BIND && buf[0] != COORD_MSG_RELAY_PING &&
	    coord_msg_type(buf, len) == COORD_MSG_RELAY) {
		atomic_store_explicit(&rt->used, true, memory_order_relaxed);
		if (rt_forward(rt, sn, buf, len, from, now, c))
			return;
	}
	if (rt_handback(rt, buf, len, from)) {
		c[RT_HANDED]++;
		*urgent |= !rt_can_wait(buf, len);
		return;
	}
	c[RT_QUEUE_FULL]++;
}

/* One receive batch, GRO slots split as relay_udp.c does. */
static void rt_batch(struct relay_thread *rt, int n, uint64_t *c, bool *urgent)
{
	int64_t now = (int64_t)(server_wall_now_ns() / 1000000000u);
	const struct rsnap *sn;

	atomic_store(&rt->busy, true);
	sn = atomic_load(&rt->snap);
	for (int i = 0; i < n; i++) {
		struct udp_slot *slot = &rt->batch->slots[i];
		size_t seg = slot->segment_size ? slot->segment_size : slot->len;
		if (slot->truncated)
			continue;
		if (!seg) {
			rt_datagram(rt, sn, slot->buf, 0, &slot->addr, now, c, urgent);
			continue;
		}
		for (size_t off = 0; off < slot->len; off += seg)
			rt_datagram(rt, sn, slot->buf + off, slot->len - off < seg ? slot->len - off : seg, &slot->addr,
				    now, c, urgent);
	}
	atomic_store(&rt->busy, false);
	atomic_fetch_add(&rt->seq, 1);
}

static uint64_t rt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void rt_wake_main(struct relay_thread *rt, uint64_t *c)
{
	uint64_t one = 1;

	c[RT_WAKES]++;
	if (write(rt->wake_fd, &one, sizeof(one)) < 0) {
		/* the eventfd cannot overflow at one per batch */
	}
}

/* A wake is pending: wait for the socket until it is due, then wake.
 * True when the socket has something (receive now). */
static bool rt_wait_pending(struct relay_thread *rt, uint64_t *c)
{
	uint64_t now = rt_mono_ns();
	struct pollfd p = { .fd = rt->udp.fd, .events = POLLIN };
	struct timespec ts;

	if (!rt_moderation_due(&rt->mod, now)) {
		ts.tv_sec = (time_t)((rt->mod.due - now) / 1000000000u);
		ts.tv_nsec = (long)((rt->mod.due - now) % 1000000000u);
		if (ppoll(&p, 1, &ts, NULL) > 0)
			return true;
		rt->mod.pending = false;
	}
	rt_wake_main(rt, c);
	return false;
}

/* Blocks in recvmmsg (the socket is blocking for receives only, see
 * rt_start): one system call per batch instead of poll + recvmmsg, and a
 * receive timeout bounds how long relay_thread_stop waits for the flag.
 * With a wake pending, ppoll first (above). */
static void *rt_main(void *arg)
{
	struct relay_thread *rt = arg;
	int n;

	while (!atomic_load(&rt->stop)) {
		uint64_t c[RT_COUNTERS] = { 0 }, dropped0 = rt->tx.dropped, dropped;
		bool urgent = false;
		if (rt->mod.pending && !rt_wait_pending(rt, c)) {
			atomic_fetch_add_explicit(&rt->counters[RT_WAKES], c[RT_WAKES], memory_order_relaxed);
			continue;
		}
		if ((n = udp_recv_batch_wait(&rt->udp, rt->batch)) <= 0)
			continue; /* -EAGAIN: the timeout, to look at rt->stop */
		udp_sendq_cork(&rt->tx);
		rt_batch(rt, n, c, &urgent);
		udp_sendq_uncork(&rt->udp, &rt->tx);
		/* counted as relayed when queued; the socket refused them */
		dropped = rt->tx.dropped - dropped0;
		c[RT_RELAYED] -= dropped < c[RT_RELAYED] ? dropped : c[RT_RELAYED];
		c[RT_DROPPED] += dropped;
		c[RT_SEND] += dropped;
		if (c[RT_HANDED] && rt_moderation_handed(&rt->mod, rt_mono_ns(), c[RT_HANDED], urgent, rt->q_seen))
			rt_wake_main(rt, c);
		for (int k = 0; k < RT_COUNTERS; k++)
			if (c[k])
				atomic_fetch_add_explicit(&rt->counters[k], c[k], memory_order_relaxed);
	}
	return NULL;
}

/* --- the main loop's side --- */

static void rt_fold(struct relay_thread *rt)
{
	struct server_stats *st = &rt->s->stats;
	uint64_t v[RT_COUNTERS];

	for (int k = 0; k < RT_COUNTERS; k++)
		v[k] = atomic_exchange_explicit(&rt->counters[k], 0, memory_order_relaxed);
	st->relayed += v[RT_RELAYED];
	st->relayed_bytes += v[RT_BYTES];
	st->relayed_probes += v[RT_PROBES];
	st->relay_dropped += v[RT_DROPPED];
	st->relay_drop_malformed += v[RT_MALFORMED];
	st->relay_drop_not_wg += v[RT_NOT_WG];
	st->relay_drop_bad_size += v[RT_BAD_SIZE];
	st->relay_drop_rate += v[RT_RATE];
	st->relay_drop_send += v[RT_SEND];
	st->udp_handback_dropped += v[RT_QUEUE_FULL];
	st->relay_drop_sender += v[RT_SENDER];
	st->relay_drop_dest += v[RT_DEST];
	st->udp_handed_back += v[RT_HANDED];
	st->udp_handback_wakes += v[RT_WAKES];
}

static void rt_wake(evutil_socket_t fd, short what, void *arg)
{
	struct relay_thread *rt = arg;
	struct rt_item work[RT_MAIN_BATCH];
	uint64_t v, now_ns = server_wall_now_ns();
	size_t n = 0;
	bool more;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: woken by event_active for what was left */
	}
	pthread_mutex_lock(&rt->lock);
	while (n < RT_MAIN_BATCH && rt->q_count) {
		work[n] = rt->q[rt->q_head];
		rt->q_head = (rt->q_head + 1) % RT_HANDBACK_MAX;
		rt->q_count--;
		rt->q_bytes -= work[n++].len;
	}
	more = rt->q_count > 0;
	pthread_mutex_unlock(&rt->lock);
	udp_sendq_cork(&rt->s->relay_tx);
	for (size_t i = 0; i < n; i++) {
		relay_udp_datagram(rt->s, work[i].buf, work[i].len, &work[i].from, now_ns);
		free(work[i].buf);
	}
	relay_udp_flush(rt->s);
	/* Let the other events run before the rest. */
	if (more)
		event_active(rt->wake_ev, EV_READ, 0);
}

static void rt_tick(evutil_socket_t fd, short what, void *arg)
{
	struct relay_thread *rt = arg;
	uint64_t since;

	(void)fd;
	(void)what;
	since = atomic_fetch_add_explicit(&rt->ticks, 1, memory_order_relaxed) + 1 - rt->snap_ticks;
	rt_fold(rt);
	/* Rebuilt only while the thread sees RELAY traffic (an idle server
	 * does not walk its directory every RT_SNAP_MS), and then only when
	 * the directory changed since, or RT_SNAP_REBUILD_TICKS went by. */
	if (atomic_load(&rt->used) && since >= rt->snap_gap &&
	    (rt->s->dir.relay_gen != rt->snap_gen || since >= RT_SNAP_REBUILD_TICKS)) {
		atomic_store(&rt->used, false);
		rt_publish(rt);
	}
	rt_reclaim(rt);
}

static bool rt_inline(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAM_TEST_RELAY_INLINE");
	return v && *v == '1';
#else
	return false;
#endif
}

static int rt_start(struct server *s, struct relay_thread *rt)
{
	struct timeval tick = { 0, RT_SNAP_MS * 1000 };
	sigset_t all, old;
	int r;

	rt->s = s;
	rt->udp = s->udp;
	rt->wake_fd = -1;
	pthread_mutex_init(&rt->lock, NULL);
	if ((rt->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	/* The thread alone receives on the socket (the main loop registers no
	 * read event when it runs); every send passes MSG_DONTWAIT. */
	if ((r = udp_set_blocking_recv(&rt->udp, RT_STOP_CHECK_MS)) < 0)
		return r;
	if ((r = udp_batch_new(RT_SLOT_BYTES, &rt->batch)) < 0 || (r = udp_sendq_init(&rt->tx)) < 0)
		return r;
	rt->wake_ev = event_new(s->base, rt->wake_fd, EV_READ | EV_PERSIST, rt_wake, rt);
	rt->tick_ev = event_new(s->base, -1, EV_PERSIST, rt_tick, rt);
	/* What the thread hands back (BINDINGs, PUSH_ACKs) comes first; the
	 * tick (counters, the snapshot's rebuild) is ordinary work. */
	if (!rt->wake_ev || !rt->tick_ev || event_priority_set(rt->wake_ev, SERVER_PRIO_UDP) < 0 ||
	    event_add(rt->wake_ev, NULL) < 0 || event_add(rt->tick_ev, &tick) < 0)
		return -ENOMEM;
	/* Signals stay with the main loop (libevent's handlers). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&rt->tid, NULL, rt_main, rt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	/* Named before relay_open returns (top -H, /proc/PID/task/TID/comm). */
	pthread_setname_np(rt->tid, "roam-relay");
	rt->started = true;
	s->relay.rate = rt_rate_main;
	return 0;
}

int relay_thread_start(struct server *s)
{
	struct relay_thread *rt;
	int r;

	if (rt_inline())
		return -ENOTSUP;
	if (!(rt = calloc(1, sizeof(*rt))))
		return -ENOMEM;
	s->rt = rt;
	if ((r = rt_start(s, rt)) < 0)
		relay_thread_stop(s);
	return r;
}

void relay_thread_stop(struct server *s)
{
	struct relay_thread *rt = s->rt;

	if (!rt)
		return;
	s->relay.rate = NULL;
	if (rt->started) {
		atomic_store(&rt->stop, true);
		pthread_join(rt->tid, NULL);
		rt_fold(rt);
	}
	if (rt->wake_ev)
		event_free(rt->wake_ev);
	if (rt->tick_ev)
		event_free(rt->tick_ev);
	for (size_t i = 0; i < rt->q_count; i++)
		free(rt->q[(rt->q_head + i) % RT_HANDBACK_MAX].buf);
	rsnap_free(atomic_load(&rt->snap));
	while (rt->retired) {
		struct rsnap *sn = rt->retired;
		rt->retired = sn->retired_next;
		rsnap_free(sn);
	}
	udp_sendq_destroy(&rt->tx);
	udp_batch_free(rt->batch);
	if (rt->wake_fd >= 0)
		close(rt->wake_fd);
	pthread_mutex_destroy(&rt->lock);
	if (s->stats.udp_handback_dropped)
		log_info("relay thread: %llu datagrams dropped, the main loop's queue full",
			 (unsigned long long)s->stats.udp_handback_dropped);
	free(rt);
	s->rt = NULL;
}
