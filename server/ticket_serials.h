/* Ticket serials (server/tickets.c): one order for every server of a
 * network, so that a relay keeping a floor and the newest serial per node
 * (relayonly/admit.c) takes a node's newer ticket from any server and
 * refuses its older ones.
 *
 * One server (SQLite): a counter, its ceiling reserved in the store a block
 * at a time (a restart starts above everything issued).
 * Several servers on one PostgreSQL: serials from the clock, unix
 * milliseconds << TICKET_SERIAL_MS_SHIFT, the low bits counting tickets
 * within a millisecond (a hybrid clock: never below the last one issued).
 * A ticket issued later, on any server, has the higher serial as long as
 * the servers' clocks agree within a failover (NTP). A floor set when a
 * server learns of a change (every server does, on its own) is the time of
 * that moment less TICKET_FLOOR_MARGIN_MS, so that the next tickets another
 * server issued a little earlier (it heard first) stay above it, and at
 * least one above the last ticket this server gave the node. */
#ifndef ROAM_SERVER_TICKET_SERIALS_H
#define ROAM_SERVER_TICKET_SERIALS_H

#include <stdbool.h>
#include <stdint.h>

struct store;

#define TICKET_SERIAL_MS_SHIFT 12      /* 4096 tickets per millisecond before borrowing the next */
#define TICKET_SERIAL_BLOCK 4096       /* reserved at a time on one server */
#define TICKET_FLOOR_MARGIN_MS 1000    /* notification spread + clock skew between servers */

struct ticket_serials {
	struct store *store;
	bool by_time; /* a shared store */
	uint64_t next, ceiling;
};

static inline uint64_t ticket_serial_of_ms(uint64_t unix_ms) { return unix_ms << TICKET_SERIAL_MS_SHIFT; }

/* 0, or -EBADMSG for a stored ceiling that is not a number. */
int ticket_serials_open(struct ticket_serials *ts, struct store *st);
/* The next serial at now_ms (unix milliseconds): 0 or -errno (the store). */
int ticket_serials_next(struct ticket_serials *ts, uint64_t now_ms, uint64_t *out);
/* The floor for a node whose last ticket from us had serial issued (0:
 * none) after a change seen at now_ms; every later ticket is at or above. */
int ticket_serials_floor(struct ticket_serials *ts, uint64_t now_ms, uint64_t issued, uint64_t *out);

#endif
