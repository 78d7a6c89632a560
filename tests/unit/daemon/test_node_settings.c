/* `roam set`'s settings (daemon/node_settings.c): merged, checked as a
 * whole, saved and loaded again. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/node_settings.h"

#define MS 1000000ull

/* Field by field: memcmp would read the padding after suspect_rtt_mult. */
static bool same(const struct path_tuning *a, const struct path_tuning *b)
{
	return a->suspect_min_ns == b->suspect_min_ns && a->suspect_rtt_mult == b->suspect_rtt_mult &&
	       a->loss_enter_permille == b->loss_enter_permille && a->loss_leave_permille == b->loss_leave_permille &&
	       a->rtt_enter_ns == b->rtt_enter_ns && a->rtt_leave_ns == b->rtt_leave_ns;
}

static int merge(struct node_settings *s, const char *json)
{
	char why[200];
	return node_settings_merge_text(s, json, strlen(json), why, sizeof(why));
}

static void test_merge(void)
{
	struct node_settings s;
	struct path_tuning def;
	path_tuning_default(&def);
	node_settings_default(&s);
	CHECK(same(&s.tuning, &def));
	CHECK_EQ(merge(&s, "{\"tuning\":{\"suspect_min_ms\":250,\"loss_enter\":400,\"loss_leave\":100,"
			   "\"rtt_enter_ms\":900,\"rtt_leave_ms\":600}}"), 0);
	CHECK_EQ(s.tuning.suspect_min_ns, 250 * MS);
	CHECK_EQ(s.tuning.loss_enter_permille, 400);
	CHECK_EQ(s.tuning.loss_leave_permille, 100);
	CHECK_EQ(s.tuning.rtt_enter_ns, 900 * MS);
	CHECK_EQ(s.tuning.rtt_leave_ns, 600 * MS);
	CHECK_EQ(s.tuning.suspect_rtt_mult, def.suspect_rtt_mult);

	CHECK_EQ(merge(&s, "{\"interfaces\":{\"wwan0\":{\"cost_ms\":10},\"eth-b\":{\"metered\":true}}}"), 0);
	CHECK_EQ(s.n_ifaces, 2);
	CHECK_EQ(node_settings_iface(&s, "wwan0")->cost_ms, 10);
	CHECK(!node_settings_iface(&s, "wwan0")->metered);
	CHECK_EQ(node_settings_iface(&s, "eth-b")->cost_ms, NODE_SETTINGS_COST_CLASS);
	CHECK(node_settings_iface(&s, "eth-b")->metered);
	/* Back to nothing set: forgotten. */
	CHECK_EQ(merge(&s, "{\"interfaces\":{\"wwan0\":{\"cost_ms\":null}}}"), 0);
	CHECK(!node_settings_iface(&s, "wwan0"));
	CHECK_EQ(s.n_ifaces, 1);

	CHECK_EQ(s.policy, PATH_POLICY_LATENCY);
	CHECK_EQ(merge(&s, "{\"policy\":\"redundant\"}"), 0);
	CHECK_EQ(s.policy, PATH_POLICY_REDUNDANT);
	CHECK_EQ(merge(&s, "{\"policy\":\"bogus\"}"), -EINVAL);
	CHECK_EQ(merge(&s, "{\"policy\":1}"), -EINVAL);
	CHECK_EQ(s.policy, PATH_POLICY_REDUNDANT);

	/* Refused as a whole: nothing changes. */
	struct node_settings before = s;
	static const char *const bad[] = {
		"[]", "{\"tuning\":{\"loss_leave\":500}}", /* leave above enter */
		"{\"tuning\":{\"bogus\":1}}", "{\"tuning\":{\"rtt_enter_ms\":99999999}}",
		"{\"tuning\":{\"loss_enter\":-1}}", "{\"tuning\":{\"suspect_min_ms\":0}}",
		"{\"tuning\":{\"loss_enter\":1.5}}", "{\"interfaces\":{\"a/b\":{\"cost_ms\":1}}}",
		"{\"interfaces\":{\"averyveryverylongname\":{}}}", "{\"interfaces\":{\"x\":{\"cost_ms\":10001}}}",
		"{\"interfaces\":{\"x\":{\"metered\":1}}}", "{\"interfaces\":[]}",
		"{\"interfaces\":{\"eth9\":{\"cost_ms\":5}},\"tuning\":{\"loss_leave\":999}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(merge(&s, bad[i]), -EINVAL);
		CHECK(same(&s.tuning, &before.tuning));
		CHECK_EQ(s.n_ifaces, before.n_ifaces);
	}
	/* At most NODE_SETTINGS_IFACES interfaces. */
	CHECK_EQ(merge(&s, "{\"reset\":true}"), 0);
	for (int i = 0; i <= NODE_SETTINGS_IFACES; i++) {
		char j[96];
		snprintf(j, sizeof(j), "{\"interfaces\":{\"if%d\":{\"cost_ms\":%d}}}", i, i);
		CHECK_EQ(merge(&s, j), i < NODE_SETTINGS_IFACES ? 0 : -EINVAL);
	}
	CHECK_EQ(s.n_ifaces, NODE_SETTINGS_IFACES);
	CHECK_EQ(merge(&s, "{\"reset\":true}"), 0);
	CHECK_EQ(s.n_ifaces, 0);
	CHECK(same(&s.tuning, &def));
	CHECK_EQ(s.policy, PATH_POLICY_LATENCY);
}

