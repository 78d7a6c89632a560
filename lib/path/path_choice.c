/* Which path a data packet goes on when its policy (its application
 * class's, or its peer's: issue 13) is not necessarily the set's, and
 * each path's throughput meter. path_choice_refresh() runs after every
 * decision of path_policy.c and leaves one slot per policy, so that
 * path_choice() costs a few loads per packet.
 *
 * The set's own policy's pick is its active path (with all of
 * path_policy.c's holds and confirmations). Another policy's pick is the
 * best answered path by that policy's ranking, kept until a path beats
 * it by the margin (no hold: nothing waits on it, and a probe round is
 * what moves the figures anyway). Redundant's second path is the best
 * answered path diverse from its pick; when the set's own policy is not
 * redundant (a class asks for copies), never a metered one: a default
 * class must not spend money the user did not choose to. Bandwidth
 * spreads flows over up to PATH_SPREAD_MAX paths: the healthy, unmetered, answered paths of
 * the best tier present (direct before relays), so one slow relay never
 * gets a share while a direct path works, and of those the best of each
 * diversity group (interface). */
#include <string.h>

#include "path/path_internal.h"

static const struct path *slot_path(const struct path_set *set, uint8_t slot)
{
	if (slot >= PATH_MAX_PER_PEER || !path_is_candidate(&set->paths[slot]))
		return NULL;
	return &set->paths[slot];
}

/* The copy's path may also be SUSPECT (a reply late, as under random
 * loss): as path_duplicate(), a copy that may arrive beats none. */
static const struct path *copy_path(const struct path_set *set, uint8_t slot)
{
	const struct path *p = slot < PATH_MAX_PER_PEER ? &set->paths[slot] : NULL;
	return p && p->in_use && (path_is_candidate(p) || p->state == PATH_SUSPECT) ? p : NULL;
}

static uint8_t slot_of(const struct path_set *set, const struct path *p)
{
	return p ? (uint8_t)(p - set->paths) : PATH_SLOT_NONE;
}

/* The best candidate by policy, other than except; prev keeps its place
 * unless the best beats it by the margin. */
static const struct path *pick_by(const struct path_set *set, enum path_policy policy, const struct path *prev,
				  const struct path *except)
{
	const struct path *best = NULL;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (p != except && path_is_candidate(p) && (!best || path_ranks_above_by(policy, p, best)))
			best = p;
	}
	if (prev && prev != except && best && best != prev && !path_beats_by(policy, best, prev))
		return prev;
	return best;
}

static void spread_refresh(struct path_set *set)
{
	const struct path *sorted[PATH_MAX_PER_PEER];
	size_t n = 0;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (!path_is_candidate(p) || p->degraded || p->metered)
			continue;
		size_t j = n++;
		for (; j > 0 && path_ranks_above_by(PATH_POLICY_LATENCY, p, sorted[j - 1]); j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = p;
	}
	/* The best path of each diversity group (interface): two paths out of
	 * one interface add no bandwidth. */
	uint32_t groups_seen[256 / 32] = { 0 };
	set->spread_n = 0;
	for (size_t i = 0; i < n && set->spread_n < PATH_SPREAD_MAX; i++) {
		uint8_t g = sorted[i]->diversity;
		if (sorted[i]->transport != sorted[0]->transport || (groups_seen[g / 32] & (1u << (g % 32))))
			continue;
		groups_seen[g / 32] |= 1u << (g % 32);
		set->spread_slot[set->spread_n++] = slot_of(set, sorted[i]);
	}
}

void path_choice_refresh(struct path_set *set)
{
	for (unsigned pol = 0; pol < PATH_POLICY_COUNT; pol++) {
		const struct path *p;
		if (pol == (unsigned)set->policy)
			p = path_active(set);
		else if (pol == PATH_POLICY_REDUNDANT && set->policy == PATH_POLICY_LATENCY)
			p = path_active(set); /* the same ranking: the same path */
		else
			p = pick_by(set, (enum path_policy)pol, slot_path(set, set->choice_slot[pol]), NULL);
		set->choice_slot[pol] = slot_of(set, p);
	}
	const struct path *first = slot_path(set, set->choice_slot[PATH_POLICY_REDUNDANT]), *second = NULL;
	if (set->policy == PATH_POLICY_REDUNDANT) {
		second = path_duplicate(set);
	} else {
		second = path_best_diverse(set, first, false); /* a class's copy never costs money */
	}
	set->second_slot = slot_of(set, second);
	spread_refresh(set);
}

/* Rendezvous hashing: the path whose mix with the flow scores highest. */
static uint32_t hrw_score(uint32_t flow, uint32_t id)
{
	uint32_t h = flow ^ (id * 0x9e3779b9u);
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	h *= 0x297a2d39u;
	h ^= h >> 15;
	return h;
}

const struct path *path_choice(const struct path_set *set, enum path_policy policy, uint32_t flow_hash,
			       const struct path **second)
{
	if (second)
		*second = NULL;
	if ((unsigned)policy >= PATH_POLICY_COUNT)
		policy = set->policy;
	if (policy == PATH_POLICY_BANDWIDTH && set->spread_n) {
		const struct path *best = NULL;
		uint32_t best_score = 0;
		for (unsigned i = 0; i < set->spread_n; i++) {
			const struct path *p = slot_path(set, set->spread_slot[i]);
			uint32_t s = p ? hrw_score(flow_hash, p->id) : 0;
			if (p && (!best || s > best_score)) {
				best = p;
				best_score = s;
			}
		}
		if (best)
			return best;
	}
	const struct path *p = slot_path(set, set->choice_slot[policy]);
	if (policy == PATH_POLICY_REDUNDANT && second && p)
		*second = copy_path(set, set->second_slot);
	return p;
}

/* Closes the windows that ended by now: each one's rate averaged in with
 * gain 1/2, the empty ones after it halving the rate. */
static uint64_t meter_rate(const struct path *p, uint64_t now, uint64_t *windows)
{
	uint64_t rate = p->rate_Bps;
	*windows = 0;
	if (!p->meter_start_ns || now < p->meter_start_ns + PATH_METER_WINDOW_NS)
		return rate;
	*windows = (now - p->meter_start_ns) / PATH_METER_WINDOW_NS;
	rate = (rate + p->meter_bytes * (PATH_NS_PER_SEC / PATH_METER_WINDOW_NS)) / 2;
	return *windows - 1 >= 63 ? 0 : rate >> (*windows - 1);
}

void path_sent_bytes(struct path_set *set, const struct path *p, size_t bytes, uint64_t now)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)set->paths;
	if (!p || off >= sizeof(set->paths) || off % sizeof(set->paths[0]))
		return; /* not one of this set's */
	struct path *m = &set->paths[off / sizeof(set->paths[0])];
	uint64_t windows;
	if (!m->meter_start_ns) {
		m->meter_start_ns = now ? now : 1;
	} else if ((m->rate_Bps = meter_rate(m, now, &windows), windows)) {
		m->meter_start_ns += windows * PATH_METER_WINDOW_NS;
		m->meter_bytes = 0;
	}
	m->meter_bytes += bytes;
	m->bytes_sent += bytes;
}

uint64_t path_rate(const struct path *p, uint64_t now)
{
	uint64_t windows;
	return meter_rate(p, now, &windows);
}
