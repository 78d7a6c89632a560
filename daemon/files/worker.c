/* roamd-files, the file worker (daemon/files/file_service.h): an event loop for
 * the monitor's messages and the listening sockets, and one thread per
 * transfer doing blocking I/O with timeouts (transfer_*.c). The table of
 * transfers is shared under one lock; the loop reports it to the monitor. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/file_service.h"
#include "daemon/files/index_ls.h"
#include "daemon/files/index_publish.h"
#include "daemon/files/index_seen.h"
#include "daemon/files/publish_state.h"
#include "daemon/files/pull_host.h"
#include "daemon/files/pull_job.h"
#include "daemon/files/worker.h"
#include "daemon/privsep.h"
#include "ev/loop.h"
#include "util/log.h"

#define SNAPSHOT_EVERY_NS (200 * EV_NSEC_PER_MSEC)
#define RETRY_DEFAULT_NS (120 * EV_NSEC_PER_SEC)
#define SWEEP_EVERY_NS (3600 * EV_NSEC_PER_SEC)
#define POLL_DEFAULT_NS (30 * EV_NSEC_PER_SEC)

struct worker *xfer_worker;

struct loop_state {
	struct ev_loop *loop;
	struct worker *w;
	struct ev_io msg_io, wake_io;
	struct ev_timer tick;
	struct listener {
		int fd;
		struct ev_io io;
		struct ip_prefix addr;
		bool complained; /* a failure to bind is logged once */
	} listeners[2];
	uint64_t reported_seq;
	bool reported_once;
	uint64_t swept_at; /* the last sweep of stale partial files */
	struct ip_prefix self[2]; /* where we should listen */
	int n_self;
	/* A view comes in parts (files_host.c send_view: one message cannot
	 * hold thousands of peers); the set is replaced when the last arrives. */
	struct worker_peer *pending;
	size_t pending_n, pending_cap;
	long pending_part; /* the next part expected; -1: none under way */
	/* Refused connections, closed a moment after their answer: closing at
	 * once with the offer unread would reset the connection and lose the
	 * answer (the sender would not learn why). */
	struct closing {
		int fd;
		uint64_t until_ns;
	} closing[16];
};

#define CLOSING_NS (2 * EV_NSEC_PER_SEC)

uint64_t worker_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool finished(enum xfer_state s)
{
	return s == XFER_FREE || s == XFER_DELIVERED || s == XFER_RECEIVED || s == XFER_FAILED || s == XFER_CANCELLED;
}

struct xfer *worker_slot_take(struct worker *w)
{
	struct xfer *best = NULL;
	for (int i = 0; i < XFER_SLOTS; i++) {
		struct xfer *x = &w->xfers[i];
		if (x->state == XFER_FREE)
			return x;
		if (finished(x->state) && (!best || x->seq < best->seq))
			best = x;
	}
	if (best)
		memset(best, 0, sizeof(*best));
	return best;
}

void worker_changed(struct worker *w, struct xfer *x)
{
	x->seq = ++w->seq;
	/* An end (or "queued") is reported at once, not at the next tick:
	 * `roam push` and `roam pull` see it without that delay. */
	if (w->wake_fd >= 0 && (finished(x->state) || x->state == XFER_QUEUED)) {
		uint64_t one = 1;
		ssize_t n = write(w->wake_fd, &one, sizeof(one)); /* full: a wake is pending anyway */
		(void)n;
	}
}

int worker_peer_by_id(struct worker *w, uint32_t id, struct worker_peer *out)
{
	int ret = -ENOENT;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n_peers && ret < 0; i++)
		if (id && w->peers[i].id == id) {
			*out = w->peers[i];
			ret = 0;
		}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int worker_peer_lookup(struct worker *w, const struct ip_prefix *addr, char *name, size_t size)
{
	for (size_t i = 0; i < w->n_peers; i++) {
		const struct ip_prefix *p = &w->peers[i].addr;
		if (p->family == addr->family && memcmp(p->addr, addr->addr, ip_prefix_addr_len(p->family)) == 0) {
			snprintf(name, size, "%s", w->peers[i].name);
			return 1;
		}
	}
	return 0;
}

