/* The node's own settings (`roam set`, issue 13): interface costs and
 * metering, and the check's thresholds. Kept in the state directory as
 * settings.json (0600, replaced atomically like state.json) apart from the
 * membership, so they survive `roam down` and apply before the first
 * `roam up`; applied live to every peer's paths (daemon/paths/).
 *
 * One JSON shape for the file and for a `roam set` request's "settings":
 *   {"interfaces": {"wwan0": {"cost_ms": 10, "metered": true}},
 *    "tuning": {"suspect_min_ms": 100, "loss_enter": 300, "loss_leave": 125,
 *               "rtt_enter_ms": 1500, "rtt_leave_ms": 1000},
 *    "policy": "latency"|"cost"|"redundant"|"bandwidth", "handover": "auto"|"confirm",
 *    "classes": {"voip": {"proto": "udp", "ports": "16384-32767", "dscp": 46,
 *                         "policy": "redundant"}, "ssh": null},
 *    "peers": {"laptop": "redundant", "phone": null},
 *    "reset": true}
 * A request names only what changes; "cost_ms": null gives an interface its
 * class's cost again; "reset" (requests only) starts from the defaults.
 *
 * Application classes (lib/path/path_class.h): a class given is defined
 * anew (absent fields: any); null deletes one. They are tried in order,
 * the first match wins: a new class goes after the user's own and before
 * the built-in ones (voip, voip-ef, ssh, bulk), so that a user's rule
 * always wins over a default; a built-in deleted is saved as null, so it
 * stays deleted. "peers": a peer's policy by its name, over the node's
 * ("policy"); null: the node's again. A packet's policy: its class's,
 * else its peer's, else the node's. */
#ifndef ROAM_DAEMON_NODE_SETTINGS_H
#define ROAM_DAEMON_NODE_SETTINGS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/path.h"
#include "path/path_class.h"

#define NODE_SETTINGS_IFACES 16   /* interfaces with a setting */
#define NODE_SETTINGS_COST_MAX_MS 10000
#define NODE_SETTINGS_COST_CLASS (-1) /* the interface class's cost */
#define NODE_SETTINGS_PEERS 64  /* peers with a policy of their own */
#define NODE_SETTINGS_PEER_NAME_MAX 64 /* with the NUL: a node name's 63 bytes */

struct node_iface_setting {
	char name[IF_NAMESIZE];
	int32_t cost_ms; /* NODE_SETTINGS_COST_CLASS or 0..NODE_SETTINGS_COST_MAX_MS */
	bool metered;    /* as a cellular interface: standbys probed every 60 s */
};

struct node_peer_setting {
	char name[NODE_SETTINGS_PEER_NAME_MAX];
	enum path_policy policy;
};

struct node_settings {
	unsigned n_ifaces;
	struct node_iface_setting ifaces[NODE_SETTINGS_IFACES];
	struct path_tuning tuning; /* path_tuning_default() unless set */
	enum path_policy policy;   /* every peer's (PATH_POLICY_LATENCY) */
	bool confirm;              /* "handover": "confirm": better paths wait for `roam path use` */
	unsigned n_classes;        /* application classes, in the order they are tried */
	struct path_class_rule classes[PATH_CLASS_MAX];
	uint32_t builtin_deleted;  /* bit i: node_settings_builtin(i) deleted by the user */
	unsigned n_peers;
	struct node_peer_setting peers[NODE_SETTINGS_PEERS];
};

typedef struct cJSON cJSON;

void node_settings_default(struct node_settings *s);
/* Merges obj (the shape above) into *s, checked as a whole: on error (-EINVAL,
 * the reason in why) *s is unchanged. */
int node_settings_merge(struct node_settings *s, const cJSON *obj, char *why, size_t why_size);
/* The same from JSON text (a file's, a request's). */
int node_settings_merge_text(struct node_settings *s, const char *text, size_t len, char *why, size_t why_size);
/* The shape above, every value given (no "reset"); NULL: no memory. */
cJSON *node_settings_json(const struct node_settings *s);
/* The policy for the peer called name: its own, else the node's. */
enum path_policy node_settings_peer_policy(const struct node_settings *s, const char *name);
/* The built-in classes, i from 0; NULL past the last. */
const struct path_class_rule *node_settings_builtin(unsigned i);
/* name's setting, NULL if it has none. */
const struct node_iface_setting *node_settings_iface(const struct node_settings *s, const char *name);

/* dir/settings.json: missing = the defaults; damaged = an error (why). */
int node_settings_load(const char *dir, struct node_settings *s, char *why, size_t why_size);
int node_settings_save(const char *dir, const struct node_settings *s);

#endif
