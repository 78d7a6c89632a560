/* Managed mode: the agent's side of a membership: start and stop, the
 * requests to the server (Roam-Auth, pin, proxy, the server's proof), our
 * private endpoints, leaving, address changes, the status. Joining and
 * registering are in managed_register.c, the server's stream in
 * managed_stream.c, peers and their paths in managed_peers.c, BINDINGs in
 * managed_udp.c, the relays in managed_relay*.c. */
#include "daemon/managed/managed.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/agent_portmap.h"
#include "util/log.h"

#define REQUEST_TIMEOUT_MS 10000


const char *managed_state_name(enum managed_state state)
{
	static const char *const names[] = { "not-joined", "joining", "waiting-approval",
					     "connected", "connecting", "refused" };
	return state < MANAGED_STATE_COUNT ? names[state] : "?";
}

const char *managed_nat_name(enum managed_nat nat)
{
	static const char *const names[] = { "unknown", "public", "behind-nat" };
	return nat < MANAGED_NAT_COUNT ? names[nat] : "?";
}

const char *managed_udp_name(enum managed_udp u)
{
	static const char *const names[] = { "unknown", "ok", "blocked" };
	return u < MANAGED_UDP_COUNT ? names[u] : "?";
}

const char *managed_relay_link_name(enum managed_relay_link l)
{
	static const char *const names[] = { "none", "udp", "tls", "websocket", "long-poll" };
	return l < MANAGED_RELAY_LINK_COUNT ? names[l] : "?";
}

const char *managed_up_result_name(enum managed_up_result r)
{
	static const char *const names[] = { "none", "pending", "done", "failed" };
	return r < MANAGED_UP_RESULT_COUNT ? names[r] : "?";
}

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

void managed_set_error(struct managed *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->st.error, sizeof(m->st.error), fmt, ap);
	va_end(ap);
}

/* The membership and key requests are made with: the one being tried
 * while switching networks, else the current one. */
const struct managed_membership *managed_active(const struct managed *m)
{
	return m->switching ? &m->next : &m->ms;
}

const struct roamd_proxy *managed_proxy(const struct managed *m)
{
	return &managed_active(m)->proxy;
}

/* The proxy the next request takes: the node's, or none at all (not even
 * the environment's) while it is bypassed. */
static const struct roamd_proxy *request_proxy(const struct managed *m)
{
	static const struct roamd_proxy direct = { .set = true }; /* no URL: no proxy */
	return m->st.proxy_bypassed && !m->switching ? &direct : &managed_active(m)->proxy;
}

static const uint8_t *active_key(const struct managed *m)
{
	return m->switching ? m->next_key : m->control_key;
}

void managed_save(struct managed *m)
{
	m->host->save_membership(m->host_ctx, &m->ms);
}

/* The join token's pin of the server's key, as libcurl takes it, or "". */
void managed_pin(const struct managed *m, char out[MANAGED_PIN_MAX])
{
	const struct managed_membership *ms = managed_active(m);
	out[0] = '\0';
	if (!crypto_is_zero(ms->token.tls_pin, sizeof(ms->token.tls_pin))) {
		strcpy(out, "sha256//");
		coord_b64_encode(out + 8, MANAGED_PIN_MAX - 8, ms->token.tls_pin, sizeof(ms->token.tls_pin), 0);
	}
}

int managed_auth_header(const struct managed *m, const char *method, const char *target, const char *body,
			size_t body_len, char *out, size_t cap)
{
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t n = strlen(COORD_AUTH_HEADER ": ");
	if (cap <= n)
		return -ENOSPC;
	crypto_random(nonce, sizeof(nonce));
	strcpy(out, COORD_AUTH_HEADER ": ");
	return coord_auth_build(out + n, cap - n, active_key(m), m->public_key, method, target, unix_now(), nonce,
				body ? body : "", body_len);
}

/* Starts an authenticated request to the server: o has the method, the
 * body, the callbacks and limits; the rest (URL, Roam-Auth, pin, proxy,
 * the server's proof) is filled in here. */
int managed_request(struct managed *m, struct http_request_opts *o, const char *target, struct http_request **out)
{
	char url[MANAGED_URL_MAX + 160], auth[COORD_AUTH_HEADER_MAX + 16], pin[MANAGED_PIN_MAX];
	const struct managed_membership *ms = managed_active(m);

	snprintf(url, sizeof(url), "%s%s", ms->server_url, target);
	managed_pin(m, pin);
	int ret = managed_auth_header(m, o->method, target, o->body, o->body_len, auth, sizeof(auth));
	if (ret < 0)
		return ret;
	const char *headers[] = { auth, "Content-Type: application/json", "Expect:", NULL };
	o->url = url;
	o->headers = headers;
	o->pinned_pubkey = pin[0] ? pin : NULL;
	o->server_auth_key = m->intercepted ? active_key(m) : NULL;
	o->proxy = request_proxy(m);
	if (!o->ctx)
		o->ctx = m;
	return http_request_start(m->http, o, out);
}

