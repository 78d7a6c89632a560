/* Fuzzes the path layer (lib/path) with random event sequences: candidates
 * added and removed, probes answered (rightly, on the wrong path, twice),
 * data in and out (some expecting an answer), local address changes, bad
 * packets (quarantine: a quarantined path is never probed), and time jumping from nanoseconds
 * to hours. After every event the invariants must hold:
 *  - at most one ACTIVE path, and it is the one path_active() returns;
 *  - the active path had a probe of its own answered;
 *  - after path_run_timers(now), no deadline is left at or before now
 *    (an event loop would spin);
 *  - every active_changed goes to an ACTIVE path (or none), from another one.
 *
 * Input: a sequence of 3-byte events: opcode, path index, argument. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "path/path.h"

#define FUZZ_MAX_EVENTS 4096
#define FUZZ_IDS 32 /* the ids events pick from: the latest added */

struct fuzz_state {
	struct path_set set;
	uint64_t now;
	uint32_t ids[FUZZ_IDS];
	unsigned nids;
	bool answered[FUZZ_MAX_EVENTS + 2]; /* by id: a probe of its own was answered */
};

static bool was_answered(const struct fuzz_state *f, uint32_t id)
{
	return id < FUZZ_MAX_EVENTS + 2 && f->answered[id];
}

static void on_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx;
	(void)txid;
	if (p->state >= PATH_STATE_COUNT || p->state == PATH_QUARANTINED || !p->probe_deadline_ns)
		abort();
}

static void on_active_changed(void *ctx, const struct path *from, const struct path *to, enum path_reason why)
{
	struct fuzz_state *f = ctx;
	if (from == to || why >= PATH_REASON_COUNT)
		abort();
	if (to && (to->state != PATH_ACTIVE || !was_answered(f, to->id)))
		abort();
}

static void on_log(void *ctx, const struct path *p, enum path_state old, enum path_reason why)
{
	(void)ctx;
	if (old == p->state && why != PATH_REASON_ADDED && why != PATH_REASON_REMOVED &&
	    why != PATH_REASON_BETTER_AVAILABLE)
		abort();
}

static const struct path_ops fuzz_ops = {
	.send_probe = on_probe, .active_changed = on_active_changed, .log = on_log,
};

static void check_invariants(const struct fuzz_state *f)
{
	const struct path *active = path_active(&f->set);
	unsigned nactive = 0;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &f->set.paths[i];
		if (p->in_use && p->state == PATH_ACTIVE) {
			nactive++;
			if (p != active)
				abort();
		}
	}
	if (nactive > 1 || (active && (active->state != PATH_ACTIVE || !was_answered(f, active->id))))
		abort();
	if (path_count(&f->set) > PATH_MAX_PER_PEER)
		abort();
	/* The redundant policy's second path: answered (or SUSPECT: a reply
	 * late), not the active one, diverse from it; none in another policy. */
	const struct path *dup = path_duplicate(&f->set);
	if (dup && (f->set.policy != PATH_POLICY_REDUNDANT || !active || dup == active ||
		    (dup->state != PATH_STANDBY && dup->state != PATH_ACTIVE && dup->state != PATH_SUSPECT) ||
		    (dup->diversity == active->diversity &&
		     (dup->transport == PATH_TRANSPORT_UDP_DIRECT) == (active->transport == PATH_TRANSPORT_UDP_DIRECT))))
		abort();
	/* Every policy's pick (application classes): answered, the set's own
	 * its active path; a copy only for redundant, never the pick itself. */
	for (unsigned pol = 0; pol < PATH_POLICY_COUNT; pol++) {
		const struct path *second, *p = path_choice(&f->set, (enum path_policy)pol, (uint32_t)f->now, &second);
		if (p && (p->state != PATH_STANDBY && p->state != PATH_ACTIVE))
			abort();
		if (pol == (unsigned)f->set.policy && pol != PATH_POLICY_BANDWIDTH && p != active)
			abort();
		if (second && (pol != PATH_POLICY_REDUNDANT || second == p || !p))
			abort();
	}
}

static uint64_t time_step(uint8_t arg)
{
	/* Low values: milliseconds around the probe timers; high: hours. */
	if (arg < 200)
		return (uint64_t)arg * 10000000ULL;
	return (uint64_t)(arg - 199) * 3600ULL * 1000000000ULL;
}

static void fuzz_event(struct fuzz_state *f, uint8_t op, uint8_t idx, uint8_t arg)
{
	unsigned nids = f->nids < FUZZ_IDS ? f->nids : FUZZ_IDS;
	uint32_t id = nids ? f->ids[idx % nids] : 0;
	const struct path *p = path_get(&f->set, id);
	uint8_t addr[4] = { 10, 0, idx, arg };

	switch (op % 10) {
	case 0:
		if (path_add(&f->set, (enum path_transport)(arg % (PATH_TRANSPORT_COUNT + 1)), addr,
			     1 + idx % 4, arg, f->now, &id) == 0)
			f->ids[f->nids++ % FUZZ_IDS] = id;
		break;
	case 1:
		(void)path_remove(&f->set, id, f->now);
		break;
	case 2: /* the right answer, after arg ms (marked first: the
		 * policy may promote the path inside the call) */
		if (p && p->probe_deadline_ns) {
			f->now += (uint64_t)arg * 1000000ULL;
			f->answered[id] = true;
			if (path_probe_answered(&f->set, id, p->txid, f->now) != 0)
				abort();
		}
		break;
	case 3:
		f->now += time_step(arg);
		path_run_timers(&f->set, f->now);
		if (path_next_deadline(&f->set) <= f->now)
			abort();
		break;
	case 4:
		(void)path_data_received(&f->set, id, f->now);
		break;
	case 5: /* data out; odd: data that expects an answer */
		if (arg & 1)
			(void)path_expect_reply(&f->set, id, f->now);
		else
			(void)path_data_sent(&f->set, id, f->now);
		break;
	case 6:
		path_local_change(&f->set, f->now);
		break;
	case 8: /* the user's settings: policy, confirm mode, a path chosen, a group */
		if (arg < 64)
			(void)path_set_policy(&f->set, (enum path_policy)(arg % (PATH_POLICY_COUNT + 1)), f->now);
		else if (arg < 128)
			path_set_confirm(&f->set, arg & 1, f->now);
		else if (arg < 192)
			(void)path_use(&f->set, arg & 1 ? 0 : id, f->now);
		else
			(void)path_set_diversity(&f->set, id, arg & 3, f->now);
		break;
	case 9: /* bad packets on a path (up to 39: past the threshold of 32), or a copy won */
		if (arg >= 240)
			(void)path_copy_won(&f->set, id);
		for (unsigned k = 0; k < arg % 40u; k++)
			(void)path_tamper(&f->set, id, f->now);
		break;
	case 7: { /* a pong meant for another path, or a guessed txid: refused */
		uint32_t other = nids ? f->ids[arg % nids] : 0;
		const struct path *q = path_get(&f->set, other);
		if (p && q && q != p && q->probe_deadline_ns &&
		    (!p->probe_deadline_ns || p->txid != q->txid) &&
		    path_probe_answered(&f->set, id, q->txid, f->now) != -ESRCH)
			abort();
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_state f;

	memset(&f, 0, sizeof(f));
	f.now = 1000000000ULL;
	path_set_init(&f.set, &fuzz_ops, &f, 1);
	for (size_t i = 0; i + 3 <= size && i < 3 * FUZZ_MAX_EVENTS; i += 3) {
		fuzz_event(&f, data[i], data[i + 1], data[i + 2]);
		check_invariants(&f);
	}
	return 0;
}
