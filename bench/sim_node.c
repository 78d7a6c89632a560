/* The protocol steps of a simulated node, and the one-node mode driven
 * from stdin. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "coord/auth.h"
#include "coord/json.h"
#include "crypto/crypto.h"

int sim_node_keys(struct sim_node *n, const char *key_file)
{
	char text[128] = "";
	FILE *f;
	size_t len;

	if (key_file) {
		if (!(f = fopen(key_file, "re")))
			return -errno;
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = '\0';
		if (coord_b64_decode(n->priv, COORD_KEY_LEN, text, len, 0) < 0)
			return -EINVAL;
	} else {
		crypto_random(n->priv, COORD_KEY_LEN);
		x25519_clamp(n->priv);
	}
	if (x25519_public(n->pub, n->priv) < 0)
		return -EINVAL;
	return coord_control_key(n->k, n->priv, n->token->server_pub);
}

int sim_request_signed(struct sim_http *h, const struct sim_node *signer, const char *method, const char *target,
		       const char *body, int64_t skew_s, char *auth)
{
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t len = body ? strlen(body) : 0;
	int r;

	crypto_random(nonce, sizeof(nonce));
	if ((r = coord_auth_build(auth, COORD_AUTH_HEADER_MAX, signer->k, signer->pub, method, target,
				  (int64_t)(sim_now_ns() / 1000000000u) + skew_s, nonce, body, len)) < 0)
		return r;
	return sim_http_request(h, method, target, g_sim.host, auth, body, len);
}

int sim_request(struct sim_node *n, const char *method, const char *target, const char *body)
{
	char auth[COORD_AUTH_HEADER_MAX];
	int r = sim_request_signed(&n->http, n, method, target, body, 0, auth);

	sim_node_rearm(n);
	return r;
}

static void node_register(struct sim_node *n)
{
	struct coord_register_req req;
	char *body;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", n->name);
	req.has_preauth_key = !crypto_is_zero(n->token->preauth_key, COORD_PREAUTH_KEY_LEN);
	memcpy(req.preauth_key, n->token->preauth_key, COORD_PREAUTH_KEY_LEN);
	req.port = sockaddr_any_port(&n->local);
	body = coord_register_req_to_json(&req);
	if (body)
		sim_request(n, "POST", "/v1/register", body);
	free(body);
	n->phase = SIM_REGISTER;
}

static void node_endpoints(struct sim_node *n)
{
	struct coord_endpoints_req req = { .count = 1, .port = sockaddr_any_port(&n->local) };
	char *body;

	req.endpoints[0] = n->local;
	body = coord_endpoints_req_to_json(&req);
	if (body)
		sim_request(n, "POST", "/v1/endpoints", body);
	free(body);
}

static void on_ready(struct sim_http *h)
{
	struct sim_node *n = h->user;

	if (n->phase != SIM_LOGOUT) /* the side connection has its request queued */
		node_register(n);
}

static void on_response(struct sim_http *h, int status, const char *body, size_t len)
{
	struct sim_node *n = h->user;
	struct coord_node doc;

	if (n->phase == SIM_LINK) {
		printf("error relay link %d %s\n", status, body);
		n->phase = SIM_DONE;
		g_sim.in_flight--;
		return;
	}
	if (n->phase == SIM_REGISTER) {
		if ((status == 200 || status == 202) && coord_node_parse(body, len, &doc) == 0) {
			uint32_t old_id = n->id;
			n->id = doc.node_id;
			memcpy(n->ipv6, doc.ipv6.addr, sizeof(n->ipv6));
			if (g_sim.hooks && g_sim.hooks->registered)
				g_sim.hooks->registered(n, old_id, status);
			if (g_sim.verbose)
				printf("%s %s\n", status == 200 ? "registered" : "pending", body);
			if (status == 202) {
				n->phase = SIM_DONE;
				return;
			}
			sim_send_binding(n, NULL);
			n->phase = SIM_ENDPOINTS;
			node_endpoints(n);
			return;
		}
		if (g_sim.hooks && g_sim.hooks->registered)
			g_sim.hooks->registered(n, n->id, status);
		else
			printf("error register %d %s\n", status, body);
		n->phase = SIM_DONE;
		g_sim.in_flight--;
		return;
	}
	if (n->phase == SIM_ENDPOINTS) {
		if (status != 204)
			printf("error endpoints %d %s\n", status, body);
		if (g_sim.links) {
			sim_link_open(n);
			return;
		}
		if (g_sim.push && !n->push_fallen && !n->push_tls) {
			n->push_switch = true; /* after this I/O: the connection closed, OPEN */
			return;
		}
		n->phase = SIM_STREAM;
		sim_stream_request(n);
		return;
	}
	if (g_sim.verbose)
		printf("response %d %s\n", status, body);
}

