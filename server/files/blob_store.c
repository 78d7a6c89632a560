/* The files' ciphertext (server/files/blob_store.h): STATE/files/NAME on
 * the local disk with SQLite, the file_data table with PostgreSQL. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/files/blob_store.h"
#include "server/server.h"
#include "server/store.h"
#include "util/log.h"

static bool shared(const struct server *s) { return s->store && store_shared(s->store); }

static int local_path(const struct server *s, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/files/%s", s->cfg.state_dir, name);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int fdata_create(struct server *s, const char *name)
{
	char path[1024];
	int fd, r;

	if (shared(s))
		return store_fdata_remove(s->store, name);
	snprintf(path, sizeof(path), "%s/files", s->cfg.state_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		log_err("files: %s: %s", path, strerror(errno));
	if ((r = local_path(s, name, path, sizeof(path))) < 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		log_err("files: %s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	return 0;
}

int fdata_write(struct server *s, const char *name, uint64_t off, const void *buf, size_t len, bool last,
		const struct fdata_count *count)
{
	char path[1024];
	int fd, r = 0;

	if (shared(s))
		return store_fdata_write(s->store, name, off, buf, len, count);
	if ((r = local_path(s, name, path, sizeof(path))) < 0)
		return r;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)off) < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len ||
	    (last && fdatasync(fd) < 0))
		r = -EIO;
	close(fd);
	return r;
}

int fdata_read(struct server *s, const char *name, uint64_t off, void *buf, size_t len)
{
	char path[1024];
	int fd, r;

	if (shared(s))
		return store_fdata_read(s->store, name, off, buf, len);
	if ((r = local_path(s, name, path, sizeof(path))) < 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -ENOENT;
	r = pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	return r;
}

int fdata_size(struct server *s, const char *name, uint64_t *size)
{
	char path[1024];
	struct stat sb;
	int r;

	if (shared(s))
		return store_fdata_size(s->store, name, size);
	if ((r = local_path(s, name, path, sizeof(path))) < 0)
		return r;
	if (stat(path, &sb) < 0)
		return -ENOENT;
	*size = (uint64_t)sb.st_size;
	return 0;
}

int fdata_rename(struct server *s, const char *from, const char *to)
{
	char a[1024], b[1024];
	int r;

	if (shared(s))
		return store_fdata_rename(s->store, from, to);
	if ((r = local_path(s, from, a, sizeof(a))) < 0 || (r = local_path(s, to, b, sizeof(b))) < 0)
		return r;
	return rename(a, b) < 0 ? -errno : 0;
}

void fdata_remove(struct server *s, const char *name)
{
	char path[1024];

	if (shared(s)) {
		if (store_fdata_remove(s->store, name) < 0)
			log_warn("files: cannot delete %s: %s", name, store_error(s->store));
	} else if (local_path(s, name, path, sizeof(path)) == 0 && unlink(path) < 0 && errno != ENOENT) {
		log_warn("files: %s: %s", path, strerror(errno));
	}
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int fdata_list(struct server *s, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx)
{
	char path[1024], *names[FDATA_LIST_MAX];
	const struct dirent *e;
	size_t count = 0;
	DIR *dir;

	if (shared(s))
		return store_fdata_list(s->store, prefix, cb, ctx);
	snprintf(path, sizeof(path), "%s/files", s->cfg.state_dir);
	if (!(dir = opendir(path)))
		return errno == ENOENT ? 0 : -errno;
	/* Read first: removing while reading the directory may skip names. */
	while (count < FDATA_LIST_MAX && (e = readdir(dir)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && (names[count] = strdup(e->d_name)))
			count++;
	closedir(dir);
	qsort(names, count, sizeof(names[0]), by_name);
	int stop = 0;
	for (size_t i = 0; i < count; i++) {
		if (!stop)
			stop = cb(ctx, names[i]);
		free(names[i]);
	}
	return 0;
}
