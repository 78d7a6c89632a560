/* The file service, monitor side (daemon/files/file_service.h): starts the
 * unprivileged worker, tells it our overlay addresses and the peer set,
 * opens the files `roam push` names and hands their descriptors over, and
 * answers `roam files` from the worker's last snapshot. Everything the
 * worker says is checked: it parses network input and may be hostile. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "crypto/crypto.h"
#include "ctl/request.h"
#include "daemon/files/file_service.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "files/push.h"
#include "util/log.h"

#define RESTART_MAX_S 30

struct roamd_files_host {
	struct roamd *d;
	int fd;
	pid_t pid;
	struct ev_io io;
	struct ev_timer restart, sync;
	unsigned backoff_s;
	char inbox[512];
	const char *user;
	char *snapshot; /* the worker's last "files" array, as JSON */
	uint32_t next_id;
	char keydir[512];
	bool has_key; /* the worker's file public key: it made or loaded the pair */
	uint8_t file_pub[32];
	char uploads[600]; /* offline_reopen.c's list: STATE_DIR/files-uploads.json */
	char pulls[600];   /* pull_request.c's list: STATE_DIR/files-pulls.json */
	uint32_t next_pull;
};

#define KEY_WAIT_MS 3000 /* at start, for the key to register with */

static int send_json(struct roamd_files_host *f, cJSON *msg, int pass_fd)
{
	char *text = cJSON_PrintUnformatted(msg);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	int ret = 0;
	if (f->fd < 0) {
		ret = -ENOTCONN;
	} else if (len > FILES_MSG_MAX) {
		ret = -EMSGSIZE;
	} else {
		struct iovec iov = { .iov_base = text, .iov_len = len };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (pass_fd >= 0) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		if (sendmsg(f->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			ret = -errno;
	}
	free(text);
	return ret;
}

static int host_send(void *ctx, cJSON *msg, int pass_fd)
{
	return send_json(ctx, msg, pass_fd);
}

static void add_addr(cJSON *arr, const struct ip_prefix *p, uint8_t cidr)
{
	char text[IP_PREFIX_STRLEN];
	struct ip_prefix a = *p;
	a.cidr = cidr;
	if (ip_prefix_format(&a, text, sizeof(text)) == 0)
		cJSON_AddItemToArray(arr, cJSON_CreateString(text));
}

/* The server the offline push goes through: its URL, its TLS key's pin and
 * the control key K (computed here, like the agent's: the node's private
 * key never leaves this process). */
static void add_server(struct roamd *d, cJSON *msg)
{
	struct managed_membership ms;
	uint8_t k[32];
	char b64[CRYPTO_KEY_B64_LEN + 1], pin[64];
	roamd_host_membership(d, &ms);
	if (!ms.server_url[0] || coord_control_key(k, d->host.st.private_key, ms.token.server_pub) < 0)
		return;
	cJSON *s = cJSON_AddObjectToObject(msg, "server");
	cJSON_AddStringToObject(s, "url", ms.server_url);
	if (!crypto_is_zero(ms.token.tls_pin, sizeof(ms.token.tls_pin))) {
		strcpy(pin, "sha256//");
		coord_b64_encode(pin + 8, sizeof(pin) - 8, ms.token.tls_pin, sizeof(ms.token.tls_pin), 0);
		cJSON_AddStringToObject(s, "pin", pin);
	}
	if (ms.proxy.set) /* the agent's proxy: the file worker's requests take it too */
		cJSON_AddStringToObject(s, "proxy", ms.proxy.url);
	if (ms.allow_tls_interception)
		cJSON_AddBoolToObject(s, "allow_tls_interception", true);
	crypto_key_to_base64(b64, k);
	cJSON_AddStringToObject(s, "k", b64);
	crypto_key_to_base64(b64, wg_device_public_key(d->wg));
	cJSON_AddStringToObject(s, "node", b64);
	crypto_wipe(k, sizeof(k));
	crypto_wipe(&ms, sizeof(ms));
}

/* Peers per view message: about 250 bytes each, so a part stays far below
 * FILES_MSG_MAX whatever the names. */
#define VIEW_PART_PEERS 256

static cJSON *view_part_new(long part, cJSON **peers)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "view");
	cJSON_AddNumberToObject(msg, "part", (double)part);
	*peers = cJSON_AddArrayToObject(msg, "peers");
	return msg;
}

