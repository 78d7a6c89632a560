/* Rate-limited log lines (see log_limit.h). */
#include "util/log_limit.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

bool log_limit_allow(struct log_limit *l, uint64_t now_ms, uint32_t burst, uint64_t interval_ms,
		     uint32_t *held_back)
{
	if (!l->started || now_ms - l->window_start_ms >= interval_ms) {
		l->started = true;
		l->window_start_ms = now_ms;
		l->printed = 0;
	}
	if (l->printed >= burst) {
		if (l->suppressed < UINT32_MAX)
			l->suppressed++;
		return false;
	}
	l->printed++;
	*held_back = l->suppressed;
	l->suppressed = 0;
	return true;
}

void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	struct timespec ts;
	uint32_t held_back;
	char line[512];
	va_list ap;

	if (level > log_get_level())
		return; /* a line nobody will see must not use up the burst */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!log_limit_allow(l, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, LOG_LIMIT_BURST,
			     LOG_LIMIT_INTERVAL_MS, &held_back))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (held_back)
		log_msg(level, "%s (... repeated %u times)", line, held_back);
	else
		log_msg(level, "%s", line);
}
