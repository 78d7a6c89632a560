/* The relay map and the node's ticket on its stream (docs/control-protocol.md,
 * "Several relays"): {"type":"relays","relays":[...]} and
 * {"type":"ticket","ticket":"<b64>"}. Strict: a map with one bad entry is
 * refused whole (the node keeps its last good one). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json_internal.h"
#include "coord/ticket.h"

/* "HOST:PORT" or "[V6]:PORT", port 1..65535, no spaces. */
static int udp_from(const char *s, char *host, size_t host_cap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || strcspn(s, " \t\r\n/") != strlen(s))
		return -EINVAL;
	size_t hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			return -EINVAL;
		s++, hlen -= 2;
	}
	if (hlen >= host_cap || memchr(s, '[', hlen) || memchr(s, ']', hlen))
		return -EINVAL;
	char *end = NULL;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535 || colon[1] == '+' || colon[1] == '-')
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int str_into(const cJSON *o, const char *name, char *out, size_t cap, bool may_be_empty)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap || (!may_be_empty && !v->valuestring[0]))
		return -EINVAL;
	snprintf(out, cap, "%s", v->valuestring);
	return 0;
}

static int relay_from(const cJSON *o, struct coord_relay *r)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	char udp[COORD_RELAY_HOST_MAX + 16];
	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(o) || !cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 255 ||
	    id->valuedouble != (double)(int)id->valuedouble)
		return -EINVAL;
	r->id = (uint8_t)id->valueint;
	if (str_into(o, "region", r->region, sizeof(r->region), true) < 0 ||
	    str_into(o, "url", r->url, sizeof(r->url), false) < 0 || strncmp(r->url, "https://", 8) != 0 ||
	    str_into(o, "udp", udp, sizeof(udp), false) < 0 ||
	    udp_from(udp, r->udp_host, sizeof(r->udp_host), &r->udp_port) < 0 ||
	    coord_json_key_from(cJSON_GetObjectItemCaseSensitive(o, "key"), r->key) < 0 ||
	    coord_json_key_from(cJSON_GetObjectItemCaseSensitive(o, "tls_pin"), r->tls_pin) < 0)
		return -EINVAL;
	return 0;
}

int coord_json_relay_rtt_from(const cJSON *obj, struct coord_relay_rtts *out)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, "relay_rtt"), *it;
	memset(out, 0, sizeof(*out));
	if (!o || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) > COORD_RELAYS_MAX)
		return -EINVAL;
	cJSON_ArrayForEach(it, o) {
		char *end = NULL;
		unsigned long id = strtoul(it->string, &end, 10);
		if (it->string[0] < '0' || it->string[0] > '9' || *end || id > 255 || (it->string[0] == '0' && it->string[1]) ||
		    !cJSON_IsNumber(it) || !(it->valuedouble > 0) || it->valuedouble * 1000 > COORD_RELAY_RTT_MAX_US)
			return -EINVAL;
		for (size_t i = 0; i < out->count; i++)
			if (out->id[i] == id)
				return -EINVAL;
		out->id[out->count] = (uint8_t)id;
		uint32_t us = (uint32_t)(it->valuedouble * 1000);
		out->us[out->count++] = us ? us : 1;
	}
	return 0;
}

void coord_json_relay_rtt_add(cJSON *obj, const struct coord_relay_rtts *r)
{
	cJSON *o;
	if (!r->count || !(o = cJSON_AddObjectToObject(obj, "relay_rtt")))
		return;
	for (size_t i = 0; i < r->count && i < COORD_RELAYS_MAX; i++) {
		char id[4];
		snprintf(id, sizeof(id), "%u", r->id[i]);
		cJSON_AddNumberToObject(o, id, r->us[i] / 1000.0);
	}
}

int coord_stream_relays(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "relays"), *it;
	struct coord_relay_map *map;
	int r = 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > COORD_RELAYS_MAX)
		return -EINVAL;
	if (!(map = calloc(1, sizeof(*map))))
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		struct coord_relay *rl = &map->relays[map->count];
		if ((r = relay_from(it, rl)) < 0)
			goto out;
		/* Each index once: the index is what EP_RELAY names. */
		for (size_t i = 0; i < map->count; i++)
			if (map->relays[i].id == rl->id) {
				r = -EINVAL;
				goto out;
			}
		map->count++;
	}
	r = h->relays ? h->relays(ctx, map) : 0;
out:
	free(map);
	return r;
}

int coord_stream_ticket(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "ticket");
	uint8_t bin[TICKET_LEN_MAX];
	size_t len = 0;
	const char *end = NULL;
	struct ticket parsed;
	if (!cJSON_IsString(t) || strlen(t->valuestring) > 2 * TICKET_LEN_MAX ||
	    sodium_base642bin(bin, sizeof(bin), t->valuestring, strlen(t->valuestring), NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end || ticket_parse(bin, len, &parsed) < 0)
		return -EINVAL;
	/* The node cannot check the signature (relays do): the structure only. */
	return h->ticket ? h->ticket(ctx, bin, len, &parsed) : 0;
}
