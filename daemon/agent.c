/* The agent (daemon/privsep.h): roamd re-executed as "roamd-agent" to run
 * managed mode without privileges. It takes its orders from the monitor on
 * fd PRIVSEP_AGENT_FD and reaches the data plane only by messages. */
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "daemon/privsep.h"
#include "daemon/transport/dgram_pair.h"
#include "util/log.h"

struct agent {
	struct ev_loop *loop;
	int fd;
	struct ev_io io;
	struct managed m;
	struct dgram_pair relay; /* datagrams to and from the data plane's relay */
	struct ev_io relay_io;
	bool initialised;
	struct ps_init init;
};

static void send_msg(struct agent *a, enum ps_type type, const void *payload, size_t len)
{
	alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	size_t n = privsep_msg_build(buf, type, payload, len);
	/* Blocking: the monitor drains its end every loop turn, and a full
	 * view must not lose peers to a full socket buffer. */
	if (send(a->fd, buf, n, MSG_NOSIGNAL) < 0)
		log_debug("agent: send to monitor: %s", strerror(errno));
	crypto_wipe(buf, n);
}

/* --- struct managed_host_ops, as messages ------------------------------ */

static void op_set_addresses(void *ctx, const struct coord_node *self)
{
	send_msg(ctx, PS_SET_ADDRESSES, self, sizeof(*self));
}

static void op_peer_set(void *ctx, const struct managed_peer_info *peer)
{
	send_msg(ctx, PS_PEER_SET, peer, sizeof(*peer));
}

static void op_peer_remove(void *ctx, const uint8_t public_key[COORD_KEY_LEN])
{
	struct ps_key k;
	memcpy(k.public_key, public_key, sizeof(k.public_key));
	send_msg(ctx, PS_PEER_REMOVE, &k, sizeof(k));
}

static void op_peers_clear(void *ctx)
{
	send_msg(ctx, PS_PEERS_CLEAR, NULL, 0);
}

static void op_set_server_udp(void *ctx, const struct sockaddr_any *server)
{
	send_msg(ctx, PS_SET_SERVER_UDP, server, sizeof(*server));
}

static void op_send_udp(void *ctx, const struct sockaddr_any *to, const uint8_t *msg, size_t len)
{
	struct ps_udp u;
	if (privsep_udp_fill(&u, to, msg, len) == 0)
		send_msg(ctx, PS_UDP_OUT, &u, sizeof(u));
}

static void op_publish_status(void *ctx, const struct managed_status *st)
{
	send_msg(ctx, PS_STATUS, st, sizeof(*st));
}

static void op_save_membership(void *ctx, const struct managed_membership *ms)
{
	send_msg(ctx, PS_SAVE, ms, sizeof(*ms));
}

static void op_relay_link(void *ctx, uint8_t relay, enum managed_relay_link link, bool dead)
{
	struct ps_relay_link l = { .link = link, .relay = relay, .dead = dead };
	send_msg(ctx, PS_RELAY_LINK, &l, sizeof(l));
}

/* Leaves with the next batch, at the end of the loop turn, behind the
 * byte that names its relay. */
static void op_relay_deliver(void *ctx, uint8_t relay, const uint8_t *d, size_t len)
{
	struct agent *a = ctx;
	dgram_pair_queue(&a->relay, &relay, 1, d, len);
}

static void op_relay_key_request(void *ctx, const uint8_t relay_pub[COORD_KEY_LEN])
{
	struct ps_key k;
	memcpy(k.public_key, relay_pub, sizeof(k.public_key));
	send_msg(ctx, PS_RELAY_KEY_REQ, &k, sizeof(k));
}

static void op_relay_addrs(void *ctx, const uint8_t *ids, const struct sockaddr_any *addrs, size_t n)
{
	struct ps_relay_addrs a = { 0 };
	for (size_t i = 0; i < n && a.count < COORD_RELAYS_MAX; i++, a.count++) {
		a.r[a.count].id = ids[i];
		a.r[a.count].udp = addrs[i];
	}
	send_msg(ctx, PS_RELAY_ADDRS, &a, sizeof(a));
}

static void op_files_waiting(void *ctx)
{
	send_msg(ctx, PS_FILES_WAITING, NULL, 0);
}

static void op_peer_answer(void *ctx, const struct ondemand_query *q, enum ondemand_result r)
{
	struct ps_peer_answer a = { .q = *q, .result = r };
	send_msg(ctx, PS_PEER_ANSWER, &a, sizeof(a));
}

static const struct managed_host_ops agent_ops = {
	.set_addresses = op_set_addresses,
	.peer_set = op_peer_set,
	.peer_remove = op_peer_remove,
	.peers_clear = op_peers_clear,
	.set_server_udp = op_set_server_udp,
	.send_udp = op_send_udp,
	.publish_status = op_publish_status,
	.save_membership = op_save_membership,
	.relay_link = op_relay_link,
	.relay_deliver = op_relay_deliver,
	.relay_key_request = op_relay_key_request,
	.relay_addrs = op_relay_addrs,
	.files_waiting = op_files_waiting,
	.peer_answer = op_peer_answer,
};

/* --- orders from the monitor -------------------------------------------- */

static void on_up(struct agent *a, const struct ps_up *up)
{
	managed_up(&a->m, up->has_server ? up->server : NULL, &up->token, up->control_key,
		   up->has_name ? up->name : NULL, up->has_proxy ? up->proxy : NULL, up->force, up->tls_interception,
		   up->seq);
}