static void test_save_load(void)
{
	char dir[] = "/tmp/test_node_settings.XXXXXX", why[300], path[64];
	struct node_settings s, back;
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(node_settings_load(dir, &back, why, sizeof(why)), 0); /* missing: the defaults */
	CHECK_EQ(back.n_ifaces, 0);
	node_settings_default(&s);
	CHECK_EQ(merge(&s, "{\"interfaces\":{\"eth-b\":{\"cost_ms\":5,\"metered\":true},\"wlan0\":{\"metered\":true}},"
			   "\"tuning\":{\"rtt_enter_ms\":800,\"rtt_leave_ms\":700}}"), 0);
	CHECK_EQ(node_settings_save(dir, &s), 0);
	CHECK_EQ(node_settings_load(dir, &back, why, sizeof(why)), 0);
	CHECK_EQ(back.n_ifaces, 2);
	CHECK_EQ(node_settings_iface(&back, "eth-b")->cost_ms, 5);
	CHECK(node_settings_iface(&back, "eth-b")->metered);
	CHECK_EQ(node_settings_iface(&back, "wlan0")->cost_ms, NODE_SETTINGS_COST_CLASS);
	CHECK(same(&back.tuning, &s.tuning));
	CHECK_EQ(back.policy, PATH_POLICY_LATENCY);
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{\"tuning\":{\"loss_enter\":5000}}", f);
		fclose(f);
	}
	CHECK(node_settings_load(dir, &back, why, sizeof(why)) < 0);
	CHECK(strstr(why, "damaged") != NULL);
	unlink(path);
	rmdir(dir);
}

static const char *class_names(const struct node_settings *s, char *buf, size_t size)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < s->n_classes; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "," : "", s->classes[i].name);
	return buf;
}

/* Application classes and per-peer policies: the built-ins by default,
 * the user's before them, deletions that survive a save, bad input
 * refused with nothing changed. */