static void on_stream_start(struct sim_http *h, int status)
{
	struct sim_node *n = h->user;

	if (n->phase == SIM_LINK) {
		n->phase = SIM_LINKED;
		n->link_sent_ns = sim_mono_ns();
		g_sim.ready++;
		g_sim.in_flight--;
		g_sim.links_open++;
		return;
	}
	n->phase = SIM_STREAMING;
	if (status != 200)
		printf("error stream %d\n", status);
}

/* Bench: does this line carry the moving node's new endpoint? Text search,
 * not a JSON parse: 10 000 streams must not make the client the bottleneck. */
static void bench_line(struct sim_node *n, const char *line)
{
	char id_text[32];

	if (!g_sim.move || n->seen_move == g_sim.move || strncmp(line, "{\"type\":\"peer\",", 15) != 0)
		return;
	snprintf(id_text, sizeof(id_text), "\"node_id\":%u,", g_sim.move_node_id);
	if (!strstr(line, id_text) || !strstr(line, g_sim.move_endpoint))
		return;
	n->seen_move = g_sim.move;
	if (++g_sim.move_seen == g_sim.move_expected)
		g_sim.move_done_ns = sim_mono_ns();
}

/* The view version a line brings (a "view" line, or a peer line's "view"
 * field, last in it): text search like bench_line. */
static void view_line(struct sim_node *n, const char *line, size_t len)
{
	static const char view_type[] = "{\"type\":\"view\",\"version\":\"", peer_field[] = ",\"view\":\"";
	const char *v = NULL, *end;

	if (len > sizeof(view_type) && strncmp(line, view_type, sizeof(view_type) - 1) == 0)
		v = line + sizeof(view_type) - 1;
	else if (strncmp(line, "{\"type\":\"peer\",", 15) == 0 && len > 60) {
		const char *tail = line + len - 60;
		const char *f = memmem(tail, 60, peer_field, sizeof(peer_field) - 1);
		v = f ? f + sizeof(peer_field) - 1 : NULL;
	}
	if (!v || !(end = memchr(v, '"', (size_t)(line + len - v))) || (size_t)(end - v) > COORD_VIEW_VERSION_MAX)
		return;
	memcpy(n->view, v, (size_t)(end - v));
	n->view[end - v] = '\0';
}

int sim_stream_request(struct sim_node *n)
{
	char target[sizeof("/v1/stream?view=") + COORD_VIEW_VERSION_MAX];

	snprintf(target, sizeof(target), "/v1/stream%s%s", n->view[0] && !g_sim.full_views ? "?view=" : "",
		 g_sim.full_views ? "" : n->view);
	return sim_request(n, "GET", target, NULL);
}

void sim_node_line(struct sim_node *n, const char *line, size_t len)
{
	view_line(n, line, len);
	if (strncmp(line, "{\"type\":\"goodbye\",\"retry_after_ms\":", 35) == 0) {
		unsigned long ms = strtoul(line + 35, NULL, 10);
		n->goodbye_ms = (uint32_t)(ms > COORD_GOODBYE_MAX_MS ? COORD_GOODBYE_MAX_MS : ms) + 1;
	}
	/* A full view ("peers"), or a delta (ends with "view"). */
	if (!n->has_view && (strncmp(line, "{\"type\":\"peers\"", 15) == 0 || strncmp(line, "{\"type\":\"view\",", 15) == 0)) {
		if (line[9] == 'p')
			g_sim.views_full++;
		else
			g_sim.views_delta++;
		n->has_view = true;
		g_sim.ready++;
		g_sim.in_flight--;
		if (g_sim.hooks && g_sim.hooks->view)
			g_sim.hooks->view(n);
	}
	/* TOO_BIG sent it here for its view: back to the push channel now. */
	if (n->push_tls && n->phase == SIM_STREAMING && strncmp(line, "{\"type\":\"view\",", 15) == 0)
		n->push_switch = true;
	if (g_sim.verbose)
		printf("stream %.*s\n", (int)len, line);
	else
		bench_line(n, line);
	if (g_sim.hooks && g_sim.hooks->peer_line && strncmp(line, "{\"type\":\"peer\",", 15) == 0)
		g_sim.hooks->peer_line(n, line, len);
}

static void on_line(struct sim_http *h, const char *line, size_t len)
{
	sim_node_line(h->user, line, len);
}

void sim_node_down(struct sim_node *n)
{
	bool had_view = n->has_view;

	if (!g_sim.hooks || !g_sim.hooks->closed)
		return;
	/* The driver counts and reconnects; the node needs its view again. */
	if (!had_view && n->phase != SIM_DONE)
		g_sim.in_flight--;
	if (had_view)
		g_sim.ready--;
	n->has_view = false;
	n->phase = SIM_DONE;
	g_sim.hooks->closed(n, had_view);
}

