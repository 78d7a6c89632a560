/* Host names to addresses without blocking the agent's loop: glibc's
 * getaddrinfo_a (its own thread per lookup; /etc/hosts, then DNS), polled
 * from a timer while lookups run. Used for what the agent learns by name
 * and libcurl does not resolve for it: a relay's UDP host in the relay
 * map, the server's host when the node reaches it through a proxy (then
 * libcurl's address is the proxy's). At most RESOLVE_JOBS_MAX at once,
 * each under a key of the caller's (a new lookup under a key replaces the
 * one running); a lookup gives up after RESOLVE_TIMEOUT_NS. */
#ifndef ROAM_DAEMON_RESOLVE_H
#define ROAM_DAEMON_RESOLVE_H

#include <stdint.h>

#include "ev/loop.h"
#include "net/addr.h"

#define RESOLVE_JOBS_MAX 17 /* the server and 16 relays */
#define RESOLVE_NAME_MAX 256
#define RESOLVE_TIMEOUT_NS (UINT64_C(10) * 1000000000u)
#define RESOLVE_POLL_NS (UINT64_C(20) * 1000000u)

struct resolver;

/* The first address of the name with port set (err 0), or err: -ENOENT no
 * such name, -EAGAIN a temporary failure, -ETIMEDOUT, -errno. Called from
 * the loop, never from inside resolver_lookup. */
typedef void (*resolve_cb)(void *ctx, unsigned key, int err, const struct sockaddr_any *addr);

int resolver_new(struct ev_loop *loop, resolve_cb cb, void *ctx, struct resolver **out);
void resolver_free(struct resolver *r); /* NULL-safe; cancels what runs */
/* 0 (cb later), -ENAMETOOLONG, -ENOSPC (RESOLVE_JOBS_MAX running), -errno. */
int resolver_lookup(struct resolver *r, unsigned key, const char *host, uint16_t port);
void resolver_cancel(struct resolver *r, unsigned key);

#endif
