/* A push, the receiving side (a thread of the file worker): read the
 * offer, check the name, the free space and whether part of it is here
 * already (the sender's directory keeps ".IDENTITY.part" after any break),
 * answer with the offset to continue from, write, compare the hash of all
 * it holds with the hash the sender sends after the data, and move the
 * file into place under a name that overwrites nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/hash_pipe.h"
#include "daemon/files/pull_host.h"
#include "files/pull.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define IO_TIMEOUT_S 30
#define SPACE_RESERVE (16ull << 20) /* leave this much free in the inbox's file system */
#define ALT_NAMES_MAX 1000
#define PART_MAX_AGE_S (7 * 24 * 3600)

static __thread uint8_t buf[1 << 18];

static void answer(int fd, enum files_push_status st, uint64_t offset)
{
	uint8_t a[FILES_PUSH_ANSWER_LEN];
	files_push_answer_build(a, st, offset);
	xfer_write_full(fd, a, sizeof(a));
}

static void result(int fd, enum files_push_status st)
{
	uint8_t r[FILES_PUSH_RESULT_LEN];
	files_push_result_build(r, st);
	xfer_write_full(fd, r, sizeof(r));
}

/* The offer, its first 4 bytes (the magic) already read into first. */
static int read_offer(int fd, const uint8_t first[4], struct files_push_offer *o)
{
	uint8_t msg[FILES_PUSH_OFFER_MAX];
	size_t total;
	int ret;
	memcpy(msg, first, 4);
	if ((ret = xfer_read_full(fd, msg + 4, 4)) < 0)
		return ret;
	if (files_push_offer_len(msg, 8, &total) < 0)
		return -EBADMSG;
	if ((ret = xfer_read_full(fd, msg + 8, total - 8)) < 0)
		return ret;
	return files_push_offer_parse(msg, total, o);
}