static void handle(struct agent *a, const struct ps_msg *msg)
{
	const struct ps_udp *udp;
	switch (msg->type) {
	case PS_PEER_HELD:
		managed_adopt_peer(&a->m, msg->payload);
		break;
	case PS_START:
		managed_start(&a->m, &a->init.ms, a->init.control_key);
		crypto_wipe(&a->init, sizeof(a->init));
		break;
	case PS_UP: on_up(a, msg->payload); break;
	case PS_DOWN: managed_down(&a->m); break;
	case PS_UDP_IN:
		udp = msg->payload;
		managed_udp_input(&a->m, udp->data, udp->len, &udp->peer);
		break;
	case PS_ADDR_CHANGED: managed_address_changed(&a->m); break;
	case PS_NETCHECK: managed_netcheck_start(&a->m, ((const struct ps_netcheck *)msg->payload)->seq); break;
	case PS_REBIND: managed_rebind(&a->m); break;
	case PS_PATHS: managed_paths_send(&a->m, msg->payload); break;
	case PS_PEER_ASK: managed_ondemand_ask(&a->m, msg->payload); break;
	case PS_PEER_IDLE: managed_ondemand_idle(&a->m, ((const struct ps_key *)msg->payload)->public_key); break;
	case PS_FILE_KEY:
		a->m.has_file_key = true;
		memcpy(a->m.file_key, ((const struct ps_key *)msg->payload)->public_key, COORD_KEY_LEN);
		break;
	case PS_RELAY_KEY: {
		const struct ps_relay_key *k = msg->payload;
		managed_relays_key(&a->m, k->relay_pub, k->k_nr, k->ok);
		break;
	}
	case PS_STOP:
		ev_io_stop(a->loop, &a->io);
		managed_stop(&a->m, ((const struct ps_stop *)msg->payload)->logout);
		ev_loop_stop(a->loop);
		break;
	default: break;
	}
}

static void on_monitor_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct agent *a = io->data;
	alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	(void)revents;
	for (;;) {
		ssize_t n = recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		struct ps_msg msg;
		if (n <= 0 || (size_t)n > sizeof(buf) || privsep_msg_check(buf, (size_t)n, false, &msg) < 0) {
			/* The monitor is gone (or not itself): so are we. */
			ev_io_stop(loop, io);
			managed_stop(&a->m, false);
			ev_loop_stop(loop);
			return;
		}
		handle(a, &msg);
		crypto_wipe(buf, (size_t)n);
		if (!a->m.loop)
			return; /* stopped */
	}
}

static void on_turn_end(struct ev_loop *loop, void *data)
{
	struct agent *a = data;
	(void)loop;
	if (a->m.loop) {
		managed_relay_flush(&a->m);
		managed_publish(&a->m);
	}
	dgram_pair_flush(&a->relay);
}

static void on_relay_dgram(void *ctx, uint8_t *d, size_t len)
{
	struct agent *a = ctx;
	if (a->m.loop)
		managed_relay_output(&a->m, d, len);
}

/* Datagrams the data plane sends through the relay link. */
static void on_relay_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct agent *a = io->data;
	(void)revents;
	for (int i = 0; i < 4; i++) {
		int n = dgram_pair_recv(&a->relay, on_relay_dgram, a);
		if (n < 0) {
			ev_io_stop(loop, io); /* the monitor is gone: its channel tells us too */
			return;
		}
		if (n < DGRAM_PAIR_BATCH)
			return;
	}
}

/* The first message, read before any privilege is dropped: who to become. */
static int read_init(struct agent *a)
{
	alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	struct ps_msg msg;
	ssize_t n;
	do
		n = recv(a->fd, buf, sizeof(buf), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || (size_t)n > sizeof(buf) || privsep_msg_check(buf, (size_t)n, false, &msg) < 0 ||
	    msg.type != PS_INIT)
		return -EPROTO;
	memcpy(&a->init, msg.payload, sizeof(a->init));
	crypto_wipe(buf, (size_t)n);
	return 0;
}

int roamd_agent_main(void)
{
	struct agent a = { .fd = PRIVSEP_AGENT_FD };
	char why[256];
	int ret;

	/* Ctrl-C on a terminal reaches the whole process group: the monitor
	 * decides when we stop (PS_STOP, or our socket closing). */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() < 0 || read_init(&a) < 0) {
		log_err("agent: no valid start message from roamd");
		return 1;
	}
	log_set_level((enum log_level)a.init.log_level);
	if ((ret = agent_sandbox_enter(a.init.user, why, sizeof(why))) < 0) {
		log_err("agent: %s", why);
		return 1;
	}
	if ((ret = ev_loop_new(&a.loop)) < 0 ||
	    (ret = managed_init(&a.m, a.loop, &agent_ops, &a, a.init.public_key, a.init.port, a.init.ifname)) < 0) {
		log_err("agent: %s", strerror(-ret));
		return 1;
	}
	ev_loop_set_prepare(a.loop, on_turn_end, &a);
	ev_io_init(&a.io, a.fd, EPOLLIN, on_monitor_readable, &a);
	/* Without the pair the relay works over UDP only. */
	if (dgram_pair_init(&a.relay, PRIVSEP_RELAY_FD) < 0 ||
	    (ev_io_init(&a.relay_io, PRIVSEP_RELAY_FD, EPOLLIN, on_relay_readable, &a),
	     ev_io_start(a.loop, &a.relay_io)) < 0)
		log_warn("agent: no relay datagram pair: relay links other than UDP are off");
	if ((ret = ev_io_start(a.loop, &a.io)) < 0 || (ret = ev_loop_run(a.loop)) < 0)
		log_err("agent: event loop: %s", strerror(-ret));
	managed_stop(&a.m, false);
	if (a.relay.fd >= 0)
		ev_io_stop(a.loop, &a.relay_io);
	dgram_pair_close(&a.relay);
	ev_loop_free(a.loop);
	crypto_wipe(&a.init, sizeof(a.init));
	close(a.fd);
	return ret < 0 ? 1 : 0;
}
