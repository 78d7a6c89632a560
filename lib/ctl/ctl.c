#include "ctl/ctl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/request.h"

#define CTL_LISTEN_BACKLOG 16

static const char ctl_refusal[] = "{\"error\":\"permission denied: the control socket is for root only\"}\n";

struct ctl_conn {
	int fd;
	pid_t peer_pid;
	char *out;         /* owned reply */
	size_t out_len;
	size_t out_off;    /* bytes of out + newline already sent */
	char newline;
	bool have_request;
	size_t in_len;
	char in[CTL_REQUEST_MAX + 1];
};

static int ctl_sockaddr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, len);
	return 0;
}

/* ---- client ---- */

static uint64_t ctl_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int ctl_wait(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now;
	int n;

	for (;;) {
		now = ctl_clock_ms();
		if (now >= deadline_ms)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline_ms - now > INT_MAX ? INT_MAX : deadline_ms - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int ctl_send_all(int fd, const char *buf, size_t len, uint64_t deadline_ms)
{
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = ctl_wait(fd, POLLOUT, deadline_ms);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF; returns a NUL-terminated malloc'ed buffer. */
static int ctl_recv_all(int fd, uint64_t deadline_ms, char **out, size_t *out_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 2) {
			if (cap >= CTL_REPLY_MAX + 2) {
				r = -EMSGSIZE;
				goto fail;
			}
			cap = cap * 2 > CTL_REPLY_MAX + 2 ? CTL_REPLY_MAX + 2 : cap * 2;
			grown = realloc(buf, cap);
			if (!grown) {
				r = -ENOMEM;
				goto fail;
			}
			buf = grown;
		}
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		/* A server that answers without reading all we sent (a refusal)
		 * resets instead of closing: after data, that is the end too. */
		if (n == 0 || (n < 0 && errno == ECONNRESET && len > 0))
			break;
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = ctl_wait(fd, POLLIN, deadline_ms);
			if (r < 0)
				goto fail;
			continue;
		}
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;

fail:
	free(buf);
	return r;
}

int ctl_request(const char *sock_path, const char *json_req, char **json_reply_out)
{
	uint64_t deadline = ctl_clock_ms() + CTL_CLIENT_TIMEOUT_MS;
	size_t req_len = strlen(json_req);
	struct sockaddr_un sun;
	char *reply = NULL;
	size_t reply_len = 0;
	int fd = -1, r;

	if (req_len && json_req[req_len - 1] == '\n')
		req_len--;
	if (req_len == 0 || req_len >= CTL_REQUEST_MAX || memchr(json_req, '\n', req_len))
		return -EINVAL;
	r = ctl_sockaddr(sock_path ? sock_path : CTL_DEFAULT_SOCKET_PATH, &sun);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		goto out;
	}
	r = ctl_send_all(fd, json_req, req_len, deadline);
	if (r == 0)
		r = ctl_send_all(fd, "\n", 1, deadline);
	/* A server that refuses us writes its reason and closes before reading:
	 * EPIPE here, but the reply is still worth reading. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		goto out;
	shutdown(fd, SHUT_WR);

	r = ctl_recv_all(fd, deadline, &reply, &reply_len);
	if (r < 0)
		goto out;
	while (reply_len && (reply[reply_len - 1] == '\n' || reply[reply_len - 1] == '\r'))
		reply[--reply_len] = '\0';
	if (reply_len == 0) {
		free(reply);
		r = -ECONNRESET;
		goto out;
	}
	*json_reply_out = reply; /* ownership to the caller */
	r = 0;
out:
	close(fd);
	return r;
}

/* ---- server ---- */

