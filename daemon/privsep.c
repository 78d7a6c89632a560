/* The monitor's side of privilege separation (daemon/privsep.h): starting
 * the agent, checking and applying what it asks, restarting it if it dies. */
#include "daemon/files/file_service.h"
#include "daemon/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "daemon/paths_report.h"
#include "daemon/roamd.h"
#include "util/log.h"

#define MSGS_PER_WAKEUP 256     /* so the agent cannot starve the data plane */
#define RESTART_MAX_S 30
#define RESTART_RESET_NS (60 * EV_NSEC_PER_SEC) /* ran this long: next restart is quick again */
#define STOP_WAIT_MS 2500      /* the agent's logout takes at most 1.5 s */
/* Messages waiting for the agent to read (a socket queue holds only
 * net.unix.max_dgram_qlen of them): room for a full view and then some. */
#define QUEUE_MAX_BYTES (64 * 1024 * 1024)

struct queued_msg {
	struct queued_msg *next;
	size_t len;
	uint8_t data[];
};

struct privsep_parent {
	struct roamd *d;
	char user[32];
	int fd;
	pid_t pid;
	struct ev_io io;
	struct ev_timer restart_timer;
	struct ev_timer paths_timer; /* daemon/paths_report.c */
	struct roamd_paths_report paths;
	unsigned backoff_s;
	uint64_t started_at;
	struct queued_msg *queue_head, **queue_tail;
	size_t queued_bytes;
	uint64_t queue_dropped;
};

static int spawn(struct privsep_parent *p);

static void queue_free(struct privsep_parent *p)
{
	while (p->queue_head) {
		struct queued_msg *q = p->queue_head;
		p->queue_head = q->next;
		crypto_wipe(q->data, q->len);
		free(q);
	}
	p->queue_tail = &p->queue_head;
	p->queued_bytes = 0;
}

