/* roam publish DIR: walk, check and hash (publish_scan.h). */
#include "daemon/files/publish_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/files/thumb.h"
#include "files/pull.h"

#define HASH_BUF (1u << 18)

/* The file's hash and its chunk tree's root, in one read. */
static int hash_fd(int fd, struct publish_file *f)
{
	uint8_t *buf = malloc(HASH_BUF);
	struct files_tree_builder tb;
	uint64_t size = f->size;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = files_tree_builder_init(&tb, size, FILES_CHUNK_DEFAULT);
	if (ret < 0)
		goto out;
	for (uint64_t off = 0; off < size;) {
		ssize_t n = pread(fd, buf, HASH_BUF, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n == 0 ? -ESTALE : -errno; /* it shrank while we read */
			goto out;
		}
		if ((uint64_t)n > size - off) {
			ret = -ESTALE; /* it grew while we read */
			goto out;
		}
		files_tree_builder_update(&tb, buf, (size_t)n);
		off += (uint64_t)n;
	}
	ret = files_tree_builder_final(&tb, f->hash, f->root);
out:
	free(buf);
	return ret;
}

/* 1 when real (resolved) is root itself or below it. */
static int inside(const char *root, const char *real)
{
	size_t n = strlen(root);
	if (strncmp(root, real, n) != 0)
		return 0;
	return real[n] == '\0' || real[n] == '/' || (n == 1 && root[0] == '/');
}

static int add_file(struct publish_scan *sc, const char *rel, int fd)
{
	struct stat st;
	struct publish_file f = { 0 };
	size_t plen = strlen(rel);
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (!files_index_path_valid(rel, plen) || (uint64_t)st.st_size > FILES_MAX_SIZE) {
		snprintf(sc->bad, sizeof(sc->bad), "%s", rel);
		return -EINVAL;
	}
	if (sc->n == FILES_INDEX_MAX_ENTRIES)
		return -E2BIG;
	sc->body_len += FILES_INDEX_ENTRY_FIXED + plen;
	if (sc->body_len > FILES_INDEX_BODY_MAX)
		return -E2BIG;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct publish_file *nf = realloc(sc->files, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		sc->files = nf;
		sc->cap = cap;
	}
	f.size = (uint64_t)st.st_size;
	f.mtime = st.st_mtim.tv_sec;
	ret = hash_fd(fd, &f);
	if (ret < 0)
		return ret;
	f.path = strdup(rel);
	if (!f.path)
		return -ENOMEM;
	sc->files[sc->n++] = f; /* ownership of f.path to sc */
	return 0;
}

/* A symlink at rel: followed only to a regular file inside root. */
static int add_link(struct publish_scan *sc, const char *rel)
{
	char full[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int fd, ret;

	if (snprintf(full, sizeof(full), "%s/%s", sc->root, rel) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	if (!realpath(full, real))
		return 0; /* dangling: nothing to publish, nothing leaks */
	if (!inside(sc->root, real)) {
		snprintf(sc->bad, sizeof(sc->bad), "%s", rel);
		return -EXDEV;
	}
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* a directory: not followed */
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = add_file(sc, rel, fd);
	close(fd);
	return ret;
}

static int walk(struct publish_scan *sc, int dfd, char *rel, size_t rlen, int depth);

static int walk_entry(struct publish_scan *sc, int dfd, const char *name, char *rel, size_t rlen, int depth)
{
	size_t nlen = strlen(name), at = rlen ? rlen + 1 : 0;
	struct stat st;
	int fd, ret;

	if (at + nlen > FILES_INDEX_PATH_MAX)
		return -ENAMETOOLONG;
	if (rlen)
		rel[rlen] = '/';
	memcpy(rel + at, name, nlen + 1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
	if (S_ISLNK(st.st_mode))
		return add_link(sc, rel);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = S_ISDIR(st.st_mode) ? walk(sc, fd, rel, at + nlen, depth + 1) : add_file(sc, rel, fd);
	close(fd);
	return ret;
}

static int walk(struct publish_scan *sc, int dfd, char *rel, size_t rlen, int depth)
{
	DIR *d;
	int fd, ret = 0;

	if (depth > PUBLISH_SCAN_DEPTH)
		return -ELOOP;
	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (struct dirent *e; ret == 0 && (errno = 0, e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ret = walk_entry(sc, dfd, e->d_name, rel, rlen, depth);
		rel[rlen] = '\0';
	}
	if (ret == 0 && errno != 0)
		ret = -errno;
	closedir(d);
	return ret;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct publish_file *)a)->path, ((const struct publish_file *)b)->path);
}

void publish_scan_free(struct publish_scan *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n; i++) {
		free(sc->files[i].path);
		free(sc->files[i].thumb);
	}
	free(sc->files);
	sc->files = NULL;
	sc->n = sc->cap = 0;
}

