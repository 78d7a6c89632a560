/* Birthday probing: the plan of one attempt (lib/path/birthday.h). All
 * timing is computed from the start time and a sequence number, so a late
 * poll catches up (paced by max) and nothing depends on how often the
 * caller polls. */
#include "path/birthday.h"

#include <errno.h>
#include <string.h>

/* Rejection draws before falling back to a scan for an untried port: with
 * at most 1024 of 64 512 ports tried, a draw fails 1.6 % of the time. */
#define BIRTHDAY_PORT_DRAWS 16

void birthday_config_default(struct birthday_config *c)
{
	*c = (struct birthday_config){
		.sockets = BIRTHDAY_SOCKETS_MAX,
		.probes = BIRTHDAY_PROBES_MAX,
		.hard_rounds = 3,
		.open_ns = 250 * BIRTHDAY_NS_PER_MS,
		.round_ns = 1 * BIRTHDAY_NS_PER_SEC,
		.spray_delay_ns = 300 * BIRTHDAY_NS_PER_MS,
		.spray_ns = 1 * BIRTHDAY_NS_PER_SEC,
		.timeout_ns = 5 * BIRTHDAY_NS_PER_SEC,
		.tick_ns = 5 * BIRTHDAY_NS_PER_MS,
	};
}

int birthday_config_check(const struct birthday_config *c)
{
	if (c->sockets == 0 || c->sockets > BIRTHDAY_SOCKETS_MAX || c->probes == 0 ||
	    c->probes > BIRTHDAY_PROBES_MAX || c->hard_rounds == 0 || c->round_ns == 0 || c->spray_ns == 0 ||
	    c->timeout_ns == 0 || c->tick_ns == 0)
		return -EINVAL;
	if ((uint32_t)c->hard_rounds * c->sockets > c->probes)
		return -EINVAL;
	return 0;
}

