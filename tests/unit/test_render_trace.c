/* `roam trace` (cli/render_trace.c) and the tamper lines of `roam status`:
 * from a status reply, each path's segments in order, the NAT's mapping
 * from the peer's PONGs or else the server's BINDING (default-route paths
 * only), the relay with its round trip; duplicates, which path's copy came
 * first, replays, bad packets and the last quarantine for people. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/cli.h"

static const char status[] =
	"{\"managed\":{\"name\":\"m1\",\"server\":\"https://203.0.113.1:8443\",\"relay_link\":\"udp\","
	"\"relay_link_rtt_ms\":0.27,\"public_endpoint\":\"203.0.113.11:4716\",\"relays\":[{\"id\":0,\"rtt_ms\":0.3}]},"
	"\"peers\":[{\"name\":\"c1\",\"duplicates_received\":400,\"replays\":2,"
	"\"last_quarantine\":{\"path\":6,\"ago_ms\":5000},\"paths\":["
	"{\"id\":1,\"transport\":\"relay-udp\",\"address\":\"relay:2\",\"state\":\"standby\",\"rtt_ms\":1.9,"
	"\"local\":{\"interface\":\"eth-a\",\"address\":\"10.1.0.12\"}},"
	"{\"id\":6,\"transport\":\"udp-aux\",\"address\":\"aux0:203.0.113.13:2668\",\"state\":\"quarantined\","
	"\"interface\":\"eth-a\",\"bad_packets\":100,\"quarantine_left_ms\":3000,\"copies_won\":300,"
	"\"mapping\":\"203.0.113.11:5630\",\"local\":{\"interface\":\"eth-a\",\"address\":\"10.1.0.12\"}},"
	"{\"id\":7,\"transport\":\"udp-aux\",\"address\":\"aux1:203.0.113.13:2668\",\"state\":\"active\","
	"\"interface\":\"eth-b\",\"copies_won\":100,\"rtt_ms\":0.6}]}]}";

static const char *hop(const cJSON *path, int i, const char *field)
{
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(path, "segments"), i);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, field);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static char *render(void (*fn)(FILE *out, const cJSON *value), const cJSON *value)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fn(f, value);
	fclose(f);
	return text;
}

static void test_trace(void)
{
	cJSON *root = cJSON_Parse(status);
	CHECK(cli_trace_build(root, "nobody") == NULL);
	CHECK(cli_trace_build(root, "m1") == NULL); /* ourselves */
	cJSON *t = cli_trace_build(root, "c1");
	CHECK(t != NULL);
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(t, "paths");
	CHECK_EQ(cJSON_GetArraySize(paths), 3);
	const cJSON *relay = cJSON_GetArrayItem(paths, 0), *q = cJSON_GetArrayItem(paths, 1), *b = cJSON_GetArrayItem(paths, 2);
	CHECK(eq(hop(relay, 0, "hop"), "local") && eq(hop(relay, 0, "address"), "10.1.0.12"));
	CHECK(eq(hop(relay, 1, "address"), "203.0.113.11:4716") && eq(hop(relay, 1, "seen_by"), "server"));
	CHECK(eq(hop(relay, 2, "hop"), "relay") && eq(hop(relay, 2, "address"), "https://203.0.113.1:8443"));
	CHECK(eq(hop(relay, 3, "hop"), "peer"));
	CHECK(eq(hop(q, 1, "address"), "203.0.113.11:5630") && eq(hop(q, 1, "seen_by"), "peer"));
	CHECK(hop(b, 1, "address") == NULL); /* an interface's path: not the server's BINDING */
	char *text = render(cli_render_trace, t);
	CHECK(strstr(text, "trace to c1, 3 paths") != NULL);
	CHECK(strstr(text, "relay 0 at https://203.0.113.1:8443 over udp") != NULL);
	CHECK(strstr(text, "0.30 ms to the server") != NULL);
	CHECK(strstr(text, "peer 203.0.113.13:2668") != NULL);
	CHECK(strstr(text, "1.90 ms end to end") != NULL);
	free(text);
	text = render(cli_render_status, root);
	CHECK(strstr(text, "copies received: 400 duplicates (first: path 6 75%, path 7 25%)") != NULL);
	CHECK(strstr(text, "replays: 2") != NULL);
	CHECK(strstr(text, "bad packets 100 (retried in 3 s)") != NULL);
	CHECK(strstr(text, "last quarantine: path 6, 5 s ago") != NULL);
	free(text);
	cJSON_Delete(t);
	cJSON_Delete(root);
}

int main(void)
{
	test_trace();
	return check_report("test_render_trace");
}