/* Sends one part; NULL-safe. 0 or -errno. */
static int view_part_send(struct roamd_files_host *f, cJSON *msg)
{
	int ret = msg ? send_json(f, msg, -1) : -ENOMEM;
	cJSON_Delete(msg);
	return ret;
}

/* Our overlay addresses (where the service listens) and every managed
 * peer's (who may connect): the whole view each time, in parts of
 * VIEW_PART_PEERS peers (one message cannot hold a view of thousands); the
 * last part carries our addresses and the server, and the worker replaces
 * its set when it arrives. */
static void send_view(struct roamd_files_host *f)
{
	struct roamd *d = f->d;
	long part = 0;
	int n = 0, ret = 0;
	cJSON *peers, *msg = view_part_new(part, &peers);

	for (struct wg_peer *p = wg_device_first_peer(d->wg); p && ret == 0; p = wg_device_next_peer(p)) {
		const struct managed_peer_info *mp = p->user;
		if (!mp || !mp->name[0])
			continue;
		if (n == VIEW_PART_PEERS) {
			ret = view_part_send(f, msg);
			msg = view_part_new(++part, &peers);
			n = 0;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", mp->name);
		cJSON_AddNumberToObject(o, "id", mp->node_id);
		if (mp->has_file_key) {
			char b64[CRYPTO_KEY_B64_LEN + 1];
			crypto_key_to_base64(b64, mp->file_key);
			cJSON_AddStringToObject(o, "file_key", b64);
		}
		cJSON *a = cJSON_AddArrayToObject(o, "addrs");
		add_addr(a, &mp->ipv6, 128);
		add_addr(a, &mp->ipv4, 32);
		cJSON_AddItemToArray(peers, o);
		n++;
	}
	if (ret == 0 && msg) {
		cJSON_AddBoolToObject(msg, "last", true);
		cJSON *self = cJSON_AddArrayToObject(msg, "self");
		for (int i = 0; i < 2; i++)
			if (d->host.addr[i].wanted && d->host.addr[i].err == 0)
				add_addr(self, &d->host.addr[i].addr, i == 0 ? 128 : 32);
		add_server(d, msg);
		ret = view_part_send(f, msg);
	} else {
		cJSON_Delete(msg);
	}
	if (ret < 0 && ret != -ENOTCONN)
		log_warn("files: cannot send the peer set to the worker: %s", strerror(-ret));
}

static void on_sync(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	send_view(t->data);
}

void roamd_files_poll_now(struct roamd *d)
{
	struct roamd_files_host *f = d->host.files;
	if (!f)
		return;
	/* The view first: the files may come from a peer it does not list yet. */
	if (ev_timer_pending(&f->sync)) {
		ev_timer_stop(d->loop, &f->sync);
		send_view(f);
	}
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "poll");
	send_json(f, msg, -1);
	cJSON_Delete(msg);
}

void roamd_files_view_changed(struct roamd *d)
{
	struct roamd_files_host *f = d->host.files;
	/* Once per loop turn, whatever the number of peer lines. */
	if (f && !ev_timer_pending(&f->sync))
		ev_timer_start(d->loop, &f->sync, ev_now(d->loop));
}

static void worker_lost(struct roamd_files_host *f, const char *why)
{
	if (f->fd >= 0) {
		ev_io_stop(f->d->loop, &f->io);
		close(f->fd);
		f->fd = -1;
	}
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	free(f->snapshot);
	f->snapshot = NULL;
	f->backoff_s = f->backoff_s ? f->backoff_s * 2 : 1;
	if (f->backoff_s > RESTART_MAX_S)
		f->backoff_s = RESTART_MAX_S;
	log_err("file service lost (%s): restarting it in %u s", why, f->backoff_s);
	ev_timer_start(f->d->loop, &f->restart, ev_now(f->d->loop) + (uint64_t)f->backoff_s * EV_NSEC_PER_SEC);
}

