/* Managed mode: joining, registering and the server stream. Paths and
 * peers are in managed_peers.c, the UDP side in managed_udp.c. */
#include "daemon/managed.h"

#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/roamd.h"
#include "util/log.h"

#define REQUEST_TIMEOUT_MS 10000
#define APPROVAL_POLL_S 5
#define BACKOFF_MAX_S 30
/* The server pings every COORD_STREAM_PING_S; silence for two of them and
 * some slack means the connection is dead even if TCP has not noticed
 * (a FIN sent to an address we no longer have never arrives). */
#define STREAM_SILENCE_NS ((2 * COORD_STREAM_PING_S + 10) * EV_NSEC_PER_SEC)

static void open_stream(struct managed *m);
static void send_register(struct managed *m);

const char *managed_phase_name(enum managed_phase phase)
{
	static const char *const names[] = { "idle", "registering", "waiting-approval", "online", "failed" };
	return names[phase];
}

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

__attribute__((format(printf, 2, 3))) static void set_error(struct managed *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
}

/* Starts an authenticated request to the server. */
static int server_request(struct managed *m, const char *method, const char *target, const char *body,
			  void (*on_line)(void *, const char *, size_t),
			  void (*on_done)(void *, int, long, const char *, size_t), struct http_request **out)
{
	char url[NODE_STATE_URL_MAX + 64], auth[COORD_AUTH_HEADER_MAX + 16];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t body_len = body ? strlen(body) : 0;
	const uint8_t *pub = wg_device_public_key(m->d->wg);

	snprintf(url, sizeof(url), "%s%s", m->st.server_url, target);
	crypto_random(nonce, sizeof(nonce));
	strcpy(auth, COORD_AUTH_HEADER ": ");
	int ret = coord_auth_build(auth + strlen(auth), sizeof(auth) - strlen(auth), m->control_key, pub, method,
				   target, unix_now(), nonce, body ? body : "", body_len);
	if (ret < 0)
		return ret;
	const char *headers[] = { auth, "Content-Type: application/json", "Expect:", NULL };
	struct http_request_opts o = {
		.method = method,
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = body_len,
		.pinned_pubkey = m->pin[0] ? m->pin : NULL,
		.timeout_ms = on_line ? 0 : REQUEST_TIMEOUT_MS,
		.on_line = on_line,
		.on_done = on_done,
		.ctx = m,
	};
	return http_request_start(m->http, &o, out);
}

/* The "error" member of a JSON answer, for messages. */
static void answer_error(const char *body, char *out, size_t size)
{
	const char *p = strstr(body, "\"error\"");
	const char *q = p ? strchr(p + 7, '"') : NULL;
	const char *end = q ? strchr(q + 1, '"') : NULL;
	if (!end) {
		snprintf(out, size, "%s", body[0] ? body : "no details");
		return;
	}
	snprintf(out, size, "%.*s", (int)(end - q - 1), q + 1);
}

static void schedule_retry(struct managed *m, unsigned seconds)
{
	ev_timer_start(m->d->loop, &m->retry_timer, ev_now(m->d->loop) + (uint64_t)seconds * EV_NSEC_PER_SEC);
}

static unsigned next_backoff(struct managed *m)
{
	m->backoff_s = m->backoff_s ? m->backoff_s * 2 : 1;
	if (m->backoff_s > BACKOFF_MAX_S)
		m->backoff_s = BACKOFF_MAX_S;
	return m->backoff_s;
}

/* Our local addresses, as the private endpoints peers behind the same NAT
 * can use: up, not loopback, not our own tunnel, not IPv6 link-local. */
static void send_endpoints(struct managed *m)
{
	struct coord_endpoints_req req = { .port = m->d->udp.port };
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i && req.count < COORD_PRIVATE_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, m->d->ifname) == 0)
			continue;
		struct sockaddr_any a;
		socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if ((i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) ||
		    sockaddr_any_from(i->ifa_addr, len, &a) < 0)
			continue;
		if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
			continue;
		if (a.sa.sa_family == AF_INET)
			a.in4.sin_port = htons(m->d->udp.port);
		else
			a.in6.sin6_port = htons(m->d->udp.port);
		req.endpoints[req.count++] = a;
	}
	freeifaddrs(ifs);
	char *body = coord_endpoints_req_to_json(&req);
	if (body && server_request(m, "POST", "/v1/endpoints", body, NULL, NULL, NULL) < 0)
		log_warn("cannot send our private endpoints to the server");
	free(body);
}

/* The overlay addresses on the TUN device, each with its network's prefix
 * length, so the kernel routes the whole overlay through it. */
