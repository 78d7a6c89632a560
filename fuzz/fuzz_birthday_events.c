/* Fuzzes birthday probing's planner (lib/path/birthday.h) with random event
 * sequences: attempts started in either role, polls with time moving by
 * nanoseconds to hours, hints, sockets that failed to open, wins with any
 * socket or port, the hard side reaching us first, stops. After every event:
 *  - never more OPENs than cfg.sockets, each socket opened once, in order;
 *    never more PINGs than cfg.probes (the 256 and 1024);
 *  - a PING_FROM only from an opened socket that did not fail; a PING_TO
 *    only to a NAT port (>= 1024), never the same port twice;
 *  - after polling everything due at now, the next deadline is after now
 *    (an event loop would spin otherwise), and none once the attempt is over.
 *
 * Input: a sequence of 3-byte events: opcode, two argument bytes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "path/birthday.h"

#define FUZZ_MAX_EVENTS 2048

struct fuzz_state {
	struct birthday_attempt a;
	struct birthday_config cfg;
	bool started;
	uint64_t now, rng;
	unsigned opens, pings;
	bool opened[BIRTHDAY_SOCKETS_MAX], failed[BIRTHDAY_SOCKETS_MAX];
	uint8_t port_used[65536];
};

static uint32_t fuzz_uniform(void *ctx, uint32_t upper)
{
	uint64_t *s = ctx;
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s % upper);
}

static void fuzz_poll(struct fuzz_state *f)
{
	struct birthday_action acts[64];
	size_t n;
	do {
		n = birthday_poll(&f->a, f->now, acts, 64);
		for (size_t i = 0; i < n; i++) {
			const struct birthday_action *act = &acts[i];
			if (act->kind == BIRTHDAY_ACT_OPEN) {
				if (act->slot != f->opens || act->slot >= f->cfg.sockets || f->opened[act->slot])
					abort();
				f->opened[act->slot] = true;
				f->opens++;
				continue;
			}
			if (++f->pings > f->cfg.probes)
				abort();
			if (act->kind == BIRTHDAY_ACT_PING_FROM &&
			    (f->a.role != BIRTHDAY_HARD || !f->opened[act->slot] || f->failed[act->slot]))
				abort();
			if (act->kind == BIRTHDAY_ACT_PING_TO &&
			    (f->a.role != BIRTHDAY_EASY || act->port < BIRTHDAY_PORT_MIN || f->port_used[act->port]++))
				abort();
		}
	} while (n == 64);
	uint64_t next = birthday_next_deadline(&f->a);
	if (f->a.state == BIRTHDAY_RUNNING ? next <= f->now : next != UINT64_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_state f;
	memset(&f, 0, sizeof(f));
	f.now = 1000;
	f.rng = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i + 3 <= size && i / 3 < FUZZ_MAX_EVENTS; i += 3) {
		uint8_t op = data[i] % 8;
		uint16_t arg = (uint16_t)(data[i + 1] | data[i + 2] << 8);
		if (op == 0) {
			birthday_config_default(&f.cfg);
			f.cfg.sockets = (uint16_t)(1 + arg % BIRTHDAY_SOCKETS_MAX);
			f.cfg.hard_rounds = (uint8_t)(1 + (arg >> 8) % 4);
			if ((uint32_t)f.cfg.hard_rounds * f.cfg.sockets > f.cfg.probes)
				f.cfg.hard_rounds = 1;
			enum birthday_role role = data[i + 1] & 1 ? BIRTHDAY_EASY : BIRTHDAY_HARD;
			if (birthday_start(&f.a, &f.cfg, role, fuzz_uniform, &f.rng, f.now) < 0)
				abort();
			f.started = true;
			f.opens = f.pings = 0;
			memset(f.opened, 0, sizeof(f.opened));
			memset(f.failed, 0, sizeof(f.failed));
			memset(f.port_used, 0, sizeof(f.port_used));
			continue;
		}
		if (!f.started)
			continue;
		switch (op) {
		case 1: /* time moves by up to 65 ms */
			f.now += (uint64_t)arg * 1000;
			break;
		case 2: /* by up to 65 s */
			f.now += (uint64_t)arg * BIRTHDAY_NS_PER_MS;
			break;
		case 3:
			if (birthday_hint(&f.a, arg % 300) == 0 && !f.opened[arg % 300])
				abort();
			break;
		case 4:
			if (birthday_open_failed(&f.a, arg % 300) == 0)
				f.failed[arg % 300] = true;
			break;
		case 5:
			(void)birthday_won(&f.a, arg, f.now);
			break;
		case 6:
			(void)birthday_reached(&f.a, arg, f.now);
			break;
		default:
			if (arg % 64 == 0)
				birthday_stop(&f.a, f.now);
			break;
		}
		fuzz_poll(&f);
	}
	return 0;
}