/* The table, newest last, to the monitor. */
static void report(struct loop_state *ls)
{
	struct worker *w = ls->w;
	bool active = false;
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "state");
	cJSON *arr = cJSON_AddArrayToObject(msg, "files");
	uint64_t now = worker_now_ns();
	pthread_mutex_lock(&w->lock);
	const struct xfer *order[XFER_SLOTS];
	int n = 0;
	for (int i = 0; i < XFER_SLOTS; i++)
		if (w->xfers[i].state != XFER_FREE)
			order[n++] = &w->xfers[i];
	for (int i = 1; i < n; i++) /* by age: a handful of entries */
		for (int j = i; j > 0 && order[j]->seq < order[j - 1]->seq; j--) {
			const struct xfer *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		const struct xfer *x = order[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", x->id);
		cJSON_AddStringToObject(o, "direction", x->outgoing ? "sent" : x->pull ? "pulled" : "received");
		cJSON_AddStringToObject(o, "peer", x->peer);
		cJSON_AddStringToObject(o, "name", x->name);
		cJSON_AddStringToObject(o, "state", xfer_state_name(x->state));
		cJSON_AddNumberToObject(o, "size", (double)x->size);
		cJSON_AddNumberToObject(o, "bytes", (double)x->done);
		uint64_t end = x->run_end_ns ? x->run_end_ns : now;
		double secs = x->run_start_ns && end > x->run_start_ns ? (double)(end - x->run_start_ns) / 1e9 : 0;
		cJSON_AddNumberToObject(o, "rate", secs > 0.05 ? (double)(x->done - x->run_start_bytes) / secs : 0);
		if (x->error[0])
			cJSON_AddStringToObject(o, "error", x->error);
		if (x->where[0])
			cJSON_AddStringToObject(o, "path", x->where);
		if (x->pull)
			pull_job_report(x, o);
		cJSON_AddItemToArray(arr, o);
		active |= !finished(x->state);
	}
	uint64_t seq = w->seq;
	pthread_mutex_unlock(&w->lock);
	if (active || seq != ls->reported_seq || !ls->reported_once) {
		char *text = cJSON_PrintUnformatted(msg);
		if (text && send(ls->msg_io.fd, text, strlen(text), MSG_NOSIGNAL) >= 0) {
			ls->reported_seq = seq;
			ls->reported_once = true;
		}
		free(text);
	}
	cJSON_Delete(msg);
}


int worker_sockaddr_of(const struct ip_prefix *p, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (p->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, p->addr, 16);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, p->addr, 4);
		*len = sizeof(*s4);
	}
	return 0;
}

/* Drains refused connections; closes those that ended or waited enough. */
static void closing_sweep(struct loop_state *ls, uint64_t now)
{
	uint8_t scratch[512];
	for (size_t i = 0; i < sizeof(ls->closing) / sizeof(ls->closing[0]); i++) {
		struct closing *c = &ls->closing[i];
		if (c->fd < 0)
			continue;
		ssize_t n;
		while ((n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN) || now >= c->until_ns) {
			close(c->fd);
			c->fd = -1;
		}
	}
}

static void listener_open(struct loop_state *ls, struct listener *l, const struct ip_prefix *addr);

