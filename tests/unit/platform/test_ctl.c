/* Control channel: socket and directory modes, stale and live sockets, one
 * request/reply with a reply large enough to need EPOLLOUT, request limits,
 * and refusal of a non-root peer. Needs root (exit 77 otherwise). Clients run in forked
 * children; the parent drives the non-blocking server side with poll(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ctl/ctl.h"

#define BIG_REPLY (1024 * 1024)

static char tmpdir[40];
static char sock_path[64];

static void wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	CHECK_INT(poll(&p, 1, 5000), ==, 1);
}

/* Accept one client and read its request: 0 and *req_out (malloc'ed) or the
 * -errno the server side saw. *conn_out stays open for a reply. */
static int serve_request(int lfd, struct ctl_conn **conn_out, char **req_out)
{
	struct ctl_conn *c = NULL;
	const char *req;
	int r;

	wait_fd(lfd, POLLIN);
	r = ctl_server_accept(lfd, &c);
	if (r < 0)
		return r;
	while ((r = ctl_conn_read_request(c, &req)) == -EAGAIN)
		wait_fd(ctl_conn_fd(c), POLLIN);
	if (r < 0) {
		ctl_conn_free(c);
		return r;
	}
	*req_out = strdup(req);
	*conn_out = c;
	return 0;
}

static void serve_reply(struct ctl_conn *c, char *json, size_t len)
{
	int r = ctl_conn_send_reply(c, json, len);

	while (r == -EAGAIN) {
		wait_fd(ctl_conn_fd(c), POLLOUT);
		r = ctl_conn_flush(c);
	}
	CHECK_INT(r, ==, 0);
	ctl_conn_free(c);
}

static void child_done(pid_t pid)
{
	int status;

	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), ==, 0);
}

/* A client asking and checking a 1 MiB reply. */
static void client_big(void)
{
	char *reply = NULL;

	CHECK_INT(ctl_request(sock_path, "{\"cmd\":\"status\"}", &reply), ==, 0);
	CHECK_INT(strlen(reply), ==, BIG_REPLY);
	CHECK(reply[0] == '"' && reply[1] == 'a' && reply[BIG_REPLY - 1] == '"');
	free(reply);
	exit(0);
}

static void test_exchange(int lfd)
{
	struct ctl_conn *c = NULL;
	char *req = NULL, *json;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		client_big();
	CHECK_INT(serve_request(lfd, &c, &req), ==, 0);
	CHECK_STR(req, "{\"cmd\":\"status\"}");
	CHECK_INT(ctl_conn_peer_pid(c), ==, pid);
	free(req);
	json = malloc(BIG_REPLY);
	CHECK(json != NULL);
	memset(json, 'a', BIG_REPLY);
	json[0] = json[BIG_REPLY - 1] = '"';
	serve_reply(c, json, BIG_REPLY); /* ownership passed */
	child_done(pid);
}

