/* Home and meeting relays: see relay_choice.h. */
#include "path/relay_choice.h"

int relay_best(const uint32_t *rtt_us, size_t n)
{
	int best = -1;
	if (n > RELAY_CHOICE_MAX)
		n = RELAY_CHOICE_MAX;
	for (size_t i = 0; i < n; i++)
		if (rtt_us[i] && (best < 0 || rtt_us[i] < rtt_us[best]))
			best = (int)i;
	return best;
}

int relay_meeting(const uint32_t *a_us, size_t a_n, const uint32_t *b_us, size_t b_n)
{
	size_t n = a_n < b_n ? a_n : b_n;
	uint64_t best_sum = 0;
	int best = -1;
	if (n > RELAY_CHOICE_MAX)
		n = RELAY_CHOICE_MAX;
	for (size_t i = 0; i < n; i++) {
		if (!a_us[i] || !b_us[i])
			continue;
		/* 64 bits: two u32 round trips cannot wrap the sum. */
		uint64_t sum = (uint64_t)a_us[i] + b_us[i];
		if (best < 0 || sum < best_sum) {
			best = (int)i;
			best_sum = sum;
		}
	}
	return best;
}

void relay_home_init(struct relay_home *h)
{
	h->home = -1;
	h->candidate = -1;
	h->streak = 0;
}

/* Is new_us better than old_us by both margins? */
static int clearly_better(uint32_t new_us, uint32_t old_us)
{
	return (uint64_t)new_us * 100 <= (uint64_t)old_us * (100 - RELAY_HOME_BETTER_PCT) &&
	       old_us - new_us >= RELAY_HOME_BETTER_US;
}

int relay_home_update(struct relay_home *h, const uint32_t *rtt_us, size_t n)
{
	int best = relay_best(rtt_us, n);
	if (best < 0)
		return h->home; /* nothing measured this round: keep what we had */
	if (h->home < 0 || (size_t)h->home >= n || !rtt_us[h->home]) {
		/* No home, or it stopped answering: the best at once. */
		h->home = best;
		h->candidate = -1;
		h->streak = 0;
		return h->home;
	}
	if (best == h->home || !clearly_better(rtt_us[best], rtt_us[h->home])) {
		h->candidate = -1;
		h->streak = 0;
		return h->home;
	}
	if (best != h->candidate) {
		h->candidate = best;
		h->streak = 0;
	}
	if (++h->streak >= RELAY_HOME_ROUNDS) {
		h->home = best;
		h->candidate = -1;
		h->streak = 0;
	}
	return h->home;
}

static size_t add_once(uint8_t *out, size_t n, int relay)
{
	if (relay < 0 || relay >= RELAY_CHOICE_MAX)
		return n;
	for (size_t i = 0; i < n; i++)
		if (out[i] == relay)
			return n;
	out[n] = (uint8_t)relay;
	return n + 1;
}

size_t relay_pair_candidates(int meeting, int home_self, int home_peer, uint8_t out[RELAY_PAIR_CANDIDATES_MAX])
{
	size_t n = add_once(out, 0, meeting);
	n = add_once(out, n, home_self);
	return add_once(out, n, home_peer);
}

/* --- liveness ------------------------------------------------------------ */

void relay_live_init(struct relay_live *l)
{
	*l = (struct relay_live){ 0 };
}

bool relay_live_ping_due(const struct relay_live *l, uint64_t now)
{
	return now >= l->next_ping;
}

void relay_live_sent(struct relay_live *l, uint64_t now, uint64_t ping_every)
{
	/* The oldest unanswered one counts: a later PING must not push the
	 * deadline back while the relay stays silent. */
	if (!l->unanswered_at)
		l->unanswered_at = now ? now : 1;
	l->next_ping = now + ping_every;
}

uint64_t relay_live_wait_ns(const struct relay_live *l)
{
	uint64_t w = 4 * l->srtt_ns;
	return w > RELAY_LIVE_WAIT_MIN_NS ? w : RELAY_LIVE_WAIT_MIN_NS;
}

bool relay_live_pong(struct relay_live *l, uint64_t sent, uint64_t now)
{
	/* Only an answer to the oldest unanswered PING or a later one (its
	 * echo is the send time): an older echo is a duplicate. */
	if (!sent || sent > now || sent < l->unanswered_at)
		return false;
	bool revived = l->dead;
	uint64_t r = now - sent;
	/* RFC 6298's alpha = 1/8, the first sample as is. */
	l->srtt_ns = l->srtt_ns ? (7 * l->srtt_ns + r) / 8 : r;
	l->unanswered_at = 0;
	l->last_pong = now;
	l->dead = false;
	return revived;
}

bool relay_live_check(struct relay_live *l, uint64_t now)
{
	if (l->dead || !l->unanswered_at || now < l->unanswered_at + relay_live_wait_ns(l))
		return false;
	l->dead = true;
	return true;
}

uint64_t relay_live_deadline(const struct relay_live *l)
{
	uint64_t d = l->next_ping;
	if (!l->dead && l->unanswered_at && l->unanswered_at + relay_live_wait_ns(l) < d)
		d = l->unanswered_at + relay_live_wait_ns(l);
	return d;
}