int managed_server_request(struct managed *m, const char *method, const char *target, const char *body,
			   void (*on_line)(void *, const char *, size_t),
			   void (*on_done)(void *, int, long, const char *, size_t), struct http_request **out)
{
	struct http_request_opts o = {
		.method = method,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = on_line ? 0 : REQUEST_TIMEOUT_MS,
		.on_line = on_line,
		.on_done = on_done,
	};
	return managed_request(m, &o, target, out);
}

/* Our local addresses, as the private endpoints peers behind the same NAT
 * can use: up, not loopback, not our own tunnel, not IPv6 link-local. */
void managed_send_endpoints(struct managed *m)
{
	struct coord_endpoints_req req = { .port = m->port, .mapping = m->st.netcheck.mapping, .mapped = m->mapped };
	managed_relays_report(m, &req.relay_rtt);
	struct ifaddrs *ifs, *i;
	m->mapping_sent = req.mapping;
	if (getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i && req.count < COORD_PRIVATE_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, m->ifname) == 0)
			continue;
		struct sockaddr_any a;
		socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if ((i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) ||
		    sockaddr_any_from(i->ifa_addr, len, &a) < 0)
			continue;
		if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
			continue;
		if (a.sa.sa_family == AF_INET)
			a.in4.sin_port = htons(m->port);
		else
			a.in6.sin6_port = htons(m->port);
		req.endpoints[req.count++] = a;
	}
	freeifaddrs(ifs);
	char *body = coord_endpoints_req_to_json(&req);
	if (body && managed_server_request(m, "POST", "/v1/endpoints", body, NULL, NULL, NULL) < 0)
		log_warn("cannot send our private endpoints to the server");
	free(body);
}

int managed_post(struct managed *m, const char *target, const char *body)
{
	return managed_server_request(m, "POST", target, body, NULL, NULL, NULL);
}

static const char *transport_error(int err)
{
	switch (err) {
	case -EACCES: return "the proxy refused"; /* the rest: managed_transport_error */
	case -EPROTO: return "TLS failed";
	case -EKEYREJECTED:
		return "the server's TLS key does not match the token: a TLS-intercepting proxy in the way, or another "
		       "server (roam up --allow-tls-interception if the network has such a proxy)";
	case -EBADMSG: return "a reply without the server's proof (the intercepting proxy answered or altered it)";
	case -ECONNREFUSED: return "connection refused";
	case -EHOSTUNREACH: return "no route to the server";
	case -ETIMEDOUT: return "timed out";
	case -ENOENT: return "cannot resolve the server's name";
	default: return strerror(err < 0 ? -err : EIO);
	}
}

/* transport_error(err), naming the proxy when one is in the way. The
 * result is valid until the next call. */
const char *managed_transport_error(struct managed *m, int err)
{
	static char text[MANAGED_ERROR_MAX];
	long refused = err == -EACCES ? http_client_proxy_status(m->http) : 0;
	if (!roamd_proxy_explain(request_proxy(m), managed_active(m)->server_url, transport_error(err), refused, text,
				 sizeof(text)))
		return transport_error(err);
	return text;
}

int managed_init(struct managed *m, struct ev_loop *loop, const struct managed_host_ops *host, void *host_ctx,
		 const uint8_t public_key[COORD_KEY_LEN], uint16_t port, const char *ifname)
{
	int ret;
	memset(m, 0, sizeof(*m));
	m->loop = loop;
	m->host = host;
	m->host_ctx = host_ctx;
	memcpy(m->public_key, public_key, COORD_KEY_LEN);
	m->port = port;
	snprintf(m->ifname, sizeof(m->ifname), "%s", ifname);
	m->st.state = MANAGED_NOT_JOINED;
	managed_register_init(m);
	managed_stream_init(m);
	managed_ondemand_init(m);
	managed_netcheck_init(m);
	/* Without its thread port mapping is off; everything else works. */
	if ((ret = agent_portmap_new(m, port, &m->portmap)) < 0)
		log_warn("port mapping off: %s", strerror(-ret));
	if ((ret = managed_peers_init(&m->peers)) < 0 || (ret = managed_relay_init(m)) < 0)
		return ret;
	return http_client_new(loop, &m->http);
}

void managed_start(struct managed *m, const struct managed_membership *ms, const uint8_t k[COORD_KEY_LEN])
{
	m->ms = *ms;
	m->servers = ms->servers; /* as saved: where to go if ours does not answer */
	memcpy(m->control_key, k, COORD_KEY_LEN);
	snprintf(m->st.server_url, sizeof(m->st.server_url), "%s", ms->server_url);
	if (!ms->joined || !ms->server_url[0]) {
		log_info("not joined to a roam network: waiting for `roam up`");
		return;
	}
	/* Rejoin the network we were in before the restart. */
	m->st.state = ms->node_id ? MANAGED_CONNECTING : MANAGED_JOINING;
	managed_register_restart(m);
}