/* The worker's file public key: it is the same after a restart, or the
 * agent registered a stale one. */
static int take_key(struct roamd_files_host *f, const cJSON *root)
{
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(root, "pub");
	uint8_t key[32];
	if (!cJSON_IsString(pub) || crypto_key_from_base64(key, pub->valuestring) < 0)
		return -EBADMSG;
	if (f->has_key && memcmp(key, f->file_pub, sizeof(key)) != 0)
		log_warn("files: the file key changed (%s was replaced?): restart roamd to register the new one", f->keydir);
	memcpy(f->file_pub, key, sizeof(key));
	f->has_key = true;
	return 0;
}

static char *push_request(struct roamd_files_host *f, const struct ctl_command *cmd, const char *resume);

/* The worker, after a restart, asks to continue an upload by its token
 * (the file reopened here, only if this monitor opened it for that push);
 * or says an upload ended. An unknown token: it forgets the upload. A peer
 * not known yet (the agent still connecting): asked again at the next view. */
static int take_upload_msg(struct roamd_files_host *f, const cJSON *root, const char *type)
{
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(root, "token");
	char path[4096], peer[COORD_NAME_MAX + 1];
	if (!cJSON_IsString(token) || strlen(token->valuestring) != FILES_TOKEN_LEN)
		return -EBADMSG;
	if (strcmp(type, "upload_done") == 0) {
		files_uploads_remove(f->uploads, token->valuestring);
		return 0;
	}
	if (files_uploads_find(f->uploads, token->valuestring, path, sizeof(path), peer, sizeof(peer)) < 0) {
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddStringToObject(msg, "t", "forget");
		cJSON_AddStringToObject(msg, "token", token->valuestring);
		send_json(f, msg, -1);
		cJSON_Delete(msg);
		return 0;
	}
	if (!roamd_peer_by_query(f->d, peer))
		return 0;
	struct ctl_command cmd = { .path = path, .peer = peer };
	char *reply = push_request(f, &cmd, token->valuestring);
	cJSON *r = reply ? cJSON_Parse(reply) : NULL;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"))) {
		log_warn("files: cannot continue the upload of %s after the restart: %s", path, reply ? reply : "");
		files_uploads_remove(f->uploads, token->valuestring);
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddStringToObject(msg, "t", "forget");
		cJSON_AddStringToObject(msg, "token", token->valuestring);
		send_json(f, msg, -1);
		cJSON_Delete(msg);
	}
	cJSON_Delete(r);
	free(reply);
	return 0;
}

/* `roam ls`: the control connections waiting for a listing, by ticket; the
 * worker's answer is passed on only to one of them. */
#define LS_PENDING_MAX 16
#define LS_PENDING_S 10 /* past the control connection's deadline: the slot is free again */
static struct {
	uint64_t ticket;
	time_t since; /* CLOCK_MONOTONIC seconds */
} ls_pending[LS_PENDING_MAX];

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}


static int take_ls(struct roamd_files_host *f, const cJSON *root)
{
	const cJSON *ticket = cJSON_GetObjectItemCaseSensitive(root, "ticket");
	const cJSON *reply = cJSON_GetObjectItemCaseSensitive(root, "reply");
	if (!cJSON_IsString(ticket) || !cJSON_IsObject(reply))
		return -EBADMSG;
	uint64_t t = strtoull(ticket->valuestring, NULL, 10);
	for (int i = 0; t && i < LS_PENDING_MAX; i++)
		if (ls_pending[i].ticket == t) {
			ls_pending[i].ticket = 0;
			roamd_control_answer(f->d, t, cJSON_PrintUnformatted(reply));
			return 0;
		}
	return 0; /* its connection timed out meanwhile */
}