static int set_addresses(struct managed *m)
{
	const struct ip_prefix *pairs[2][2] = { { &m->self.ipv6, &m->self.network6 },
						{ &m->self.ipv4, &m->self.network4 } };
	for (int i = 0; i < 2; i++) {
		int ret = netlink_addr_add(m->d->nl, m->d->ifname, pairs[i][0]->family, pairs[i][0]->addr,
					   pairs[i][1]->cidr);
		if (ret < 0) {
			log_err("cannot set overlay address on %s: %s", m->d->ifname, strerror(-ret));
			return ret;
		}
	}
	m->addresses_set = true;
	return 0;
}

static void became_registered(struct managed *m, const struct coord_node *node)
{
	char v6[IP_PREFIX_STRLEN], v4[IP_PREFIX_STRLEN];
	bool first = !m->have_self;
	m->self = *node;
	m->have_self = true;
	m->phase = MANAGED_ONLINE;
	m->error[0] = '\0';
	m->backoff_s = 0;
	m->st.node_id = node->node_id;
	snprintf(m->st.name, sizeof(m->st.name), "%s", node->name);
	/* The pre-auth key did its job: do not keep it on disk. */
	crypto_wipe(m->st.token.preauth_key, sizeof(m->st.token.preauth_key));
	m->st.joined = true;
	if (node_state_save(m->state_dir, &m->st) < 0)
		log_warn("cannot save %s/state.json", m->state_dir);
	ip_prefix_format(&node->ipv6, v6, sizeof(v6));
	ip_prefix_format(&node->ipv4, v4, sizeof(v4));
	log_info("registered as %s (node %u): %s, %s", node->name, node->node_id, v6, v4);
	if (first || !m->addresses_set)
		set_addresses(m);
	send_endpoints(m);
	managed_send_binding(m);
	ev_timer_start(m->d->loop, &m->binding_timer,
		       ev_now(m->d->loop) + COORD_BINDING_REFRESH_S * EV_NSEC_PER_SEC);
	if (!m->stream_req)
		open_stream(m);
}

static void on_register_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	struct coord_node node;
	char why[200];
	m->register_req = NULL;
	if (err < 0 || status >= 500 || status == 0) {
		set_error(m, "cannot reach the server: %s", err == -EPROTO ? "TLS failed or the server key does not match the token" : strerror(err < 0 ? -err : EIO));
		log_warn("register: %s; retrying", m->error);
		schedule_retry(m, next_backoff(m));
		return;
	}
	if (status == 200 || status == 202) {
		if (coord_node_parse(body, len, &node) < 0) {
			set_error(m, "%s", "the server's answer to register was malformed");
			m->phase = MANAGED_FAILED;
			return;
		}
		if (status == 202 || !node.approved) {
			m->phase = MANAGED_WAITING_APPROVAL;
			m->st.node_id = node.node_id;
			set_error(m, "%s", "waiting for an administrator to approve this node (roam-server nodes approve)");
			schedule_retry(m, APPROVAL_POLL_S);
			return;
		}
		became_registered(m, &node);
		return;
	}
	answer_error(body, why, sizeof(why));
	set_error(m, "the server refused to register this node: %s", why);
	log_err("%s", m->error);
	m->phase = MANAGED_FAILED;
	m->st.joined = false;
	node_state_save(m->state_dir, &m->st);
}

static void send_register(struct managed *m)
{
	struct coord_register_req req = { .port = m->d->udp.port };
	snprintf(req.name, sizeof(req.name), "%s", m->st.name);
	if (!crypto_is_zero(m->st.token.preauth_key, sizeof(m->st.token.preauth_key))) {
		req.has_preauth_key = true;
		memcpy(req.preauth_key, m->st.token.preauth_key, sizeof(req.preauth_key));
	}
	char *body = coord_register_req_to_json(&req);
	crypto_wipe(&req, sizeof(req));
	if (!body || server_request(m, "POST", "/v1/register", body, NULL, on_register_done, &m->register_req) < 0) {
		set_error(m, "%s", "out of memory");
		m->phase = MANAGED_FAILED;
	}
	free(body);
}

/* --- the stream --------------------------------------------------------- */

static int on_self(void *ctx, const struct coord_node *node, const struct sockaddr_any *public_endpoint, bool nat)
{
	struct managed *m = ctx;
	bool changed = m->nat != nat || !sockaddr_any_equal(&m->public_endpoint, public_endpoint);
	m->self = *node;
	m->public_endpoint = *public_endpoint;
	m->nat = nat;
	if (changed)
		managed_repath_all(m);
	return 0;
}

static int on_peer(void *ctx, const struct coord_peer *peer, bool full_view)
{
	(void)full_view;
	/* One peer we cannot take (out of memory) must not stop the stream. */
	if (managed_apply_peer(ctx, peer) < 0)
		log_warn("cannot add peer %s", peer->name);
	return 0;
}

static int on_peer_removed(void *ctx, const uint8_t public_key[32])
{
	managed_remove_peer(ctx, public_key);
	return 0;
}

