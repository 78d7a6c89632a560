/* The control server's side of relay-only servers: see relays.h. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "server/relays.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define RELAY_MAP_LINE_MAX (512 * (STORE_RELAYS_MAX + 1))

/* "host" of https://host:port (brackets kept for IPv6) into out. */
static void url_host(const char *url, char *out, size_t size)
{
	const char *h = strncmp(url, "https://", 8) == 0 ? url + 8 : url;
	const char *end = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
	size_t n = end ? (size_t)(end - h) + (h[0] == '[') : strlen(h);

	snprintf(out, size, "%.*s", (int)n, h);
}

static int map_entry(char *out, size_t size, uint32_t id, const char *region, const char *url, const char *host,
		     uint16_t udp_port, const uint8_t key[32], const uint8_t pin[32])
{
	char k64[COORD_KEY_B64_LEN + 1], p64[COORD_KEY_B64_LEN + 1], udp[300];
	bool v6 = strchr(host, ':') && host[0] != '[';

	coord_b64_encode(k64, sizeof(k64), key, 32, 0);
	coord_b64_encode(p64, sizeof(p64), pin, 32, 0);
	snprintf(udp, sizeof(udp), "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", udp_port);
	/* names, regions and URLs are the admin's, checked at add: no quotes */
	return snprintf(out, size, "%s{\"id\":%" PRIu32 ",\"region\":\"%s\",\"url\":\"%s\",\"udp\":\"%s\",\"key\":\"%s\",\"tls_pin\":\"%s\"}",
			id ? "," : "", id, region, url, udp, k64, p64);
}

/* {"type":"relays","relays":[relay 0, then every registered relay]} */
static char *relays_map_build(struct server *s)
{
	struct srv_relays *t = s->relays;
	char *line = malloc(RELAY_MAP_LINE_MAX), url[300];
	size_t at;

	if (!line)
		return NULL;
	bool v6 = strchr(t->self_host, ':') != NULL;
	snprintf(url, sizeof(url), "https://%s%s%s:%u", v6 ? "[" : "", t->self_host, v6 ? "]" : "", t->self_port);
	at = (size_t)snprintf(line, RELAY_MAP_LINE_MAX, "{\"type\":\"relays\",\"relays\":[");
	at += (size_t)map_entry(line + at, RELAY_MAP_LINE_MAX - at, 0, "", url, t->self_host, t->self_port,
				s->id.control_pub, s->id.tls_pin);
	for (size_t i = 1; i <= STORE_RELAYS_MAX && at < RELAY_MAP_LINE_MAX; i++) {
		struct srv_relay *rl = t->by_id[i];
		char host[256];
		if (!rl || !rl->rec.registered)
			continue;
		url_host(rl->rec.url, host, sizeof(host));
		at += (size_t)map_entry(line + at, RELAY_MAP_LINE_MAX - at, rl->rec.id, rl->rec.region, rl->rec.url,
					host, rl->rec.udp_port, rl->rec.public_key, rl->rec.tls_pin);
	}
	if (at + 4 > RELAY_MAP_LINE_MAX) {
		free(line);
		return NULL;
	}
	memcpy(line + at, "]}\n", 4);
	return line;
}

void relays_send_map(struct server *s, struct dir_node *n)
{
	if (s->relays && n->stream && s->relays->map_line)
		stream_send(n->stream, s->relays->map_line, strlen(s->relays->map_line));
}

/* A new map to every node stream if it differs from the last one. */
static void relays_map_update(struct server *s)
{
	char *line = relays_map_build(s);

	if (!line)
		return;
	if (s->relays->map_line && strcmp(line, s->relays->map_line) == 0) {
		free(line);
		return;
	}
	free(s->relays->map_line);
	s->relays->map_line = line;
	for (struct srv_stream *st = s->streams, *next; st; st = next) {
		next = st->next; /* stream_send may close st */
		stream_send(st, line, strlen(line));
	}
}