int roamd_files_ls(struct roamd *d, const struct ctl_command *cmd, uint64_t ticket, char **error)
{
	struct roamd_files_host *f = d->host.files;
	int slot = -1;
	for (int i = 0; i < LS_PENDING_MAX && slot < 0; i++)
		if (!ls_pending[i].ticket || mono_s() - ls_pending[i].since > LS_PENDING_S)
			slot = i;
	struct wg_peer *peer = cmd->peer && *cmd->peer ? roamd_peer_by_query(d, cmd->peer) : NULL;
	const struct managed_peer_info *mp = peer ? peer->user : NULL;
	if (!f || f->fd < 0)
		*error = roamd_control_error("the file service is not running (see roamd's log)");
	else if (!cmd->peer || !*cmd->peer)
		*error = roamd_control_error("ls: give a peer");
	else if (!mp)
		*error = roamd_files_error("no peer '%s' (by name, overlay address or public key) shares a group with us", cmd->peer);
	else if (slot < 0 || !ticket)
		*error = roamd_control_error("ls: too many listings at once: try again");
	if (*error)
		return -1;
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ticket);
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "ls");
	cJSON_AddStringToObject(msg, "ticket", num);
	cJSON_AddNumberToObject(msg, "peer", mp->node_id);
	cJSON_AddStringToObject(msg, "name", mp->name);
	if (cmd->path && *cmd->path)
		cJSON_AddStringToObject(msg, "path", cmd->path);
	cJSON_AddBoolToObject(msg, "thumbs", cmd->thumbs);
	int ret = send_json(f, msg, -1);
	cJSON_Delete(msg);
	if (ret < 0) {
		*error = roamd_files_error("the file service is not running (%s)", strerror(-ret));
		return -1;
	}
	ls_pending[slot].ticket = ticket;
	ls_pending[slot].since = mono_s();
	return 0;
}

/* A message from the worker: its key, or a snapshot (an array of at most
 * FILES_SNAPSHOT_MAX objects); anything else and the worker is not itself
 * any more. */
static int take_snapshot(struct roamd_files_host *f, const char *buf, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(buf, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "t");
	cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
	int ret = -EBADMSG;
	if (cJSON_IsString(t) && strcmp(t->valuestring, "key") == 0) {
		ret = take_key(f, root);
		goto out;
	}
	if (cJSON_IsString(t) && strcmp(t->valuestring, "ls") == 0) {
		ret = take_ls(f, root);
		goto out;
	}
	if (cJSON_IsString(t) && (strcmp(t->valuestring, "reopen") == 0 || strcmp(t->valuestring, "upload_done") == 0)) {
		ret = take_upload_msg(f, root, t->valuestring);
		goto out;
	}
	if (cJSON_IsString(t) && strcmp(t->valuestring, "pull_done") == 0) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
		if (cJSON_IsString(id) && strlen(id->valuestring) < 16) {
			files_pull_ended(f->pulls, id->valuestring);
			ret = 0;
		}
		goto out;
	}
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "state") != 0 || !cJSON_IsArray(files) ||
	    cJSON_GetArraySize(files) > FILES_SNAPSHOT_MAX)
		goto out;
	const cJSON *o;
	cJSON_ArrayForEach(o, files)
		if (!cJSON_IsObject(o))
			goto out;
	char *text = cJSON_PrintUnformatted(files);
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	free(f->snapshot);
	f->snapshot = text;
	f->backoff_s = 0; /* it works */
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

static void on_worker_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd_files_host *f = io->data;
	static char buf[FILES_MSG_MAX + 1];
	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			worker_lost(f, n == 0 ? "it exited" : strerror(errno));
			return;
		}
		if ((size_t)n > FILES_MSG_MAX || take_snapshot(f, buf, (size_t)n) < 0) {
			worker_lost(f, "it sent a malformed message");
			return;
		}
	}
}

static void exec_worker(int fd)
{
	privsep_fd_to(fd, FILES_WORKER_FD);
	close_range(FILES_WORKER_FD + 1, ~0U, 0);
	privsep_exec_self(FILES_WORKER_ARGV0);
}

