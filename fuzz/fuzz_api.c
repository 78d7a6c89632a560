/* Fuzzes the HTTPS API path as a whole (server/api.c api_handle): request
 * line, headers (framing checks), Roam-Auth, the replay cache and the
 * bodies of all five requests, against an in-memory server (SQLite
 * ":memory:" store, directory, replay cache) made fresh for every input.
 *
 * Input: requests separated by a line "~~~". Each is
 *     METHOD TARGET
 *     Header: value            (any number)
 *     @auth KEY TS NONCE       (a valid Roam-Auth for this request: node key
 *                               KEY 0..3, ts = now + TS, nonce from NONCE)
 *
 *     body                     ("@PREAUTH" becomes the pre-auth key)
 * Node key 0 is registered and approved (group g, with the key's groups),
 * key 1 waits for approval, keys 2 and 3 are unknown. A MAC cannot be found
 * by mutation, so @auth lets the fuzzer past Roam-Auth to the handlers. */
#include <blake2.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "crypto/crypto.h"
#include "fuzz/fuzz.h"
#include "server/api.h"
#include "server/reg_limit.h"
#include "server/server.h"
#include "util/log.h"

#define FUZZ_NOW 1760000000
#define FUZZ_REQUESTS_MAX 16
#define FUZZ_KEYS 4

static const uint8_t net6[16] = { 0xfd, 0x52, 0x6f, 0x61, 0x6d, 0x01 };
static const uint8_t preauth_key[COORD_PREAUTH_KEY_LEN] = { 0x70, 0x72, 0x65, 0x61, 0x75, 0x74, 0x68 };
static uint8_t node_priv[FUZZ_KEYS][COORD_KEY_LEN], node_pub[FUZZ_KEYS][COORD_KEY_LEN];

struct fuzz_req {
	char method[16], target[256];
	struct api_header headers[API_HEADERS_MAX + 2];
	char lines[API_HEADERS_MAX + 2][512];
	size_t headers_count;
	char *body;
	size_t body_len;
};

static void fuzz_keys(struct server *s)
{
	for (int i = 0; i < FUZZ_KEYS; i++) {
		memset(node_priv[i], 0x10 + i, COORD_KEY_LEN);
		x25519_clamp(node_priv[i]);
		x25519_public(node_pub[i], node_priv[i]);
	}
	memset(s->id.control_priv, 0x42, COORD_KEY_LEN);
	x25519_clamp(s->id.control_priv);
	x25519_public(s->id.control_pub, s->id.control_priv);
}

static int fuzz_server_open(struct server *s)
{
	struct store_register sr = { .name = "approved", .now = FUZZ_NOW - 100, .network6 = net6,
				     .pending_allowed = true, .pending_max = 1000 };
	struct store_node rec;
	uint8_t hash[32];
	uint32_t group, key_id;

	memset(s, 0, sizeof(*s));
	s->udp.fd = -1;
	fuzz_keys(s);
	blake2s(hash, preauth_key, NULL, sizeof(hash), sizeof(preauth_key), 0);
	if (store_open(":memory:", true, &s->store) < 0 || store_group_create(s->store, "g", &group) < 0 ||
	    store_key_create(s->store, hash, true, 0, &group, 1, FUZZ_NOW - 200, &key_id) < 0)
		return -1;
	sr.public_key = node_pub[0];
	sr.preauth_hash = hash;
	if (store_register_node(s->store, &sr, &rec) < 0)
		return -1;
	sr.public_key = node_pub[1];
	sr.name = "pending";
	sr.preauth_hash = NULL;
	if (store_register_node(s->store, &sr, &rec) < 0)
		return -1;
	if (dir_init(&s->dir, s->id.control_priv, net6) < 0 || server_load_all(s) < 0 ||
	    store_data_version(s->store, &s->data_version) < 0 ||
	    coord_replay_init(&s->replay, 64, FUZZ_NOW) < 0 || /* small: "full" is reachable */
	    coord_replay_init(&s->replay_unknown, 16, FUZZ_NOW) < 0 || !(s->reg_limit = malloc(sizeof(*s->reg_limit))))
		return -1;
	s->cfg.pending_max = 1000;
	s->cfg.pending_ttl_s = 86400;
	reg_limit_init(s->reg_limit, 10, 360);
	s->base = event_base_new();
	s->scratch = evbuffer_new();
	return s->base && s->scratch ? 0 : -1;
}

static void fuzz_server_close(struct server *s)
{
	dir_free(&s->dir);
	coord_replay_free(&s->replay);
	coord_replay_free(&s->replay_unknown);
	free(s->reg_limit);
	store_close(s->store);
	if (s->scratch)
		evbuffer_free(s->scratch);
	if (s->base)
		event_base_free(s->base);
}

/* "@PREAUTH" in the body becomes the real key (base64url, as roamd sends). */
static char *fuzz_body(const char *text, size_t len, size_t *len_out)
{
	char key[COORD_KEY_B64_LEN + 1], *out = malloc(len * 4 + sizeof(key) + 1), *o = out;

	if (!out)
		return NULL;
	coord_b64_encode(key, sizeof(key), preauth_key, sizeof(preauth_key), 1);
	for (size_t i = 0; i < len;) {
		if (len - i >= 8 && memcmp(text + i, "@PREAUTH", 8) == 0) {
			o += sprintf(o, "%s", key);
			i += 8;
		} else {
			*o++ = text[i++];
		}
	}
	*o = '\0';
	*len_out = (size_t)(o - out);
	return out;
}