/* Sends what waits, in order; true when nothing is left. */
static bool queue_flush(struct privsep_parent *p)
{
	while (p->queue_head) {
		struct queued_msg *q = p->queue_head;
		if (send(p->fd, q->data, q->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			log_debug("agent: send: %s", strerror(errno));
		}
		p->queue_head = q->next;
		p->queued_bytes -= q->len;
		crypto_wipe(q->data, q->len);
		free(q);
	}
	p->queue_tail = &p->queue_head;
	return true;
}

static void enqueue(struct privsep_parent *p, const uint8_t *msg, size_t n)
{
	struct queued_msg *q;
	if (p->queued_bytes + n > QUEUE_MAX_BYTES || !(q = malloc(sizeof(*q) + n))) {
		p->queue_dropped++;
		return;
	}
	q->next = NULL;
	q->len = n;
	memcpy(q->data, msg, n);
	*p->queue_tail = q;
	p->queue_tail = &q->next;
	p->queued_bytes += n;
	ev_io_modify(p->d->loop, &p->io, EPOLLIN | EPOLLOUT);
}

void privsep_agent_send(struct roamd *d, enum ps_type type, const void *payload, size_t len)
{
	struct privsep_parent *p = d->host.agent;
	alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	if (!p || p->fd < 0 || len > PS_MSG_MAX - sizeof(struct ps_hdr))
		return;
	size_t n = privsep_msg_build(buf, type, payload, len);
	if (p->queue_head || send(p->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (p->queue_head || errno == EAGAIN || errno == EINTR)
			enqueue(p, buf, n);
		else
			log_debug("agent: send: %s", strerror(errno));
	}
	crypto_wipe(buf, n);
}

/* K_nr for the relay key the agent names (any key: the label binds the
 * result to relay links, so it is no oracle for K or a tunnel's keys). At
 * most RELAY_KEYS_PER_S a second: an X25519 each. */
#define RELAY_KEYS_PER_S 64
static void relay_key_answer(struct roamd *d, const uint8_t relay_pub[COORD_KEY_LEN])
{
	static uint64_t window;
	static unsigned count;
	struct ps_relay_key k = { .ok = 1 };
	uint64_t now = ev_now(d->loop);
	if (now - window >= EV_NSEC_PER_SEC) {
		window = now;
		count = 0;
	}
	if (++count > RELAY_KEYS_PER_S)
		return; /* the agent asks again with the next relay map */
	memcpy(k.relay_pub, relay_pub, COORD_KEY_LEN);
	if (relay_key_derive(k.k_nr, d->host.st.private_key, relay_pub, RELAY_NODE_KEY_LABEL) < 0) {
		memset(k.k_nr, 0, sizeof(k.k_nr));
		k.ok = 0;
	}
	privsep_agent_send(d, PS_RELAY_KEY, &k, sizeof(k));
	crypto_wipe(&k, sizeof(k));
}

static void dispatch(struct roamd *d, const struct ps_msg *msg)
{
	const struct ps_udp *udp;
	switch (msg->type) {
	case PS_SET_ADDRESSES: roamd_host_set_addresses(d, msg->payload); break;
	case PS_PEER_SET: roamd_host_peer_set(d, msg->payload); break;
	case PS_PEER_REMOVE: roamd_host_peer_remove(d, ((const struct ps_key *)msg->payload)->public_key); break;
	case PS_PEERS_CLEAR: roamd_host_peers_clear(d); break;
	case PS_SET_SERVER_UDP: roamd_host_set_server_udp(d, msg->payload); break;
	case PS_UDP_OUT:
		udp = msg->payload;
		roamd_host_send_udp(d, &udp->peer, udp->data, udp->len);
		break;
	case PS_STATUS: roamd_host_publish_status(d, msg->payload); break;
	case PS_SAVE: roamd_host_save_membership(d, msg->payload); break;
	case PS_RELAY_LINK:
		roamd_relay_set_link(d, msg->payload);
		break;
	case PS_RELAY_KEY_REQ: relay_key_answer(d, ((const struct ps_key *)msg->payload)->public_key); break;
	case PS_RELAY_ADDRS: roamd_relay_set_addrs(d, msg->payload); break;
	case PS_FILES_WAITING: roamd_files_poll_now(d); break;
	case PS_PEER_ANSWER: roamd_ondemand_answer(d, msg->payload); break;
	default: break; /* privsep_msg_check lets only agent messages through */
	}
}

static void reap(struct privsep_parent *p)
{
	int status = 0;
	if (p->pid <= 0)
		return;
	/* It closed its end, so it is exiting: a bounded wait. */
	for (int i = 0; i < 50; i++) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid || (r < 0 && errno != EINTR))
			break;
		if (i == 49) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
		usleep(10000);
	}
	if (WIFSIGNALED(status))
		log_warn("agent (pid %d) killed by signal %d", (int)p->pid, WTERMSIG(status));
	else
		log_debug("agent (pid %d) exited with status %d", (int)p->pid, WEXITSTATUS(status));
	p->pid = -1;
}

static void close_channel(struct privsep_parent *p)
{
	roamd_relay_pair_stop(p->d);
	queue_free(p);
	if (p->fd >= 0) {
		ev_io_stop(p->d->loop, &p->io);
		close(p->fd);
	}
	p->fd = -1;
}

/* The agent is gone (crashed, killed, or misbehaved): tunnels keep
 * working on the data plane; a new agent resumes managed mode. */
static void agent_lost(struct privsep_parent *p, const char *why)
{
	struct ev_loop *loop = p->d->loop;
	close_channel(p);
	reap(p);
	if (ev_now(loop) - p->started_at > RESTART_RESET_NS)
		p->backoff_s = 0;
	p->backoff_s = p->backoff_s ? p->backoff_s * 2 : 1;
	if (p->backoff_s > RESTART_MAX_S)
		p->backoff_s = RESTART_MAX_S;
	log_err("managed-mode agent lost (%s): restarting it in %u s; tunnels keep working meanwhile", why, p->backoff_s);
	ev_timer_start(loop, &p->restart_timer, ev_now(loop) + (uint64_t)p->backoff_s * EV_NSEC_PER_SEC);
}

