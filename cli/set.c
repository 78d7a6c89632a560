/* roam set: the node's own settings (daemon/node_settings.h): interface
 * costs and metering, the check's thresholds. Kept by roamd in its state
 * directory, applied at once to every peer's paths. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum {
	SET_OPT_IFACE_COST = 1,
	SET_OPT_METERED,
	SET_OPT_UNMETERED,
	SET_OPT_SUSPECT_MIN,
	SET_OPT_LOSS_ENTER,
	SET_OPT_LOSS_LEAVE,
	SET_OPT_RTT_ENTER,
	SET_OPT_RTT_LEAVE,
	SET_OPT_RESET,
	SET_OPT_JSON,
	SET_OPT_POLICY,
	SET_OPT_HANDOVER,
	SET_OPT_TAMPER_THRESHOLD,
	SET_OPT_TAMPER_WINDOW,
	SET_OPT_QUARANTINE,
};

/* The interface's entry in the request, made on first use. */
static cJSON *iface_entry(cJSON *settings, const char *name)
{
	cJSON *ifs = cJSON_GetObjectItemCaseSensitive(settings, "interfaces");
	if (!ifs)
		ifs = cJSON_AddObjectToObject(settings, "interfaces");
	cJSON *e = cJSON_GetObjectItemCaseSensitive(ifs, name);
	return e ? e : cJSON_AddObjectToObject(ifs, name);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > max)
		return false;
	*out = v;
	return true;
}

/* IF=MS or IF=class: the interface's cost, or back to its class's. */
static int add_iface_cost(cJSON *settings, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[32];
	unsigned long ms;
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return -EINVAL;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	cJSON *e = iface_entry(settings, name);
	if (!e)
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(e, "cost_ms");
	if (strcmp(eq + 1, "class") == 0)
		return cJSON_AddNullToObject(e, "cost_ms") ? 0 : -ENOMEM;
	if (!parse_uint(eq + 1, 10000, &ms))
		return -EINVAL;
	return cJSON_AddNumberToObject(e, "cost_ms", (double)ms) ? 0 : -ENOMEM;
}

static const char *const tuning_keys[] = {
	[SET_OPT_SUSPECT_MIN] = "suspect_min_ms", [SET_OPT_LOSS_ENTER] = "loss_enter",
	[SET_OPT_LOSS_LEAVE] = "loss_leave",      [SET_OPT_RTT_ENTER] = "rtt_enter_ms",
	[SET_OPT_RTT_LEAVE] = "rtt_leave_ms",
	[SET_OPT_TAMPER_THRESHOLD] = "tamper_threshold", [SET_OPT_TAMPER_WINDOW] = "tamper_window_ms",
	[SET_OPT_QUARANTINE] = "quarantine_ms",
};

static int add_tuning(cJSON *settings, int opt, const char *value)
{
	unsigned long v;
	bool ms = opt != SET_OPT_LOSS_ENTER && opt != SET_OPT_LOSS_LEAVE && opt != SET_OPT_TAMPER_THRESHOLD;
	if (!parse_uint(value, ms ? 60000 : 1000, &v))
		return -EINVAL;
	cJSON *t = cJSON_GetObjectItemCaseSensitive(settings, "tuning");
	if (!t && !(t = cJSON_AddObjectToObject(settings, "tuning")))
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(t, tuning_keys[opt]);
	return cJSON_AddNumberToObject(t, tuning_keys[opt], (double)v) ? 0 : -ENOMEM;
}

static void render_settings(FILE *out, const cJSON *root)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "settings");
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(s, "interfaces");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "tuning");
	const cJSON *e;
	const cJSON *policy = cJSON_GetObjectItemCaseSensitive(s, "policy");
	const cJSON *handover = cJSON_GetObjectItemCaseSensitive(s, "handover");
	fprintf(out, "Policy: %s\nHandover: %s\n", cJSON_IsString(policy) ? policy->valuestring : "?",
		cJSON_IsString(handover) ? handover->valuestring : "?");
	fputs("Interfaces:", out);
	if (!cJSON_GetArraySize(ifs))
		fputs(" every one at its class's cost (wired 0 ms, Wi-Fi 2, cellular 30, metered)", out);
	fputc('\n', out);
	cJSON_ArrayForEach(e, ifs) {
		const cJSON *cost = cJSON_GetObjectItemCaseSensitive(e, "cost_ms");
		fprintf(out, "  %-16s ", e->string ? e->string : "?");
		if (cJSON_IsNumber(cost))
			fprintf(out, "cost %.0f ms", cost->valuedouble);
		else
			fputs("its class's cost", out);
		fputs(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "metered")) ? ", metered\n" : "\n", out);
	}
	fputs("Thresholds:\n", out);
	cJSON_ArrayForEach(e, t) {
		if (cJSON_IsNumber(e) && e->string)
			fprintf(out, "  %-16s %.0f\n", e->string, e->valuedouble);
	}
}