static void test_classes(void)
{
	struct node_settings s, before, back;
	char names[400], why[200], dir[] = "/tmp/roam-settings-classes-XXXXXX";
	node_settings_default(&s);
	CHECK(strcmp(class_names(&s, names, sizeof(names)), "voip,voip-ef,ssh,bulk") == 0);
	CHECK_EQ(merge(&s, "{\"classes\":{\"game\":{\"proto\":\"udp\",\"ports\":\"5000-5100\","
			   "\"policy\":\"redundant\"},\"web\":{\"proto\":\"tcp\",\"ports\":443,\"dscp\":10,"
			   "\"policy\":\"bandwidth\"},\"ssh\":{\"proto\":\"tcp\",\"ports\":\"2222\","
			   "\"policy\":\"latency\"},\"voip-ef\":null}}"), 0);
	CHECK(strcmp(class_names(&s, names, sizeof(names)), "game,web,voip,ssh,bulk") == 0);
	CHECK(s.classes[0].proto == 17 && s.classes[0].port_lo == 5000 && s.classes[0].port_hi == 5100 &&
	      s.classes[0].dscp == -1 && s.classes[0].policy == PATH_POLICY_REDUNDANT);
	CHECK(s.classes[1].port_lo == 443 && s.classes[1].port_hi == 443 && s.classes[1].dscp == 10);
	CHECK(s.classes[3].port_lo == 2222); /* redefined in place */
	CHECK_EQ(merge(&s, "{\"peers\":{\"laptop\":\"redundant\",\"phone\":\"cost\"},\"policy\":\"bandwidth\"}"),
		 0);
	CHECK_EQ(node_settings_peer_policy(&s, "laptop"), PATH_POLICY_REDUNDANT);
	CHECK_EQ(node_settings_peer_policy(&s, "nobody"), PATH_POLICY_BANDWIDTH);
	CHECK_EQ(node_settings_peer_policy(&s, ""), PATH_POLICY_BANDWIDTH);
	CHECK_EQ(merge(&s, "{\"peers\":{\"phone\":null}}"), 0);
	CHECK_EQ(s.n_peers, 1);
	/* Refused as a whole: nothing changes. */
	before = s;
	const char *bad[] = {
		"{\"classes\":{\"x\":{\"proto\":\"udp\"}}}",                  /* no policy */
		"{\"classes\":{\"x\":{\"proto\":\"sctp\",\"policy\":\"cost\"}}}",
		"{\"classes\":{\"x\":{\"ports\":\"9-1\",\"policy\":\"cost\"}}}",
		"{\"classes\":{\"x\":{\"dscp\":64,\"policy\":\"cost\"}}}",
		"{\"classes\":{\"x\":{\"policy\":\"fast\"}}}",
		"{\"classes\":{\"x\":{\"colour\":\"red\",\"policy\":\"cost\"}}}",
		"{\"classes\":{\"Bad Name\":{\"policy\":\"cost\"}}}",
		"{\"classes\":{\"a-name-far-too-long-for-it\":{\"policy\":\"cost\"}}}",
		"{\"classes\":{\"nosuch\":null}}",
		"{\"classes\":[1]}",
		"{\"classes\":{\"x\":1}}",
		"{\"peers\":{\"laptop\":\"fast\"}}",
		"{\"peers\":{\"a b\":\"cost\"}}",
		"{\"peers\":[]}",
		"{\"classes\":{\"ok\":{\"policy\":\"cost\"}},\"policy\":\"fast\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(node_settings_merge_text(&s, bad[i], strlen(bad[i]), why, sizeof(why)) == -EINVAL);
		CHECK(why[0] != '\0');
		CHECK(memcmp(&s, &before, sizeof(s)) == 0);
	}
	/* The cap. */
	char req[128];
	int added = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(req, sizeof(req), "{\"classes\":{\"c%d\":{\"ports\":%d,\"policy\":\"cost\"}}}", i, 1000 + i);
		added += merge(&s, req) == 0;
	}
	CHECK_EQ(added, PATH_CLASS_MAX - 5);
	CHECK_EQ(s.n_classes, PATH_CLASS_MAX);
	/* Saved and loaded: order, definitions, deletions, peers. */
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(node_settings_save(dir, &s), 0);
	CHECK_EQ(node_settings_load(dir, &back, why, sizeof(why)), 0);
	CHECK_EQ(back.n_classes, s.n_classes);
	CHECK(memcmp(back.classes, s.classes, sizeof(s.classes)) == 0);
	CHECK_EQ(back.builtin_deleted, 2u);
	CHECK_EQ(back.n_peers, 1);
	CHECK_EQ(node_settings_peer_policy(&back, "laptop"), PATH_POLICY_REDUNDANT);
	CHECK_EQ(back.policy, PATH_POLICY_BANDWIDTH);
	/* A built-in defined again goes back to its place among the others,
	 * and stays there across a save. */
	CHECK_EQ(merge(&back, "{\"classes\":{\"voip-ef\":{\"dscp\":46,\"policy\":\"latency\"}}}"), -EINVAL); /* full */
	CHECK_EQ(merge(&back, "{\"classes\":{\"c0\":null,\"ssh\":null,\"ssh\":{\"proto\":\"tcp\",\"ports\":22,"
			      "\"policy\":\"redundant\"},\"voip-ef\":{\"dscp\":46,\"policy\":\"latency\"}}}"), 0);
	CHECK(strstr(class_names(&back, names, sizeof(names)), ",c26,voip,voip-ef,ssh,bulk") != NULL);
	CHECK_EQ(node_settings_save(dir, &back), 0);
	CHECK_EQ(node_settings_load(dir, &s, why, sizeof(why)), 0);
	CHECK(memcmp(back.classes, s.classes, sizeof(s.classes)) == 0);
	CHECK_EQ(s.builtin_deleted, 0u);
	/* A built-in comes back when defined again, or with reset. */
	CHECK_EQ(merge(&back, "{\"reset\":true}"), 0);
	CHECK(strcmp(class_names(&back, names, sizeof(names)), "voip,voip-ef,ssh,bulk") == 0);
	CHECK_EQ(back.n_peers, 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_merge();
	test_save_load();
	test_classes();
	return check_report("test_node_settings");
}