static const struct coord_stream_handler stream_handler = {
	.self = on_self,
	.peer = on_peer,
	.peer_removed = on_peer_removed,
};

static void on_stream_line(void *ctx, const char *line, size_t len)
{
	struct managed *m = ctx;
	if (!m->stream_up) {
		m->stream_up = true;
		m->backoff_s = 0;
		log_info("connected to the server's stream");
	}
	ev_timer_start(m->d->loop, &m->stream_watchdog, ev_now(m->d->loop) + STREAM_SILENCE_NS);
	if (coord_stream_line_parse(line, len, &stream_handler, m) < 0)
		log_warn("ignoring a malformed stream line from the server");
	roamd_wg_timer_rearm(m->d);
	roamd_dataplane_flush(m->d);
}

static void on_stream_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	(void)body, (void)len;
	m->stream_req = NULL;
	m->stream_up = false;
	ev_timer_stop(m->d->loop, &m->stream_watchdog);
	if (m->phase != MANAGED_ONLINE)
		return;
	/* Existing tunnels keep their last view; try to come back. */
	unsigned wait = next_backoff(m);
	log_warn("server stream closed (%s, HTTP %ld); reconnecting in %u s", err ? strerror(-err) : "by the server",
		 status, wait);
	schedule_retry(m, wait);
}

static void open_stream(struct managed *m)
{
	if (server_request(m, "GET", "/v1/stream", NULL, on_stream_line, on_stream_done, &m->stream_req) < 0) {
		schedule_retry(m, next_backoff(m));
		return;
	}
	ev_timer_start(m->d->loop, &m->stream_watchdog, ev_now(m->d->loop) + STREAM_SILENCE_NS);
}

/* Drops the stream we have (dead, or bound to an old address) and opens a
 * new one; peers keep their last view meanwhile. */
static void restart_stream(struct managed *m)
{
	http_request_cancel(m->stream_req);
	m->stream_req = NULL;
	m->stream_up = false;
	ev_timer_stop(m->d->loop, &m->stream_watchdog);
	if (m->phase == MANAGED_ONLINE)
		open_stream(m);
}

static void on_stream_silent(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	(void)loop;
	log_warn("no word from the server for %d s: reconnecting the stream", 2 * COORD_STREAM_PING_S + 10);
	restart_stream(m);
}

/* Retries whatever is missing: registration, approval, the stream. */
static void on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	(void)loop;
	if (m->phase == MANAGED_REGISTERING || m->phase == MANAGED_WAITING_APPROVAL ||
	    (m->phase == MANAGED_ONLINE && !m->stream_req)) {
		/* Registering again is idempotent and also re-checks that we are
		 * still a member before the stream resumes. */
		if (!m->register_req)
			send_register(m);
	}
}

static void on_binding_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	managed_send_binding(m);
	ev_timer_start(loop, t, ev_now(loop) + COORD_BINDING_REFRESH_S * EV_NSEC_PER_SEC);
}

/* --- joining ------------------------------------------------------------ */

static int server_udp_from_url(const char *url, struct sockaddr_any *out)
{
	char hostport[NODE_STATE_URL_MAX];
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/");
	if (n == 0 || n >= sizeof(hostport))
		return -EINVAL;
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	/* The UDP port is the HTTPS port number (docs/control-protocol.md). */
	return sockaddr_any_resolve(hostport, out);
}

static int prepare_session(struct managed *m)
{
	int ret = coord_control_key(m->control_key, m->st.private_key, m->st.token.server_pub);
	if (ret < 0) {
		set_error(m, "%s", "the token's server key is not usable");
		return ret;
	}
	m->pin[0] = '\0';
	if (!crypto_is_zero(m->st.token.tls_pin, sizeof(m->st.token.tls_pin))) {
		strcpy(m->pin, "sha256//");
		coord_b64_encode(m->pin + 8, sizeof(m->pin) - 8, m->st.token.tls_pin, sizeof(m->st.token.tls_pin), 0);
	}
	if ((ret = server_udp_from_url(m->st.server_url, &m->server_udp)) < 0) {
		set_error(m, "cannot resolve the server address in %.200s", m->st.server_url);
		return ret;
	}
	return 0;
}