/* Create the socket's directory, private, if it does not exist. */
static int ctl_make_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t len;

	if (!slash || slash == path)
		return 0;
	len = (size_t)(slash - path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove a socket file left by a daemon that died, never a live one. */
static int ctl_remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ? -EADDRINUSE : -errno;
	close(fd);
	if (r == -EADDRINUSE)
		return r;
	if (r != -ECONNREFUSED)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int ctl_server_open(const char *path, int *fd_out)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int fd, r;

	r = ctl_sockaddr(path, &sun);
	if (r < 0)
		return r;
	r = ctl_make_dir(path);
	if (r < 0)
		return r;
	r = ctl_remove_stale(path, &sun);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bind() creates the file with the umask's mode: make it 0600 from the
	 * start rather than chmod after a window. The process is still
	 * single-threaded when the daemon opens this. */
	old_mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old_mask);
	if (r < 0)
		goto fail;
	if (chmod(path, 0600) < 0 || listen(fd, CTL_LISTEN_BACKLOG) < 0) {
		r = -errno;
		unlink(path);
		goto fail;
	}
	*fd_out = fd;
	return 0;

fail:
	close(fd);
	return r;
}

void ctl_server_close(int fd, const char *path)
{
	if (fd >= 0)
		close(fd);
	if (path)
		unlink(path);
}

int ctl_server_accept(int listen_fd, struct ctl_conn **out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_conn *c;
	int fd, r;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		goto fail;
	}
	if (cred.uid != 0) {
		/* Best effort, so the CLI can say why rather than "connection reset". */
		(void)send(fd, ctl_refusal, sizeof(ctl_refusal) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		r = -EPERM;
		goto fail;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto fail;
	}
	c->fd = fd;
	c->peer_pid = cred.pid;
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->newline = '\n';
	c->have_request = false;
	c->in_len = 0;
	*out = c;
	return 0;

fail:
	close(fd);
	return r;
}

void ctl_conn_free(struct ctl_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->out);
	free(c);
}

int ctl_conn_fd(const struct ctl_conn *c)
{
	return c->fd;
}

pid_t ctl_conn_peer_pid(const struct ctl_conn *c)
{
	return c->peer_pid;
}

int ctl_conn_read_request(struct ctl_conn *c, const char **req_out)
{
	size_t line_len;
	ssize_t n;
	int r;

	if (c->have_request) {
		*req_out = c->in;
		return 0;
	}
	for (;;) {
		if (c->in_len == CTL_REQUEST_MAX) /* again after -EMSGSIZE: a recv of 0 bytes is no EOF */
			return -EMSGSIZE;
		n = recv(c->fd, c->in + c->in_len, CTL_REQUEST_MAX - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c->in_len += (size_t)n;
		r = ctl_request_frame(c->in, c->in_len, (size_t)n, n == 0, CTL_REQUEST_MAX, &line_len);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		c->in_len = line_len;
		c->have_request = true;
		*req_out = c->in;
		return 0;
	}
}

int ctl_conn_flush(struct ctl_conn *c)
{
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t n;

	while (c->out_off < c->out_len + 1) {
		msg.msg_iovlen = 0;
		if (c->out_off < c->out_len)
			iov[msg.msg_iovlen++] = (struct iovec){ c->out + c->out_off, c->out_len - c->out_off };
		iov[msg.msg_iovlen++] = (struct iovec){ &c->newline, 1 };
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c->out_off += (size_t)n;
	}
	return 0;
}

int ctl_conn_send_reply(struct ctl_conn *c, char *json, size_t len)
{
	free(c->out);
	c->out = json; /* ownership from the caller */
	c->out_len = json ? len : 0;
	c->out_off = 0;
	return ctl_conn_flush(c);
}

int ctl_socket_path(char *buf, size_t size, const char *interface)
{
	size_t len = interface ? strlen(interface) : 0;
	int n;

	/* IFNAMSIZ - 1 bytes, and nothing that would leave CTL_SOCKET_DIR. */
	if (len == 0 || len > 15 || strchr(interface, '/') || strcmp(interface, ".") == 0 ||
	    strcmp(interface, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)interface[i] <= ' ' || interface[i] == 0x7f)
			return -EINVAL;
	}
	n = snprintf(buf, size, "%s/%s.sock", CTL_SOCKET_DIR, interface);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
