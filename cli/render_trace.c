/* `roam trace PEER` (issue 13): each path's segments, from roamd's status
 * reply: the local interface and address -> the NAT's public mapping -> the
 * relay, if any -> the peer, with the round trip of each segment that can
 * be measured (the relay link's to the server, the path's own end to end).
 * A library function so that the unit tests and fuzz_cli_reply reach it. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *str(const cJSON *o, const char *name, const char *fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : fallback;
}

static bool num(const cJSON *o, const char *name, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e12)
		return false;
	*out = v->valuedouble;
	return true;
}

static cJSON *segment(cJSON *segs, const char *hop, const char *address)
{
	cJSON *s = cJSON_CreateObject();
	if (!s || !cJSON_AddItemToArray(segs, s)) {
		cJSON_Delete(s);
		return NULL;
	}
	cJSON_AddStringToObject(s, "hop", hop);
	if (address)
		cJSON_AddStringToObject(s, "address", address);
	return s;
}

/* "relay:NODE@RELAY" or "relay:NODE" (relay 0): the relay's entry in
 * managed.relays, NULL if not listed. */
static const cJSON *relay_of(const cJSON *managed, const char *addr, long *id)
{
	const char *at = strchr(addr, '@');
	const cJSON *r;
	*id = at ? strtol(at + 1, NULL, 10) : 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(managed, "relays")) {
		double v;
		if (num(r, "id", &v) && (long)v == *id)
			return r;
	}
	return NULL;
}

static void add_relay(cJSON *segs, const cJSON *managed, const char *addr)
{
	long id;
	double v;
	const cJSON *r = relay_of(managed, addr, &id);
	cJSON *s = segment(segs, "relay", str(managed, "server", NULL));
	if (!s)
		return;
	cJSON_AddNumberToObject(s, "relay", (double)id);
	cJSON_AddStringToObject(s, "link", str(managed, "relay_link", "?"));
	/* The relay's own round trip if the relay map has it, else the link's. */
	if ((r && num(r, "rtt_ms", &v)) || num(managed, "relay_link_rtt_ms", &v))
		cJSON_AddNumberToObject(s, "rtt_ms", v);
}

static cJSON *trace_path(const cJSON *managed, const cJSON *p)
{
	const char *transport = str(p, "transport", "?"), *addr = str(p, "address", "?");
	bool relayed = strncmp(transport, "relay", 5) == 0; /* "relay-udp", "relay-tls", ... */
	cJSON *o = cJSON_CreateObject();
	double v;
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", num(p, "id", &v) ? v : 0);
	cJSON_AddStringToObject(o, "transport", transport);
	cJSON_AddStringToObject(o, "state", str(p, "state", "?"));
	if (str(p, "interface", NULL))
		cJSON_AddStringToObject(o, "interface", str(p, "interface", ""));
	cJSON *segs = cJSON_AddArrayToObject(o, "segments");
	const cJSON *local = cJSON_GetObjectItemCaseSensitive(p, "local");
	cJSON *s = segment(segs, "local", str(local, "address", NULL));
	if (s && str(local, "interface", NULL))
		cJSON_AddStringToObject(s, "interface", str(local, "interface", ""));
	/* The mapping the peer saw on this very path, else the server's BINDING
	 * (which is the default route's: not an interface-bound path's). */
	const char *mapping = str(p, "mapping", NULL);
	const char *from = "peer";
	if (!mapping && !str(p, "interface", NULL)) {
		mapping = str(managed, "public_endpoint", NULL);
		from = "server";
	}
	if ((s = segment(segs, "nat", mapping)) && mapping)
		cJSON_AddStringToObject(s, "seen_by", from);
	if (relayed)
		add_relay(segs, managed, addr);
	if ((s = segment(segs, "peer", addr)) && num(p, "rtt_ms", &v))
		cJSON_AddNumberToObject(s, "rtt_ms", v); /* the path's probes: end to end */
	return o;
}

cJSON *cli_trace_build(const cJSON *status, const char *query)
{
	cJSON *peer = cli_status_find(status, query);
	const cJSON *managed = cJSON_GetObjectItemCaseSensitive(status, "managed");
	const cJSON *p;
	if (!peer || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peer, "self"))) {
		cJSON_Delete(peer);
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(peer);
		return NULL;
	}
	cJSON_AddStringToObject(o, "peer", str(peer, "name", str(peer, "public_key", "?")));
	cJSON *arr = cJSON_AddArrayToObject(o, "paths");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(peer, "paths")) {
		cJSON *t = cJSON_IsObject(p) ? trace_path(managed, p) : NULL;
		if (t && !cJSON_AddItemToArray(arr, t))
			cJSON_Delete(t);
	}
	cJSON_Delete(peer);
	return o;
}

static void render_segment(FILE *out, int n, const cJSON *s)
{
	const char *hop = str(s, "hop", "?"), *addr = str(s, "address", "?");
	double v;
	char what[96];
	if (strcmp(hop, "local") == 0)
		snprintf(what, sizeof(what), "%s %s", str(s, "interface", "?"), addr);
	else if (strcmp(hop, "nat") == 0)
		snprintf(what, sizeof(what), "NAT %s", str(s, "address", "(not known yet)"));
	else if (strcmp(hop, "relay") == 0)
		snprintf(what, sizeof(what), "relay %.0f at %s over %s", num(s, "relay", &v) ? v : 0, addr,
			 str(s, "link", "?"));
	else if (strncmp(addr, "aux", 3) == 0 && strchr(addr, ':'))
		snprintf(what, sizeof(what), "peer %s", strchr(addr, ':') + 1); /* "auxN:": our socket, not theirs */
	else
		snprintf(what, sizeof(what), "peer %s", addr);
	fprintf(out, "  %d  %-40s", n, what);
	if (num(s, "rtt_ms", &v))
		fprintf(out, " %8.2f ms%s", v, strcmp(hop, "peer") == 0 ? " end to end" : " to the server");
	else if (strcmp(hop, "nat") == 0 && str(s, "seen_by", NULL))
		fprintf(out, " (as the %s sees us)", str(s, "seen_by", ""));
	fputc('\n', out);
}

void cli_render_trace(FILE *out, const cJSON *trace)
{
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(trace, "paths");
	const cJSON *p, *s;
	fprintf(out, "trace to %s, %d path%s\n", str(trace, "peer", "?"), cJSON_GetArraySize(paths),
		cJSON_GetArraySize(paths) == 1 ? "" : "s");
	cJSON_ArrayForEach(p, paths) {
		double id = 0;
		int n = 1;
		num(p, "id", &id);
		fprintf(out, "path %.0f: %s, %s", id, str(p, "transport", "?"), str(p, "state", "?"));
		if (str(p, "interface", NULL))
			fprintf(out, ", via %s", str(p, "interface", ""));
		fputc('\n', out);
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(p, "segments"))
			render_segment(out, n++, s);
	}
}
