/* The admin socket, client side (sock.h): roam-server's admin commands
 * while the server runs. Blocking, with a timeout: a CLI has nothing else
 * to do meanwhile. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/admin/ops.h"
#include "server/admin/sock.h"

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One reply line, at most ADMIN_REQUEST_MAX bytes. */
static int recv_line(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *p;
	int r = -EPROTO;

	while (buf) {
		/* Peek, then take up to the line's end only: what follows (a
		 * follower's events) stays in the socket for the caller. */
		ssize_t n = recv(fd, buf + len, cap - len - 1, MSG_PEEK);
		if (n > 0 && (p = memchr(buf + len, '\n', (size_t)n)))
			n = p - (buf + len) + 1;
		if (n > 0)
			n = recv(fd, buf + len, (size_t)n, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EPROTO;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if ((p = memchr(buf, '\n', len))) {
			*p = '\0';
			*out = buf;
			return 0;
		}
		if (len + 1 == cap) {
			if (cap >= ADMIN_REQUEST_MAX)
				break;
			if (!(p = realloc(buf, cap * 2)))
				break;
			buf = p;
			cap *= 2;
		}
	}
	free(buf);
	return buf ? r : -ENOMEM;
}

static int sock_connect(const char *state_dir, int *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { ADMIN_SOCK_TIMEOUT_S, 0 };
	char path[SERVER_PATH_MAX];
	int fd, r;

	if ((r = identity_path(path, state_dir, ADMIN_SOCK_NAME)) < 0)
		return r;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG; /* the server cannot have opened it either */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int admin_sock_call(const char *state_dir, const cJSON *req, cJSON **reply)
{
	char *text = cJSON_PrintUnformatted(req), *line = NULL;
	int fd = -1, r;

	if (!text)
		return -ENOMEM;
	if ((r = sock_connect(state_dir, &fd)) < 0)
		goto out;
	if ((r = send_all(fd, text, strlen(text))) < 0 || (r = send_all(fd, "\n", 1)) < 0)
		goto out;
	if ((r = recv_line(fd, &line)) < 0)
		goto out;
	if (!(*reply = cJSON_Parse(line)))
		r = -EPROTO;
out:
	if (fd >= 0)
		close(fd);
	if (line)
		crypto_wipe(line, strlen(line)); /* a new key's secret */
	free(line);
	cJSON_free(text);
	return r;
}

int admin_sock_follow(const char *state_dir, int *fd_out)
{
	static const char req[] = "{\"op\":\"events.follow\"}\n";
	struct timeval none = { 0, 0 };
	cJSON *reply = NULL;
	char *line = NULL;
	int fd = -1, r;

	if ((r = sock_connect(state_dir, &fd)) < 0)
		return r;
	if ((r = send_all(fd, req, sizeof(req) - 1)) < 0 || (r = recv_line(fd, &line)) < 0)
		goto fail;
	if (!(reply = cJSON_Parse(line)) || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		r = -EPROTO;
		goto fail;
	}
	/* events come when they come */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	cJSON_Delete(reply);
	free(line);
	*fd_out = fd;
	return 0;
fail:
	cJSON_Delete(reply);
	free(line);
	close(fd);
	return r;
}