static int spawn(struct roamd_files_host *f)
{
	int sv[2], ret;
	if ((ret = privsep_seqpacket_pair(sv, 2 * FILES_MSG_MAX)) < 0)
		return ret;
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_worker(sv[1]);
	}
	close(sv[1]);
	f->fd = sv[0];
	f->pid = pid;
	ev_io_init(&f->io, f->fd, EPOLLIN, on_worker_readable, f);
	ret = ev_io_start(f->d->loop, &f->io);
	if (ret < 0)
		return ret;
	cJSON *init = cJSON_CreateObject();
	cJSON_AddStringToObject(init, "t", "init");
	cJSON_AddStringToObject(init, "inbox", f->inbox);
	cJSON_AddStringToObject(init, "user", f->user);
	cJSON_AddStringToObject(init, "keydir", f->keydir);
	ret = send_json(f, init, -1);
	cJSON_Delete(init);
	send_view(f);
	files_pull_resend(f->pulls, &f->next_pull, host_send, f); /* those a restart broke */
	log_debug("file service started (pid %d), inbox %s", (int)pid, f->inbox);
	return ret;
}

static void on_restart(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd_files_host *f = t->data;
	(void)loop;
	int ret = spawn(f);
	if (ret < 0)
		worker_lost(f, strerror(-ret));
}

/* The inbox and the key's directory belong to the worker's user: it
 * creates and renames there. */
static int make_dirs(struct roamd_files_host *f)
{
	struct passwd *pw = getpwnam(f->user);
	if (!pw || pw->pw_uid == 0)
		return -ENOENT;
	if ((mkdir(f->inbox, 0750) < 0 && errno != EEXIST) || (mkdir(f->keydir, 0700) < 0 && errno != EEXIST))
		return -errno;
	if (chown(f->inbox, pw->pw_uid, pw->pw_gid) < 0 || chown(f->keydir, pw->pw_uid, pw->pw_gid) < 0 ||
	    chmod(f->keydir, 0700) < 0)
		return -errno;
	return 0;
}

/* At start, before the agent registers: the worker's first message is its
 * file public key (it loads or makes the pair at once). */
static void wait_key(struct roamd_files_host *f)
{
	static char buf[FILES_MSG_MAX + 1];
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
	if (poll(&pfd, 1, KEY_WAIT_MS) <= 0) {
		log_warn("files: no file key from the file service within %d ms: registering without one", KEY_WAIT_MS);
		return;
	}
	ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n > 0 && (size_t)n <= FILES_MSG_MAX && take_snapshot(f, buf, (size_t)n) == 0 && f->has_key)
		return;
	if (n <= 0)
		worker_lost(f, "it exited at start (see its log)");
	else
		worker_lost(f, "it sent a malformed message");
}

void roamd_files_status_json(const struct roamd *d, cJSON *root)
{
	const struct roamd_files_host *f = d->host.files;
	cJSON *o = cJSON_AddObjectToObject(root, "files");
	if (!o)
		return;
	cJSON_AddBoolToObject(o, "running", f && f->fd >= 0);
	if (f)
		cJSON_AddStringToObject(o, "inbox", f->inbox);
	if (f && f->has_key) {
		char b64[CRYPTO_KEY_B64_LEN + 1];
		crypto_key_to_base64(b64, f->file_pub);
		cJSON_AddStringToObject(o, "public_key", b64);
	} else {
		cJSON_AddNullToObject(o, "public_key");
	}
	cJSON_AddNumberToObject(o, "port", FILES_PUSH_PORT);
}

int roamd_files_public_key(const struct roamd *d, uint8_t out[32])
{
	const struct roamd_files_host *f = d->host.files;
	if (!f || !f->has_key)
		return -ENOENT;
	memcpy(out, f->file_pub, 32);
	return 0;
}