/* What an option wants, for the error naming the bad value. */
static const char *set_value_hint(int opt)
{
	switch (opt) {
	case SET_OPT_IFACE_COST: return "--iface-cost wants IF=MS (0..10000) or IF=class";
	case SET_OPT_SUSPECT_MIN:
	case SET_OPT_RTT_ENTER:
	case SET_OPT_RTT_LEAVE: return "a threshold in ms, up to 60000";
	case SET_OPT_LOSS_ENTER:
	case SET_OPT_LOSS_LEAVE: return "a loss in permille, up to 1000";
	case SET_OPT_TAMPER_THRESHOLD: return "a number of bad packets, up to 1000 (0: off)";
	case SET_OPT_TAMPER_WINDOW:
	case SET_OPT_QUARANTINE: return "a time in ms, up to 60000";
	case SET_OPT_POLICY: return "--policy is latency, bandwidth, cost or redundant";
	case SET_OPT_HANDOVER: return "--handover is auto or confirm";
	default: return "see roam set --help";
	}
}

static int set_parse(cJSON *settings, int argc, char *argv[], bool *json, const char **socket_path, int *status)
{
	static const struct args_opt opts[] = {
		{ "iface-cost", 0, true, SET_OPT_IFACE_COST },   { "metered", 0, true, SET_OPT_METERED },
		{ "unmetered", 0, true, SET_OPT_UNMETERED },     { "suspect-min", 0, true, SET_OPT_SUSPECT_MIN },
		{ "loss-enter", 0, true, SET_OPT_LOSS_ENTER },   { "loss-leave", 0, true, SET_OPT_LOSS_LEAVE },
		{ "rtt-enter", 0, true, SET_OPT_RTT_ENTER },     { "rtt-leave", 0, true, SET_OPT_RTT_LEAVE },
		{ "reset", 0, false, SET_OPT_RESET },            { "json", 'j', false, SET_OPT_JSON },
		{ "policy", 0, true, SET_OPT_POLICY },           { "handover", 0, true, SET_OPT_HANDOVER },
		{ "tamper-threshold", 0, true, SET_OPT_TAMPER_THRESHOLD },
		{ "tamper-window", 0, true, SET_OPT_TAMPER_WINDOW },
		{ "quarantine", 0, true, SET_OPT_QUARANTINE },
		CLI_SOCKET_OPTION,
	};
	struct args_parser p;
	int c, ret = 0;
	cJSON *e;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_set, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case SET_OPT_IFACE_COST: ret = add_iface_cost(settings, p.value); break;
		case SET_OPT_METERED:
		case SET_OPT_UNMETERED:
			if (!(e = iface_entry(settings, p.value)))
				return -1;
			cJSON_DeleteItemFromObjectCaseSensitive(e, "metered");
			cJSON_AddBoolToObject(e, "metered", c == SET_OPT_METERED);
			break;
		case SET_OPT_SUSPECT_MIN:
		case SET_OPT_LOSS_ENTER:
		case SET_OPT_LOSS_LEAVE:
		case SET_OPT_RTT_ENTER:
		case SET_OPT_RTT_LEAVE:
		case SET_OPT_TAMPER_THRESHOLD:
		case SET_OPT_TAMPER_WINDOW:
		case SET_OPT_QUARANTINE: ret = add_tuning(settings, c, p.value); break;
		case SET_OPT_RESET: cJSON_AddBoolToObject(settings, "reset", true); break;
		case SET_OPT_POLICY:
			if (strcmp(p.value, "latency") && strcmp(p.value, "cost") && strcmp(p.value, "redundant") &&
			    strcmp(p.value, "bandwidth"))
				ret = -EINVAL;
			cJSON_DeleteItemFromObjectCaseSensitive(settings, "policy");
			cJSON_AddStringToObject(settings, "policy", p.value);
			break;
		case SET_OPT_HANDOVER:
			if (strcmp(p.value, "auto") && strcmp(p.value, "confirm"))
				ret = -EINVAL;
			cJSON_DeleteItemFromObjectCaseSensitive(settings, "handover");
			cJSON_AddStringToObject(settings, "handover", p.value);
			break;
		case SET_OPT_JSON: *json = true; break;
		case CLI_OPT_SOCKET: *socket_path = p.value; break;
		default: *status = cli_usage_error(&cli_set, "unexpected argument '%s'", p.value); return -1;
		}
		if (ret < 0) {
			*status = cli_usage_error(&cli_set, "bad value '%s': %s", p.value, set_value_hint(c));
			return -1;
		}
	}
	return 0;
}

