/* roam policy: application classes (which traffic takes which policy),
 * per-peer policies, and what each class uses now. The classes and the
 * per-peer policies live in roamd's settings.json with the rest of
 * `roam set`'s settings (daemon/node_settings.h): one file, replaced
 * atomically, checked as a whole, applied at once. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum {
	POL_OPT_PROTO = 1,
	POL_OPT_PORTS,
	POL_OPT_DSCP,
	POL_OPT_POLICY,
	POL_OPT_PEER,
	POL_OPT_JSON,
};

struct policy_args {
	const char *operands[3];
	unsigned n;
	const char *proto, *ports, *dscp, *policy, *peer, *socket_path;
	bool json;
};

static bool policy_ok(const char *s)
{
	return s && (!strcmp(s, "latency") || !strcmp(s, "bandwidth") || !strcmp(s, "cost") || !strcmp(s, "redundant"));
}

/* A DSCP by number (0..63) or by name: EF, LE, CSn, AFxy. -1: bad. */
static int dscp_parse(const char *s)
{
	char *end;
	if (!strcasecmp(s, "ef"))
		return 46;
	if (!strcasecmp(s, "le"))
		return 1;
	if (!strncasecmp(s, "cs", 2) && s[2] >= '0' && s[2] <= '7' && !s[3])
		return (s[2] - '0') * 8;
	if (!strncasecmp(s, "af", 2) && s[2] >= '1' && s[2] <= '4' && s[3] >= '1' && s[3] <= '3' && !s[4])
		return (s[2] - '0') * 8 + (s[3] - '0') * 2;
	if (*s < '0' || *s > '9')
		return -1;
	long v = strtol(s, &end, 10);
	return *end || v > 63 ? -1 : (int)v;
}

static int policy_parse_args(struct policy_args *a, int argc, char *argv[], int *status)
{
	static const struct args_opt opts[] = {
		{ "proto", 0, true, POL_OPT_PROTO },   { "ports", 0, true, POL_OPT_PORTS },
		{ "dscp", 0, true, POL_OPT_DSCP },     { "policy", 0, true, POL_OPT_POLICY },
		{ "peer", 0, true, POL_OPT_PEER },     { "json", 'j', false, POL_OPT_JSON },
		CLI_SOCKET_OPTION,
	};
	struct args_parser p;
	int c;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_policy, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case POL_OPT_PROTO: a->proto = p.value; break;
		case POL_OPT_PORTS: a->ports = p.value; break;
		case POL_OPT_DSCP: a->dscp = p.value; break;
		case POL_OPT_POLICY: a->policy = p.value; break;
		case POL_OPT_PEER: a->peer = p.value; break;
		case POL_OPT_JSON: a->json = true; break;
		case CLI_OPT_SOCKET: a->socket_path = p.value; break;
		case ARGS_OPERAND:
			if (a->n == 3) {
				*status = cli_usage_error(&cli_policy, "unexpected argument '%s'", p.value);
				return -1;
			}
			a->operands[a->n++] = p.value;
			break;
		default: *status = cli_usage_error(&cli_policy, "unexpected argument '%s'", p.value); return -1;
		}
	}
	return 0;
}

/* `add NAME ...`: the class's whole definition. */
static int build_add(const struct policy_args *a, cJSON *settings, int *status)
{
	const char *name = a->operands[1];
	if (a->n != 2 || !name)
		return *status = cli_usage_error(&cli_policy, "give: add NAME [--proto P] [--ports N[-M]] [--dscp D] "
							      "--policy P"), -1;
	if (!policy_ok(a->policy))
		return *status = cli_usage_error(&cli_policy, "add %s: --policy is latency, bandwidth, cost or redundant",
						 name), -1;
	if (a->proto && strcmp(a->proto, "tcp") && strcmp(a->proto, "udp") && strcmp(a->proto, "icmp") &&
	    strcmp(a->proto, "any"))
		return *status = cli_usage_error(&cli_policy, "add %s: --proto is tcp, udp, icmp or any", name), -1;
	int dscp = a->dscp ? dscp_parse(a->dscp) : 0;
	if (dscp < 0)
		return *status = cli_usage_error(&cli_policy, "add %s: --dscp is 0..63 or EF, LE, CS0..CS7, AF11..AF43",
						 name), -1;
	cJSON *classes = cJSON_AddObjectToObject(settings, "classes");
	cJSON *c = classes ? cJSON_AddObjectToObject(classes, name) : NULL;
	if (!c)
		return -1;
	cJSON_AddStringToObject(c, "proto", a->proto ? a->proto : "any");
	if (a->ports) /* roamd checks the range: one place says what is right */
		cJSON_AddStringToObject(c, "ports", a->ports);
	if (a->dscp)
		cJSON_AddNumberToObject(c, "dscp", dscp);
	cJSON_AddStringToObject(c, "policy", a->policy);
	return 0;
}

