/* Fuzzes the config parser (daemon/config.c): any bytes, as a file would
 * hold them. Endpoints stay numeric so no input reaches the resolver. A
 * parse must either fail with a filled-in error or give a config whose
 * values are in range. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "fuzz/fuzz.h"

static void check_config(const struct roam_config *cfg)
{
	size_t total = 0;

	if (cfg->mtu < CONFIG_MTU_MIN || cfg->mtu > CONFIG_MTU_MAX ||
	    cfg->addresses_count > CONFIG_ADDRESSES_MAX || cfg->peers_count > CONFIG_PEERS_MAX)
		abort();
	for (size_t i = 0; i < cfg->addresses_count; i++) {
		char text[IP_PREFIX_STRLEN];
		if (ip_prefix_format(&cfg->addresses[i], text, sizeof(text)) != 0)
			abort();
	}
	for (size_t i = 0; i < cfg->peers_count; i++) {
		const struct config_peer *p = &cfg->peers[i];
		char text[SOCKADDR_ANY_STRLEN];
		if (p->has_endpoint && sockaddr_any_format(&p->endpoint, text, sizeof(text)) != 0)
			abort();
		total += p->allowed_ips_count;
	}
	if (total > CONFIG_ALLOWED_IPS_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roam_config *cfg = NULL;
	struct config_error err;
	char msg[CONFIG_ERROR_STRLEN];
	int r = config_parse_buffer("fuzz.conf", (const char *)data, size, CONFIG_PARSE_NO_RESOLVE, &cfg, &err);

	if (r == 0) {
		check_config(cfg);
		config_free(cfg);
	} else if (config_error_format(&err, msg, sizeof(msg)) != 0 || strlen(err.message) == 0) {
		abort();
	}
	return 0;
}
