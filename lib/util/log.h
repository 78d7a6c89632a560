/* Leveled logging to stderr, for programs (roamd, roam, roam-server) only.
 * Library code never logs directly: it reports through its callbacks and the
 * program decides what to print. */
#ifndef ROAM_UTIL_LOG_H
#define ROAM_UTIL_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *name, enum log_level *out); /* 0 or -EINVAL */
/* Lines go to stderr: as "<N>message" (N the syslog priority) when stderr is
 * the journal stream systemd gave us (JOURNAL_STREAM), otherwise as
 * "YYYY-MM-DD HH:MM:SS.mmm level: message" in local time. Decided at the
 * first line; call again after redirecting stderr. */
void log_detect_output(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