/* The settings request for a change; an empty object for `roam policy`. */
static int build_request(const struct policy_args *a, cJSON *settings, int *status)
{
	const char *verb = a->operands[0];
	bool add_opts = a->proto || a->ports || a->dscp;
	if (!verb) {
		if (add_opts || a->policy || a->peer)
			return *status = cli_usage_error(&cli_policy, "options without add or set"), -1;
		return 0;
	}
	if (!strcmp(verb, "add"))
		return a->peer ? (*status = cli_usage_error(&cli_policy, "add takes no --peer"), -1)
			       : build_add(a, settings, status);
	if (add_opts || a->policy)
		return *status = cli_usage_error(&cli_policy, "--proto, --ports, --dscp and --policy go with add"), -1;
	if (!strcmp(verb, "del")) {
		cJSON *classes = cJSON_AddObjectToObject(settings, "classes");
		if (a->n != 2 || a->peer)
			return *status = cli_usage_error(&cli_policy, "give: del NAME"), -1;
		return classes && cJSON_AddNullToObject(classes, a->operands[1]) ? 0 : -1;
	}
	if (!strcmp(verb, "set")) {
		const char *pol = a->operands[1];
		if (a->n != 2 || !(policy_ok(pol) || (a->peer && !strcmp(pol, "default"))))
			return *status = cli_usage_error(&cli_policy, "give: set [--peer PEER] latency|bandwidth|cost|"
								      "redundant (default: the node's, with --peer)"), -1;
		if (!a->peer)
			return cJSON_AddStringToObject(settings, "policy", pol) ? 0 : -1;
		cJSON *peers = cJSON_AddObjectToObject(settings, "peers");
		if (!peers)
			return -1;
		return (!strcmp(pol, "default") ? cJSON_AddNullToObject(peers, a->peer)
						: cJSON_AddStringToObject(peers, a->peer, pol)) ? 0 : -1;
	}
	return *status = cli_usage_error(&cli_policy, "unknown '%s': add, del or set", verb), -1;
}

static const char *str(const cJSON *o, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : def;
}

static void render_classes_in_use(FILE *out, const cJSON *status)
{
	const cJSON *peer, *c;
	bool any = false;
	cJSON_ArrayForEach(peer, cJSON_GetObjectItemCaseSensitive(status, "peers")) {
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(peer, "classes")) {
			const cJSON *path = cJSON_GetObjectItemCaseSensitive(c, "path");
			const cJSON *dup = cJSON_GetObjectItemCaseSensitive(c, "duplicate_path");
			const cJSON *pk = cJSON_GetObjectItemCaseSensitive(c, "packets");
			const cJSON *dups = cJSON_GetObjectItemCaseSensitive(c, "duplicates");
			if (!any)
				fputs("In use (packets sent since the classes last changed):\n", out);
			any = true;
			fprintf(out, "  %-16s %-16s %-10s", str(peer, "name", "?"), str(c, "class", "?"), str(c, "policy", "?"));
			if (cJSON_IsNumber(path))
				fprintf(out, " path %.0f via %s", path->valuedouble, str(c, "via", "?"));
			if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(c, "spread")))
				fprintf(out, " spread over %d paths", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "spread")));
			if (cJSON_IsNumber(dup))
				fprintf(out, " + %.0f via %s", dup->valuedouble, str(c, "duplicate_via", "?"));
			fprintf(out, "  %.0f packets, %.0f copies\n", cJSON_IsNumber(pk) ? pk->valuedouble : 0,
				cJSON_IsNumber(dups) ? dups->valuedouble : 0);
		}
	}
}

static void render_policy(FILE *out, const cJSON *root)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "settings");
	const cJSON *e;
	fprintf(out, "Policy: %s (every peer's, unless it has its own)\n", str(s, "policy", "?"));
	fputs("Classes, tried in order (the first match decides):\n", out);
	fprintf(out, "  %-16s %-6s %-12s %-5s %s\n", "NAME", "PROTO", "PORTS", "DSCP", "POLICY");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "classes")) {
		const cJSON *dscp = cJSON_GetObjectItemCaseSensitive(e, "dscp");
		char d[8] = "any";
		if (!cJSON_IsObject(e))
			continue; /* a built-in deleted */
		if (cJSON_IsNumber(dscp))
			snprintf(d, sizeof(d), "%.0f", dscp->valuedouble);
		fprintf(out, "  %-16s %-6s %-12s %-5s %s\n", e->string ? e->string : "?", str(e, "proto", "any"),
			str(e, "ports", "any"), d, str(e, "policy", "?"));
	}
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(s, "peers");
	if (cJSON_GetArraySize(peers))
		fputs("Peers with a policy of their own:\n", out);
	cJSON_ArrayForEach(e, peers)
		fprintf(out, "  %-16s %s\n", e->string ? e->string : "?", cJSON_IsString(e) ? e->valuestring : "?");
	render_classes_in_use(out, cJSON_GetObjectItemCaseSensitive(root, "status"));
}