int managed_up(struct managed *m, const char *server, const char *token, const char *name)
{
	int ret;
	if (server || token) {
		struct coord_token t;
		if (!server || !token) {
			set_error(m, "%s", "both --server and --token are needed to join");
			return -EINVAL;
		}
		if (strncmp(server, "https://", 8) != 0 || strlen(server) >= sizeof(m->st.server_url)) {
			set_error(m, "%s", "the server must be an https:// URL");
			return -EINVAL;
		}
		if ((ret = coord_token_decode(token, &t)) < 0) {
			set_error(m, "%s", ret == -EPROTONOSUPPORT ? "the token is from a newer roam-server"
								   : "the token is malformed (copy it whole, as roam-server printed it)");
			return ret;
		}
		/* A new network: forget the old membership. */
		if (strcmp(server, m->st.server_url) != 0 || memcmp(t.server_pub, m->st.token.server_pub, 32) != 0)
			m->st.node_id = 0;
		snprintf(m->st.server_url, sizeof(m->st.server_url), "%s", server);
		m->st.token = t;
		crypto_wipe(&t, sizeof(t));
	} else if (!m->st.server_url[0]) {
		set_error(m, "%s", "not joined to any network yet: roam up --server URL --token TOKEN");
		return -EINVAL;
	}
	if (name)
		snprintf(m->st.name, sizeof(m->st.name), "%s", name);
	if (!m->st.name[0] && gethostname(m->st.name, sizeof(m->st.name) - 1) < 0)
		strcpy(m->st.name, "node");
	if ((ret = prepare_session(m)) < 0)
		return ret;
	m->st.joined = true;
	node_state_save(m->state_dir, &m->st);
	http_request_cancel(m->register_req);
	m->register_req = NULL;
	m->phase = MANAGED_REGISTERING;
	m->error[0] = '\0';
	m->backoff_s = 0;
	send_register(m);
	return 0;
}

int managed_start(struct managed *m, struct roamd *d, const char *state_dir)
{
	int ret;
	m->d = d;
	m->state_dir = state_dir;
	ev_timer_init(&m->binding_timer, on_binding_timer, m);
	ev_timer_init(&m->retry_timer, on_retry, m);
	ev_timer_init(&m->stream_watchdog, on_stream_silent, m);
	if ((ret = http_client_new(d->loop, &m->http)) < 0)
		return ret;
	if (m->st.joined && m->st.server_url[0]) {
		/* Rejoin the network we were in before the restart. */
		if (managed_up(m, NULL, NULL, NULL) < 0)
			log_err("cannot rejoin %s: %s", m->st.server_url, m->error);
		return 0;
	}
	log_info("not joined to a roam network: waiting for `roam up`");
	return 0;
}

static void on_logout_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	(void)err, (void)status, (void)body, (void)len;
	ev_loop_stop(m->d->loop);
}

static void on_logout_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_loop_stop(loop);
}

/* Tell the server we are leaving, so peers see us offline at once; at most
 * a second and a half, run in a short nested turn of the event loop. */
static void logout_now(struct managed *m)
{
	struct ev_timer limit;
	if (m->phase != MANAGED_ONLINE)
		return;
	http_request_cancel(m->stream_req);
	m->stream_req = NULL;
	if (server_request(m, "POST", "/v1/logout", "", NULL, on_logout_done, NULL) < 0)
		return;
	ev_timer_init(&limit, on_logout_timeout, m);
	ev_timer_start(m->d->loop, &limit, ev_now(m->d->loop) + 1500 * EV_NSEC_PER_MSEC);
	ev_loop_run(m->d->loop);
	ev_timer_stop(m->d->loop, &limit);
}

void managed_down(struct managed *m)
{
	http_request_cancel(m->register_req);
	http_request_cancel(m->stream_req);
	m->register_req = m->stream_req = NULL;
	/* The loop goes on running, so the logout completes by itself. */
	if (m->phase == MANAGED_ONLINE && server_request(m, "POST", "/v1/logout", "", NULL, NULL, NULL) < 0)
		log_warn("cannot tell the server we are leaving");
	ev_timer_stop(m->d->loop, &m->binding_timer);
	ev_timer_stop(m->d->loop, &m->retry_timer);
	ev_timer_stop(m->d->loop, &m->stream_watchdog);
	managed_remove_all_peers(m);
	m->phase = MANAGED_IDLE;
	m->stream_up = false;
	m->st.joined = false;
	node_state_save(m->state_dir, &m->st);
	log_info("left the network (roam down)");
}

void managed_stop(struct managed *m, bool logout)
{
	if (!m->d)
		return;
	if (logout)
		logout_now(m);
	http_client_free(m->http); /* cancels the stream and anything pending */
	m->http = NULL;
	m->register_req = m->stream_req = NULL;
	ev_timer_stop(m->d->loop, &m->binding_timer);
	ev_timer_stop(m->d->loop, &m->retry_timer);
	ev_timer_stop(m->d->loop, &m->stream_watchdog);
	managed_remove_all_peers(m);
	node_state_wipe(&m->st);
	crypto_wipe(m->control_key, sizeof(m->control_key));
}

void managed_address_changed(struct managed *m)
{
	if (m->phase != MANAGED_ONLINE)
		return;
	managed_send_binding(m);
	send_endpoints(m);
	/* The stream's TCP connection may be tied to the address we lost. */
	restart_stream(m);
}