/* "@auth KEY TS NONCE" -> "Roam-Auth: <valid value>" for this request. */
static void fuzz_auth_line(const struct server *s, struct fuzz_req *r, char *line, size_t cap)
{
	uint8_t k[COORD_KEY_LEN], nonce[COORD_AUTH_NONCE_LEN] = { 0 };
	char value[COORD_AUTH_HEADER_MAX];
	unsigned key = 0, n = 0;
	long ts = 0;

	if (sscanf(line, "@auth %u %ld %u", &key, &ts, &n) < 1 || ts < -100000 || ts > 100000)
		return;
	key %= FUZZ_KEYS;
	memcpy(nonce, &n, sizeof(n));
	if (coord_control_key(k, node_priv[key], s->id.control_pub) < 0)
		return;
	if (coord_auth_build(value, sizeof(value), k, node_pub[key], r->method, r->target, FUZZ_NOW + ts, nonce,
			     r->body, r->body_len) == 0)
		snprintf(line, cap, "%s: %s", COORD_AUTH_HEADER, value);
	crypto_wipe(k, sizeof(k));
}

static size_t line_end(const char *text, size_t from, size_t len)
{
	while (from < len && text[from] != '\n')
		from++;
	return from;
}

/* One request from text[0..len): head, blank line, body. 0 or -1. */
static int fuzz_parse(const struct server *s, const char *text, size_t len, struct fuzz_req *r)
{
	size_t body = len, pos, eol;
	char first[300];

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] == '\n' && text[i + 1] == '\n') {
			body = i + 2;
			break;
		}
	}
	if (!(r->body = fuzz_body(text + body, len - body, &r->body_len)))
		return -1;
	eol = line_end(text, 0, len);
	if (eol >= sizeof(first))
		return -1;
	memcpy(first, text, eol);
	first[eol] = '\0';
	if (sscanf(first, "%15s %255s", r->method, r->target) != 2)
		return -1;
	for (pos = eol + 1; pos < body && r->headers_count < API_HEADERS_MAX + 2; pos = eol + 1) {
		char *line = r->lines[r->headers_count], *colon;

		eol = line_end(text, pos, len);
		if (eol == pos || eol >= len)
			break;
		if (eol - pos >= sizeof(r->lines[0]))
			continue;
		memcpy(line, text + pos, eol - pos);
		line[eol - pos] = '\0';
		if (strncmp(line, "@auth", 5) == 0)
			fuzz_auth_line(s, r, line, sizeof(r->lines[0]));
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		r->headers[r->headers_count].name = line;
		r->headers[r->headers_count].value = colon[1] == ' ' ? colon + 2 : colon + 1;
		r->headers_count++;
	}
	return 0;
}

static void fuzz_check(const struct server *s, const struct api_response *out)
{
	cJSON *doc;

	if (out->status != API_STATUS_STREAM && out->status != API_STATUS_HANDOFF &&
	    (out->status < 200 || out->status > 599))
		abort();
	if ((out->status == API_STATUS_HANDOFF) != (out->handoff != API_HANDOFF_NONE))
		abort();
	/* A relay link or poll session is only ever opened for a known node;
	 * the session requests carry no Roam-Auth (links checks the session). */
	if (out->status == API_STATUS_HANDOFF && !out->node && out->handoff != API_HANDOFF_POLL_GET &&
	    out->handoff != API_HANDOFF_POLL_SEND)
		abort();
	if (out->body) {
		size_t len = strlen(out->body);

		if (!len || out->body[len - 1] != '\n' || !(doc = cJSON_Parse(out->body)))
			abort(); /* every body is one JSON document and a newline */
		cJSON_Delete(doc);
	}
	if (out->status == API_STATUS_STREAM && !out->node)
		abort(); /* a stream is only ever opened for a known node */
	if (out->node && dir_node_by_key(&s->dir, out->node->rec.public_key) != out->node)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_req r;
	const char *text = (const char *)data, *end = text + size, *p = text;
	struct api_response out;
	struct server s;

	log_set_level(LOG_ERR);
	if (size > 256 * 1024 || fuzz_server_open(&s) < 0) {
		if (size <= 256 * 1024)
			abort(); /* the fixture itself must work */
		return 0;
	}
	for (int i = 0; i < FUZZ_REQUESTS_MAX && p < end; i++) {
		const char *sep = NULL;
		struct api_request rq = { .now = FUZZ_NOW };

		for (const char *q = p; q + 5 <= end; q++) {
			if (memcmp(q, "\n~~~\n", 5) == 0) {
				sep = q;
				break;
			}
		}
		if (fuzz_parse(&s, p, (size_t)((sep ? sep : end) - p), &r) == 0) {
			rq.method = r.method;
			rq.target = r.target;
			rq.headers = r.headers;
			rq.headers_count = r.headers_count;
			rq.body = r.body;
			rq.body_len = r.body_len;
			api_handle(&s, &rq, &out);
			fuzz_check(&s, &out);
			api_response_free(&out);
		}
		free(r.body);
		r.body = NULL;
		p = sep ? sep + 5 : end;
	}
	fuzz_server_close(&s);
	return 0;
}