/* Raw client: write bytes, optionally close the write side, exit. */
static void raw_client(const char *bytes, size_t len, bool half_close)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[256];

	CHECK(strlen(sock_path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
		if (n < 0)
			break; /* the server may hang up on an oversized request */
		off += (size_t)n;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	exit(0);
}

static void expect_raw(int lfd, const char *bytes, size_t len, bool half_close, int want, const char *want_req)
{
	struct ctl_conn *c = NULL;
	char *req = NULL;
	pid_t pid = fork();
	int r;

	CHECK(pid >= 0);
	if (pid == 0)
		raw_client(bytes, len, half_close);
	r = serve_request(lfd, &c, &req);
	CHECK_INT(r, ==, want);
	if (r == 0) {
		CHECK_STR(req, want_req);
		free(req);
		serve_reply(c, strdup("{}"), 2);
	}
	child_done(pid);
}

static void test_request_limits(int lfd)
{
	size_t big_len = CTL_REQUEST_MAX + 10;
	char *big = malloc(big_len);
	char *reply = NULL;

	CHECK(big != NULL);
	memset(big, 'x', big_len);
	expect_raw(lfd, "{\"cmd\":\"a\"}\r\n", 13, false, 0, "{\"cmd\":\"a\"}");
	expect_raw(lfd, "{\"cmd\":\"b\"}", 11, true, 0, "{\"cmd\":\"b\"}"); /* EOF ends it */
	expect_raw(lfd, "", 0, true, -ECONNRESET, NULL);
	expect_raw(lfd, "{\"c\0\"}\n", 7, false, -EBADMSG, NULL);
	expect_raw(lfd, big, big_len, false, -EMSGSIZE, NULL);

	big[CTL_REQUEST_MAX] = '\0';
	CHECK_INT(ctl_request(sock_path, big, &reply), ==, -EINVAL);
	CHECK_INT(ctl_request(sock_path, "{}\n{}", &reply), ==, -EINVAL);
	CHECK_INT(ctl_request(sock_path, "", &reply), ==, -EINVAL);
	free(big);
}

/* A non-root peer gets a JSON refusal and the server -EPERM. */
static void test_non_root(int lfd, const char *run_dir)
{
	pid_t pid;

	/* Open the way through the file modes, so only the peer check is left. */
	CHECK_INT(chmod(tmpdir, 0755), ==, 0);
	CHECK_INT(chmod(run_dir, 0755), ==, 0);
	CHECK_INT(chmod(sock_path, 0666), ==, 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *reply = NULL;
		CHECK_INT(setresgid(65534, 65534, 65534), ==, 0);
		CHECK_INT(setresuid(65534, 65534, 65534), ==, 0);
		CHECK_INT(ctl_request(sock_path, "{\"cmd\":\"status\"}", &reply), ==, 0);
		CHECK_CONTAINS(reply, "permission denied");
		free(reply);
		exit(0);
	}
	wait_fd(lfd, POLLIN);
	{
		struct ctl_conn *c = NULL;
		CHECK_INT(ctl_server_accept(lfd, &c), ==, -EPERM);
	}
	child_done(pid);
	CHECK_INT(chmod(sock_path, 0600), ==, 0);
	CHECK_INT(chmod(run_dir, 0700), ==, 0);
	CHECK_INT(chmod(tmpdir, 0700), ==, 0);
}

static void test_open_rules(void)
{
	char path[160], *reply = NULL;
	struct stat st;
	int fd, lfd;

	/* A stale socket (server gone, file left) is replaced. */
	CHECK_INT(ctl_server_open(sock_path, &lfd), ==, 0);
	close(lfd);
	CHECK_INT(ctl_request(sock_path, "{}", &reply), ==, -ECONNREFUSED);
	CHECK_INT(ctl_server_open(sock_path, &lfd), ==, 0);
	ctl_server_close(lfd, sock_path);
	CHECK_INT(stat(sock_path, &st), ==, -1);
	CHECK_INT(ctl_request(sock_path, "{}", &reply), ==, -ENOENT);

	/* Never delete a file that is not a socket. */
	snprintf(path, sizeof(path), "%s/plain", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(ctl_server_open(path, &lfd), ==, -EEXIST);
	CHECK_INT(unlink(path), ==, 0);

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK_INT(ctl_server_open(path, &lfd), ==, -ENAMETOOLONG);
	CHECK_INT(ctl_request(path, "{}", &reply), ==, -ENAMETOOLONG);
}

/* One socket per interface: the path, and names that must not make one. */
static void test_socket_path(void)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "../x", "sixteen-chars-xx", "a b", "tab\there" };
	char buf[CTL_SOCKET_PATH_MAX + 1];

	CHECK_INT(ctl_socket_path(buf, sizeof(buf), "roam0"), ==, 0);
	CHECK_STR(buf, "/run/roam/roam0.sock");
	CHECK_STR(CTL_DEFAULT_SOCKET_PATH, "/run/roam/roam0.sock");
	CHECK_INT(ctl_socket_path(buf, sizeof(buf), "fifteen-chars-x"), ==, 0);
	CHECK_STR(buf, "/run/roam/fifteen-chars-x.sock");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(ctl_socket_path(buf, sizeof(buf), bad[i]), ==, -EINVAL);
	CHECK_INT(ctl_socket_path(buf, sizeof(buf), NULL), ==, -EINVAL);
	CHECK_INT(ctl_socket_path(buf, 10, "roam0"), ==, -ENAMETOOLONG);
}

int main(void)
{
	char dir[48];
	struct stat st;
	int lfd, other;

	test_socket_path();
	/* The server accepts only uid 0, and the refusal test switches users. */
	if (geteuid() != 0)
		SKIP("needs root");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roam-test-ctl-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	snprintf(sock_path, sizeof(sock_path), "%s/roamd.sock", dir);

	CHECK_INT(ctl_server_open(sock_path, &lfd), ==, 0);
	CHECK_INT(stat(dir, &st), ==, 0);
	CHECK_INT(st.st_mode & 07777, ==, 0700);
	CHECK_INT(stat(sock_path, &st), ==, 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 07777, ==, 0600);
	CHECK(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	CHECK_INT(ctl_server_open(sock_path, &other), ==, -EADDRINUSE);

	{
		/* The liveness probe of that second open was a connection. */
		struct ctl_conn *c = NULL;
		const char *req;
		CHECK_INT(ctl_server_accept(lfd, &c), ==, 0);
		wait_fd(ctl_conn_fd(c), POLLIN);
		CHECK_INT(ctl_conn_read_request(c, &req), ==, -ECONNRESET);
		ctl_conn_free(c);
		CHECK_INT(ctl_server_accept(lfd, &c), ==, -EAGAIN);
		ctl_conn_free(NULL);
	}
	test_exchange(lfd);
	test_request_limits(lfd);
	test_non_root(lfd, dir);
	ctl_server_close(lfd, sock_path);
	test_open_rules();

	rmdir(dir);
	rmdir(tmpdir);
	return 0;
}