static void on_logout_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	(void)err, (void)status, (void)body, (void)len;
	m->logout_req = NULL;
	ev_loop_stop(m->loop);
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
	if (m->st.state != MANAGED_CONNECTED && m->st.state != MANAGED_CONNECTING)
		return;
	managed_stream_stop(m);
	if (managed_server_request(m, "POST", "/v1/logout", "", NULL, on_logout_done, &m->logout_req) < 0)
		return;
	ev_timer_init(&limit, on_logout_timeout, m);
	ev_timer_start(m->loop, &limit, ev_now(m->loop) + 1500 * EV_NSEC_PER_MSEC);
	ev_loop_run(m->loop);
	ev_timer_stop(m->loop, &limit);
}

void managed_down(struct managed *m)
{
	bool was_member = m->st.state == MANAGED_CONNECTED || m->st.state == MANAGED_CONNECTING;
	http_request_cancel(m->register_req);
	m->register_req = NULL;
	managed_stream_stop(m);
	if (m->switching) {
		crypto_wipe(&m->next, sizeof(m->next));
		m->switching = false;
	}
	/* The loop goes on running, so the logout completes by itself. */
	if (was_member && managed_server_request(m, "POST", "/v1/logout", "", NULL, NULL, NULL) < 0)
		log_warn("cannot tell the server we are leaving");
	ev_timer_stop(m->loop, &m->binding_timer);
	ev_timer_stop(m->loop, &m->retry_timer);
	managed_remove_all_peers(m);
	managed_netcheck_stop(m);
	managed_relay_stop(m);
	agent_portmap_delete(m->portmap);
	m->st.netcheck.runs = 0; /* the next roam up measures again */
	m->st.state = MANAGED_NOT_JOINED;
	m->st.udp = MANAGED_UDP_UNKNOWN;
	m->st.nat = MANAGED_NAT_UNKNOWN;
	memset(&m->st.public_endpoint, 0, sizeof(m->st.public_endpoint));
	m->st.error[0] = '\0';
	m->ms.joined = false;
	managed_save(m);
	log_info("left the network (roam down)");
}

void managed_stop(struct managed *m, bool logout)
{
	if (!m->loop)
		return;
	if (logout)
		logout_now(m);
	managed_relay_free(m);
	managed_stream_stop(m);
	managed_ondemand_stop(m, false);
	http_client_free(m->http); /* cancels anything pending */
	m->http = NULL;
	m->register_req = m->logout_req = NULL;
	ev_timer_stop(m->loop, &m->binding_timer);
	ev_timer_stop(m->loop, &m->retry_timer);
	ev_timer_stop(m->loop, &m->ctl.stream_retry);
	managed_netcheck_stop(m);
	agent_portmap_free(m->portmap); /* deletes the mapping */
	m->portmap = NULL;
	managed_peers_free(&m->peers);
	crypto_wipe(&m->ms, sizeof(m->ms));
	crypto_wipe(&m->next, sizeof(m->next));
	crypto_wipe(m->control_key, sizeof(m->control_key));
	crypto_wipe(m->next_key, sizeof(m->next_key));
	m->loop = NULL;
}

void managed_address_changed(struct managed *m)
{
	if (m->st.state != MANAGED_CONNECTED && m->st.state != MANAGED_CONNECTING)
		return;
	managed_push_address_changed(m); /* before the BINDING: its wait is a new network's */
	managed_send_binding(m);
	managed_send_endpoints(m);
	/* The stream's TCP connection may be tied to the address we lost;
	 * so may the relay link's. */
	managed_stream_restart(m, true);
	managed_relay_address_changed(m);
	managed_netcheck_start(m, 0);
}

void managed_portmap_changed(struct managed *m, const struct sockaddr_any *ext)
{
	struct sockaddr_any none = { .len = 0 };
	if (!ext)
		ext = &none;
	if (sockaddr_any_equal(ext, &m->mapped) || (!ext->len && !m->mapped.len))
		return;
	m->mapped = *ext;
	if (m->st.state == MANAGED_CONNECTED || m->st.state == MANAGED_CONNECTING)
		managed_send_endpoints(m);
}

void managed_mapping_changed(struct managed *m, enum coord_mapping mapping)
{
	if (mapping == m->mapping_sent || (m->st.state != MANAGED_CONNECTED && m->st.state != MANAGED_CONNECTING))
		return;
	managed_send_endpoints(m);
}

void managed_publish(struct managed *m)
{
	managed_push_flush(m); /* once per loop turn, like this */
	managed_relay_status(m);
	if (memcmp(&m->st, &m->published, sizeof(m->st)) == 0)
		return;
	m->published = m->st;
	m->host->publish_status(m->host_ctx, &m->st);
}
