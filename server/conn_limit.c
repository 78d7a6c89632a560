/* Connection admission policy (see conn_limit.h). The per-source counts live
 * in an open-addressing table sized for twice the connection cap (a source
 * holds at least one connection), keyed with a secret hash so that nobody
 * can pick addresses that collide. */
#include "server/conn_limit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/crypto.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

const char *conn_verdict_name(enum conn_verdict v)
{
	switch (v) {
	case CONN_ADMIT:
		return "admitted";
	case CONN_REFUSE_TOTAL:
		return "connection cap reached";
	case CONN_REFUSE_SOURCE:
		return "per-source cap reached";
	case CONN_REFUSE_STARTUPS:
		return "dropped early (too many unauthenticated connections)";
	default:
		return "?";
	}
}

static int startups_check(const struct conn_limit_config *cfg)
{
	if (cfg->startups_start > cfg->startups_full || cfg->startups_rate > 100 || cfg->startups_full == 0)
		return -EINVAL;
	return 0;
}

int conn_limit_config_complete(struct conn_limit_config *cfg, unsigned fd_budget)
{
	if (!cfg->max_conns) {
		if (fd_budget <= CONN_LIMIT_FD_RESERVE + 16)
			return -EMFILE;
		cfg->max_conns = fd_budget - CONN_LIMIT_FD_RESERVE;
	}
	if (cfg->max_conns > CONN_LIMIT_MAX_CONNS_MAX)
		cfg->max_conns = CONN_LIMIT_MAX_CONNS_MAX;
	if (!cfg->max_per_source)
		cfg->max_per_source = CONN_LIMIT_PER_SOURCE_DEFAULT;
	if (cfg->max_per_source > cfg->max_conns)
		cfg->max_per_source = cfg->max_conns;
	if (!cfg->startups_full) {
		cfg->startups_full = cfg->max_conns * CONN_LIMIT_STARTUPS_FULL_PCT / 100;
		cfg->startups_start = cfg->max_conns * CONN_LIMIT_STARTUPS_START_PCT / 100;
		cfg->startups_rate = CONN_LIMIT_STARTUPS_RATE_DEFAULT;
		if (!cfg->startups_full)
			cfg->startups_full = 1;
	}
	return startups_check(cfg);
}

static int parse_unsigned(const char *s, const char **end, unsigned *out)
{
	unsigned long v;
	char *e;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || v > CONN_LIMIT_MAX_CONNS_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	*end = e;
	return 0;
}

int conn_limit_parse_startups(const char *text, struct conn_limit_config *cfg)
{
	struct conn_limit_config c = *cfg;
	const char *p = text;

	if (parse_unsigned(p, &p, &c.startups_start) < 0)
		return -EINVAL;
	if (*p == '\0') {
		c.startups_rate = 100;
		c.startups_full = c.startups_start;
	} else if (*p != ':' || parse_unsigned(p + 1, &p, &c.startups_rate) < 0 || *p != ':' ||
		   parse_unsigned(p + 1, &p, &c.startups_full) < 0 || *p != '\0') {
		return -EINVAL;
	}
	if (startups_check(&c) < 0)
		return -EINVAL;
	*cfg = c;
	return 0;
}