static void hex(char *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* The partial file and what it holds: its length, hashed into hs. Another
 * thread receiving the same file from the same sender: -EBUSY. */
static int open_part(struct xfer *x, int dirfd, const char *part, uint64_t size, crypto_generichash_state *hs,
		     uint64_t *have)
{
	struct worker *w = xfer_worker;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < XFER_SLOTS; i++) {
		const struct xfer *o = &w->xfers[i];
		if (o != x && o->state == XFER_RECEIVING && strcmp(o->dir, x->dir) == 0 &&
		    memcmp(o->hash, x->hash, FILES_HASH_LEN) == 0) {
			pthread_mutex_unlock(&w->lock);
			return -EBUSY;
		}
	}
	pthread_mutex_unlock(&w->lock);
	int fd = openat(dirfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	uint64_t len = (uint64_t)st.st_size;
	if (len > size) {
		if (ftruncate(fd, 0) < 0) {
			close(fd);
			return -EIO;
		}
		len = 0;
	}
	crypto_generichash_init(hs, NULL, 0, FILES_HASH_LEN);
	for (uint64_t off = 0; off < len;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		crypto_generichash_update(hs, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (lseek(fd, (off_t)len, SEEK_SET) < 0) {
		close(fd);
		return -EIO;
	}
	*have = len;
	return fd;
}

/* The part becomes name, or "name (n).ext": never over an existing file. */
int xfer_place(int dirfd, const char *part, const char *name, char *final, size_t size)
{
	char alt[FILES_NAME_MAX + 1];
	for (unsigned n = 0; n < ALT_NAMES_MAX; n++) {
		const char *try = name;
		if (n && files_push_alt_name(name, n, alt, sizeof(alt)) == 0)
			try = alt;
		else if (n)
			return -ENAMETOOLONG;
		if (renameat2(dirfd, part, dirfd, try, RENAME_NOREPLACE) == 0) {
			snprintf(final, size, "%s", try);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int xfer_sender_dir(struct xfer *x)
{
	int dirfd;
	/* The peer's name as the server gave it; an address if it would not
	 * do as a directory name. */
	if (!files_push_name_ok(x->dir, strlen(x->dir)))
		snprintf(x->dir, sizeof(x->dir), "unknown-sender");
	if (mkdirat(xfer_worker->inbox_fd, x->dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	dirfd = openat(xfer_worker->inbox_fd, x->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dirfd < 0 ? -errno : dirfd;
}

/* Receives into the open part file from offset have: 0, or -errno. Each
 * MiB is read whole (MSG_WAITALL: a syscall, a write and a handoff per MiB
 * rather than per segment burst), written, and hashed on the pipe's thread
 * while the next one arrives. */
static int receive_body(struct xfer *x, int fd, int partfd, uint64_t have, uint64_t size, struct hash_pipe *hp)
{
	while (have < size) {
		size_t want = size - have < HASH_PIPE_CHUNK ? (size_t)(size - have) : HASH_PIPE_CHUNK;
		uint8_t *b = hash_pipe_buffer(hp);
		ssize_t n = recv(fd, b, want, MSG_WAITALL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ECONNRESET;
		if (write(partfd, b, (size_t)n) != n)
			return -EIO;
		hash_pipe_push(hp, (size_t)n);
		have += (uint64_t)n;
		pthread_mutex_lock(&xfer_worker->lock);
		x->done = have;
		bool stop = x->cancel;
		pthread_mutex_unlock(&xfer_worker->lock);
		if (stop)
			return -ECANCELED;
	}
	return 0;
}

/* Partial files nobody came back for: removed after PART_MAX_AGE_S without
 * a write, so a peer cannot fill the inbox with parts it never finishes. */
void xfer_sweep_parts(int inbox_fd, time_t now)
{
	DIR *top = fdopendir(dup(inbox_fd));
	struct dirent *e;
	if (!top)
		return;
	while ((e = readdir(top))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = openat(inbox_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (!sub) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		struct dirent *p;
		struct stat st;
		while ((p = readdir(sub))) {
			size_t len = strlen(p->d_name);
			if (p->d_name[0] != '.' || len < 6 || strcmp(p->d_name + len - 5, ".part") != 0)
				continue;
			if (fstatat(dirfd(sub), p->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			    st.st_mtime + PART_MAX_AGE_S < now && unlinkat(dirfd(sub), p->d_name, 0) == 0)
				log_info("files: removed %s/%s, left unfinished since %lld", e->d_name, p->d_name,
					 (long long)st.st_mtime);
		}
		closedir(sub);
	}
	closedir(top);
}

void *xfer_recv_thread(void *arg)
{
	struct xfer *x = arg;
	struct worker *w = xfer_worker;
	struct files_push_offer o;
	crypto_generichash_state hs;
	char part[8 + 2 * FILES_HASH_LEN], why[160] = "", final[FILES_NAME_MAX + 1] = "";
	uint8_t got[FILES_HASH_LEN];
	uint64_t have = 0;
	int fd = x->sock, dirfd = -1, partfd = -1, ret;
	enum xfer_state end = XFER_FAILED;
	xfer_set_timeouts(fd, IO_TIMEOUT_S);
	snprintf(x->dir, sizeof(x->dir), "%s", x->peer);
	uint8_t first[4];
	if ((ret = xfer_read_full(fd, first, sizeof(first))) == 0 && memcmp(first, FILES_PULL_MAGIC, 4) == 0) {
		/* A pull (pull_host.h), not a push: no transfer to show. */
		pthread_mutex_lock(&w->lock);
		memset(x, 0, sizeof(*x));
		worker_changed(w, x);
		pthread_mutex_unlock(&w->lock);
		pull_host_serve(fd, first);
		close(fd);
		return NULL;
	}
	if (ret < 0 || (ret = read_offer(fd, first, &o)) < 0) {
		if (ret == -EINVAL)
			answer(fd, FILES_PUSH_BAD_NAME, 0);
		snprintf(why, sizeof(why), ret == -EINVAL ? "refused a bad file name" : "no valid offer");
		goto out;
	}
	pthread_mutex_lock(&w->lock);
	snprintf(x->name, sizeof(x->name), "%s", o.name);
	memcpy(x->hash, o.hash, FILES_HASH_LEN);
	x->size = o.size;
	worker_changed(w, x);
	pthread_mutex_unlock(&w->lock);
	memcpy(part, ".", 2);
	hex(part + 1, o.hash, 16);
	strcat(part, ".part");
	if ((dirfd = xfer_sender_dir(x)) < 0 || (partfd = open_part(x, dirfd, part, o.size, &hs, &have)) < 0) {
		ret = partfd == -EBUSY ? -EBUSY : -EIO;
		answer(fd, ret == -EBUSY ? FILES_PUSH_BUSY : FILES_PUSH_IO_ERROR, 0);
		snprintf(why, sizeof(why), ret == -EBUSY ? "already being received" : "cannot write the inbox");
		goto out;
	}
	struct statvfs sv;
	if (fstatvfs(dirfd, &sv) < 0 || (uint64_t)sv.f_bavail * sv.f_frsize < o.size - have + SPACE_RESERVE) {
		answer(fd, FILES_PUSH_NO_SPACE, 0);
		snprintf(why, sizeof(why), "not enough free space for it");
		goto out;
	}
	answer(fd, FILES_PUSH_OK, have);
	if (have)
		log_info("files: continuing %s from %s at byte %llu of %llu", o.name, x->dir, (unsigned long long)have,
			 (unsigned long long)o.size);
	pthread_mutex_lock(&w->lock);
	x->done = x->run_start_bytes = have;
	x->run_start_ns = worker_now_ns();
	pthread_mutex_unlock(&w->lock);
	struct hash_pipe hp;
	if ((ret = hash_pipe_start(&hp, &hs)) == 0) {
		ret = receive_body(x, fd, partfd, have, o.size, &hp);
		hash_pipe_stop(&hp);
	}
	if (ret < 0) {
		/* The part stays: the sender's next offer continues it. */
		snprintf(why, sizeof(why), ret == -EIO || ret == -ENOMEM ? "cannot write the inbox" : "the connection broke");
		if (ret == -EIO || ret == -ENOMEM)
			result(fd, FILES_PUSH_IO_ERROR);
		goto out;
	}
	/* The sender hashed while it sent: its hash follows the last byte. */
	uint8_t msg[FILES_PUSH_HASH_LEN], want[FILES_HASH_LEN];
	if (xfer_read_full(fd, msg, sizeof(msg)) < 0 || files_push_hash_parse(msg, sizeof(msg), want) < 0) {
		snprintf(why, sizeof(why), "the connection broke");
		goto out;
	}
	crypto_generichash_final(&hs, got, sizeof(got));
	if (sodium_memcmp(got, want, sizeof(got)) != 0) {
		unlinkat(dirfd, part, 0);
		result(fd, FILES_PUSH_BAD_HASH);
		snprintf(why, sizeof(why), "the bytes did not match the hash: dropped");
		goto out;
	}
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)o.mtime } };
	futimens(partfd, times);
	if (fsync(partfd) < 0 || (ret = xfer_place(dirfd, part, o.name, final, sizeof(final))) < 0) {
		result(fd, FILES_PUSH_IO_ERROR);
		snprintf(why, sizeof(why), "cannot move it into the inbox");
		goto out;
	}
	result(fd, FILES_PUSH_OK);
	end = XFER_RECEIVED;
	pthread_mutex_lock(&w->lock);
	memcpy(x->hash, got, sizeof(got)); /* the content's, no longer the identity */
	pthread_mutex_unlock(&w->lock);
out:
	if (partfd >= 0)
		close(partfd);
	if (dirfd >= 0)
		close(dirfd);
	char dir[sizeof(x->dir)];
	pthread_mutex_lock(&w->lock);
	if (final[0])
		snprintf(x->where, sizeof(x->where), "%s/%s", x->dir, final);
	memcpy(dir, x->dir, sizeof(dir));
	xfer_finish(x, end, end == XFER_RECEIVED ? NULL : why);
	pthread_mutex_unlock(&w->lock); /* x may be reused from here on */
	if (end == XFER_RECEIVED)
		log_info("files: received %s/%s (%llu bytes)", dir, final, (unsigned long long)o.size);
	else
		log_info("files: receiving from %s: %s", dir, why);
	return NULL;
}
