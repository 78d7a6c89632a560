/* Managed mode: joining and registering (POST /v1/register): `roam up`
 * (a new network is tried before the old membership goes), the answer
 * (registered, waiting for approval, refused), retries with backoff, TLS
 * interception found, the server's UDP address learnt, the BINDING timer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/agent_portmap.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

#define APPROVAL_POLL_S 5
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_S 30

static void send_register(struct managed *m);

/* A request could not connect (no answer, not a refusal) with a proxy in
 * the way, or directly while the proxy is bypassed: the next one
 * goes the other way, as browsers do with "PROXY host; DIRECT". A laptop
 * that left its proxy's network keeps its control plane (its tunnels go
 * direct over UDP there), and takes the proxy again when it comes back. */
static void route_failed(struct managed *m, int err)
{
	char shown[128];
	const struct managed_membership *ms = managed_active(m);
	bool unreachable = err == -ECONNREFUSED || err == -EHOSTUNREACH || err == -ETIMEDOUT;
	if (!unreachable || m->switching ||
	    roamd_proxy_effective(&ms->proxy, ms->server_url, shown, sizeof(shown), NULL) == ROAMD_PROXY_NONE)
		return;
	m->st.proxy_bypassed = !m->st.proxy_bypassed;
	if (m->st.proxy_bypassed)
		log_warn("the proxy %s does not get us to the server: trying it directly", shown);
	else
		log_warn("no direct way to the server: through the proxy %s again", shown);
}

static void up_finished(struct managed *m, enum managed_up_result r)
{
	if (m->st.up_result == MANAGED_UP_PENDING)
		m->st.up_result = r;
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

void managed_retry_in(struct managed *m, uint64_t ms)
{
	ev_timer_start(m->loop, &m->retry_timer, ev_now(m->loop) + ms * (EV_NSEC_PER_SEC / 1000));
}

unsigned managed_retry_hint(const struct managed *m, long status)
{
	return status == 429 || status == 503 ? http_client_retry_after_s(m->http) : 0;
}

uint32_t managed_retry_later(struct managed *m, unsigned hint_s)
{
	uint32_t rnd, ms;

	crypto_random(&rnd, sizeof(rnd));
	ms = backoff_next_ms(&m->backoff, hint_s, rnd);
	managed_retry_in(m, ms);
	return ms;
}

void managed_register(struct managed *m)
{
	if (!m->register_req)
		send_register(m);
}

/* The port of an https:// URL (443 unless it names one). */
static uint16_t url_port(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *colon = NULL;
	if (*p == '[') {
		const char *close = memchr(p, ']', n);
		if (close && close + 1 < p + n && close[1] == ':')
			colon = close + 1;
	} else {
		for (const char *c = p; c < p + n; c++)
			if (*c == ':')
				colon = c;
	}
	long port = colon ? strtol(colon + 1, NULL, 10) : 443;
	return port > 0 && port <= 65535 ? (uint16_t)port : 443;
}

/* The server's UDP endpoint (BINDING, relay) is the address our HTTPS
 * request reached, at the URL's port: libcurl resolved the name without
 * blocking our loop. Through a proxy that address is the proxy's: the
 * server's comes from its URL, resolved off the loop if it is a name
 * (managed_names.c; no UDP to the server until then). */
static bool learn_server_udp(struct managed *m)
{
	const char *ip = http_client_primary_ip(m->http), *url = managed_active(m)->server_url;
	struct sockaddr_any a = { .len = 0 };
	char text[300];
	if (http_client_proxy_status(m->http)) {
		const char *host = strstr(url, "://");
		host = host ? host + 3 : url;
		size_t n = strcspn(host, "/?#");
		snprintf(text, sizeof(text), "%.*s", (int)(n < 260 ? n : 260), host);
		bool has_port = text[0] == '[' ? strstr(text, "]:") != NULL : strchr(text, ':') != NULL;
		if (!has_port)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), ":%u", url_port(url));
		if (sockaddr_any_parse(text, &a) < 0 && text[0] != '[') {
			*strrchr(text, ':') = '\0'; /* a name: host alone */
			managed_names_server(m, text, url_port(url));
			return false;
		}
	} else if (ip && *ip) {
		snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, url_port(url));
	} else {
		return false;
	}
	managed_names_server_clear(m);
	if (sockaddr_any_parse(text, &a) < 0)
		return false;
	if (!sockaddr_any_equal(&a, &m->server_udp)) {
		m->server_udp = a;
		m->host->set_server_udp(m->host_ctx, &a);
	}
	return true;
}