static void on_wake(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	uint64_t n;
	(void)loop;
	(void)revents;
	if (read(io->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		report(io->data);
}

static void on_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct loop_state *ls = t->data;
	report(ls);
	/* A listener that could not bind (the port still held by a worker of
	 * a roamd that was just killed) tries again. */
	for (int i = 0; i < ls->n_self; i++)
		if (ls->listeners[i].fd < 0)
			listener_open(ls, &ls->listeners[i], &ls->self[i]);
	closing_sweep(ls, worker_now_ns());
	pull_job_hold_received(ls->w);
	xfer_history_tick(ls->w);
	if (!ls->swept_at || ev_now(loop) - ls->swept_at >= SWEEP_EVERY_NS) {
		xfer_sweep_parts(ls->w->inbox_fd, time(NULL));
		ls->swept_at = ev_now(loop);
	}
	ev_timer_start(loop, t, ev_now(loop) + SNAPSHOT_EVERY_NS);
}

static void refuse(struct loop_state *ls, int fd, enum files_push_status status)
{
	uint8_t answer[FILES_PUSH_ANSWER_LEN];
	files_push_answer_build(answer, status, 0);
	if (send(fd, answer, sizeof(answer), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("files: refusing a connection: %s", strerror(errno));
	shutdown(fd, SHUT_WR);
	for (size_t i = 0; i < sizeof(ls->closing) / sizeof(ls->closing[0]); i++) {
		if (ls->closing[i].fd < 0) {
			ls->closing[i].fd = fd;
			ls->closing[i].until_ns = worker_now_ns() + CLOSING_NS;
			return;
		}
	}
	close(fd); /* a flood of refusals: no courtesy */
}

static void on_accept(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct loop_state *ls = io->data;
	struct worker *w = ls->w;
	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ip_prefix src = { .family = ss.ss_family };
		char name[64] = "";
		if (ss.ss_family == AF_INET6)
			memcpy(src.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		else
			memcpy(src.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		pthread_mutex_lock(&w->lock);
		/* A second check behind the data plane's filter: only a peer
		 * of the current view (one sharing a group) may send. */
		int known = worker_peer_lookup(w, &src, name, sizeof(name));
		unsigned busy = 0;
		for (int k = 0; k < XFER_SLOTS; k++)
			busy += w->xfers[k].state == XFER_RECEIVING;
		struct xfer *x = known && busy < XFER_MAX_RECV ? worker_slot_take(w) : NULL;
		if (x) {
			x->state = XFER_RECEIVING;
			x->sock = fd;
			x->file_fd = -1;
			snprintf(x->id, sizeof(x->id), "r%u", ++w->next_recv_id);
			snprintf(x->peer, sizeof(x->peer), "%s", name);
			x->run_start_ns = worker_now_ns();
			worker_changed(w, x);
		}
		pthread_mutex_unlock(&w->lock);
		if (!known) {
			char text[IP_PREFIX_STRLEN];
			src.cidr = src.family == AF_INET6 ? 128 : 32;
			ip_prefix_format(&src, text, sizeof(text));
			log_warn("files: refused a connection from %s: not a peer of ours", text);
			refuse(ls, fd, FILES_PUSH_NOT_ALLOWED);
			continue;
		}
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (!x || pthread_create(&th, &attr, xfer_recv_thread, x) != 0) {
			if (x) {
				pthread_mutex_lock(&w->lock);
				memset(x, 0, sizeof(*x));
				pthread_mutex_unlock(&w->lock);
			}
			refuse(ls, fd, FILES_PUSH_BUSY);
		}
		pthread_attr_destroy(&attr);
	}
}

static void listener_close(struct loop_state *ls, struct listener *l)
{
	if (l->fd >= 0) {
		ev_io_stop(ls->loop, &l->io);
		close(l->fd);
	}
	l->fd = -1;
}

/* Port 7301 on one overlay address. FREEBIND: the address may not be on
 * the device yet (IPv6 duplicate address detection). */
static void listener_open(struct loop_state *ls, struct listener *l, const struct ip_prefix *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	l->addr = *addr;
	worker_sockaddr_of(addr, FILES_PUSH_PORT, &ss, &sl);
	l->fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->family == AF_INET6) {
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(l->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 16) < 0)
		goto fail;
	ev_io_init(&l->io, l->fd, EPOLLIN, on_accept, ls);
	if (ev_io_start(ls->loop, &l->io) < 0)
		goto fail;
	if (l->complained)
		log_info("files: listening on port %d now", FILES_PUSH_PORT);
	l->complained = false;
	return;
fail:
	if (!l->complained)
		log_err("files: cannot listen on port %d (%s): trying again", FILES_PUSH_PORT, strerror(errno));
	l->complained = true;
	listener_close(ls, l);
}

static int parse_addrs(const cJSON *arr, struct ip_prefix *out, int max)
{
	int n = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, arr)
		if (n < max && cJSON_IsString(a) && ip_prefix_parse(a->valuestring, &out[n]) == 0)
			n++;
	return n;
}

/* Appends one part's peers to the pending set (one entry per address). */
static void view_add_peers(struct loop_state *ls, const cJSON *peers)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, peers) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
		const cJSON *fk = cJSON_GetObjectItemCaseSensitive(p, "file_key");
		struct ip_prefix a[2];
		int na = parse_addrs(cJSON_GetObjectItemCaseSensitive(p, "addrs"), a, 2);
		for (int i = 0; cJSON_IsString(name) && i < na && ls->pending_n < WORKER_PEERS_MAX; i++) {
			if (ls->pending_n == ls->pending_cap) {
				size_t cap = ls->pending_cap ? ls->pending_cap * 2 : 256;
				struct worker_peer *grown = realloc(ls->pending, cap * sizeof(*grown));
				if (!grown)
					return;
				ls->pending = grown;
				ls->pending_cap = cap;
			}
			struct worker_peer *wp = &ls->pending[ls->pending_n++];
			memset(wp, 0, sizeof(*wp));
			wp->addr = a[i];
			snprintf(wp->name, sizeof(wp->name), "%s", name->valuestring);
			wp->id = cJSON_IsNumber(id) ? (uint32_t)id->valuedouble : 0;
			wp->has_file_key = cJSON_IsString(fk) && crypto_key_from_base64(wp->file_key, fk->valuestring) == 0;
		}
	}
}