static void on_agent_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct privsep_parent *p = io->data;
	alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
	(void)loop;
	if ((revents & EPOLLOUT) && queue_flush(p))
		ev_io_modify(p->d->loop, &p->io, EPOLLIN);
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (int i = 0; i < MSGS_PER_WAKEUP; i++) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			agent_lost(p, n == 0 ? "it exited" : strerror(errno));
			return;
		}
		struct ps_msg msg;
		if ((size_t)n > sizeof(buf) || privsep_msg_check(buf, (size_t)n, true, &msg) < 0) {
			/* It sends only what the same binary builds: anything
			 * else means it is not itself any more. */
			kill(p->pid, SIGKILL);
			agent_lost(p, "it sent a malformed message");
			return;
		}
		dispatch(p->d, &msg);
	}
}

static void on_restart(struct ev_loop *loop, struct ev_timer *t)
{
	struct privsep_parent *p = t->data;
	(void)loop;
	if (spawn(p) < 0)
		agent_lost(p, "cannot start it");
}

/* What a new agent needs: who we are, the membership and its control key
 * (computed here: the private key never leaves this process), and the
 * peers the data plane already holds, so its first full view can drop
 * the ones that are gone. */
static void send_init(struct privsep_parent *p)
{
	struct roamd *d = p->d;
	struct ps_init init;
	memset(&init, 0, sizeof(init));
	snprintf(init.user, sizeof(init.user), "%s", p->user);
	memcpy(init.public_key, wg_device_public_key(d->wg), sizeof(init.public_key));
	init.port = d->udp.port;
	snprintf(init.ifname, sizeof(init.ifname), "%s", d->ifname);
	init.log_level = (uint8_t)log_get_level();
	roamd_host_membership(d, &init.ms);
	if (init.ms.server_url[0] &&
	    coord_control_key(init.control_key, d->host.st.private_key, init.ms.token.server_pub) < 0)
		memset(init.control_key, 0, sizeof(init.control_key));
	roamd_ondemand_agent_started(d);
	privsep_agent_send(d, PS_INIT, &init, sizeof(init));
	crypto_wipe(&init, sizeof(init));
	struct ps_key file_key;
	if (roamd_files_public_key(d, file_key.public_key) == 0)
		privsep_agent_send(d, PS_FILE_KEY, &file_key, sizeof(file_key));
	for (struct wg_peer *peer = wg_device_first_peer(d->wg); peer; peer = wg_device_next_peer(peer))
		if (peer->user)
			privsep_agent_send(d, PS_PEER_HELD, peer->user, sizeof(struct managed_peer_info));
	privsep_agent_send(d, PS_START, NULL, 0);
}

void privsep_exec_self(const char *argv0)
{
	sigset_t none;
	char *argv[] = { (char *)(uintptr_t)argv0, NULL };
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer cannot stop the world once the child dropped its
	 * privileges (no ptrace): leaks are checked in unit tests instead. */
	const char *opts = getenv("ASAN_OPTIONS");
	char buf[512];
	snprintf(buf, sizeof(buf), "%s%sdetect_leaks=0", opts ? opts : "", opts && *opts ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1);
#endif
	execv("/proc/self/exe", argv);
	_exit(127);
}

void privsep_fd_to(int fd, int target)
{
	if (fd != target) {
		if (dup2(fd, target) < 0)
			_exit(127);
	} else {
		fcntl(fd, F_SETFD, 0);
	}
}

int privsep_seqpacket_pair(int sv[2], int bufsize)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize));
	}
	return 0;
}

static void exec_agent(int fd, int relay_fd)
{
	/* Both onto their fixed numbers; dup2 clears FD_CLOEXEC on the copy.
	 * The relay pair moves out of the way first if it sits on fd 3. */
	if (relay_fd == PRIVSEP_AGENT_FD && (relay_fd = fcntl(relay_fd, F_DUPFD_CLOEXEC, PRIVSEP_RELAY_FD + 1)) < 0)
		_exit(127);
	privsep_fd_to(fd, PRIVSEP_AGENT_FD);
	privsep_fd_to(relay_fd, PRIVSEP_RELAY_FD);
	close_range(PRIVSEP_RELAY_FD + 1, ~0U, 0);
	privsep_exec_self(PRIVSEP_AGENT_ARGV0);
}