/* A `roam up` to another network succeeded: it replaces the old one. */
static void commit_switch(struct managed *m)
{
	bool same = strcmp(m->next.server_url, m->ms.server_url) == 0 &&
		    memcmp(m->next.token.server_pub, m->ms.token.server_pub, COORD_KEY_LEN) == 0;
	if (!same) {
		managed_remove_all_peers(m);
		m->have_self_addresses = false;
		memset(&m->servers, 0, sizeof(m->servers)); /* the old network's: its stream gives the new list */
	} else {
		m->next.servers = m->ms.servers;
	}
	bool new_route = memcmp(&m->next.proxy, &m->ms.proxy, sizeof(m->ms.proxy)) != 0;
	m->ms = m->next;
	m->st.proxy_bypassed = 0; /* the new membership's requests worked its own way */
	memcpy(m->control_key, m->next_key, COORD_KEY_LEN);
	if (new_route && same)
		managed_stream_restart(m, true); /* the old stream took the old proxy */
	crypto_wipe(&m->next, sizeof(m->next));
	crypto_wipe(m->next_key, sizeof(m->next_key));
	m->switching = false;
}

static void became_registered(struct managed *m, const struct coord_node *node)
{
	char v6[IP_PREFIX_STRLEN], v4[IP_PREFIX_STRLEN];
	bool addresses_changed = !m->have_self_addresses || !ip_prefix_equal(&node->ipv6, &m->st.self.ipv6) ||
				 !ip_prefix_equal(&node->ipv4, &m->st.self.ipv4) ||
				 node->network6.cidr != m->st.self.network6.cidr ||
				 node->network4.cidr != m->st.self.network4.cidr;
	m->st.self = *node;
	m->st.have_self = true;
	m->st.state = m->stream_up ? MANAGED_CONNECTED : MANAGED_CONNECTING;
	m->st.error[0] = '\0';
	backoff_reset(&m->backoff);
	m->failovers = 0;
	m->ms.node_id = node->node_id;
	snprintf(m->ms.name, sizeof(m->ms.name), "%s", node->name);
	snprintf(m->st.server_url, sizeof(m->st.server_url), "%s", m->ms.server_url);
	/* The pre-auth key did its job: do not keep it on disk. */
	crypto_wipe(m->ms.token.preauth_key, sizeof(m->ms.token.preauth_key));
	m->ms.joined = true;
	managed_save(m);
	ip_prefix_format(&node->ipv6, v6, sizeof(v6));
	ip_prefix_format(&node->ipv4, v4, sizeof(v4));
	log_info("registered as %s (node %u): %s, %s", node->name, node->node_id, v6, v4);
	if (addresses_changed) {
		m->host->set_addresses(m->host_ctx, node);
		m->have_self_addresses = true;
	}
	managed_send_endpoints(m);
	managed_send_binding(m);
	managed_relay_start(m);
	ev_timer_start(m->loop, &m->binding_timer,
		       ev_now(m->loop) + managed_relay_binding_interval_s(m) * EV_NSEC_PER_SEC);
	if (!m->nc.running && !m->st.netcheck.runs) {
		managed_netcheck_start(m, 0);
		agent_portmap_start(m->portmap);
	}
	if (!m->stream_req)
		managed_stream_open(m);
}

/* The server will not have us (removed, expired, not approved): keep no
 * peer of a network we are not a member of. */