static void on_view(struct loop_state *ls, const cJSON *msg)
{
	struct worker *w = ls->w;
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(msg, "part");
	long part_no = cJSON_IsNumber(part) ? (long)part->valuedouble : 0;

	if (part_no == 0) {
		ls->pending_n = 0;
		ls->pending_part = 0;
	}
	if (part_no != ls->pending_part) {
		ls->pending_part = -1; /* a part missing: wait for the next whole view */
		return;
	}
	ls->pending_part++;
	view_add_peers(ls, cJSON_GetObjectItemCaseSensitive(msg, "peers"));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "last")))
		return;
	ls->pending_part = -1;
	struct ip_prefix self[2];
	int n_self = parse_addrs(cJSON_GetObjectItemCaseSensitive(msg, "self"), self, 2);
	size_t n = ls->pending_n;
	struct worker_peer *list = malloc((n ? n : 1) * sizeof(*list));
	if (list && n)
		memcpy(list, ls->pending, n * sizeof(*list));
	struct worker_server srv = { 0 };
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(msg, "server");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(s, "url"), *pin = cJSON_GetObjectItemCaseSensitive(s, "pin");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(s, "k"), *node = cJSON_GetObjectItemCaseSensitive(s, "node");
	srv.have = cJSON_IsString(url) && cJSON_IsString(k) && cJSON_IsString(node) &&
		   crypto_key_from_base64(srv.k, k->valuestring) == 0 &&
		   crypto_key_from_base64(srv.node_pub, node->valuestring) == 0;
	if (srv.have) {
		snprintf(srv.url, sizeof(srv.url), "%s", url->valuestring);
		if (cJSON_IsString(pin))
			snprintf(srv.pin, sizeof(srv.pin), "%s", pin->valuestring);
		/* The agent's proxy and interception settings (offline.c). */
		const cJSON *proxy = cJSON_GetObjectItemCaseSensitive(s, "proxy");
		srv.proxy.set = cJSON_IsString(proxy);
		if (srv.proxy.set)
			snprintf(srv.proxy.url, sizeof(srv.proxy.url), "%s", proxy->valuestring);
		srv.allow_interception = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "allow_tls_interception"));
	}
	if (!list)
		return;
	pthread_mutex_lock(&w->lock);
	free(w->peers);
	w->peers = list;
	w->n_peers = n;
	w->server = srv;
	pthread_mutex_unlock(&w->lock);
	crypto_wipe(&srv, sizeof(srv));
	memcpy(ls->self, self, sizeof(self));
	ls->n_self = n_self;
	for (int i = 0; i < 2; i++) {
		struct listener *l = &ls->listeners[i];
		bool keep = i < n_self && l->fd >= 0 && l->addr.family == self[i].family &&
			    memcmp(l->addr.addr, self[i].addr, 16) == 0;
		if (keep)
			continue;
		listener_close(ls, l);
		if (i < n_self)
			listener_open(ls, l, &self[i]);
	}
}