int publish_scan_dir(const char *dir, struct publish_scan *out)
{
	char rel[FILES_INDEX_PATH_MAX + 2] = "";
	int dfd, ret;

	memset(out, 0, sizeof(*out));
	if (!realpath(dir, out->root))
		return -errno;
	dfd = open(out->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	out->body_len = 4;
	ret = walk(out, dfd, rel, 0, 0);
	close(dfd);
	if (ret < 0) {
		publish_scan_free(out);
		return ret;
	}
	if (out->n > 1)
		qsort(out->files, out->n, sizeof(*out->files), by_path);
	return 0;
}

int publish_scan_body(const struct publish_scan *sc, uint8_t **body, size_t *len)
{
	struct files_index_entry *e = calloc(sc->n ? sc->n : 1, sizeof(*e));
	uint8_t *buf = NULL;
	size_t n;
	int ret;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < sc->n; i++) {
		memcpy(e[i].root, sc->files[i].root, FILES_HASH_LEN);
		e[i].path = sc->files[i].path;
		e[i].path_len = strlen(sc->files[i].path);
		e[i].size = sc->files[i].size;
		e[i].mtime = sc->files[i].mtime;
		e[i].thumb = sc->files[i].thumb;
		e[i].thumb_len = sc->files[i].thumb_len;
		memcpy(e[i].hash, sc->files[i].hash, FILES_HASH_LEN);
	}
	ret = files_index_body_len(e, sc->n, &n);
	if (ret < 0)
		goto out;
	buf = malloc(n);
	ret = buf ? files_index_body_put(buf, n, e, sc->n) : -ENOMEM;
	if (ret < 0)
		goto out;
	*body = buf; /* ownership to the caller */
	*len = n;
	buf = NULL;
out:
	free(buf);
	free(e);
	return ret;
}

const struct publish_file *publish_scan_find(const struct publish_scan *sc, const char *path, size_t len)
{
	char key[FILES_INDEX_PATH_MAX + 1];
	struct publish_file k = { .path = key };

	if (!files_index_path_valid(path, len) || sc->n == 0)
		return NULL;
	memcpy(key, path, len);
	key[len] = '\0';
	return bsearch(&k, sc->files, sc->n, sizeof(*sc->files), by_path);
}

int publish_open(const struct publish_scan *sc, const struct publish_file *f)
{
	char full[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int fd;

	if (snprintf(full, sizeof(full), "%s/%s", sc->root, f->path) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	if (!realpath(full, real))
		return -errno;
	if (!inside(sc->root, real))
		return -EXDEV; /* a link changed to point out since the scan */
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size ||
	    st.st_mtim.tv_sec != f->mtime) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* One photo's thumbnail into f (nothing when it is not one). */
static void thumb_one(const struct publish_scan *sc, struct publish_file *f, uint8_t *img, uint8_t *out)
{
	int fd = publish_open(sc, f);
	size_t len;
	if (fd < 0)
		return;
	ssize_t n = pread(fd, img, (size_t)f->size, 0);
	close(fd);
	if (n != (ssize_t)f->size || !thumb_is_jpeg(img, (size_t)n) ||
	    thumb_jpeg(img, (size_t)n, out, FILES_INDEX_THUMB_MAX, &len) < 0)
		return;
	f->thumb = malloc(len);
	if (f->thumb) {
		memcpy(f->thumb, out, len);
		f->thumb_len = len; /* ownership to f */
	}
}

int publish_scan_thumbs(struct publish_scan *sc)
{
	uint8_t *img = malloc(THUMB_MAX_INPUT), *out = malloc(FILES_INDEX_THUMB_MAX);
	int made = 0;
	for (size_t i = 0; img && out && i < sc->n; i++) {
		struct publish_file *f = &sc->files[i];
		if (f->thumb || f->size < 3 || f->size > THUMB_MAX_INPUT ||
		    sc->body_len + FILES_INDEX_THUMB_MAX > FILES_INDEX_BODY_MAX)
			continue;
		thumb_one(sc, f, img, out);
		if (f->thumb) {
			sc->body_len += f->thumb_len;
			made++;
		}
	}
	free(img);
	free(out);
	return made;
}
