/* Connection admission for roam-server's HTTPS port: caps on connections in
 * all and per source (an IPv6 /64 or an IPv4 address counts as one source),
 * and OpenSSH MaxStartups-style random early drop of connections that have
 * not yet completed a request authenticated as a known node. Pure policy and
 * bookkeeping: no I/O, no clock; the caller passes the randomness. */
#ifndef ROAM_SERVER_CONN_LIMIT_H
#define ROAM_SERVER_CONN_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define CONN_LIMIT_FD_RESERVE 64          /* fds kept for the store, UDP, logs, admin work */
#define CONN_LIMIT_PER_SOURCE_DEFAULT 256 /* nodes behind one NAT share a source */
#define CONN_LIMIT_STARTUPS_START_PCT 25  /* of max_conns: random drop starts here */
#define CONN_LIMIT_STARTUPS_RATE_DEFAULT 30
#define CONN_LIMIT_STARTUPS_FULL_PCT 50   /* unauthenticated never take more than half */
#define CONN_LIMIT_MAX_CONNS_MAX 1000000

struct conn_limit_config {
	unsigned max_conns;      /* every open connection */
	unsigned max_per_source; /* open connections from one source */
	unsigned startups_start; /* unauthenticated connections before random drop */
	unsigned startups_rate;  /* drop probability (%) at startups_start */
	unsigned startups_full;  /* unauthenticated connections at which all are dropped */
};

/* A source: the IPv4 address (as ::ffff:a.b.c.d) or the IPv6 /64. */
struct conn_source {
	uint8_t key[16];
};

enum conn_verdict {
	CONN_ADMIT = 0,
	CONN_REFUSE_TOTAL,    /* max_conns reached */
	CONN_REFUSE_SOURCE,   /* max_per_source reached for this source */
	CONN_REFUSE_STARTUPS, /* random early drop of unauthenticated connections */
	CONN_VERDICT_COUNT
};

struct conn_limit_slot {
	struct conn_source src;
	uint32_t count; /* 0: free */
};

struct conn_limit {
	struct conn_limit_config cfg;
	struct conn_limit_slot *slots; /* open addressing, linear probing */
	size_t slot_mask;
	uint8_t hash_key[16];          /* keyed hash: sources cannot be chosen to collide */
	unsigned total, unauthenticated, sources;
	uint64_t refused[CONN_VERDICT_COUNT];
};

/* Defaults for a process that may hold fd_budget descriptors; 0 fields in
 * *cfg are filled, the others are checked and kept. */
int conn_limit_config_complete(struct conn_limit_config *cfg, unsigned fd_budget);
/* "start:rate:full" (OpenSSH MaxStartups syntax; "start" alone means
 * start:100:start). 0 or -EINVAL. */
int conn_limit_parse_startups(const char *text, struct conn_limit_config *cfg);
const char *conn_verdict_name(enum conn_verdict v);

int conn_source_from_sockaddr(const struct sockaddr *sa, struct conn_source *out); /* 0 or -EAFNOSUPPORT */
void conn_source_format(const struct conn_source *src, char *buf, size_t len);

int conn_limit_init(struct conn_limit *l, const struct conn_limit_config *cfg, const uint8_t hash_key[16]);
void conn_limit_free(struct conn_limit *l);
/* A new connection from src; rnd is uniform random (the drop decision).
 * CONN_ADMIT counts it as open and unauthenticated. */
enum conn_verdict conn_limit_admit(struct conn_limit *l, const struct conn_source *src, uint32_t rnd);
/* An admitted connection completed a request authenticated as a known node:
 * it no longer counts against the startups limits. */
void conn_limit_promote(struct conn_limit *l);
/* An admitted connection closed. */
void conn_limit_release(struct conn_limit *l, const struct conn_source *src, bool promoted);
unsigned conn_limit_source_count(const struct conn_limit *l, const struct conn_source *src);

#endif
