/* `roam metrics`: roamd's status reply as Prometheus text (format 0.0.4),
 * for node_exporter's textfile collector or a scrape through a wrapper;
 * local only, as the control socket is (docs/admin-api.md, "Metrics"). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* A label value: backslash, quote and newline escaped. */
static void label(FILE *out, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *peer_name(const cJSON *p)
{
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));

	return n ? n : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "public_key"));
}

/* "NAME{peer=\"PEER\"": the caller adds more labels and the value. */
static void peer_series(FILE *out, const char *name, const cJSON *p)
{
	fputs(name, out);
	fputs("{peer=\"", out);
	label(out, peer_name(p));
	fputc('"', out);
}

/* One series per peer of a numeric field. */
static void per_peer(FILE *out, const cJSON *peers, const char *field, const char *name, const char *type,
		     const char *help)
{
	const cJSON *p;

	family(out, name, type, help);
	cJSON_ArrayForEach(p, peers)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, field);
		if (!cJSON_IsNumber(v) && !cJSON_IsBool(v))
			continue;
		peer_series(out, name, p);
		fprintf(out, "} %.17g\n", cJSON_IsBool(v) ? (double)cJSON_IsTrue(v) : v->valuedouble);
	}
}

/* Each number in an object as one series labelled reason="KEY". */
static void by_reason(FILE *out, const cJSON *obj, const char *name, const char *help)
{
	const cJSON *v;

	family(out, name, "counter", help);
	cJSON_ArrayForEach(v, obj)
	{
		if (!cJSON_IsNumber(v) || !v->string)
			continue;
		fprintf(out, "%s{reason=\"", name);
		label(out, v->string);
		fprintf(out, "\"} %.17g\n", v->valuedouble);
	}
}

/* The active path of each peer, and how many of its paths are in each state. */
static void paths(FILE *out, const cJSON *peers)
{
	const cJSON *p, *path;

	family(out, "roam_peer_path_active", "gauge", "1 for the kind of path a peer's packets take now (direct, relayed, none).");
	cJSON_ArrayForEach(p, peers)
	{
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "path"));
		if (!s)
			continue;
		peer_series(out, "roam_peer_path_active", p);
		fputs(",path=\"", out);
		label(out, s);
		fputs("\"} 1\n", out);
	}
	family(out, "roam_peer_paths", "gauge", "A peer's known paths, by transport and state.");
	cJSON_ArrayForEach(p, peers)
	{
		cJSON_ArrayForEach(path, cJSON_GetObjectItemCaseSensitive(p, "paths"))
		{
			const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(path, "state"));
			const char *tr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(path, "transport"));
			if (!st || !tr)
				continue;
			peer_series(out, "roam_peer_paths", p);
			fputs(",transport=\"", out);
			label(out, tr);
			fputs("\",state=\"", out);
			label(out, st);
			fputs("\"} 1\n", out);
		}
	}
}

void cli_render_metrics(FILE *out, const cJSON *status)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(status, "peers");

	family(out, "roam_peers", "gauge", "Peers this node knows.");
	fprintf(out, "roam_peers %d\n", cJSON_IsArray(peers) ? cJSON_GetArraySize(peers) : 0);
	per_peer(out, peers, "rx_bytes", "roam_peer_rx_bytes_total", "counter", "Bytes received from the peer (decrypted).");
	per_peer(out, peers, "tx_bytes", "roam_peer_tx_bytes_total", "counter", "Bytes sent to the peer (before encryption).");
	per_peer(out, peers, "rx_packets", "roam_peer_rx_packets_total", "counter", "Packets received from the peer.");
	per_peer(out, peers, "tx_packets", "roam_peer_tx_packets_total", "counter", "Packets sent to the peer.");
	per_peer(out, peers, "drops", "roam_peer_drops_total", "counter", "Packets of the peer dropped.");
	per_peer(out, peers, "latest_handshake", "roam_peer_last_handshake_timestamp_seconds", "gauge",
		 "When the last handshake with the peer completed (unix seconds; 0: never).");
	per_peer(out, peers, "online", "roam_peer_online", "gauge", "1 if the server says the peer is online.");
	paths(out, peers);
	by_reason(out, cJSON_GetObjectItemCaseSensitive(status, "drops"), "roam_drops_total",
		  "Packets dropped by the data path, by reason.");
	by_reason(out, cJSON_GetObjectItemCaseSensitive(status, "probe_drops"), "roam_probe_drops_total",
		  "Path probes dropped, by reason.");
}
