/* Fuzzes the CLI's reading of roamd's replies (cli/render.c): a status
 * reply rendered as `roam status` shows it, searched as `roam whois` and
 * `roam ip` do, and the found node rendered (and traced, as `roam trace`). roamd is trusted more than a
 * network peer, but a reply from a different roamd version, or a truncated
 * one, must never crash the CLI. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "fuzz/fuzz.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const queries[] = { "n1", "p2", "100.64.0.5", "fd00:1::6", "::", "0.0.0.0", "" };
	cJSON *root, *found, *addrs;

	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	root = cJSON_ParseWithLength((const char *)data, size);
	if (!root)
		return 0;
	cli_render_status(sink, root);
	cli_render_netcheck(sink, root);
	cli_render_metrics(sink, root);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		found = cli_status_find(root, queries[i]);
		if (found) {
			if (!cJSON_IsObject(found))
				abort();
			cli_render_whois(sink, found);
			cJSON_Delete(found);
		}
		cJSON *trace = cli_trace_build(root, queries[i]); /* roam trace */
		if (trace) {
			cli_render_trace(sink, trace);
			cJSON_Delete(trace);
		}
	}
	addrs = cli_status_addresses(root);
	if (!addrs || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(addrs, "ipv4")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(addrs, "ipv6")))
		abort();
	cJSON_Delete(addrs);
	cJSON_Delete(root);
	return 0;
}
