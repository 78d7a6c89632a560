/* Runs a libFuzzer target over files without libFuzzer, so every corpus and
 * every crash ever found is replayed by the normal test suite (also under
 * ASan+UBSan). Arguments are files or directories (one level). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			files++;
			continue;
		}
		DIR *dir = opendir(argv[i]);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (run_file(path) < 0)
				return 1;
			files++;
		}
		if (dir)
			closedir(dir);
	}
	/* Plus a sweep of short synthetic inputs, so an empty corpus still
	 * exercises the target. */
	uint8_t buf[256];
	for (size_t len = 0; len < sizeof(buf); len++) {
		for (int seed = 0; seed < 8; seed++) {
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)(j * 31 + seed * 17 + len);
			if (len)
				buf[0] = (uint8_t)(seed % 6);
			LLVMFuzzerTestOneInput(buf, len);
		}
	}
	printf("replayed %d corpus files and %zu synthetic inputs\n", files, sizeof(buf) * 8);
	return 0;
}