static int spawn(struct privsep_parent *p)
{
	int sv[2], rv[2], ret;
	/* Big buffers: a full view of thousands of peers arrives in a burst
	 * (the queue above takes what does not fit). */
	if ((ret = privsep_seqpacket_pair(sv, 4 * 1024 * 1024)) < 0)
		return ret;
	/* The datagram pair: relay datagrams in bulk, when a TCP relay link
	 * carries them (daemon/transport/dgram_pair.h). */
	if ((ret = privsep_seqpacket_pair(rv, DGRAM_PAIR_SOCKBUF)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		close(rv[0]);
		close(rv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		close(rv[0]);
		exec_agent(sv[1], rv[1]);
	}
	close(sv[1]);
	close(rv[1]);
	ret = roamd_relay_pair_start(p->d, rv[0]); /* takes rv[0] */
	if (ret < 0)
		log_warn("no relay datagram pair to the agent (%s): the relay works over UDP only", strerror(-ret));
	p->fd = sv[0];
	p->pid = pid;
	p->started_at = ev_now(p->d->loop);
	ev_io_init(&p->io, p->fd, EPOLLIN, on_agent_readable, p);
	ret = ev_io_start(p->d->loop, &p->io);
	if (ret < 0) {
		close_channel(p);
		kill(pid, SIGKILL);
		reap(p);
		return ret;
	}
	log_debug("agent started (pid %d)", (int)pid);
	send_init(p);
	return 0;
}

/* The peers' paths to the agent when they changed (or now and then), for
 * the server's connections page. */
static void on_paths_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct privsep_parent *p = t->data;
	struct coord_paths_report *r = roamd_paths_report_due(p->d, &p->paths);
	if (r)
		privsep_agent_send(p->d, PS_PATHS, r, sizeof(*r));
	ev_timer_start(loop, t, ev_now(loop) + ROAMD_PATHS_CHECK_S * EV_NSEC_PER_SEC);
}

int privsep_agent_start(struct roamd *d, const char *user)
{
	struct privsep_parent *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->d = d;
	p->fd = -1;
	p->pid = -1;
	p->queue_tail = &p->queue_head;
	snprintf(p->user, sizeof(p->user), "%s", user ? user : PRIVSEP_DEFAULT_USER);
	ev_timer_init(&p->restart_timer, on_restart, p);
	ev_timer_init(&p->paths_timer, on_paths_timer, p);
	ev_timer_start(d->loop, &p->paths_timer, ev_now(d->loop) + ROAMD_PATHS_CHECK_S * EV_NSEC_PER_SEC);
	d->host.agent = p;
	int ret = spawn(p);
	if (ret < 0) {
		log_err("cannot start the managed-mode agent: %s", strerror(-ret));
		d->host.agent = NULL;
		free(p);
	}
	return ret;
}

void privsep_agent_stop(struct roamd *d, bool logout)
{
	struct privsep_parent *p = d->host.agent;
	if (!p)
		return;
	ev_timer_stop(d->loop, &p->restart_timer);
	ev_timer_stop(d->loop, &p->paths_timer);
	if (p->fd >= 0) {
		struct ps_stop stop = { .logout = logout };
		privsep_agent_send(d, PS_STOP, &stop, sizeof(stop));
		/* What is queued (the stop last) goes first, for a second at most. */
		for (int i = 0; i < 20 && !queue_flush(p); i++) {
			struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
			poll(&pfd, 1, 50);
		}
		/* Wait for it to finish its logout and close its end. */
		struct timeval tv = { .tv_sec = 0, .tv_usec = STOP_WAIT_MS * 1000 };
		uint8_t buf[PS_MSG_MAX];
		setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) & ~O_NONBLOCK);
		ssize_t r;
		while ((r = recv(p->fd, buf, sizeof(buf), 0)) > 0)
			; /* late status messages: not needed any more */
		if (r < 0 && p->pid > 0)
			kill(p->pid, SIGKILL); /* did not finish in time */
		close_channel(p);
	}
	reap(p);
	d->host.agent = NULL;
	free(p);
}