/* A push from the monitor, with the file's descriptor. */
static void on_push(struct loop_state *ls, const cJSON *msg, int fd)
{
	struct worker *w = ls->w;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(msg, "peer");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");
	const cJSON *rkey = cJSON_GetObjectItemCaseSensitive(msg, "recipient_key");
	bool offline = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "offline"));
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(msg, "upload_token");
	bool resume = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "resume"));
	uint8_t recipient_pub[FILES_KEY_LEN];
	if (offline && (!cJSON_IsNumber(to) || !cJSON_IsString(rkey) ||
			crypto_key_from_base64(recipient_pub, rkey->valuestring) < 0)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct ip_prefix addrs[2];
	int na = parse_addrs(cJSON_GetObjectItemCaseSensitive(msg, "addrs"), addrs, 2);
	if (fd < 0 || !cJSON_IsString(id) || !cJSON_IsString(name) || !cJSON_IsString(peer) || na == 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_mutex_lock(&w->lock);
	unsigned busy = 0;
	for (int k = 0; k < XFER_SLOTS; k++)
		busy += w->xfers[k].outgoing && !finished(w->xfers[k].state);
	/* Views come in parts and each asks for the saved uploads again: only
	 * the first reopened copy of one continues, or two threads would
	 * upload the same file at once. */
	bool dup = offline && resume && cJSON_IsString(token) && !offline_resume_claimed(token->valuestring);
	struct xfer *x = busy < XFER_MAX_SEND && !dup ? worker_slot_take(w) : NULL;
	if (x) {
		x->outgoing = true;
		x->state = XFER_HASHING;
		x->sock = -1;
		x->file_fd = fd;
		snprintf(x->id, sizeof(x->id), "%s", id->valuestring);
		snprintf(x->name, sizeof(x->name), "%s", name->valuestring);
		snprintf(x->peer, sizeof(x->peer), "%s", peer->valuestring);
		memcpy(x->addrs, addrs, sizeof(addrs));
		x->n_addrs = na;
		x->offline = offline;
		if (offline) {
			x->to = (uint32_t)to->valuedouble;
			memcpy(x->recipient_pub, recipient_pub, FILES_KEY_LEN);
			if (cJSON_IsString(token) && strlen(token->valuestring) == FILES_TOKEN_LEN)
				snprintf(x->token, sizeof(x->token), "%s", token->valuestring);
			x->resume = resume && x->token[0];
		}
		worker_changed(w, x);
	}
	pthread_mutex_unlock(&w->lock);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (dup) {
		close(fd);
	} else if (!x) {
		log_warn("files: too many pushes at once: %s not sent", name->valuestring);
		close(fd);
	} else if (pthread_create(&th, &attr, offline ? xfer_upload_thread : xfer_send_thread, x) != 0) {
		pthread_mutex_lock(&w->lock);
		xfer_finish(x, XFER_FAILED, "cannot start a thread");
		pthread_mutex_unlock(&w->lock);
		close(fd);
	}
	pthread_attr_destroy(&attr);
}

static void on_cancel(struct worker *w, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (!cJSON_IsString(id))
		return;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < XFER_SLOTS; i++) {
		struct xfer *x = &w->xfers[i];
		if (x->state != XFER_FREE && !finished(x->state) && strcmp(x->id, id->valuestring) == 0) {
			x->cancel = true;
			if (x->sock >= 0)
				shutdown(x->sock, SHUT_RDWR); /* wakes the thread */
		}
	}
	pthread_mutex_unlock(&w->lock);
	offline_poll_wake(w); /* a file queued on the server: the poller deletes it */
}

/* {"t":"publish","dir":D}: D becomes the published set (pull_host.h), in
 * a thread: the scan hashes every file, which must not stop this loop. */
static void on_publish(const cJSON *msg)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "dir");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(msg, "group");
	bool cache = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "cache"));
	int ret = cJSON_IsString(d) ? pull_host_publish_to(d->valuestring, cJSON_IsString(g) ? g->valuestring : NULL, cache)
				    : -EINVAL;
	if (ret < 0)
		log_warn("files: cannot publish: %s", strerror(-ret));
}