static int control_send(struct srv_relay *rl, const char *line)
{
	struct evhttp_connection *conn = rl->control ? evhttp_request_get_connection(rl->control) : NULL;
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *b;

	if (!bev)
		return -ENOTCONN;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > RELAYS_CONTROL_OUTPUT_MAX) {
		log_limited(LOG_WARN, "relay %s: not reading its control stream, closing it", rl->rec.name);
		evhttp_connection_set_closecb(conn, NULL, NULL);
		http_stream_end(rl->control);
		rl->control = NULL;
		return -EPIPE;
	}
	if (!(b = evbuffer_new()))
		return -ENOMEM;
	evbuffer_add(b, line, strlen(line));
	evhttp_send_reply_chunk(rl->control, b);
	evbuffer_free(b);
	return 0;
}

static void control_end(struct srv_relay *rl)
{
	struct evhttp_connection *conn;

	if (!rl->control)
		return;
	if ((conn = evhttp_request_get_connection(rl->control)))
		evhttp_connection_set_closecb(conn, NULL, NULL);
	http_stream_end(rl->control);
	rl->control = NULL;
}

static int relays_collect(void *arg, const struct store_relay *rec)
{
	struct server *s = arg;
	struct srv_relay *rl = s->relays->by_id[rec->id];

	if (rec->id == 0 || rec->id > STORE_RELAYS_MAX)
		return 0;
	if (rl && (strcmp(rl->rec.name, rec->name) != 0 || memcmp(rl->rec.secret_hash, rec->secret_hash, 32) != 0 ||
		   (rl->rec.registered && memcmp(rl->rec.public_key, rec->public_key, 32) != 0))) {
		control_end(rl); /* another relay under that index now */
		crypto_wipe(rl, sizeof(*rl));
		free(rl);
		rl = s->relays->by_id[rec->id] = NULL;
	}
	if (!rl && !(rl = s->relays->by_id[rec->id] = calloc(1, sizeof(*rl))))
		return -ENOMEM;
	rl->rec = *rec;
	rl->srv = s;
	if (rec->registered && !rl->k_ok)
		rl->k_ok = relay_key_derive(rl->k, s->id.control_priv, rec->public_key, RELAY_KEY_LABEL) == 0;
	return 0;
}

int relays_reload(struct server *s)
{
	bool seen[STORE_RELAYS_MAX + 1] = { false };
	int r;

	for (size_t i = 1; i <= STORE_RELAYS_MAX; i++)
		if (s->relays->by_id[i])
			s->relays->by_id[i]->rec.id = 0; /* marks it: not seen yet */
	if ((r = store_relays_foreach(s->store, relays_collect, s)) < 0)
		return r;
	for (size_t i = 1; i <= STORE_RELAYS_MAX; i++) {
		struct srv_relay *rl = s->relays->by_id[i];
		if (rl && rl->rec.id == i)
			seen[i] = true;
		if (rl && !seen[i]) {
			log_info("relay %s removed", rl->rec.name);
			control_end(rl);
			crypto_wipe(rl, sizeof(*rl));
			free(rl);
			s->relays->by_id[i] = NULL;
		}
	}
	relays_map_update(s);
	return 0;
}

int relays_open(struct server *s)
{
	char port[16];

	if (!(s->relays = calloc(1, sizeof(*s->relays))))
		return -ENOMEM;
	if (store_meta_get(s->store, "host", s->relays->self_host, sizeof(s->relays->self_host)) < 0 ||
	    store_meta_get(s->store, "port", port, sizeof(port)) < 0)
		return -EBADMSG;
	s->relays->self_port = s->cfg.port ? s->cfg.port : (uint16_t)strtoul(port, NULL, 10);
	if (relays_floors_load(s) < 0)
		log_warn("ticket floors: cannot read them from the store");
	return relays_reload(s);
}

void relays_close(struct server *s)
{
	if (!s->relays)
		return;
	relays_floors_flush(s);
	for (size_t i = 1; i <= STORE_RELAYS_MAX; i++) {
		struct srv_relay *rl = s->relays->by_id[i];
		if (!rl)
			continue;
		control_end(rl);
		crypto_wipe(rl, sizeof(*rl));
		free(rl);
	}
	free(s->relays->map_line);
	free(s->relays);
	s->relays = NULL;
}

