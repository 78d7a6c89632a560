/* The peers' paths for the server (paths_report.h). */
#include "daemon/paths_report.h"

#include <string.h>

#include "daemon/paths/paths.h"
#include "daemon/roamd.h"

static uint8_t path_kind(const struct wg_peer *p)
{
	const char *s = roamd_paths_summary(p);

	return strcmp(s, "direct") == 0 ? COORD_PATH_DIRECT : strcmp(s, "relayed") == 0 ? COORD_PATH_RELAYED
											 : COORD_PATH_NONE;
}

/* Same peers, same kinds (round trips move all the time: not a change). */
static bool same_kinds(const struct coord_paths_report *a, const struct coord_paths_report *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (memcmp(a->e[i].peer, b->e[i].peer, COORD_KEY_LEN) != 0 || a->e[i].path != b->e[i].path)
			return false;
	return true;
}

struct coord_paths_report *roamd_paths_report_due(struct roamd *d, struct roamd_paths_report *st)
{
	static struct coord_paths_report now_r; /* one data plane, one timer */
	uint64_t now = ev_now(d->loop);

	memset(&now_r, 0, sizeof(now_r)); /* no stack or padding bytes to the agent */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p && now_r.count < COORD_PATHS_REPORT_MAX;
	     p = wg_device_next_peer(p)) {
		struct coord_path_entry *e;
		if (!p->user)
			continue; /* not a managed peer: the server does not know it */
		e = &now_r.e[now_r.count++];
		memcpy(e->peer, p->public_key, COORD_KEY_LEN);
		e->path = path_kind(p);
		e->rtt_ms = roamd_paths_rtt_ms(p);
	}
	if (st->sent_at && same_kinds(&now_r, &st->last) && now - st->sent_at < ROAMD_PATHS_REFRESH_S * EV_NSEC_PER_SEC)
		return NULL;
	if (!now_r.count && !st->sent_at)
		return NULL; /* nothing to say yet */
	st->last = now_r;
	st->sent_at = now;
	return &now_r;
}
