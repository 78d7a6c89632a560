/* The admin socket, server side (sock.h). Trust is the file's mode: only
 * the server's user (or root) can connect; SO_PEERCRED checks it again. */
#include "server/admin/sock.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/admin/ops.h"
#include "server/server.h"
#include "util/log.h"

struct admin_sock {
	struct server *srv;
	struct evconnlistener *listener;
	size_t clients;
	struct admin_client *list; /* to free them with the socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

#define ADMIN_FOLLOW_OUTPUT_MAX (1024 * 1024) /* a follower this far behind is cut off */

struct admin_client {
	struct admin_sock *as;
	struct bufferevent *bev;
	struct events_follower follow;
	bool following;
	struct admin_client *prev, *next;
};

/* "op a=b c=d" from a request's plain fields: who did what, for the log. */
static void request_summary(const cJSON *req, char *buf, size_t size)
{
	const cJSON *f;
	size_t off;

	off = (size_t)snprintf(buf, size, "%s", admin_ops_name(req));
	cJSON_ArrayForEach(f, req)
	{
		if (off >= size || !f->string || strcmp(f->string, "op") == 0)
			continue;
		if (cJSON_IsString(f))
			off += (size_t)snprintf(buf + off, size - off, " %s=%.64s", f->string, f->valuestring);
		else if (cJSON_IsNumber(f) || cJSON_IsBool(f))
			off += (size_t)snprintf(buf + off, size - off, " %s=%.0f", f->string,
						cJSON_IsBool(f) ? (double)cJSON_IsTrue(f) : f->valuedouble);
	}
}

int server_admin_apply(struct server *s, const cJSON *req, const char *actor, cJSON **reply)
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(req, "node");
	const char *name = cJSON_IsString(node) ? node->valuestring : NULL;
	char what[STORE_EVENT_DETAIL_MAX + 1];
	unsigned changed = 0;
	int r = admin_ops_apply(s->store, req, server_wall_now(), reply, &changed);

	request_summary(req, what, sizeof(what));
	if (r < 0) {
		log_info("admin %s: %s refused", actor, admin_ops_name(req));
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*reply, "error"));
		server_event_named(s, EV_REFUSED, name, actor, "%s: %s", what, why ? why : strerror(-r));
		return r;
	}
	log_info("admin %s: %s", actor, admin_ops_name(req));
	server_event_named(s, strcmp(admin_ops_name(req), "nodes.approve") == 0 ? EV_APPROVE : EV_ADMIN, name, actor,
			   "%s", what);
	/* The store moved under our own connection (data_version does not
	 * count that): apply it to the directory and push who it concerns. */
	if ((changed & ADMIN_CHANGED_NODES) && server_reload(s) < 0)
		log_err("applying %s: %s", admin_ops_name(req), store_error(s->store));
	if ((changed & ADMIN_CHANGED_RELAYS) && relays_reload(s) < 0)
		log_err("applying %s: %s", admin_ops_name(req), store_error(s->store));
	store_data_version(s->store, &s->data_version);
	return 0;
}

static void client_free(struct admin_client *c)
{
	if (c->following)
		events_unfollow(c->as->srv, &c->follow);
	c->as->clients--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->as->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

static void client_written(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(arg);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or timeout: the request is over */
	client_free(arg);
}

static void client_reply(struct admin_client *c, cJSON *reply)
{
	char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (text)
		evbuffer_add_printf(out, "%s\n", text);
	else
		evbuffer_add_printf(out, "{\"error\":\"out of memory\"}\n");
	if (text)
		crypto_wipe(text, strlen(text)); /* a new key's secret */
	cJSON_free(text);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, client_written, client_event, c);
}