static void on_closed(struct sim_http *h, const char *why)
{
	struct sim_node *n = h->user;

	if (n->phase == SIM_PUSH)
		return; /* closed for the push channel: the node is not down */
	if (g_sim.hooks && g_sim.hooks->closed) {
		sim_node_down(n);
		return;
	}
	if (g_sim.verbose || n->phase != SIM_DONE)
		printf("closed %s: %s\n", n->name, why);
	if (n->phase == SIM_LINKED)
		g_sim.links_open--;
	else if (!n->has_view && n->phase != SIM_DONE)
		g_sim.in_flight--;
	n->phase = SIM_DONE;
}

const struct sim_http_ops sim_node_http_ops = {
	.ready = on_ready,
	.response = on_response,
	.stream_start = on_stream_start,
	.line = on_line,
	.closed = on_closed,
};

/* --- one node, commands on stdin --- */

static bool g_quit;
/* Requests after the stream opened go on a second connection (slot 1, same
 * keys, no UDP socket of its own): the first one carries the chunked reply. */
static void side_request(const char *method, const char *target, const char *body)
{
	struct sim_node *side = &g_sim.nodes[1];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)1 << 1 };

	if (side->http.state != SIM_CLOSED && side->http.fd > 0)
		sim_http_close(&side->http, "replaced");
	*side = g_sim.nodes[0];
	side->idx = 1;
	side->udp_fd = -1;
	side->phase = SIM_LOGOUT;
	memset(&side->http, 0, sizeof(side->http));
	side->http.ops = &sim_node_http_ops;
	side->http.user = side;
	struct sockaddr_any src;
	if (sim_http_connect(&side->http, g_sim.ctx, &g_sim.server, g_sim.pin, sim_source(side, &src) ? &src : NULL) < 0)
		return;
	epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, side->http.fd, &ev);
	sim_request(side, method, target, body);
}

void sim_stdin_readable(void)
{
	static char buf[4096];
	static size_t len;
	struct sim_node *n = &g_sim.nodes[0];
	ssize_t got = read(0, buf + len, sizeof(buf) - 1 - len);
	char *nl, arg[256];
	unsigned id;

	if (got <= 0) {
		g_quit = true;
		return;
	}
	len += (size_t)got;
	buf[len] = '\0';
	while ((nl = strchr(buf, '\n'))) {
		*nl = '\0';
		if (strcmp(buf, "bind") == 0) {
			sim_send_binding(n, NULL);
		} else if (strcmp(buf, "rebind") == 0) {
			sim_udp_open(n); /* a new port, as after an address change */
			sim_send_binding(n, NULL);
		} else if (sscanf(buf, "spoof-bind %255s", arg) == 1) {
			int r = sim_send_spoofed_binding(n, arg);
			printf(r < 0 ? "error spoof %s\n" : "spoofed %s\n", r < 0 ? strerror(-r) : arg);
		} else if (sscanf(buf, "relay %u %255s", &id, arg) == 2) {
			sim_send_relay(n, id, arg);
		} else if (strcmp(buf, "ping") == 0) {
			/* An authenticated request on the side connection: "response 204". */
			side_request("POST", "/v1/endpoints", "{\"private\":[]}");
		} else if (strcmp(buf, "logout") == 0) {
			side_request("POST", "/v1/logout", NULL);
		} else if (strcmp(buf, "quit") == 0) {
			g_quit = true;
		} else if (buf[0]) {
			printf("error unknown command '%s'\n", buf);
		}
		len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, len + 1);
	}
}

int sim_node_main(const struct sim_args *a)
{
	static struct coord_token token;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	struct sim_node *n;
	int r;

	if (coord_token_decode(a->token, &token) < 0) {
		fprintf(stderr, "coord_sim: malformed token\n");
		return 2;
	}
	memcpy(g_sim.pin, token.tls_pin, 32);
	g_sim.verbose = true;
	g_sim.nodes = calloc(2, sizeof(*g_sim.nodes));
	if (!g_sim.nodes)
		return 1;
	g_sim.count = 1;
	n = &g_sim.nodes[0];
	n->udp_fd = g_sim.nodes[1].udp_fd = -1;
	g_sim.nodes[1].http.state = SIM_CLOSED;
	g_sim.nodes[1].http.fd = -1;
	n->token = &token;
	snprintf(n->name, sizeof(n->name), "%s", a->name);
	if ((r = sim_node_keys(n, a->key_file)) < 0) {
		fprintf(stderr, "coord_sim: key: %s\n", strerror(-r));
		return 1;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, 0, &ev);
	if ((r = sim_node_start(n)) < 0) {
		fprintf(stderr, "coord_sim: connect: %s\n", strerror(-r));
		return 1;
	}
	/* Refresh the binding every 25 s, as roamd does. */
	for (uint64_t next = sim_mono_ns() + 25 * 1000000000ull; !g_quit;) {
		sim_poll(200);
		if (n->id && sim_mono_ns() >= next) {
			sim_send_binding(n, NULL);
			next = sim_mono_ns() + 25 * 1000000000ull;
		}
	}
	return 0;
}