static void refused(struct managed *m, const char *why)
{
	managed_set_error(m, "the server refused this node: %s", why);
	log_err("%s; all peers removed", m->st.error);
	managed_remove_all_peers(m);
	managed_stream_stop(m);
	ev_timer_stop(m->loop, &m->binding_timer);
	managed_netcheck_stop(m);
	managed_relay_stop(m);
	m->st.state = MANAGED_REFUSED;
	m->st.udp = MANAGED_UDP_UNKNOWN;
	m->ms.joined = false;
	managed_save(m);
}

/* A `roam up` to a new network failed: nothing changes. */
static void switch_failed(struct managed *m)
{
	log_warn("roam up %s: %s", m->next.server_url, m->st.error);
	crypto_wipe(&m->next, sizeof(m->next));
	crypto_wipe(m->next_key, sizeof(m->next_key));
	m->switching = false;
	up_finished(m, MANAGED_UP_FAILED);
	if (m->st.state == MANAGED_JOINING)
		m->st.state = MANAGED_NOT_JOINED;
}

/* The pin failed and the network allows interception: from now on TLS
 * proves nothing and the server proves each reply with K (the relay link's
 * frames are WireGuard's: they need nothing more). */
static void intercept_start(struct managed *m)
{
	log_warn("the server's TLS key is not the pinned one: a TLS-intercepting proxy; going on with the server "
		 "authenticated inside (roam up --allow-tls-interception)");
	m->intercepted = true;
	m->st.tls_interception = 1;
	managed_relay_interception(m);
}

/* Our server does not answer (killed, its machine gone) and the network
 * has others (several servers on one PostgreSQL, the "servers" stream
 * line): register with the next one now, with the same key, token (the
 * servers share the identity and TLS keys) and node id. The tunnels keep
 * their peers meanwhile; the new server's stream brings the same view.
 * Once round the list without an answer, the next round waits for the
 * backoff (no busy loop while every server is down). true: moved. */
static bool fail_over(struct managed *m)
{
	const char *next = coord_servers_next(&m->servers, m->ms.server_url);
	if (m->switching || !m->ms.joined || !m->ms.node_id || !next)
		return false;
	if (m->failovers >= m->servers.count) {
		m->failovers = 0;
		return false;
	}
	m->failovers++;
	log_warn("the server %s does not answer (%s): moving to %s", m->ms.server_url, m->st.error, next);
	snprintf(m->ms.server_url, sizeof(m->ms.server_url), "%s", next);
	m->st.proxy_bypassed = 0;
	managed_save(m);
	send_register(m);
	return true;
}

/* The stream of a network of several servers went silent (a host gone
 * without a reset, managed_stream.c): as good as dead. Registering with
 * the next one at once beats waiting for a connection to this one to time
 * out (a silent stream restarted on a dead host took 61 s, t_cluster_vanish).
 * false: not moved (no other server, or once round the list already). */
bool managed_fail_over_silent(struct managed *m)
{
	if (m->switching || !m->ms.joined || !m->ms.node_id)
		return false;
	managed_stream_stop(m);
	http_request_cancel(m->register_req);
	m->register_req = NULL;
	managed_set_error(m, "no word from %s", m->ms.server_url);
	if (!fail_over(m))
		return false;
	m->st.state = MANAGED_CONNECTING;
	return true;
}