static bool bit_get(const uint8_t *bits, unsigned i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *bits, unsigned i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void bit_clear(uint8_t *bits, unsigned i)
{
	bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static bool port_tried(const struct birthday_attempt *a, unsigned port)
{
	return a->tried[port / 64] & (UINT64_C(1) << (port % 64));
}

int birthday_start(struct birthday_attempt *a, const struct birthday_config *cfg, enum birthday_role role,
		   birthday_uniform_fn uniform, void *uniform_ctx, uint64_t now)
{
	if (birthday_config_check(cfg) < 0 || (role != BIRTHDAY_HARD && role != BIRTHDAY_EASY) || !uniform)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->role = role;
	a->state = BIRTHDAY_RUNNING;
	a->start_ns = now;
	a->uniform = uniform;
	a->uniform_ctx = uniform_ctx;
	return 0;
}

static uint32_t scheduled_total(const struct birthday_attempt *a)
{
	if (a->role == BIRTHDAY_HARD)
		return (uint32_t)a->cfg.hard_rounds * a->cfg.sockets;
	return a->cfg.probes;
}

/* When the i-th scheduled PING (or, in round 0, the opening before it) is due. */
static uint64_t scheduled_due(const struct birthday_attempt *a, uint32_t i)
{
	if (a->role == BIRTHDAY_HARD) {
		uint32_t round = i / a->cfg.sockets, slot = i % a->cfg.sockets;
		return a->start_ns + round * a->cfg.round_ns + slot * a->cfg.open_ns / a->cfg.sockets;
	}
	return a->start_ns + a->cfg.spray_delay_ns + i * a->cfg.spray_ns / a->cfg.probes;
}

static uint16_t pick_port(struct birthday_attempt *a)
{
	unsigned port = BIRTHDAY_PORT_MIN + a->uniform(a->uniform_ctx, BIRTHDAY_PORT_COUNT);
	for (int i = 1; i < BIRTHDAY_PORT_DRAWS && port_tried(a, port); i++)
		port = BIRTHDAY_PORT_MIN + a->uniform(a->uniform_ctx, BIRTHDAY_PORT_COUNT);
	/* Fewer than BIRTHDAY_PROBES_MAX ports are tried, so the scan ends. */
	while (port_tried(a, port))
		port = port == 65535 ? BIRTHDAY_PORT_MIN : port + 1;
	a->tried[port / 64] |= UINT64_C(1) << (port % 64);
	return (uint16_t)port;
}

static size_t poll_hints(struct birthday_attempt *a, struct birthday_action *out, size_t max)
{
	size_t n = 0;
	for (unsigned slot = 0; slot < a->opened && a->hints_queued && n < max; slot++) {
		if (!bit_get(a->hint_due, slot))
			continue;
		bit_clear(a->hint_due, slot);
		a->hints_queued--;
		if (a->probes_sent >= a->cfg.probes || bit_get(a->dead, slot))
			continue;
		out[n++] = (struct birthday_action){ .kind = BIRTHDAY_ACT_PING_FROM, .slot = (uint16_t)slot };
		a->probes_sent++;
	}
	return n;
}

size_t birthday_poll(struct birthday_attempt *a, uint64_t now, struct birthday_action *out, size_t max)
{
	if (a->state != BIRTHDAY_RUNNING)
		return 0;
	if (now - a->start_ns >= a->cfg.timeout_ns) {
		a->state = BIRTHDAY_TIMED_OUT;
		a->end_ns = now;
		return 0;
	}
	a->last_poll_ns = now;
	size_t n = a->role == BIRTHDAY_HARD ? poll_hints(a, out, max) : 0;
	uint32_t total = scheduled_total(a);
	while (n < max && a->scheduled < total && scheduled_due(a, a->scheduled) <= now) {
		if (a->probes_sent >= a->cfg.probes) {
			a->scheduled = total; /* hints took the rest of the budget */
			break;
		}
		if (a->role == BIRTHDAY_EASY) {
			out[n++] = (struct birthday_action){ .kind = BIRTHDAY_ACT_PING_TO, .port = pick_port(a) };
		} else {
			uint16_t slot = (uint16_t)(a->scheduled % a->cfg.sockets);
			if (slot >= a->opened) { /* round 0: open it, its PING next */
				out[n++] = (struct birthday_action){ .kind = BIRTHDAY_ACT_OPEN, .slot = slot };
				a->opened++;
				continue;
			}
			if (bit_get(a->dead, slot)) {
				a->scheduled++;
				continue;
			}
			out[n++] = (struct birthday_action){ .kind = BIRTHDAY_ACT_PING_FROM, .slot = slot };
		}
		a->scheduled++;
		a->probes_sent++;
	}
	return n;
}

uint64_t birthday_next_deadline(const struct birthday_attempt *a)
{
	if (a->state != BIRTHDAY_RUNNING)
		return UINT64_MAX;
	uint64_t deadline = a->start_ns + a->cfg.timeout_ns;
	if (a->hints_queued)
		return a->last_poll_ns; /* already due: a hinted socket PINGs at once */
	if (a->scheduled < scheduled_total(a) && a->probes_sent < a->cfg.probes) {
		uint64_t due = scheduled_due(a, a->scheduled);
		uint64_t floor = a->last_poll_ns ? a->last_poll_ns + a->cfg.tick_ns : 0;
		if (due < floor)
			due = floor;
		if (due < deadline)
			deadline = due;
	}
	return deadline;
}

int birthday_open_failed(struct birthday_attempt *a, uint16_t slot)
{
	if (a->role != BIRTHDAY_HARD || slot >= a->opened)
		return -EINVAL;
	if (!bit_get(a->dead, slot)) {
		bit_set(a->dead, slot);
		a->open_failed++;
	}
	return 0;
}

int birthday_hint(struct birthday_attempt *a, uint16_t slot)
{
	if (a->state != BIRTHDAY_RUNNING || a->role != BIRTHDAY_HARD || slot >= a->opened || bit_get(a->dead, slot))
		return -EINVAL;
	if (bit_get(a->hinted, slot))
		return -EALREADY;
	bit_set(a->hinted, slot);
	bit_set(a->hint_due, slot);
	a->hints_queued++;
	return 0;
}

int birthday_won(struct birthday_attempt *a, uint16_t which, uint64_t now)
{
	if (a->state != BIRTHDAY_RUNNING)
		return -EINVAL;
	if (a->role == BIRTHDAY_HARD ? which >= a->opened || bit_get(a->dead, which) : !port_tried(a, which))
		return -EINVAL;
	a->state = BIRTHDAY_WON;
	a->winner = which;
	a->end_ns = now;
	return 0;
}

int birthday_reached(struct birthday_attempt *a, uint16_t port, uint64_t now)
{
	if (a->state != BIRTHDAY_RUNNING || a->role != BIRTHDAY_EASY || port == 0)
		return -EINVAL;
	a->state = BIRTHDAY_WON;
	a->winner = port;
	a->end_ns = now;
	return 0;
}

void birthday_stop(struct birthday_attempt *a, uint64_t now)
{
	if (a->state != BIRTHDAY_RUNNING)
		return;
	a->state = BIRTHDAY_STOPPED;
	a->end_ns = now;
}

int birthday_role_pick(bool we_per_destination, bool peer_per_destination, enum birthday_role *out)
{
	if (we_per_destination == peer_per_destination)
		return -EOPNOTSUPP; /* both easy: plain hole punching; both hard: relayed */
	*out = we_per_destination ? BIRTHDAY_HARD : BIRTHDAY_EASY;
	return 0;
}

bool birthday_backoff_allows(const struct birthday_backoff *b, uint64_t now)
{
	return now >= b->not_before_ns;
}

static void backoff_until(struct birthday_backoff *b, uint64_t t)
{
	if (t > b->not_before_ns)
		b->not_before_ns = t;
}

void birthday_backoff_started(struct birthday_backoff *b, uint64_t now)
{
	backoff_until(b, now + BIRTHDAY_BACKOFF_NS);
}

void birthday_backoff_ended(struct birthday_backoff *b, bool won, uint64_t now)
{
	if (won) {
		b->failures = 0;
		return;
	}
	if (b->failures < UINT8_MAX)
		b->failures++;
	if (b->failures == 1) {
		/* Set, not raised: started() held it at start + BACKOFF while running. */
		b->not_before_ns = now + BIRTHDAY_RETRY_NS;
		return;
	}
	unsigned shift = b->failures > 6 ? 4 : b->failures - 2u;
	uint64_t wait = BIRTHDAY_BACKOFF_NS << shift;
	backoff_until(b, now + (wait > BIRTHDAY_BACKOFF_MAX_NS ? BIRTHDAY_BACKOFF_MAX_NS : wait));
}

const char *birthday_role_name(enum birthday_role r)
{
	return r == BIRTHDAY_HARD ? "hard" : r == BIRTHDAY_EASY ? "easy" : "?";
}

const char *birthday_state_name(enum birthday_state s)
{
	static const char *const names[] = { "running", "won", "timed-out", "stopped" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