int conn_source_from_sockaddr(const struct sockaddr *sa, struct conn_source *out)
{
	struct conn_source src = { { 0 } };

	if (sa->sa_family == AF_INET) {
		memcpy(src.key, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(src.key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		/* The dual-stack socket shows IPv4 clients as mapped addresses. */
		if (memcmp(a, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0)
			memcpy(src.key, a, 16);
		else
			memcpy(src.key, a, 8);
	} else {
		return -EAFNOSUPPORT;
	}
	*out = src;
	return 0;
}

void conn_source_format(const struct conn_source *src, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (memcmp(src->key, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		inet_ntop(AF_INET, src->key + 12, text, sizeof(text));
		snprintf(buf, len, "%s", text);
	} else {
		inet_ntop(AF_INET6, src->key, text, sizeof(text));
		snprintf(buf, len, "%s/64", text);
	}
}

int conn_limit_init(struct conn_limit *l, const struct conn_limit_config *cfg, const uint8_t hash_key[16])
{
	size_t cap = 16;

	memset(l, 0, sizeof(*l));
	if (!cfg->max_conns || !cfg->max_per_source || cfg->max_conns > CONN_LIMIT_MAX_CONNS_MAX ||
	    startups_check(cfg) < 0)
		return -EINVAL;
	while (cap < 2 * (size_t)cfg->max_conns)
		cap *= 2;
	l->slots = calloc(cap, sizeof(*l->slots));
	if (!l->slots)
		return -ENOMEM;
	l->slot_mask = cap - 1;
	l->cfg = *cfg;
	memcpy(l->hash_key, hash_key, sizeof(l->hash_key));
	return 0;
}

void conn_limit_free(struct conn_limit *l)
{
	free(l->slots);
	l->slots = NULL;
}

static size_t source_hash(const struct conn_limit *l, const struct conn_source *src)
{
	uint8_t mac[CRYPTO_MAC_LEN];
	uint64_t h;

	blake2s_mac(mac, l->hash_key, sizeof(l->hash_key), src->key, sizeof(src->key));
	memcpy(&h, mac, sizeof(h));
	return (size_t)h & l->slot_mask;
}

/* The slot holding src, or the free slot where it would go. */
static struct conn_limit_slot *source_slot(const struct conn_limit *l, const struct conn_source *src)
{
	size_t i = source_hash(l, src);

	while (l->slots[i].count && memcmp(l->slots[i].src.key, src->key, sizeof(src->key)) != 0)
		i = (i + 1) & l->slot_mask;
	return &l->slots[i];
}

unsigned conn_limit_source_count(const struct conn_limit *l, const struct conn_source *src)
{
	return source_slot(l, src)->count;
}

/* MaxStartups: below start always, at full never, in between with a drop
 * probability rising linearly from rate% to 100%. */
static bool startups_drop(const struct conn_limit_config *cfg, unsigned unauthenticated, uint32_t rnd)
{
	uint64_t span, pct_x1000;

	if (unauthenticated < cfg->startups_start)
		return false;
	if (unauthenticated >= cfg->startups_full)
		return true;
	span = cfg->startups_full - cfg->startups_start;
	pct_x1000 = (uint64_t)cfg->startups_rate * 1000 +
		    (uint64_t)(100 - cfg->startups_rate) * 1000 * (unauthenticated - cfg->startups_start) / span;
	return (uint64_t)(rnd % 100000) < pct_x1000;
}

enum conn_verdict conn_limit_admit(struct conn_limit *l, const struct conn_source *src, uint32_t rnd)
{
	struct conn_limit_slot *slot = source_slot(l, src);
	enum conn_verdict v = CONN_ADMIT;

	if (l->total >= l->cfg.max_conns)
		v = CONN_REFUSE_TOTAL;
	else if (slot->count >= l->cfg.max_per_source)
		v = CONN_REFUSE_SOURCE;
	else if (startups_drop(&l->cfg, l->unauthenticated, rnd))
		v = CONN_REFUSE_STARTUPS;
	if (v != CONN_ADMIT) {
		l->refused[v]++;
		return v;
	}
	if (!slot->count) {
		slot->src = *src;
		l->sources++;
	}
	slot->count++;
	l->total++;
	l->unauthenticated++;
	return CONN_ADMIT;
}

void conn_limit_promote(struct conn_limit *l)
{
	if (l->unauthenticated)
		l->unauthenticated--;
}

/* Linear-probing delete: shift later members of the run back into the hole
 * so that lookups never stop early. */
static void slot_remove(struct conn_limit *l, struct conn_limit_slot *hole)
{
	size_t i = (size_t)(hole - l->slots), j = i, home;

	for (;;) {
		j = (j + 1) & l->slot_mask;
		if (!l->slots[j].count)
			break;
		home = source_hash(l, &l->slots[j].src);
		/* Move j into i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		l->slots[i] = l->slots[j];
		i = j;
	}
	memset(&l->slots[i], 0, sizeof(l->slots[i]));
	l->sources--;
}

void conn_limit_release(struct conn_limit *l, const struct conn_source *src, bool promoted)
{
	struct conn_limit_slot *slot = source_slot(l, src);

	if (!slot->count)
		return; /* not ours: never admitted */
	if (--slot->count == 0)
		slot_remove(l, slot);
	if (l->total)
		l->total--;
	if (!promoted && l->unauthenticated)
		l->unauthenticated--;
}