static void on_register_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	struct coord_node node;
	char why[200];
	m->register_req = NULL;
	if (err == -EKEYREJECTED && managed_active(m)->allow_tls_interception && !m->intercepted) {
		intercept_start(m);
		send_register(m);
		return;
	}
	if (err < 0 || status >= 500 || status == 0 || status == 429) {
		unsigned hint = managed_retry_hint(m, status);
		char later[48] = "";
		if (hint)
			snprintf(later, sizeof(later), ", come back in %u s", hint);
		if (status == 429 || status == 503)
			managed_set_error(m, "%s is busy (%ld)%s", managed_active(m)->server_url, status, later);
		else
			managed_set_error(m, "cannot reach %s: %s", managed_active(m)->server_url,
				  err < 0 || status == 0 ? managed_transport_error(m, err) : "server error");
		route_failed(m, err);
		if (m->switching) {
			switch_failed(m);
			return;
		}
		if (status != 429 && fail_over(m))
			return;
		up_finished(m, MANAGED_UP_FAILED);
		uint32_t ms = managed_retry_later(m, hint);
		log_warn("register: %s; retrying in %.1f s", m->st.error, ms / 1000.0);
		return;
	}
	if (status == 200 || status == 202) {
		if (coord_node_parse(body, len, &node) < 0) {
			managed_set_error(m, "%s", "the server's answer to register was malformed");
			if (m->switching)
				switch_failed(m);
			else
				managed_retry_later(m, 0);
			return;
		}
		if (m->switching)
			commit_switch(m);
		learn_server_udp(m);
		up_finished(m, MANAGED_UP_DONE);
		if (status == 202 || !node.approved) {
			if (m->st.state != MANAGED_WAITING_APPROVAL)
				log_info("waiting for an administrator to approve this node");
			managed_remove_all_peers(m);
			m->st.state = MANAGED_WAITING_APPROVAL;
			m->ms.node_id = node.node_id;
			m->ms.joined = true;
			managed_save(m);
			managed_set_error(m, "%s", "waiting for an administrator to approve this node (roam-server nodes approve)");
			managed_retry_in(m, APPROVAL_POLL_S * 1000u);
			return;
		}
		became_registered(m, &node);
		return;
	}
	answer_error(body, why, sizeof(why));
	if (m->switching) {
		managed_set_error(m, "the server refused to register this node: %s", why);
		switch_failed(m);
		return;
	}
	up_finished(m, MANAGED_UP_FAILED);
	refused(m, why);
}

static void send_register(struct managed *m)
{
	struct coord_register_req req = { .port = m->port, .has_file_key = m->has_file_key };
	const struct managed_membership *ms = managed_active(m);
	memcpy(req.file_key, m->file_key, COORD_KEY_LEN);
	snprintf(req.name, sizeof(req.name), "%s", ms->name);
	if (!crypto_is_zero(ms->token.preauth_key, sizeof(ms->token.preauth_key))) {
		req.has_preauth_key = true;
		memcpy(req.preauth_key, ms->token.preauth_key, sizeof(req.preauth_key));
	}
	char *body = coord_register_req_to_json(&req);
	crypto_wipe(&req, sizeof(req));
	if (!body || managed_server_request(m, "POST", "/v1/register", body, NULL, on_register_done, &m->register_req) < 0) {
		managed_set_error(m, "%s", "cannot start a request to the server");
		managed_retry_later(m, 0);
	}
	free(body);
}

/* Retries whatever is missing: registration, approval, the stream. */
static void on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	(void)loop;
	if (m->st.state == MANAGED_JOINING || m->st.state == MANAGED_WAITING_APPROVAL ||
	    (m->st.state == MANAGED_CONNECTING && !m->stream_req)) {
		/* Registering again is idempotent and also re-checks that we are
		 * still a member before the stream resumes. */
		if (!m->register_req)
			send_register(m);
	}
}

static void on_binding_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	if (!managed_push_keep(m)) /* on the push channel, most times a KEEP does */
		managed_send_binding(m);
	ev_timer_start(loop, t, ev_now(loop) + managed_relay_binding_interval_s(m) * EV_NSEC_PER_SEC);
}

void managed_register_restart(struct managed *m)
{
	http_request_cancel(m->register_req);
	m->register_req = NULL;
	backoff_reset(&m->backoff);
	ev_timer_stop(m->loop, &m->retry_timer);
	send_register(m);
}

/* `roam up --proxy`: NULL keeps the proxy, "" clears it. */
static struct roamd_proxy proxy_from_up(const struct managed *m, const char *proxy)
{
	struct roamd_proxy p = m->ms.proxy;
	if (proxy) {
		memset(&p, 0, sizeof(p));
		p.set = proxy[0] != '\0';
		snprintf(p.url, sizeof(p.url), "%s", proxy);
	}
	return p;
}

