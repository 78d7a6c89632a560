/* lib/util/log: "<N>" syslog priorities only when stderr is the journal
 * stream named by JOURNAL_STREAM; local time with milliseconds and a level
 * word otherwise. stderr is pointed at a temporary file. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/log.h"

static char path[] = "/tmp/roam-test-log-XXXXXX";

/* What the logs wrote since the last call. */
static void logged(char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	CHECK(f != NULL);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	CHECK(truncate(path, 0) == 0);
	CHECK(lseek(STDERR_FILENO, 0, SEEK_SET) == 0);
}

static void check_plain(const char *text, const char *pattern)
{
	regex_t re;

	CHECK(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0);
	if (regexec(&re, text, 0, NULL, 0) != 0) {
		fprintf(stdout, "'%s' does not match '%s'\n", text, pattern);
		CHECK(!"plain log line");
	}
	regfree(&re);
}

int main(void)
{
	char buf[512], env[64];
	struct stat st;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);

	CHECK(fd >= 0 && saved >= 0);
	CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
	setvbuf(stderr, NULL, _IONBF, 0);
	CHECK(fstat(STDERR_FILENO, &st) == 0);

	/* stderr is the journal's stream: priorities, no time, no level word */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_detect_output();
	log_set_level(LOG_INFO);
	log_err("disk %s", "full");
	log_warn("w");
	log_info("i");
	log_debug("not shown");
	logged(buf, sizeof(buf));
	CHECK_STR(buf, "<3>disk full\n<4>w\n<6>i\n");

	/* another stream (stderr redirected after systemd started us): plain */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_detect_output();
	log_warn("peer %s gone", "p2");
	logged(buf, sizeof(buf));
	check_plain(buf, "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} warn: peer p2 gone\n$");

	/* no journal at all; garbage in the variable is no journal either */
	unsetenv("JOURNAL_STREAM");
	log_detect_output();
	log_set_level(LOG_DEBUG);
	log_debug("d");
	logged(buf, sizeof(buf));
	check_plain(buf, "^[0-9-]{10} [0-9:]{8}\\.[0-9]{3} debug: d\n$");
	setenv("JOURNAL_STREAM", "12:x", 1);
	log_detect_output();
	log_err("e");
	logged(buf, sizeof(buf));
	check_plain(buf, "^[0-9-]{10} [0-9:]{8}\\.[0-9]{3} error: e\n$");

	dup2(saved, STDERR_FILENO);
	unlink(path);
	return 0;
}