static int set_main(const struct cli_global *g, int argc, char *argv[])
{
	cJSON *req = cJSON_CreateObject();
	cJSON *settings = cJSON_CreateObject();
	const char *socket_path = NULL;
	bool json = false;
	int status = CLI_EXIT_FAIL;
	char *text = NULL;

	if (!req || !settings || !cJSON_AddStringToObject(req, "cmd", "set"))
		goto out;
	if (set_parse(settings, argc, argv, &json, &socket_path, &status) < 0)
		goto out;
	if (cJSON_GetArraySize(settings)) { /* else: only show them */
		cJSON_AddItemToObject(req, "settings", settings);
		settings = NULL;
	}
	if (!(text = cJSON_PrintUnformatted(req)))
		goto out;
	cJSON *reply = cli_ctl_call(g, "set", socket_path, text);
	if (reply) {
		status = cli_output(reply, json, render_settings);
		cJSON_Delete(reply);
	}
out:
	free(text);
	cJSON_Delete(settings);
	cJSON_Delete(req);
	return status;
}

const struct cli_command cli_set = {
	.name = "set",
	.run = set_main,
	.summary = "Change this node's settings: path policy, interface costs, metering, thresholds",
	.usage = "Usage: roam [-i IFACE] set [--policy latency|bandwidth|cost|redundant]\n"
		 "                           [--handover auto|confirm]\n"
		 "                           [--iface-cost IF=MS|IF=class]... [--metered IF]...\n"
		 "                           [--unmetered IF]... [--suspect-min MS] [--loss-enter PERMILLE]\n"
		 "                           [--loss-leave PERMILLE] [--rtt-enter MS] [--rtt-leave MS]\n"
		 "                           [--tamper-threshold N] [--tamper-window MS]\n"
		 "                           [--quarantine MS] [--reset] [--json] [--socket PATH]\n"
		 "\n"
		 "Changes the settings of this node's roamd, which keeps them in its state\n"
		 "directory (settings.json) and applies them at once to every peer's paths.\n"
		 "Without options, shows them.\n"
		 "\n"
		 "  --policy P            how every peer's paths are picked: latency (the\n"
		 "                        lowest round trip plus interface cost; the default),\n"
		 "                        cost (the cheapest path that meets the thresholds),\n"
		 "                        redundant (every data packet also on a second path\n"
		 "                        through another interface or the relay: the peer\n"
		 "                        keeps the first copy; twice the traffic),\n"
		 "                        bandwidth (flows spread over the healthy paths\n"
		 "                        of the best kind, each flow on one path); per\n"
		 "                        peer and per application: roam policy\n"
		 "  --handover auto|confirm  auto (the default): a better path takes over by\n"
		 "                        itself; confirm: it is announced (roamd's log,\n"
		 "                        \"better_path\" in roam status --json) and taken\n"
		 "                        with `roam path use` (a failing path is still\n"
		 "                        replaced at once)\n"
		 "  --iface-cost IF=MS    added to the round trip of the paths through\n"
		 "                        interface IF when paths are compared (0..10000 ms);\n"
		 "                        IF=class: back to its class's (wired 0, Wi-Fi 2,\n"
		 "                        cellular 30)\n"
		 "  --metered IF          IF costs money (cellular interfaces are by default):\n"
		 "                        its paths carry nothing while an unmetered path\n"
		 "                        meets the thresholds, and as standbys are probed\n"
		 "                        every 60 s only\n"
		 "  --unmetered IF        the opposite (a cellular interface stays metered)\n"
		 "  --suspect-min MS      a path whose reply is later than max(2 x its\n"
		 "                        round trip, MS) is suspect: traffic moves (100)\n"
		 "  --loss-enter PERMILLE a path losing this share of its last 16 probes is\n"
		 "                        degraded: every healthy path ranks above it (300)\n"
		 "  --loss-leave PERMILLE healthy again at or below this loss (125)\n"
		 "  --rtt-enter MS        degraded at this smoothed round trip (1500)\n"
		 "  --rtt-leave MS        healthy again at or below it (1000)\n"
		 "  --tamper-threshold N  a path from which N packets fail authentication or\n"
		 "                        are garbage within the tamper window is quarantined:\n"
		 "                        nothing goes out on it, another path carries the\n"
		 "                        data (never the last one); 0: off (32)\n"
		 "  --tamper-window MS    that window, 100..60000 (10000)\n"
		 "  --quarantine MS       how long, 1000..60000; doubled, up to 10 min, for a\n"
		 "                        path quarantined again within 10 min (30000)\n"
		 "  --reset               start from the defaults (then the options given)\n"
		 "  -j, --json            the settings as one JSON object\n"
		 "      --socket PATH     control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help            this text\n"
		 "\n"
		 "Managed mode only. Exit status: 0 applied (or shown), 1 roamd not running\n"
		 "or the settings refused (inconsistent thresholds, say), 2 bad usage.\n",
};