static ssize_t recv_msg(int fd, char *buf, size_t size, int *pass_fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	*pass_fd = -1;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(pass_fd, CMSG_DATA(c), sizeof(int));
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void on_message(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct loop_state *ls = io->data;
	static char buf[FILES_MSG_MAX + 1];
	int fd;
	(void)revents;
	ssize_t n = recv_msg(io->fd, buf, sizeof(buf), &fd);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		ev_loop_stop(loop); /* the monitor is gone */
		return;
	}
	cJSON *msg = cJSON_ParseWithLength(buf, (size_t)n);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "t");
	const char *type = cJSON_IsString(t) ? t->valuestring : "";
	if (strcmp(type, "view") == 0)
		on_view(ls, msg), offline_resume_ask(), index_publish_view_changed();
	else if (strcmp(type, "push") == 0)
		on_push(ls, msg, fd), fd = -1;
	else if (strcmp(type, "pull") == 0)
		pull_job_start(ls->w, msg, fd), fd = -1;
	else if (strcmp(type, "cancel") == 0)
		on_cancel(ls->w, msg);
	else if (strcmp(type, "forget") == 0 && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "token")))
		offline_resume_forget(ls->w, cJSON_GetObjectItemCaseSensitive(msg, "token")->valuestring);
	else if (strcmp(type, "poll") == 0)
		offline_poll_wake(ls->w);
	else if (strcmp(type, "publish") == 0)
		on_publish(msg);
	else if (strcmp(type, "unpublish") == 0)
		pull_host_unpublish(), index_unpublish_start(), publish_state_clear();
	else if (strcmp(type, "ls") == 0)
		index_ls_start(msg);
	if (fd >= 0)
		close(fd);
	cJSON_Delete(msg);
}

static void test_hooks(struct worker *w)
{
	w->retry_ns = RETRY_DEFAULT_NS;
	w->poll_ns = POLL_DEFAULT_NS;
#ifdef ROAM_TEST_HOOKS
	const char *poll = getenv("ROAM_TEST_FILES_POLL");
	if (poll)
		w->poll_ns = strtoull(poll, NULL, 10) * EV_NSEC_PER_MSEC;
	const char *rate = getenv("ROAM_TEST_FILES_RATE");
	const char *retry = getenv("ROAM_TEST_FILES_RETRY");
	if (rate)
		w->rate_limit = strtoull(rate, NULL, 10);
	if (retry)
		w->retry_ns = strtoull(retry, NULL, 10) * EV_NSEC_PER_SEC;
#endif
}

#define KEY_FILE "file.key"

/* The node's file key pair (docs/files.md, "Keys"): made at the first
 * start, the secret in KEYDIR/file.key (0600, the worker's user), which
 * never leaves this process. A damaged file is an error, never replaced:
 * files sealed to the old key would be lost for good. */
