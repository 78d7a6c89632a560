/* `roam set` and `roam policy` (daemon/node_settings.h): merged into the
 * node's settings, saved to settings.json, applied live to every peer's
 * paths (the policy: the peer's own, else the node's; the application
 * classes are read per packet). And `roam path use`: the user's choice of
 * a peer's path (confirm mode). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
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
		(void)path_set_policy(&pp->set, node_settings_peer_policy(&d->host.settings, pp->info.name),
				      ev_now(d->loop));
		paths_handover_settings_changed(pp);
		path_set_confirm(&pp->set, d->host.settings.confirm, ev_now(d->loop));
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

char *roamd_path_use_request(struct roamd *d, const char *peer, const char *id)
{
	struct wg_peer *p = peer ? roamd_peer_by_query(d, peer) : NULL;
	struct paths_peer *pp = p ? paths_peer_of(p) : NULL;
	char *end = NULL;
	unsigned long n = 0;
	if (!pp)
		return roamd_control_error("no peer by that name, overlay address or public key");
	if (!id || (strcmp(id, "auto") != 0 && ((n = strtoul(id, &end, 10)) == 0 || *end || n > UINT32_MAX)))
		return roamd_control_error("path use: give a path's id (roam status --json) or --auto");
	int ret = path_use(&pp->set, (uint32_t)n, ev_now(d->loop));
	paths_touch(pp);
	roamd_paths_rearm(d);
	if (ret == -ENOENT)
		return roamd_control_error("no such path to that peer (roam status --json lists them)");
	if (ret == -EAGAIN)
		return roamd_control_error("that path does not answer now: it cannot carry data");
	return ret < 0 ? roamd_control_error(strerror(-ret)) : strdup("{\"ok\":true}");
}
