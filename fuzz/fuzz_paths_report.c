/* Fuzzes POST /v1/paths bodies (lib/coord/paths_report.c), what any
 * authenticated node can send: refused whole or parsed within bounds, and
 * what parses renders back to a body that parses the same. */
#include <stdlib.h>
#include <string.h>

#include "coord/paths_report.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct coord_paths_report r, again;
	char *text;

	if (coord_paths_report_parse((const char *)data, size, &r) < 0)
		return 0;
	if (r.count > COORD_PATHS_REPORT_MAX)
		abort();
	for (size_t i = 0; i < r.count; i++)
		if (r.e[i].path >= COORD_PATH_KINDS || r.e[i].transport >= COORD_TRANSPORTS ||
		    r.e[i].active_s > COORD_PATH_ACTIVE_S_MAX)
			abort();
	if (!(text = coord_paths_report_to_json(&r)))
		abort();
	if (coord_paths_report_parse(text, strlen(text), &again) < 0 || again.count != r.count)
		abort();
	for (size_t i = 0; i < r.count; i++)
		if (memcmp(&again.e[i].peer, &r.e[i].peer, COORD_KEY_LEN) || again.e[i].path != r.e[i].path ||
		    again.e[i].rtt_ms != r.e[i].rtt_ms || again.e[i].transport != r.e[i].transport ||
		    again.e[i].relay != r.e[i].relay || again.e[i].active_s != r.e[i].active_s)
			abort();
	free(text);
	return 0;
}