static int policy_main(const struct cli_global *g, int argc, char *argv[])
{
	struct policy_args a = { 0 };
	cJSON *req = cJSON_CreateObject(), *settings = cJSON_CreateObject(), *reply = NULL;
	int status = CLI_EXIT_FAIL;
	char *text = NULL;
	if (!req || !settings || !cJSON_AddStringToObject(req, "cmd", "set"))
		goto out;
	if (policy_parse_args(&a, argc, argv, &status) < 0 || build_request(&a, settings, &status) < 0)
		goto out;
	status = CLI_EXIT_FAIL;
	if (cJSON_GetArraySize(settings)) {
		cJSON_AddItemToObject(req, "settings", settings);
		settings = NULL;
	}
	if (!(text = cJSON_PrintUnformatted(req)) || !(reply = cli_ctl_call(g, "policy", a.socket_path, text)))
		goto out;
	if (!a.operands[0]) { /* show: and what the classes use now */
		cJSON *st = cli_ctl_call(g, "policy", a.socket_path, "{\"cmd\":\"status\"}");
		if (st)
			cJSON_AddItemToObject(reply, "status", st);
		status = cli_output(reply, a.json, render_policy);
	} else {
		status = a.json ? cli_output(reply, true, render_policy) : CLI_EXIT_OK;
	}
out:
	free(text);
	cJSON_Delete(reply);
	cJSON_Delete(settings);
	cJSON_Delete(req);
	return status;
}

const struct cli_command cli_policy = {
	.name = "policy",
	.run = policy_main,
	.summary = "Application classes and per-peer policies: which traffic takes which paths",
	.usage = "Usage: roam [-i IFACE] policy [--json]\n"
		 "       roam [-i IFACE] policy add NAME [--proto tcp|udp|icmp|any] [--ports N[-M]]\n"
		 "                                  [--dscp D] --policy P\n"
		 "       roam [-i IFACE] policy del NAME\n"
		 "       roam [-i IFACE] policy set [--peer PEER] P|default\n"
		 "\n"
		 "A policy says which of a peer's paths carry a packet: latency (the lowest\n"
		 "round trip plus interface cost), bandwidth (flows spread over the healthy\n"
		 "paths of the best kind, each flow kept on one path), cost (the cheapest\n"
		 "path that meets the thresholds), redundant (every packet also on a second\n"
		 "path through another interface or the relay; twice the traffic).\n"
		 "\n"
		 "A packet's policy is its application class's, else its peer's, else the\n"
		 "node's. Classes match the protocol, a port range (the source or the\n"
		 "destination port) and the DSCP, each optional; they are tried in order and\n"
		 "the first match decides. Built in: voip (UDP 16384-32767) and voip-ef (DSCP\n"
		 "EF) redundant, ssh (TCP 22) latency, bulk (DSCP CS1) bandwidth; with only\n"
		 "one working path to a peer they change nothing, and a class's copy never\n"
		 "goes on a metered interface. A class added goes after the ones you added\n"
		 "before and before the built-in ones.\n"
		 "\n"
		 "Without a command: the node's policy, the classes, the peers with a policy\n"
		 "of their own, and per peer each class that carried data: the path it takes\n"
		 "now (+ the copy's, when redundant), packets and copies sent.\n"
		 "\n"
		 "  add NAME              define class NAME (anew, if it exists)\n"
		 "    --proto P           tcp, udp, icmp or any (the default)\n"
		 "    --ports N[-M]       a port or range, 1..65535, TCP and UDP only\n"
		 "    --dscp D            0..63, or EF, LE, CS0..CS7, AF11..AF43\n"
		 "    --policy P          latency, bandwidth, cost or redundant\n"
		 "  del NAME              delete class NAME (a built-in one stays deleted)\n"
		 "  set P                 the node's policy (as roam set --policy)\n"
		 "  set --peer PEER P     PEER's own policy (its name); P default: the node's\n"
		 "  -j, --json            the settings (and status) as JSON\n"
		 "      --socket PATH     control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help            this text\n"
		 "\n"
		 "Managed mode only; kept in roamd's settings.json, applied at once.\n"
		 "Exit status: 0 done (or shown), 1 roamd not running or the change refused\n"
		 "(the reason is printed), 2 bad usage.\n",
};
