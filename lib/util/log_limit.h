/* Rate limiting for log lines a remote party can cause: at most `burst`
 * lines per call site in each `interval`, then one "... repeated K times"
 * when the next interval lets a line through (the kernel's
 * printk_ratelimited, with a count of what was held back). */
#ifndef ROAM_UTIL_LOG_LIMIT_H
#define ROAM_UTIL_LOG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/log.h"

#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_INTERVAL_MS 10000

struct log_limit {
	uint64_t window_start_ms;
	uint32_t printed;    /* in the current window */
	uint32_t suppressed; /* since the last line printed */
	bool started;
};

/* Pure policy: may a line be printed at now_ms? On true, *held_back is the
 * number of lines suppressed since the last one printed (to be reported). */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms, uint32_t burst, uint64_t interval_ms,
		     uint32_t *held_back);

/* log_msg through the limiter l, with the monotonic clock. */
void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One limiter per call site, like a static local. */
#define log_limited(level, ...)                                                                              \
	do {                                                                                                  \
		static struct log_limit log_limit_site_;                                                      \
		log_msg_limited(&log_limit_site_, level, __VA_ARGS__);                                        \
	} while (0)

#endif
