#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_style { LOG_STYLE_UNDECIDED, LOG_STYLE_JOURNAL, LOG_STYLE_PLAIN };

static enum log_level current_level = LOG_INFO;
static enum log_style current_style = LOG_STYLE_UNDECIDED;
static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_priorities[] = { 3, 4, 6, 7 }; /* syslog LOG_ERR .. LOG_DEBUG */

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to our
 * stderr (systemd.exec(5)); a stderr redirected elsewhere (a file, a
 * terminal, a pipe) no longer matches and gets the plain format. */
void log_detect_output(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	current_style = LOG_STYLE_PLAIN;
	if (stream && sscanf(stream, "%llu:%llu%c", &dev, &ino, &end) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		current_style = LOG_STYLE_JOURNAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024], stamp[32] = "";
	struct timespec ts = { 0, 0 };
	struct tm tm;
	va_list ap;

	if (level > current_level)
		return;
	if (current_style == LOG_STYLE_UNDECIDED)
		log_detect_output();
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent writers do not interleave mid-line. */
	if (current_style == LOG_STYLE_JOURNAL) {
		fprintf(stderr, "<%d>%s\n", level_priorities[level], line);
		return;
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s: %s\n", stamp, ts.tv_nsec / 1000000L, level_names[level], line);
}
