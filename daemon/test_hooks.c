/* Protocol timing overrides for tests: REKEY_AFTER_TIME and friends are
 * minutes long, too slow for a test suite. Compiled in only with
 * -Dtest_hooks=true; a release roamd warns and ignores them. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/relaylink/relaylink.h"
#include "daemon/roamd.h"
#include "util/log.h"

struct hook {
	const char *env;
	size_t offset;
	bool seconds; /* value in (fractional) seconds, stored as ns */
};

#define HOOK(name, field, sec) { name, offsetof(struct wg_timing, field), sec }

static const struct hook hooks[] = {
	HOOK("ROAM_TEST_REKEY_AFTER_TIME", rekey_after_time, true),
	HOOK("ROAM_TEST_REJECT_AFTER_TIME", reject_after_time, true),
	HOOK("ROAM_TEST_REKEY_ATTEMPT_TIME", rekey_attempt_time, true),
	HOOK("ROAM_TEST_REKEY_TIMEOUT", rekey_timeout, true),
	HOOK("ROAM_TEST_KEEPALIVE_TIMEOUT", keepalive_timeout, true),
	HOOK("ROAM_TEST_REKEY_AFTER_MESSAGES", rekey_after_messages, false),
	HOOK("ROAM_TEST_REJECT_AFTER_MESSAGES", reject_after_messages, false),
};

#ifdef ROAM_TEST_HOOKS
/* ROAM_TEST_EPHEMERAL_PRIVATE_KEY fixes every 32-byte draw (the handshake
 * ephemeral keys) so a capture against wireguard-go can be replayed offline
 * as a known-answer test (tests/vectors/). Other draws stay random. */
static uint8_t fixed_ephemeral[32];

static void fixed_ephemeral_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	if (len == sizeof(fixed_ephemeral))
		memcpy(buf, fixed_ephemeral, len);
	else
		randombytes_buf(buf, len);
}

static void apply_ephemeral_hook(struct wg_device_ops *ops)
{
	const char *v = getenv("ROAM_TEST_EPHEMERAL_PRIVATE_KEY");
	size_t len = 0;
	if (!v)
		return;
	if (sodium_base642bin(fixed_ephemeral, sizeof(fixed_ephemeral), v, strlen(v), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32) {
		log_warn("ignoring ROAM_TEST_EPHEMERAL_PRIVATE_KEY: not a base64 key");
		return;
	}
	ops->random = fixed_ephemeral_random;
	log_warn("test hook ROAM_TEST_EPHEMERAL_PRIVATE_KEY in effect: handshakes are NOT secure");
}
#else
static void apply_ephemeral_hook(struct wg_device_ops *ops)
{
	(void)ops;
	if (getenv("ROAM_TEST_EPHEMERAL_PRIVATE_KEY"))
		log_warn("ignoring ROAM_TEST_EPHEMERAL_PRIVATE_KEY: this roamd was built without test hooks");
}
#endif

void roamd_apply_test_hooks(struct wg_device_ops *ops, struct wg_timing *timing)
{
	struct wg_timing t = *timing;
	bool any = false;
	apply_ephemeral_hook(ops);
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		const char *v = getenv(hooks[i].env);
		if (!v)
			continue;
#ifdef ROAM_TEST_HOOKS
		char *end;
		errno = 0;
		double x = strtod(v, &end);
		if (errno || *end || x <= 0) {
			log_warn("ignoring %s=%s: not a positive number", hooks[i].env, v);
			continue;
		}
		*(uint64_t *)((char *)&t + hooks[i].offset) = hooks[i].seconds ? (uint64_t)(x * 1e9) : (uint64_t)x;
		log_warn("test hook %s=%s in effect", hooks[i].env, v);
		any = true;
#else
		log_warn("ignoring %s: this roamd was built without test hooks", hooks[i].env);
#endif
	}
	const char *load = getenv("ROAM_TEST_HANDSHAKE_LOAD_THRESHOLD");
	if (load) {
#ifdef ROAM_TEST_HOOKS
		t.handshake_load_threshold = (uint32_t)strtoul(load, NULL, 10);
		log_warn("test hook ROAM_TEST_HANDSHAKE_LOAD_THRESHOLD=%s in effect", load);
		any = true;
#else
		log_warn("ignoring ROAM_TEST_HANDSHAKE_LOAD_THRESHOLD: built without test hooks");
#endif
	}
	if (any)
		*timing = t;
}

/* ROAMD_TEST_RELAY_LINK=tls|websocket|long-poll: that relay link only, never
 * the UDP relay nor another kind, so tests and bench/relay.sh measure each. */
bool relaylink_test_short_polls(void)
{
	const char *v = getenv("ROAMD_TEST_RELAY_POLL");
	if (!v || strcmp(v, "short") != 0)
		return false;
#ifdef ROAM_TEST_HOOKS
	log_warn("test hook ROAMD_TEST_RELAY_POLL in effect: the long-poll link uses short polls only");
	return true;
#else
	log_warn("ignoring ROAMD_TEST_RELAY_POLL: a release build has no test hooks");
	return false;
#endif
}

enum managed_relay_link relaylink_test_forced(void)
{
	const char *v = getenv("ROAMD_TEST_RELAY_LINK");
	if (!v || !*v)
		return MANAGED_RELAY_LINK_NONE;
#ifdef ROAM_TEST_HOOKS
	for (int k = MANAGED_RELAY_LINK_TLS; k < MANAGED_RELAY_LINK_COUNT; k++)
		if (strcmp(v, managed_relay_link_name((enum managed_relay_link)k)) == 0) {
			log_warn("test hook ROAMD_TEST_RELAY_LINK in effect: the relay link is %s only", v);
			return (enum managed_relay_link)k;
		}
	log_warn("ignoring ROAMD_TEST_RELAY_LINK=%s: not tls, websocket or long-poll", v);
#else
	log_warn("ignoring ROAMD_TEST_RELAY_LINK: a release build has no test hooks");
#endif
	return MANAGED_RELAY_LINK_NONE;
}