static int load_or_make_key(int dirfd, struct files_keypair *kp, char *why, size_t why_size)
{
	uint8_t sec[FILES_KEY_LEN + 1];
	int fd = openat(dirfd, KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int ret = 0;
	if (fd >= 0) {
		ssize_t n = read(fd, sec, sizeof(sec));
		close(fd);
		if (n != FILES_KEY_LEN || files_keypair_from_secret(kp, sec) < 0) {
			snprintf(why, why_size, "%s is damaged (not a 32-byte key): move it away to make a new one "
				 "(files sealed to the old key are then lost)", KEY_FILE);
			ret = -EINVAL;
		}
		crypto_wipe(sec, sizeof(sec));
		return ret;
	}
	if (errno != ENOENT) {
		snprintf(why, why_size, "cannot read %s: %s", KEY_FILE, strerror(errno));
		return -errno;
	}
	files_keypair_generate(kp);
	unlinkat(dirfd, KEY_FILE ".new", 0);
	fd = openat(dirfd, KEY_FILE ".new", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, kp->sec, FILES_KEY_LEN) != FILES_KEY_LEN || fsync(fd) < 0 ||
	    renameat(dirfd, KEY_FILE ".new", dirfd, KEY_FILE) < 0) {
		ret = -errno;
		snprintf(why, why_size, "cannot write %s: %s", KEY_FILE, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (ret == 0)
		log_info("files: made this node's file key pair");
	return ret;
}

/* The first message: where the inbox and the key are and whom to run as. */
static int worker_init(struct worker *w, char *why, size_t why_size)
{
	static char buf[FILES_MSG_MAX + 1];
	int fd;
	ssize_t n = recv_msg(FILES_WORKER_FD, buf, sizeof(buf), &fd);
	if (fd >= 0)
		close(fd);
	cJSON *msg = n > 0 ? cJSON_ParseWithLength(buf, (size_t)n) : NULL;
	const cJSON *inbox = cJSON_GetObjectItemCaseSensitive(msg, "inbox");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(msg, "user");
	const cJSON *keydir = cJSON_GetObjectItemCaseSensitive(msg, "keydir");
	int ret = -EBADMSG, keyfd = -1;
	if (!cJSON_IsString(inbox) || !cJSON_IsString(user) || !cJSON_IsString(keydir)) {
		snprintf(why, why_size, "no init message from roamd");
		goto out;
	}
	w->inbox_fd = open(inbox->valuestring, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->inbox_fd < 0) {
		ret = -errno;
		snprintf(why, why_size, "inbox %s: %s", inbox->valuestring, strerror(errno));
		goto out;
	}
	keyfd = open(keydir->valuestring, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (keyfd < 0) {
		ret = -errno;
		snprintf(why, why_size, "%s: %s", keydir->valuestring, strerror(errno));
		goto out;
	}
	/* libcurl (the offline push) loads what it needs before the filter. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, why_size, "cannot initialise libcurl");
		ret = -ENOMEM;
		goto out;
	}
	/* The key is made as the worker's user, after the sandbox is on. */
	if ((ret = files_sandbox_enter(user->valuestring, why, why_size)) < 0 ||
	    (ret = load_or_make_key(keyfd, &w->key, why, why_size)) < 0)
		goto out;
	char b64[CRYPTO_KEY_B64_LEN + 1], text[128];
	crypto_key_to_base64(b64, w->key.pub);
	snprintf(text, sizeof(text), "{\"t\":\"key\",\"pub\":\"%s\"}", b64);
	if (send(FILES_WORKER_FD, text, strlen(text), MSG_NOSIGNAL) < 0) {
		ret = -errno;
		snprintf(why, why_size, "roamd went away");
	}
	w->state_fd = keyfd; /* kept: downloads save their state there */
	keyfd = -1;
out:
	if (keyfd >= 0)
		close(keyfd);
	cJSON_Delete(msg);
	return ret;
}

int roamd_files_main(void)
{
	static struct worker w = { .lock = PTHREAD_MUTEX_INITIALIZER, .poll_cond = PTHREAD_COND_INITIALIZER, .inbox_fd = -1,
				   .state_fd = -1, .wake_fd = -1 };
	struct loop_state ls = { .w = &w, .listeners = { { .fd = -1 }, { .fd = -1 } }, .pending_part = -1 };
	for (size_t i = 0; i < sizeof(ls.closing) / sizeof(ls.closing[0]); i++)
		ls.closing[i].fd = -1;
	char why[256];
	log_detect_output();
	w.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* before the sandbox; -1: reports at the ticks only */
	if (crypto_init() < 0 || worker_init(&w, why, sizeof(why)) < 0) {
		log_err("file service: %s", why);
		return 1;
	}
	xfer_worker = &w;
	test_hooks(&w);
	xfer_history_load(&w);
	offline_resume_scan(&w);
	index_seen_init(w.state_fd);
	pull_host_restore(w.state_fd);
	if (ev_loop_new(&ls.loop) < 0)
		return 1;
	pthread_t poller;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&poller, &attr, offline_poll_thread, &w) != 0)
		log_err("files: no offline push (cannot start its thread)");
	pthread_attr_destroy(&attr);
	ev_io_init(&ls.msg_io, FILES_WORKER_FD, EPOLLIN, on_message, &ls);
	ev_timer_init(&ls.tick, on_tick, &ls);
	if (ev_io_start(ls.loop, &ls.msg_io) < 0 || ev_timer_start(ls.loop, &ls.tick, ev_now(ls.loop)) < 0)
		return 1;
	if (w.wake_fd >= 0) {
		ev_io_init(&ls.wake_io, w.wake_fd, EPOLLIN, on_wake, &ls);
		if (ev_io_start(ls.loop, &ls.wake_io) < 0)
			log_warn("files: ends are reported at the next tick only");
	}
	int ret = ev_loop_run(ls.loop);
	/* Exit with the threads mid-transfer: partial files stay for a resume. */
	_exit(ret < 0 ? 1 : 0);
}

/* The agent's sandbox with what writing an inbox and serving TCP needs. */
int files_sandbox_enter(const char *user, char *why, size_t why_size)
{
	static const int extra[] = {
		SCMP_SYS(accept4), SCMP_SYS(listen), SCMP_SYS(mkdirat), SCMP_SYS(renameat2), SCMP_SYS(renameat),
		SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fstatfs),
		SCMP_SYS(statfs), SCMP_SYS(pwrite64), SCMP_SYS(sendfile), SCMP_SYS(utimensat), SCMP_SYS(fadvise64),
	};
	return privsep_sandbox_enter(user, extra, sizeof(extra) / sizeof(extra[0]), true, why, why_size);
}
