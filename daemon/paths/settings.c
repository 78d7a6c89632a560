/* `roam set` (daemon/node_settings.h): merged into the node's settings,
 * saved to settings.json, applied live to every peer's paths. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/paths/ifaces.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "util/log.h"

static void settings_apply(struct roamd *d)
{
	if (!paths_of(d))
		return; /* managed mode not running: they apply when it starts */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p)) {
		struct paths_peer *pp = paths_peer_of(p);
		if (!pp)
			continue;
		(void)path_set_tune(&pp->set, &d->host.settings.tuning); /* checked by node_settings */
		(void)path_set_policy(&pp->set, d->host.settings.policy, ev_now(d->loop));
		paths_touch(pp);
	}
	paths_ifaces_refresh(d); /* interface costs and metering, then every peer's paths */
	roamd_paths_rearm(d);
}

char *roamd_settings_request(struct roamd *d, const char *settings)
{
	char why[200];
	if (settings) {
		struct node_settings next = d->host.settings;
		int ret = node_settings_merge_text(&next, settings, strlen(settings), why, sizeof(why));
		if (ret < 0)
			return roamd_control_error(why);
		if ((ret = node_settings_save(d->host.state_dir, &next)) < 0) {
			snprintf(why, sizeof(why), "cannot save %s/settings.json: %s", d->host.state_dir, strerror(-ret));
			return roamd_control_error(why);
		}
		d->host.settings = next;
		log_info("settings changed (roam set): applied to every peer's paths");
		settings_apply(d);
	}
	cJSON *root = cJSON_CreateObject();
	cJSON *s = node_settings_json(&d->host.settings);
	if (!root || !s) {
		cJSON_Delete(root);
		cJSON_Delete(s);
		return NULL;
	}
	cJSON_AddItemToObject(root, "settings", s);
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}
