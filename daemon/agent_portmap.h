/* Port mapping in the agent (docs/architecture.md, "Port mapping"): the
 * blocking calls of daemon/portmap run on one worker thread; the agent's
 * event loop hears of each result through an eventfd. Map the tunnels' UDP
 * port when the node joins, renew at portmap_renew_at_ms, delete on `roam
 * down` and on a clean stop. The result goes into the status (netcheck's
 * portmap fields), and a mapping goes to the server with our endpoints, so
 * peers get it as a candidate. */
#ifndef ROAM_DAEMON_AGENT_PORTMAP_H
#define ROAM_DAEMON_AGENT_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>

struct managed;
struct agent_portmap;

/* 0, or -errno (no thread: port mapping stays off, the rest works). */
int agent_portmap_new(struct managed *m, uint16_t port, struct agent_portmap **out);
/* Map (or map again) now. */
void agent_portmap_start(struct agent_portmap *pm);
/* Delete the mapping (roam down); the worker stays for a later start. */
void agent_portmap_delete(struct agent_portmap *pm);
/* Deletes any mapping (waiting up to about 2 s) and ends the thread. NULL ok. */
void agent_portmap_free(struct agent_portmap *pm);

#endif
