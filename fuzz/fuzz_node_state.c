/* Fuzzes the parsers of a managed node's files (daemon/node_state.c):
 * state.json and node.key, as node_state_load() reads them (at most 64 KiB),
 * and settings.json (daemon/node_settings.c, also `roam set`'s request).
 * Whatever parses must be in range and encode back to what was read. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "daemon/node_settings.h"
#include "daemon/node_state.h"
#include "fuzz/fuzz.h"

static void check_state(const char *text, size_t len)
{
	struct node_state st, before;
	struct coord_token again;
	char token[COORD_TOKEN_STRLEN + 1];

	/* As node_state_load() calls it: zeroed, the key already read. */
	memset(&st, 0, sizeof(st));
	memset(st.private_key, 0x5a, sizeof(st.private_key));
	before = st;
	if (node_state_parse(text, len, &st) < 0) {
		if (memcmp(&st, &before, sizeof(st)) != 0) /* nothing written on error */
			abort();
		return;
	}
	if (memcmp(st.private_key, before.private_key, sizeof(st.private_key)) != 0)
		abort();
	if (!memchr(st.server_url, '\0', sizeof(st.server_url)) || !memchr(st.name, '\0', sizeof(st.name)))
		abort();
	/* The servers' list: capped, each an https:// URL. */
	if (st.servers.count > COORD_SERVERS_MAX)
		abort();
	for (size_t i = 0; i < st.servers.count; i++)
		if (!memchr(st.servers.url[i], '\0', sizeof(st.servers.url[i])) || strncmp(st.servers.url[i], "https://", 8) != 0)
			abort();
	/* The token must survive the next node_state_save(). */
	if (coord_token_encode(&st.token, token, sizeof(token)) < 0 || coord_token_decode(token, &again) < 0 ||
	    memcmp(&again, &st.token, sizeof(again)) != 0)
		abort();
	node_state_wipe(&st);
}

static void check_key(const char *text, size_t len)
{
	uint8_t key[32], before[32];
	char b64[CRYPTO_KEY_B64_LEN + 1];

	memset(key, 0xa5, sizeof(key));
	memcpy(before, key, sizeof(key));
	if (node_key_parse(text, len, key) < 0) {
		if (memcmp(key, before, sizeof(key)) != 0)
			abort();
		return;
	}
	/* Only the canonical encoding of a key is accepted. */
	crypto_key_to_base64(b64, key);
	if (len < CRYPTO_KEY_B64_LEN || memcmp(b64, text, CRYPTO_KEY_B64_LEN) != 0)
		abort();
	crypto_wipe(key, sizeof(key));
}

static bool same_tuning(const struct path_tuning *a, const struct path_tuning *b)
{
	return a->suspect_min_ns == b->suspect_min_ns && a->suspect_rtt_mult == b->suspect_rtt_mult &&
	       a->loss_enter_permille == b->loss_enter_permille && a->loss_leave_permille == b->loss_leave_permille &&
	       a->rtt_enter_ns == b->rtt_enter_ns && a->rtt_leave_ns == b->rtt_leave_ns;
}

static void check_settings(const char *text, size_t len)
{
	struct node_settings s, again;
	char why[200];
	node_settings_default(&s);
	node_settings_default(&again);
	if (node_settings_merge_text(&s, text, len, why, sizeof(why)) < 0) {
		if (s.n_ifaces || !same_tuning(&s.tuning, &again.tuning)) /* nothing changes on error */
			abort();
		return;
	}
	if (s.n_ifaces > NODE_SETTINGS_IFACES || path_tuning_check(&s.tuning) < 0)
		abort();
	for (unsigned i = 0; i < s.n_ifaces; i++)
		if (!memchr(s.ifaces[i].name, '\0', sizeof(s.ifaces[i].name)) || s.ifaces[i].cost_ms < -1 ||
		    s.ifaces[i].cost_ms > NODE_SETTINGS_COST_MAX_MS)
			abort();
	/* What settings.json would hold reads back the same. */
	cJSON *j = node_settings_json(&s);
	char *out = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!out)
		return;
	if (node_settings_merge_text(&again, out, strlen(out), why, sizeof(why)) < 0 || again.n_ifaces != s.n_ifaces ||
	    !same_tuning(&again.tuning, &s.tuning))
		abort();
	/* Application classes in the same order, and per-peer policies. */
	if (again.n_classes != s.n_classes || s.n_classes > PATH_CLASS_MAX || again.builtin_deleted != s.builtin_deleted ||
	    again.n_peers != s.n_peers || again.policy != s.policy)
		abort();
	for (unsigned i = 0; i < s.n_classes; i++) {
		const struct path_class_rule *a = &again.classes[i], *b = &s.classes[i];
		if (path_class_rule_check(b) < 0 || strcmp(a->name, b->name) != 0 || a->proto != b->proto ||
		    a->dscp != b->dscp || a->port_lo != b->port_lo || a->port_hi != b->port_hi || a->policy != b->policy)
			abort();
	}
	for (unsigned i = 0; i < s.n_peers; i++)
		if (node_settings_peer_policy(&again, s.peers[i].name) != s.peers[i].policy)
			abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024) /* STATE_FILE_MAX: larger files are refused unread */
		return 0;
	check_state((const char *)data, size);
	check_key((const char *)data, size);
	check_settings((const char *)data, size);
	return 0;
}