int roamd_files_start(struct roamd *d, const struct roamd_options *opt)
{
	struct roamd_files_host *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->d = d;
	f->fd = -1;
	f->user = opt->agent_user ? opt->agent_user : PRIVSEP_DEFAULT_USER;
	int n = opt->inbox ? snprintf(f->inbox, sizeof(f->inbox), "%s", opt->inbox)
			   : snprintf(f->inbox, sizeof(f->inbox), "%s/inbox", opt->state_dir);
	int k = snprintf(f->keydir, sizeof(f->keydir), "%s/files", opt->state_dir);
	snprintf(f->uploads, sizeof(f->uploads), "%s/files-uploads.json", opt->state_dir);
	snprintf(f->pulls, sizeof(f->pulls), "%s/files-pulls.json", opt->state_dir);
	ev_timer_init(&f->restart, on_restart, f);
	ev_timer_init(&f->sync, on_sync, f);
	d->host.files = f;
	int ret = n > 0 && (size_t)n < sizeof(f->inbox) && k > 0 && (size_t)k < sizeof(f->keydir) ? make_dirs(f)
											 : -ENAMETOOLONG;
	if (ret < 0) {
		log_err("files: inbox %s unusable (%s): no file service", f->inbox, strerror(-ret));
		return 0; /* the overlay works without it */
	}
	if ((ret = spawn(f)) < 0)
		worker_lost(f, strerror(-ret));
	else
		wait_key(f);
	return 0;
}

void roamd_files_stop(struct roamd *d)
{
	struct roamd_files_host *f = d->host.files;
	if (!f)
		return;
	ev_timer_stop(d->loop, &f->restart);
	ev_timer_stop(d->loop, &f->sync);
	if (f->fd >= 0) {
		ev_io_stop(d->loop, &f->io);
		close(f->fd); /* the worker exits on EOF */
	}
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
	}
	free(f->snapshot);
	free(f);
	d->host.files = NULL;
}

char *roamd_files_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return roamd_control_error(msg);
}

/* `roam push`: open the file here (root, as the user asked), hand the
 * descriptor to the worker, reply with the transfer's id. */
static char *push_request(struct roamd_files_host *f, const struct ctl_command *cmd, const char *resume)
{
	if (!cmd->path || cmd->path[0] != '/' || !cmd->peer || !*cmd->peer)
		return roamd_control_error("push: give an absolute file path and a peer");
	struct wg_peer *peer = roamd_peer_by_query(f->d, cmd->peer);
	const struct managed_peer_info *mp = peer ? peer->user : NULL;
	if (!mp)
		return roamd_files_error("no peer '%s' (by name, overlay address or public key) shares a group with us", cmd->peer);
	if ((!mp->online || resume) && !mp->has_file_key)
		return roamd_files_error("%s is offline and registered no file key: it cannot receive files through the server",
				 mp->name);
	const char *base = strrchr(cmd->path, '/') + 1;
	if (!files_push_name_ok(base, strlen(base)))
		return roamd_files_error("'%s': a name a peer would refuse (empty, hidden, a control character, over 255 bytes)",
				 base);
	/* O_NONBLOCK: a FIFO must not hold the event loop until a writer comes. */
	int fd = open(cmd->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = fd < 0 ? errno : EINVAL;
		if (fd >= 0)
			close(fd);
		return err == EINVAL ? roamd_files_error("%s: not a regular file", cmd->path)
				     : roamd_files_error("%s: cannot open it", cmd->path);
	}
	char id[16];
	snprintf(id, sizeof(id), "s%u", ++f->next_id);
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", "push");
	cJSON_AddStringToObject(msg, "id", id);
	cJSON_AddStringToObject(msg, "name", base);
	cJSON_AddStringToObject(msg, "peer", mp->name);
	if (!mp->online || resume) {
		/* Through the server's cache, sealed to its file key; a restart
		 * continues it from the file reopened by its token (offline_reopen.c). */
		char b64[CRYPTO_KEY_B64_LEN + 1], token[FILES_TOKEN_LEN + 1];
		if (resume)
			snprintf(token, sizeof(token), "%s", resume);
		else if (files_uploads_add(f->uploads, cmd->path, mp->name, token) < 0)
			token[0] = '\0'; /* it cannot continue after a restart, that is all */
		if (token[0])
			cJSON_AddStringToObject(msg, "upload_token", token);
		if (resume)
			cJSON_AddBoolToObject(msg, "resume", true);
		crypto_key_to_base64(b64, mp->file_key);
		cJSON_AddBoolToObject(msg, "offline", true);
		cJSON_AddNumberToObject(msg, "to", mp->node_id);
		cJSON_AddStringToObject(msg, "recipient_key", b64);
	}
	cJSON *a = cJSON_AddArrayToObject(msg, "addrs");
	/* IPv6 first when both ends have it, else IPv4. */
	if (f->d->host.addr[0].wanted && f->d->host.addr[0].err == 0)
		add_addr(a, &mp->ipv6, 128);
	if (f->d->host.addr[1].wanted && f->d->host.addr[1].err == 0)
		add_addr(a, &mp->ipv4, 32);
	int ret = send_json(f, msg, fd);
	cJSON_Delete(msg);
	close(fd); /* the worker has its own copy */
	if (ret < 0)
		return roamd_files_error("the file service is not running (%s)", strerror(-ret));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "id", id);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* `roam publish DIR` / `roam unpublish`: the worker scans DIR (as its own
 * user: a directory it cannot read is refused there, and logged) and serves
 * its files to pullers (pull_host.h); the scan's result is in roamd's log. */
