/* Port mapping: ask the local router for an external UDP mapping of the
 * tunnel's port, through PCP (RFC 6887), NAT-PMP (RFC 6886, libnatpmp) or
 * UPnP-IGD (libminiupnpc), renew it before it expires and delete it on stop.
 *
 * BLOCKING: portmap_start, portmap_renew and portmap_stop wait on the
 * network: PCP and NAT-PMP for up to config.timeout_ms each, UPnP-IGD for its
 * SSDP discovery (config.upnp_discover_ms, 2 s by default) plus SOAP calls
 * over HTTP (libminiupnpc's own socket timeouts, seconds each). The caller
 * must run them off the event loop (a thread, or the unprivileged agent's
 * own worker); this module starts no thread itself.
 * libminiupnpc writes to TCP sockets: the process must ignore SIGPIPE (roamd
 * and its agent do).
 *
 * Order: PCP, then NAT-PMP, then UPnP-IGD, one after the other, stopping at
 * the first that maps (see docs/architecture.md, "Port mapping", for why).
 * Between calls the module holds no heap memory and no socket: all its
 * state is in struct portmap, which the caller owns. */
#ifndef ROAM_PORTMAP_H
#define ROAM_PORTMAP_H

#include <netinet/in.h>
#include <stdint.h>

enum portmap_proto {
	PORTMAP_NONE = 0,
	PORTMAP_PCP = 1,
	PORTMAP_NATPMP = 2,
	PORTMAP_UPNP = 3,
};
#define PORTMAP_ALL ((1u << PORTMAP_PCP) | (1u << PORTMAP_NATPMP) | (1u << PORTMAP_UPNP))

struct portmap_config {
	uint16_t internal_port; /* the tunnel's UDP port, host order */
	uint32_t lifetime; /* requested, seconds (> 0) */
	unsigned protocols; /* mask of 1u << enum portmap_proto; 0 means PORTMAP_ALL */
	struct in_addr gateway; /* PCP/NAT-PMP server; INADDR_ANY: the default route's gateway */
	int timeout_ms; /* per PCP or NAT-PMP exchange; 0: 1000 */
	int upnp_discover_ms; /* whole SSDP wait (two searches, half each); 0: 2000 */
};

struct portmap_result {
	enum portmap_proto proto; /* PORTMAP_NONE: no mapping, see error */
	struct in_addr external_addr;
	uint16_t external_port;
	uint32_t lifetime; /* granted, seconds; 0: until deleted (UPnP permanent lease) */
	/* UPnP only: the IGD said it is not connected (UPNP_GetValidIGD() == 2),
	 * e.g. behind a carrier NAT: the mapping may open nothing, so the caller
	 * must verify the external endpoint from outside before relying on it. */
	int needs_verification;
	char error[256]; /* why each protocol tried failed, "pcp: ...; nat-pmp: ..." */
};

struct portmap {
	struct portmap_config config;
	struct portmap_result result;
	uint64_t mapped_at_ms; /* CLOCK_MONOTONIC, when the mapping was last made or renewed */
	uint32_t client_addr_be; /* our LAN address, as the router sees it */
	uint8_t pcp_nonce[12]; /* PCP renews and deletes only with the nonce that mapped */
	char upnp_control_url[512];
	char upnp_service_type[128];
	char upnp_lan_addr[64];
};

/* Zeroes pm and keeps config. Does no I/O. */
void portmap_init(struct portmap *pm, const struct portmap_config *config);

/* Tries each enabled protocol in turn (blocking, see above). 0 and
 * pm->result filled; or -ENOENT (no protocol mapped: pm->result.error says
 * why), -EINVAL (bad config). */
int portmap_start(struct portmap *pm);

/* When to call portmap_renew: half the granted lifetime after the mapping
 * was made (RFC 6887 11.2.1 and RFC 6886 3.3 both say renew before expiry;
 * half leaves room for a lost request and a retry); 0 if nothing is mapped. */
uint64_t portmap_renew_at_ms(const struct portmap *pm);

/* Renews with the same protocol (blocking). 0, or a negative errno with
 * pm->result.error set; the caller may then portmap_start again. */
int portmap_renew(struct portmap *pm);

/* Deletes the mapping (blocking, best effort: one exchange) and forgets it.
 * Safe to call when nothing is mapped. Returns 0 or a negative errno. */
int portmap_stop(struct portmap *pm);

const char *portmap_proto_name(enum portmap_proto proto);
/* "pcp", "natpmp", "upnp" -> enum; PORTMAP_NONE if unknown. */
enum portmap_proto portmap_proto_from_name(const char *name);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t portmap_now_ms(void);

#endif
