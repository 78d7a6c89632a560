/* The relay thread's hand-back wake moderation (server/relay_moderation.c),
 * on a fake clock: below RT_COALESCE_RATE hand-backs a second every batch
 * wakes the main loop at once; above it a KEEP or BINDING waits at most
 * RT_COALESCE_NS (one wake for all that came meanwhile), except when the
 * batch holds something urgent or RT_COALESCE_MAX wait; the rate is the
 * last whole window's, so a lull brings immediate wakes back. */
#include <string.h>

#include "../check.h"
#include "server/relay_moderation.h"

#define MS UINT64_C(1000000)
#define US UINT64_C(1000)

/* n datagrams, one per batch, evenly over `span` ns from *now: how many
 * wakes (immediate, or owed and come due before the next datagram). */
static unsigned trickle(struct rt_moderation *m, uint64_t *now, unsigned n, uint64_t span)
{
	unsigned wakes = 0;
	for (unsigned i = 0; i < n; i++) {
		*now += span / n;
		if (rt_moderation_due(m, *now))
			wakes++;
		if (rt_moderation_handed(m, *now, 1, false, 1))
			wakes++;
	}
	return wakes;
}

int main(void)
{
	struct rt_moderation m;
	uint64_t now = 1000 * MS;

	memset(&m, 0, sizeof(m));
	/* 500 a second: every datagram wakes the main loop at once. */
	CHECK_EQ(trickle(&m, &now, 100, 200 * MS), 100);
	CHECK(!m.pending);
	/* 10 000 a second: the first window still counts the old rate... */
	unsigned wakes = trickle(&m, &now, 1000, 100 * MS);
	CHECK(wakes > 900);
	/* ... then at most one wake per RT_COALESCE_NS: ~100 for 1000 (the
	 * window it began in counted part of the old rate) */
	wakes = trickle(&m, &now, 1000, 100 * MS);
	CHECK(wakes >= 90 && wakes <= 130);
	CHECK(m.pending);
	/* a wake owed is due RT_COALESCE_NS after the first datagram that waits */
	uint64_t due = m.due;
	CHECK(due > now && due <= now + RT_COALESCE_NS);
	CHECK(!rt_moderation_due(&m, due - 1));
	CHECK(rt_moderation_due(&m, due));
	CHECK(!m.pending);
	CHECK(!rt_moderation_due(&m, due + 1)); /* once */
	/* busy, but urgent (a RELAY, PING or NETCHECK in the batch): at once */
	CHECK(!rt_moderation_handed(&m, now + 2 * MS, 1, false, 1));
	CHECK(m.pending);
	CHECK(rt_moderation_handed(&m, now + 2 * MS + 10 * US, 1, true, 2));
	CHECK(!m.pending);
	/* busy, but RT_COALESCE_MAX waiting: at once */
	CHECK(!rt_moderation_handed(&m, now + 3 * MS, 1, false, RT_COALESCE_MAX - 1));
	CHECK(rt_moderation_handed(&m, now + 3 * MS + 10 * US, 1, false, RT_COALESCE_MAX));
	/* a second of silence: the rate is gone, wakes are immediate again */
	now += 3 * MS + 1000 * MS;
	CHECK(rt_moderation_handed(&m, now, 1, false, 1));
	CHECK(!m.pending);
	/* a datagram that waits never waits longer than RT_COALESCE_NS */
	memset(&m, 0, sizeof(m));
	now = 5000 * MS;
	trickle(&m, &now, 2000, 100 * MS);
	trickle(&m, &now, 2000, 100 * MS);
	uint64_t first_waiting = 0, worst = 0;
	for (unsigned i = 0; i < 5000; i++) {
		now += 37 * US;
		if (rt_moderation_due(&m, now)) {
			worst = now - first_waiting > worst ? now - first_waiting : worst;
			first_waiting = 0;
		}
		if (!rt_moderation_handed(&m, now, 1, false, 1) && !first_waiting)
			first_waiting = now;
	}
	CHECK(worst > 0 && worst < RT_COALESCE_NS + 37 * US);
	return check_report("test_relay_moderation");
}