static void client_event_line(void *arg, const struct store_event *ev)
{
	struct admin_client *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	cJSON *o = events_to_json(ev);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	if (text)
		evbuffer_add_printf(out, "%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	if (evbuffer_get_length(out) > ADMIN_FOLLOW_OUTPUT_MAX)
		client_free(c);
}

static void client_ignore(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

/* events.follow: the connection stays, one line per event, until the
 * client goes. */
static void client_follow(struct admin_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->follow.cb = client_event_line;
	c->follow.ctx = c;
	if (events_follow(c->as->srv, &c->follow) < 0) {
		evbuffer_add_printf(out, "{\"error\":\"too many followers\"}\n");
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setcb(c->bev, NULL, client_written, client_event, c);
		return;
	}
	c->following = true;
	evbuffer_add_printf(out, "{\"ok\":true}\n");
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setcb(c->bev, client_ignore, NULL, client_event, c);
}

static void client_read(struct bufferevent *bev, void *arg)
{
	struct admin_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	cJSON *req, *reply = NULL;
	char *line;

	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > ADMIN_REQUEST_MAX)
			client_free(c);
		return;
	}
	if (!(line = (char *)evbuffer_pullup(in, eol.pos + 1))) {
		client_free(c);
		return;
	}
	req = cJSON_ParseWithLength(line, (size_t)eol.pos);
	if (req && strcmp(admin_ops_name(req), "events.follow") == 0) {
		evbuffer_drain(in, (size_t)eol.pos + 1);
		cJSON_Delete(req);
		client_follow(c);
		return;
	}
	if (!req) {
		reply = cJSON_CreateObject();
		cJSON_AddStringToObject(reply, "error", "the request is not JSON");
	} else {
		server_admin_apply(c->as->srv, req, "cli", &reply);
	}
	evbuffer_drain(in, (size_t)eol.pos + 1);
	client_reply(c, reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
}

static bool client_trusted(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && (cred.uid == 0 || cred.uid == geteuid());
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct admin_sock *as = arg;
	struct timeval tv = { ADMIN_SOCK_TIMEOUT_S, 0 };
	struct admin_client *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (as->clients >= ADMIN_SOCK_CLIENTS_MAX || !client_trusted(fd) || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->as = as;
	if (!(c->bev = bufferevent_socket_new(as->srv->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		close(fd);
		free(c);
		return;
	}
	as->clients++;
	c->next = as->list;
	if (as->list)
		as->list->prev = c;
	as->list = c;
	bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

/* A socket left by a server that died goes; one that answers is a server
 * running on the same state, and two must not. */
static int sock_claim(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		r = -EADDRINUSE;
	else if (errno == ECONNREFUSED && unlink(sun->sun_path) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int sock_listen(struct admin_sock *as)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	memcpy(sun.sun_path, as->path, sizeof(sun.sun_path));
	if ((r = sock_claim(&sun)) < 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -errno;
	old = umask(0077); /* no moment with a wider mode */
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old);
	if (r == 0 && chmod(as->path, 0600) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	as->listener = evconnlistener_new(as->srv->base, on_accept, as, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					  ADMIN_SOCK_CLIENTS_MAX, fd);
	if (!as->listener) {
		close(fd);
		unlink(as->path);
		return -ENOMEM;
	}
	return 0;
}

int admin_sock_open(struct server *s)
{
	char path[SERVER_PATH_MAX];
	struct admin_sock *as;
	int r;

	if ((r = identity_path(path, s->cfg.state_dir, ADMIN_SOCK_NAME)) < 0)
		return r;
	if (strlen(path) >= sizeof(as->path)) {
		log_err("%s: path too long for a unix socket (at most %zu bytes): use a shorter --state", path,
			sizeof(as->path) - 1);
		return -ENAMETOOLONG;
	}
	if (!(as = calloc(1, sizeof(*as))))
		return -ENOMEM;
	as->srv = s;
	memcpy(as->path, path, strlen(path) + 1);
	if ((r = sock_listen(as)) < 0) {
		if (r == -EADDRINUSE)
			log_err("%s: another roam-server runs on this state", path);
		else
			log_err("%s: %s", path, strerror(-r));
		free(as);
		return r;
	}
	s->admin = as;
	return 0;
}

void admin_sock_close(struct server *s)
{
	struct admin_sock *as = s->admin;

	if (!as)
		return;
	while (as->list)
		client_free(as->list);
	evconnlistener_free(as->listener);
	unlink(as->path);
	free(as);
	s->admin = NULL;
}
