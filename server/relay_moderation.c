/* relay_moderation.h: the hand-back wake moderation. */
#include "server/relay_moderation.h"

bool rt_moderation_handed(struct rt_moderation *m, uint64_t now, uint64_t handed, bool urgent, size_t queued)
{
	uint64_t since = now - m->window_start;

	/* The rate is the last whole window's (none if it is older than that). */
	if (since >= RT_COALESCE_WINDOW_NS) {
		m->last_window_count = since < 2 * RT_COALESCE_WINDOW_NS ? m->window_count : 0;
		m->window_start = now;
		m->window_count = 0;
	}
	m->window_count += handed;
	bool busy = m->last_window_count * (1000000000u / RT_COALESCE_WINDOW_NS) >= RT_COALESCE_RATE;
	if (urgent || !busy || queued >= RT_COALESCE_MAX) {
		m->pending = false;
		return true;
	}
	if (!m->pending) {
		m->pending = true;
		m->due = now + RT_COALESCE_NS;
	}
	return false;
}

bool rt_moderation_due(struct rt_moderation *m, uint64_t now)
{
	if (!m->pending || now < m->due)
		return false;
	m->pending = false;
	return true;
}
