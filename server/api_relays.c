/* The control server's requests from relay-only servers (docs/control-
 * protocol.md, "Several relays"): POST /v1/relay/register, GET
 * /v1/relay/control (a stream of ticket floors), POST /v1/relay/load. Each
 * carries Roam-Auth made with the relay's K_r (RELAY_KEY_LABEL); the first
 * registration also Roam-Relay-Secret, the secret of its join token. */
#include <blake2.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "server/api_internal.h"
#include "server/relays.h"
#include "server/server.h"

#define RELAY_SECRET_HEADER "Roam-Relay-Secret"

/* The relay whose join token's secret the request carries, or NULL. */
static struct srv_relay *relay_by_secret(struct api_req *a)
{
	const char *text = api_header(a, RELAY_SECRET_HEADER);
	uint8_t secret[RELAY_SECRET_LEN], hash[32];
	struct srv_relay *rl = NULL;

	if (!text || coord_b64_decode(secret, sizeof(secret), text, strlen(text), 1) < 0)
		return NULL;
	blake2s(hash, secret, NULL, sizeof(hash), sizeof(secret), 0);
	crypto_wipe(secret, sizeof(secret));
	for (size_t i = 1; i <= STORE_RELAYS_MAX && !rl; i++) {
		struct srv_relay *x = a->srv->relays->by_id[i];
		if (x && crypto_equal(hash, x->rec.secret_hash, sizeof(hash)))
			rl = x;
	}
	return rl;
}

/* Roam-Auth as the relay: by its registered key, or (register) by the
 * secret of its join token, which lets a new key in. NULL: answered. */
static struct srv_relay *relay_authenticate(struct api_req *a, bool by_secret, bool *new_key)
{
	const char *hdr = api_header(a, COORD_AUTH_HEADER);
	struct srv_relay *rl;
	int r;

	*new_key = false;
	if (!hdr || coord_auth_parse(hdr, &a->auth) < 0) {
		api_error(a, 401, "missing or malformed Roam-Auth header");
		return NULL;
	}
	rl = relays_by_key(a->srv, a->auth.node_pub);
	if (!rl && by_secret && (rl = relay_by_secret(a)))
		*new_key = true;
	if (!rl) {
		api_error(a, 401, "unknown relay (roam-server relays add, then its join token)");
		return NULL;
	}
	if (relay_key_derive(a->k, a->srv->id.control_priv, a->auth.node_pub, RELAY_KEY_LABEL) < 0) {
		api_error(a, 401, "unusable relay key");
		return NULL;
	}
	r = coord_auth_verify(&a->auth, a->k, a->method, a->target, a->body, a->body_len, a->now);
	if (r < 0) {
		api_error(a, 401, r == -ETIME ? "stale timestamp: check the clock (60 s allowed)" : "bad mac");
		return NULL;
	}
	r = coord_replay_check_and_add(&a->srv->replay, a->auth.node_pub, a->auth.nonce, a->now);
	if (r < 0) {
		api_error(a, r == -ENOBUFS ? 503 : 401, r == -ENOBUFS ? "replay cache full, retry later" : "replayed nonce");
		return NULL;
	}
	return rl;
}

static bool json_b64_32(const cJSON *o, const char *name, uint8_t out[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) && coord_b64_decode(out, 32, v->valuestring, strlen(v->valuestring), 0) == 0;
}

void api_relay_register(struct api_req *a)
{
	cJSON *o = cJSON_ParseWithLength(a->body, a->body_len);
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(o, "udp_port");
	uint8_t pub[32], pin[32];
	struct srv_relay *rl;
	bool new_key;
	char json[160], tk[COORD_KEY_B64_LEN + 1];

	if (!a->srv->relays) {
		api_error(a, 404, "no such request");
		goto out;
	}
	if (!cJSON_IsObject(o) || !cJSON_IsNumber(port) || port->valuedouble < 1 ||
	    port->valuedouble > 65535 || !json_b64_32(o, "public_key", pub) || !json_b64_32(o, "tls_pin", pin)) {
		api_error(a, 400, "malformed relay registration");
		goto out;
	}
	server_sync_admin_changes(a->srv); /* a relay added a moment ago */
	if (!(rl = relay_authenticate(a, true, &new_key)))
		goto out;
	if (!crypto_equal(pub, a->auth.node_pub, 32)) {
		api_error(a, 400, "public_key is not the key of Roam-Auth");
		goto out;
	}
	if (new_key || rl->rec.udp_port != (uint16_t)port->valuedouble || !crypto_equal(pin, rl->rec.tls_pin, 32)) {
		if (relays_registered(a->srv, rl, pub, (uint16_t)port->valuedouble, pin) < 0) {
			api_error(a, 500, "cannot store the relay");
			goto out;
		}
	}
	coord_b64_encode(tk, sizeof(tk), a->srv->id.ticket_pub, TICKET_PUB_LEN, 0);
	snprintf(json, sizeof(json), "{\"relay_id\":%u,\"ticket_key\":\"%s\"}", rl->rec.id, tk);
	api_reply_json(a, 200, json);
out:
	cJSON_Delete(o);
}

void api_relay_control(struct api_req *a)
{
	bool new_key;
	struct srv_relay *rl = relay_authenticate(a, false, &new_key);

	if (!rl)
		return;
	a->out->status = API_STATUS_HANDOFF;
	a->out->handoff = API_HANDOFF_RELAY_CONTROL;
	a->out->relay_id = rl->rec.id;
}

static uint64_t json_u64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e18 ? (uint64_t)v->valuedouble : 0;
}

void api_relay_load(struct api_req *a)
{
	struct store_relay load = { 0 };
	bool new_key;
	struct srv_relay *rl = relay_authenticate(a, false, &new_key);
	cJSON *o;

	if (!rl)
		return;
	if (!cJSON_IsObject(o = cJSON_ParseWithLength(a->body, a->body_len))) {
		cJSON_Delete(o);
		api_error(a, 400, "malformed load report");
		return;
	}
	load.load_at = a->now;
	load.clients = json_u64(o, "clients");
	load.pps = json_u64(o, "pps");
	load.bps = json_u64(o, "bps");
	load.dropped = json_u64(o, "dropped");
	cJSON_Delete(o);
	if (relays_load_report(a->srv, rl, &load) < 0)
		api_error(a, 500, "cannot store the load report");
	else
		a->out->status = 204;
}