static char *publish_request(struct roamd_files_host *f, const struct ctl_command *cmd)
{
	struct stat st;
	if (cmd->kind == CTL_CMD_PUBLISH &&
	    (!cmd->path || cmd->path[0] != '/' || stat(cmd->path, &st) < 0 || !S_ISDIR(st.st_mode)))
		return roamd_control_error("publish: give a directory's absolute path");
	if (cmd->kind == CTL_CMD_PUBLISH && cmd->group && !coord_name_valid(cmd->group))
		return roamd_control_error("publish: not a group name");
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "t", cmd->kind == CTL_CMD_PUBLISH ? "publish" : "unpublish");
	if (cmd->kind == CTL_CMD_PUBLISH)
		cJSON_AddStringToObject(msg, "dir", cmd->path);
	if (cmd->kind == CTL_CMD_PUBLISH && cmd->group)
		cJSON_AddStringToObject(msg, "group", cmd->group);
	if (cmd->kind == CTL_CMD_PUBLISH && cmd->cache)
		cJSON_AddBoolToObject(msg, "cache", true);
	int ret = send_json(f, msg, -1);
	cJSON_Delete(msg);
	if (ret < 0)
		return roamd_files_error("the file service is not running (%s)", strerror(-ret));
	return strdup("{\"ok\":true}");
}

char *roamd_files_request(struct roamd *d, const struct ctl_command *cmd)
{
	struct roamd_files_host *f = d->host.files;
	if (!f || f->fd < 0)
		return roamd_control_error("the file service is not running (see roamd's log)");
	if (cmd->kind == CTL_CMD_PUSH)
		return push_request(f, cmd, NULL);
	if (cmd->kind == CTL_CMD_PUBLISH || cmd->kind == CTL_CMD_UNPUBLISH)
		return publish_request(f, cmd);
	if (cmd->kind == CTL_CMD_PULL)
		return files_pull_request(d, f->pulls, cmd->args, &f->next_pull, host_send, f);
	if (cmd->kind == CTL_CMD_FILES_CANCEL) {
		if (!cmd->id || strlen(cmd->id) > 15)
			return roamd_control_error("files cancel: give a transfer's id (roam files lists them)");
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddStringToObject(msg, "t", "cancel");
		cJSON_AddStringToObject(msg, "id", cmd->id);
		int ret = send_json(f, msg, -1);
		cJSON_Delete(msg);
		return ret < 0 ? roamd_control_error(strerror(-ret)) : strdup("{\"ok\":true}");
	}
	size_t len = f->snapshot ? strlen(f->snapshot) : 2;
	char *text = malloc(len + 16);
	if (text)
		snprintf(text, len + 16, "{\"files\":%s}", f->snapshot ? f->snapshot : "[]");
	return text;
}