struct srv_relay *relays_by_key(struct server *s, const uint8_t pub[32])
{
	for (size_t i = 1; s->relays && i <= STORE_RELAYS_MAX; i++) {
		struct srv_relay *rl = s->relays->by_id[i];
		if (rl && rl->rec.registered && crypto_equal(rl->rec.public_key, pub, 32))
			return rl;
	}
	return NULL;
}

int relays_registered(struct server *s, struct srv_relay *rl, const uint8_t pub[32], uint16_t udp_port,
		      const uint8_t tls_pin[32])
{
	int r;

	if ((r = store_relay_registered(s->store, rl->rec.id, pub, udp_port, tls_pin)) < 0)
		return r;
	memcpy(rl->rec.public_key, pub, 32);
	memcpy(rl->rec.tls_pin, tls_pin, 32);
	rl->rec.udp_port = udp_port;
	rl->rec.registered = true;
	rl->k_ok = relay_key_derive(rl->k, s->id.control_priv, pub, RELAY_KEY_LABEL) == 0;
	relays_map_update(s);
	return 0;
}

int relays_load_report(struct server *s, struct srv_relay *rl, const struct store_relay *load)
{
	rl->rec.load_at = load->load_at;
	rl->rec.clients = load->clients;
	rl->rec.pps = load->pps;
	rl->rec.bps = load->bps;
	rl->rec.dropped = load->dropped;
	rl->rec.online = true;
	return store_relay_load(s->store, rl->rec.id, &rl->rec);
}

static void control_closed(struct evhttp_connection *conn, void *arg)
{
	struct srv_relay *rl = arg;

	(void)conn;
	log_info("relay %s: control stream closed", rl->rec.name);
	evhttp_send_reply_end(rl->control); /* no connection: frees the request */
	rl->control = NULL;
	rl->rec.online = false; /* for roam-server relays, at once */
	store_relay_load(rl->srv->store, rl->rec.id, &rl->rec);
}

static void floor_line(char *out, size_t size, const struct relay_floor *f)
{
	snprintf(out, size, "{\"type\":\"ticket_floor\",\"node_id\":%" PRIu32 ",\"serial\":%" PRIu64 "}\n", f->node_id,
		 f->serial);
}

int relays_control_open(struct server *s, struct srv_relay *rl, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct srv_relays *t = s->relays;
	int64_t now = server_wall_now();
	char line[128];

	if (!conn)
		return -ENOTCONN;
	control_end(rl);
	rl->control = req;
	http_conn_authenticated(s, req); /* a known relay: out of the MaxStartups count */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evhttp_connection_set_closecb(conn, control_closed, rl);
	log_info("relay %s: control stream open", rl->rec.name);
	/* The floors a ticket still alive may be under, oldest first. */
	for (size_t i = 0; i < t->floors_count && rl->control; i++) {
		const struct relay_floor *f =
			&t->floors[(t->floors_next + RELAYS_FLOORS_MAX - t->floors_count + i) % RELAYS_FLOORS_MAX];
		if (now - f->at > TICKET_LIFETIME_S)
			continue;
		floor_line(line, sizeof(line), f);
		control_send(rl, line);
	}
	return 0;
}

void relays_floor(struct server *s, uint32_t node_id)
{
	struct srv_relays *t = s->relays;
	struct relay_floor *f;
	char line[128];

	if (!t)
		return;
	f = &t->floors[t->floors_next];
	if (server_ticket_floor(s, node_id, &f->serial) < 0)
		return;
	f->node_id = node_id;
	f->at = server_wall_now();
	t->floors_next = (t->floors_next + 1) % RELAYS_FLOORS_MAX;
	if (t->floors_count < RELAYS_FLOORS_MAX)
		t->floors_count++;
	relays_floors_save(s);
	floor_line(line, sizeof(line), f);
	for (size_t i = 1; i <= STORE_RELAYS_MAX; i++)
		if (t->by_id[i] && t->by_id[i]->control)
			control_send(t->by_id[i], line);
}

void relays_ping_all(struct server *s)
{
	for (size_t i = 1; s->relays && i <= STORE_RELAYS_MAX; i++)
		if (s->relays->by_id[i] && s->relays->by_id[i]->control)
			control_send(s->relays->by_id[i], COORD_LINE_PING);
}
