/* What the control server makes of a request, without I/O: where the
 * request line ends in the bytes received so far (the framing ctl.c runs on
 * every read), and the typed command in that line (what roamd acts on). Both
 * are pure so they can be fuzzed and unit-tested without a socket. */
#ifndef ROAM_CTL_REQUEST_H
#define ROAM_CTL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* in[0..len) holds every byte received, of which the last fresh just
 * arrived (the earlier ones hold no newline); in has room for len + 1 bytes.
 * eof: the client shut its side (then fresh is 0). At most max bytes are
 * ever read. 0: the request is in[0..*line_len), without its newline or a
 * final '\r', NUL-terminated in place. A client that closes after the JSON
 * without a newline is accepted too. -EAGAIN: read more. -EMSGSIZE: max bytes
 * and no newline. -EBADMSG: a NUL byte in the line. -ECONNRESET: closed
 * before any byte. */
int ctl_request_frame(char *in, size_t len, size_t fresh, bool eof, size_t max, size_t *line_len);

enum ctl_command_kind {
	CTL_CMD_UNKNOWN, /* a "cmd" string we do not know */
	CTL_CMD_STATUS,
	CTL_CMD_UP,
	CTL_CMD_DOWN,
	CTL_CMD_WHOIS,
	CTL_CMD_PING,
	CTL_CMD_NETCHECK,
	CTL_CMD_PUSH,         /* roam push: "path" (absolute), "peer" */
	CTL_CMD_FILES,        /* roam files: transfers and their states */
	CTL_CMD_FILES_CANCEL, /* roam files cancel ID: "id" */
	CTL_CMD_PUBLISH,      /* roam publish DIR: "path" (absolute) */
	CTL_CMD_UNPUBLISH,    /* roam unpublish */
	CTL_CMD_SET,          /* roam set: "settings" (an object; none: show them) */
	CTL_CMD_PATH_USE,     /* roam path use: "peer", "id" (a path id, or "auto") */
	CTL_CMD_PULL,         /* roam pull: "args" {"peer", "path" or "hash"+"root"+"size", "name", "dest"} */
	CTL_CMD_LS,           /* roam ls: "peer", "path" (optional), "thumbs" */
};

/* {"cmd":"up","server":...,"token":...,"name":...,"proxy":...} and the others
 * (docs/control-protocol.md). Each argument is NULL when absent or not a
 * string; its meaning is checked by the command, not here. */
/* roam up --allow-tls-interception: absent keeps what the network had. */
enum { CTL_TLS_INTERCEPTION_KEEP, CTL_TLS_INTERCEPTION_OFF, CTL_TLS_INTERCEPTION_ALLOW };

struct ctl_command {
	enum ctl_command_kind kind;
	char *server, *token, *name; /* up */
	char *proxy;                 /* up: a URL (may hold a password) or "none" */
	bool force;                  /* up: switch networks */
	/* up: "allow_tls_interception" (CTL_TLS_INTERCEPTION_*) */
	uint8_t tls_interception;
	char *address;               /* whois */
	char *peer;                  /* ping, push: a name, an overlay address or a public key */
	char *path;                  /* push: the file, an absolute path */
	char *id;                    /* files_cancel: a transfer's id */
	char *settings;              /* set: the "settings" object, as JSON text */
	char *args;                  /* pull: the "args" object, as JSON text */
	char *group;                 /* publish: the group (NULL: every group of ours) */
	bool thumbs;                 /* ls: thumbnails in the reply */
	bool cache;                  /* publish: the files' encrypted copies on the server too */
};

/* line: len bytes of JSON (a NUL byte ends it early). 0, -EBADMSG not a JSON
 * object with a "cmd" string, -ENOMEM. On success the caller owns *out's
 * strings: ctl_command_clear() frees them. */
int ctl_command_parse(const char *line, size_t len, struct ctl_command *out);
void ctl_command_clear(struct ctl_command *c);

#endif