void managed_up(struct managed *m, const char *server, const struct coord_token *t, const uint8_t k[COORD_KEY_LEN],
		const char *name, const char *proxy, bool force, uint8_t tls_interception, uint32_t seq)
{
	uint8_t allow = tls_interception == CTL_TLS_INTERCEPTION_KEEP ? m->ms.allow_tls_interception
									: tls_interception == CTL_TLS_INTERCEPTION_ALLOW;
	if (!allow && m->intercepted) { /* no longer allowed: TLS must prove the server again */
		m->intercepted = false;
		m->st.tls_interception = 0;
		managed_relay_interception(m);
	}
	struct roamd_proxy px = proxy_from_up(m, proxy);
	m->st.up_seq = seq;
	m->st.up_result = MANAGED_UP_PENDING;
	m->st.error[0] = '\0';
	if (!server) {
		if (!m->ms.server_url[0]) {
			crypto_wipe(&px, sizeof(px));
			managed_set_error(m, "%s", "not joined to any network yet: roam up --server URL --token TOKEN");
			up_finished(m, MANAGED_UP_FAILED);
			return;
		}
		if (name)
			snprintf(m->ms.name, sizeof(m->ms.name), "%s", name);
		bool new_route = memcmp(&px, &m->ms.proxy, sizeof(px)) != 0;
		m->ms.proxy = px;
		m->ms.allow_tls_interception = allow;
		crypto_wipe(&px, sizeof(px));
		m->ms.joined = true;
		managed_save(m);
		if (new_route) {
			/* The stream still runs the old way; registering again
			 * below proves the new one to `roam up`. */
			log_info("proxy changed: reconnecting to the server");
			m->st.proxy_bypassed = 0;
			managed_stream_restart(m, true);
		}
		if (m->st.state == MANAGED_NOT_JOINED || m->st.state == MANAGED_REFUSED)
			m->st.state = m->ms.node_id ? MANAGED_CONNECTING : MANAGED_JOINING;
		if (m->st.state == MANAGED_CONNECTED) {
			up_finished(m, MANAGED_UP_DONE);
			return;
		}
		managed_register_restart(m);
		return;
	}
	bool same_network = strcmp(server, m->ms.server_url) == 0 &&
			    memcmp(t->server_pub, m->ms.token.server_pub, COORD_KEY_LEN) == 0;
	bool member = m->ms.joined && m->ms.node_id && m->st.state != MANAGED_REFUSED;
	if (member && !same_network && !force) {
		crypto_wipe(&px, sizeof(px));
		managed_set_error(m, "this node is a member of %s: `roam down` first, or `roam up --force` to switch networks",
			  m->ms.server_url);
		up_finished(m, MANAGED_UP_FAILED);
		return;
	}
	/* Tried first; the current membership stays until the server says yes. */
	memset(&m->next, 0, sizeof(m->next));
	snprintf(m->next.server_url, sizeof(m->next.server_url), "%s", server);
	m->next.token = *t;
	m->next.proxy = px;
	m->next.allow_tls_interception = allow;
	crypto_wipe(&px, sizeof(px));
	snprintf(m->next.name, sizeof(m->next.name), "%s", name ? name : m->ms.name);
	if (!m->next.name[0] && gethostname(m->next.name, sizeof(m->next.name) - 1) < 0)
		strcpy(m->next.name, "node");
	m->next.node_id = same_network ? m->ms.node_id : 0;
	m->next.joined = true;
	memcpy(m->next_key, k, COORD_KEY_LEN);
	m->switching = true;
	if (m->st.state == MANAGED_NOT_JOINED || m->st.state == MANAGED_REFUSED)
		m->st.state = MANAGED_JOINING;
	managed_register_restart(m);
}


void managed_register_init(struct managed *m)
{
	ev_timer_init(&m->binding_timer, on_binding_timer, m);
	ev_timer_init(&m->retry_timer, on_retry, m);
	m->backoff = (struct backoff)BACKOFF_INIT(BACKOFF_MIN_MS, BACKOFF_MAX_S * 1000u);
}
