/* Several relays, the node's side (docs/control-protocol.md, "Several
 * relays"): the relay map and our ticket from the stream, K_nr for each
 * relay-only server (asked of the monitor, which holds node.key), each
 * relay's round trip and the home relay (lib/path/relay_choice.h), and what
 * `roam status` shows of them. */
#include <errno.h>
#include <string.h>

#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "daemon/managed.h"
#include "path/relay_choice.h"
#include "util/log.h"

void managed_relays_reset(struct managed *m)
{
	crypto_wipe(&m->relays, sizeof(m->relays));
	relay_home_init(&m->relays.home);
}

static struct managed_relay *relay_by_id(struct managed *m, uint8_t id)
{
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id == id)
			return &m->relays.r[i];
	return NULL;
}

int managed_relays_map(struct managed *m, const struct coord_relay_map *map)
{
	struct managed_relays old = m->relays;
	m->relays.count = 0;
	for (size_t i = 0; i < map->count; i++) {
		struct managed_relay *r = &m->relays.r[m->relays.count++];
		memset(r, 0, sizeof(*r));
		r->info = map->relays[i];
		/* Same relay, same key: keep K_nr and the round trip. */
		for (size_t j = 0; j < old.count; j++)
			if (old.r[j].info.id == r->info.id && memcmp(old.r[j].info.key, r->info.key, COORD_KEY_LEN) == 0) {
				memcpy(r->k_nr, old.r[j].k_nr, sizeof(r->k_nr));
				r->have_key = old.r[j].have_key;
				r->rtt_us = old.r[j].rtt_us;
			}
		/* Relay 0 is the control server: K, not K_nr. */
		if (r->info.id != 0 && !r->have_key && m->host->relay_key_request)
			m->host->relay_key_request(m->host_ctx, r->info.key);
	}
	crypto_wipe(&old, sizeof(old));
	log_info("relay map: %zu relay(s)", m->relays.count);
	return 0;
}

int managed_relays_ticket(struct managed *m, const uint8_t *t, size_t len, const struct ticket *parsed)
{
	if (len > sizeof(m->relays.ticket) || parsed->node_id != m->ms.node_id ||
	    memcmp(parsed->node_pub, m->public_key, COORD_KEY_LEN) != 0)
		return 0; /* not ours: relays would refuse it anyway */
	if (m->relays.ticket_len && parsed->serial < m->relays.ticket_serial)
		return 0;
	memcpy(m->relays.ticket, t, len);
	m->relays.ticket_len = len;
	m->relays.ticket_serial = parsed->serial;
	m->relays.ticket_expires = parsed->expires;
	log_debug("relay ticket: serial %llu, %u group(s)", (unsigned long long)parsed->serial, parsed->group_count);
	return 0;
}

void managed_relays_key(struct managed *m, const uint8_t relay_pub[COORD_KEY_LEN], const uint8_t k_nr[COORD_KEY_LEN],
			bool ok)
{
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (memcmp(r->info.key, relay_pub, COORD_KEY_LEN) != 0)
			continue;
		if (!ok) {
			log_warn("relay %u: its key is unusable (low order): not used", r->info.id);
			continue;
		}
		memcpy(r->k_nr, k_nr, COORD_KEY_LEN);
		r->have_key = true;
	}
}

void managed_relays_rtt(struct managed *m, uint8_t id, uint32_t rtt_us)
{
	struct managed_relay *r = relay_by_id(m, id);
	if (r)
		r->rtt_us = rtt_us;
}

/* One measurement round: the home relay, and what status shows. */
void managed_relays_status(struct managed *m)
{
	uint32_t rtt[RELAY_CHOICE_MAX] = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < m->relays.count; i++) {
		const struct managed_relay *r = &m->relays.r[i];
		rtt[r->info.id] = r->rtt_us;
		if ((size_t)r->info.id + 1 > n)
			n = (size_t)r->info.id + 1;
	}
	int home = relay_home_update(&m->relays.home, rtt, n);
	m->st.relays_count = (uint8_t)m->relays.count;
	m->st.relay_ticket = m->relays.ticket_len != 0;
	for (size_t i = 0; i < m->relays.count; i++) {
		const struct managed_relay *r = &m->relays.r[i];
		struct managed_relay_status *s = &m->st.relays[i];
		s->id = r->info.id;
		memcpy(s->region, r->info.region, sizeof(s->region));
		s->rtt_us = r->rtt_us;
		s->home = home == (int)r->info.id;
		s->have_key = r->info.id == 0 || r->have_key;
	}
}
