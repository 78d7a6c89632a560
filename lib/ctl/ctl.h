/* The local control channel between roamd and the roam CLI.
 *
 * A Unix SOCK_STREAM socket, root only: the directory is 0700, the socket
 * 0600, and the server refuses any peer whose SO_PEERCRED uid is not 0.
 * One exchange per connection: the client sends one JSON request line
 * ({"cmd":"status"}\n), the server answers with one JSON document and a
 * newline, then closes. This module moves bytes; JSON is the callers' job.
 *
 * The server side never blocks, so the daemon can drive it from its event
 * loop: accept on EPOLLIN of the listening fd, call ctl_conn_read_request()
 * on EPOLLIN of the connection until it stops returning -EAGAIN, then
 * ctl_conn_send_reply() and, while it returns -EAGAIN, ctl_conn_flush() on
 * EPOLLOUT. Limiting the number of open connections and their lifetime (an
 * ev_timer) is the daemon's part. */
#ifndef ROAM_CTL_CTL_H
#define ROAM_CTL_CTL_H

#include <stddef.h>
#include <sys/types.h>

/* One socket per interface, as wireguard-tools does (/var/run/wireguard/
 * IFACE.sock): several roamd (interfaces, network namespaces) on one host. */
#define CTL_SOCKET_DIR "/run/roam"
#define CTL_DEFAULT_INTERFACE "roam0"
#define CTL_DEFAULT_SOCKET_PATH CTL_SOCKET_DIR "/" CTL_DEFAULT_INTERFACE ".sock"
#define CTL_SOCKET_PATH_MAX 108 /* sun_path */
#define CTL_REQUEST_MAX (64 * 1024)       /* request line, newline included */
#define CTL_REPLY_MAX (32 * 1024 * 1024)  /* what a client accepts */
#define CTL_CLIENT_TIMEOUT_MS 10000       /* whole exchange, client side */

/* Client: send json_req (one line; a final '\n' is added if missing) to the
 * server at sock_path (NULL: the default) and return its reply, without the
 * final newline, NUL-terminated, malloc'ed: the caller frees *json_reply_out.
 * Errors: -ENOENT / -ECONNREFUSED no daemon listening there, -EACCES not
 * allowed to connect, -EINVAL request has an inner newline or is too long,
 * -ETIMEDOUT, -EMSGSIZE reply over CTL_REPLY_MAX, -ECONNRESET closed without
 * a reply, -ENAMETOOLONG path too long for a Unix socket. */
int ctl_request(const char *sock_path, const char *json_req, char **json_reply_out);

/* CTL_SOCKET_DIR/IFACE.sock into buf. -EINVAL: not an interface name (empty,
 * over 15 bytes, '/', white space, "." or ".."); -ENAMETOOLONG: buf too small. */
int ctl_socket_path(char *buf, size_t size, const char *interface);

/* Server: create the listening socket at path (non-blocking, close-on-exec).
 * Creates the parent directory with mode 0700 if missing (one level). A
 * stale socket file (nobody listening) is removed; a live one is -EADDRINUSE
 * (its server sees our probe as a connection closed without a request) and a
 * non-socket file at path -EEXIST. */
int ctl_server_open(const char *path, int *fd_out);
void ctl_server_close(int fd, const char *path); /* close (fd >= 0) and unlink (path != NULL) */

struct ctl_conn;

/* Accept one pending connection. -EAGAIN if none. -EPERM if the peer is not
 * root: it has been sent {"error":...} and closed, nothing to clean up. */
int ctl_server_accept(int listen_fd, struct ctl_conn **out);
void ctl_conn_free(struct ctl_conn *c); /* closes the fd; stop its ev_io first */
int ctl_conn_fd(const struct ctl_conn *c);
pid_t ctl_conn_peer_pid(const struct ctl_conn *c);

/* Read what has arrived. 0: *req_out is the request line, NUL-terminated,
 * without its newline, valid until ctl_conn_free(). A client that closes its
 * side after the JSON without a newline is accepted too.
 * -EAGAIN: wait for EPOLLIN. -EMSGSIZE: no newline within CTL_REQUEST_MAX.
 * -EBADMSG: NUL byte in the line. -ECONNRESET: closed before any request. */
int ctl_conn_read_request(struct ctl_conn *c, const char **req_out);

/* Send json (len bytes) and a newline. Takes ownership of json, a malloc'ed
 * buffer, whatever it returns: freed by ctl_conn_free(). 0: all sent, free
 * the connection. -EAGAIN: wait for EPOLLOUT and call ctl_conn_flush().
 * Other -errno (-EPIPE): the client went away. */
int ctl_conn_send_reply(struct ctl_conn *c, char *json, size_t len);
int ctl_conn_flush(struct ctl_conn *c);

#endif
