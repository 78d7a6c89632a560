/* `roam status` for people (cli/render.c): a peer with paths shows how it
 * is reached in its heading, the active path and since when, and every
 * candidate with its state; without paths (static mode) the endpoint. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/cli.h"

static char *render(const char *json)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = cJSON_Parse(json);
	CHECK(root != NULL);
	FILE *f = open_memstream(&text, &len);
	cli_render_status(f, root);
	fclose(f);
	cJSON_Delete(root);
	return text;
}

static void test_paths(void)
{
	char *t = render("{\"interface\":\"roam0\",\"peers\":[{\"name\":\"lap\",\"online\":true,\"path\":\"relayed\","
			 "\"endpoint\":\"relay:2\",\"paths\":["
			 "{\"transport\":\"udp\",\"address\":\"203.0.113.12:51820\",\"state\":\"active\",\"rtt_ms\":0.42,"
			 "\"loss_permille\":0},"
			 "{\"transport\":\"relay-udp\",\"address\":\"relay:2\",\"state\":\"standby\",\"rtt_ms\":1.9},"
			 "{\"transport\":\"udp\",\"address\":\"10.2.0.11:51820\",\"state\":\"dead\"}],"
			 "\"active_path\":{\"transport\":\"udp\",\"address\":\"203.0.113.12:51820\",\"since_ms\":12000,"
			 "\"why\":\"better\"},\"observed\":\"203.0.113.11:40001\"}]}");
	CHECK(strstr(t, "peer: lap (online, direct)") != NULL);
	CHECK(strstr(t, "  path: direct 203.0.113.12:51820, for 12.0 s (better)\n") != NULL);
	CHECK(strstr(t, "paths: * udp        203.0.113.12:51820       active   rtt 0.42 ms  loss 0.0%\n") != NULL);
	CHECK(strstr(t, "          relay-udp  relay:2                  standby  rtt 1.90 ms\n") != NULL);
	CHECK(strstr(t, "10.2.0.11:51820          dead    \n") != NULL);
	CHECK(strstr(t, "it sees us at: 203.0.113.11:40001") != NULL);
	CHECK(strstr(t, "endpoint:") == NULL);
	free(t);

	t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"paths\":[{\"transport\":\"relay-udp\","
		   "\"address\":\"relay:2\",\"state\":\"probing\"}],\"active_path\":null}]}");
	CHECK(strstr(t, "peer: lap (online, no working path)") != NULL);
	CHECK(strstr(t, "  path: none working yet\n") != NULL);
	free(t);

	t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"paths\":[],\"active_path\":{\"transport\":\"relay-udp\","
		   "\"address\":\"relay:2\",\"since_ms\":500}}]}");
	CHECK(strstr(t, "peer: lap (online, relayed)") != NULL);
	CHECK(strstr(t, "  path: relayed by relay 0 relay:2, for 500 ms\n") != NULL);
	free(t);
	/* Several relays: the path names its relay. */
	t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"paths\":[],\"active_path\":{\"transport\":\"relay-udp\","
		   "\"address\":\"relay:2@3\",\"since_ms\":500}}]}");
	CHECK(strstr(t, "  path: relayed by relay 3 relay:2@3, for 500 ms\n") != NULL);
	free(t);
	/* A big group's member, held on demand, says so. */
	t = render("{\"peers\":[{\"name\":\"b\",\"online\":true,\"on_demand\":true,\"paths\":[],"
		   "\"active_path\":{\"transport\":\"udp\",\"address\":\"10.2.0.11:51820\",\"since_ms\":5}}]}");
	CHECK(strstr(t, "peer: b (online, direct, on demand)") != NULL);
	free(t);
}

/* The redundant policy's copy path is marked "+", the policy and its
 * copies are said; the default policy is not; confirm mode's offer says
 * how to take it. */
static void test_policy(void)
{
	char *t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"policy\":\"redundant\","
			 "\"duplicates_sent\":42,\"better_path\":3,\"paths\":["
			 "{\"transport\":\"udp\",\"address\":\"203.0.113.12:51820\",\"state\":\"active\"},"
			 "{\"transport\":\"relay-udp\",\"address\":\"relay:2\",\"state\":\"standby\",\"duplicate\":true}],"
			 "\"active_path\":null}]}");
	CHECK(strstr(t, "  paths: * udp ") != NULL);
	CHECK(strstr(t, "        + relay-udp  relay:2 ") != NULL);
	CHECK(strstr(t, "  policy: redundant (42 copies sent)\n") != NULL);
	CHECK(strstr(t, "  better path: 3 (take it: roam path use lap 3)\n") != NULL);
	free(t);
	t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"policy\":\"latency\",\"paths\":[],"
		   "\"active_path\":null}]}");
	CHECK(strstr(t, "policy:") == NULL);
	free(t);
	/* Application classes: the path each takes (+ its copy's), or the
	 * paths its flows spread over; a peer's own policy is said. */
	t = render("{\"peers\":[{\"name\":\"lap\",\"online\":true,\"policy\":\"bandwidth\",\"policy_own\":true,"
		   "\"paths\":[{\"id\":3,\"transport\":\"udp-aux\",\"address\":\"aux0:203.0.113.12:51820\","
		   "\"state\":\"active\",\"interface\":\"eth-a\"}],\"active_path\":null,\"classes\":["
		   "{\"class\":\"default\",\"policy\":\"bandwidth\",\"spread\":[3,5],\"packets\":10,\"duplicates\":0},"
		   "{\"class\":\"game\",\"policy\":\"redundant\",\"path\":3,\"via\":\"eth-a\",\"duplicate_path\":5,"
		   "\"duplicate_via\":\"eth-b\",\"packets\":2000,\"duplicates\":1990}]}]}");
	CHECK(strstr(t, "  via eth-a  id 3\n") != NULL);
	CHECK(strstr(t, "  policy: bandwidth (this peer's own)\n") != NULL);
	CHECK(strstr(t, "  classes: default      bandwidth  paths 3 5  10 packets\n") != NULL);
	CHECK(strstr(t, "           game         redundant  path 3 (eth-a) + 5 (eth-b)  2000 packets, 1990 copies\n") !=
	      NULL);
	free(t);
}

static void test_static_peer(void)
{
	char *t = render("{\"peers\":[{\"public_key\":\"k\",\"endpoint\":\"198.51.100.1:51820\"}]}");
	CHECK(strstr(t, "  endpoint: 198.51.100.1:51820\n") != NULL);
	CHECK(strstr(t, "path") == NULL);
	free(t);
}

/* The proxy line: where it comes from when the environment named it;
 * none when direct. */
static void test_proxy(void)
{
	char *t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\","
			 "\"proxy\":\"http://10.1.0.1:3128\",\"proxy_from\":\"HTTPS_PROXY\"}}");
	CHECK(strstr(t, "  proxy: http://10.1.0.1:3128 (from HTTPS_PROXY)\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"proxy\":\"http://p:3128\"}}");
	CHECK(strstr(t, "  proxy: http://p:3128\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"proxy\":\"http://p:3128\","
		   "\"proxy_bypassed\":true}}");
	CHECK(strstr(t, "  proxy: http://p:3128, not reachable: going direct\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"proxy\":null}}");
	CHECK(strstr(t, "proxy") == NULL);
	free(t);
	/* Through a TLS-intercepting proxy: said; allowed but not met; off: nothing. */
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"tls_interception\":\"in use\"}}");
	CHECK(strstr(t, "  tls interception: in use (server authenticated inside)\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"tls_interception\":\"allowed\"}}");
	CHECK(strstr(t, "  tls interception: allowed (none met)\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"tls_interception\":\"off\"}}");
	CHECK(strstr(t, "tls interception") == NULL);
	free(t);
}

/* The relay link line, with its round trip when the link measured one;
 * with UDP blocked, whether a relay link carries instead. */
static void test_relay_link(void)
{
	char *t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
			 "\"udp\":\"blocked\",\"relay_link\":\"tls\",\"relay_link_rtt_ms\":1.25}}");
	CHECK(strstr(t, "  relay link: tls (round trip 1.2 ms)\n") != NULL ||
	      strstr(t, "  relay link: tls (round trip 1.3 ms)\n") != NULL);
	CHECK(strstr(t, "peers are reached through the relay link") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"udp\":\"ok\",\"relay_link\":\"udp\",\"relay_link_rtt_ms\":null}}");
	CHECK(strstr(t, "  relay link: udp\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"udp\":\"blocked\",\"relay_link\":\"none\"}}");
	CHECK(strstr(t, "tunnels cannot work until a relay link is up") != NULL);
	free(t);
	/* Long-poll behind a buffering proxy. */
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"udp\":\"blocked\",\"relay_link\":\"long-poll\",\"relay_short_polls\":true}}");
	CHECK(strstr(t, "  relay link: long-poll (short polls: responses buffered)\n") != NULL);
	free(t);
	/* How the node hears from the server: the push channel over UDP, the
	 * HTTPS stream, or polls where it is buffered. */
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"control\":\"poll\"}}");
	CHECK(strstr(t, "  control: https poll (") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"control\":\"https\"}}");
	CHECK(strstr(t, "  control: https stream\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"control\":\"udp\"}}");
	CHECK(strstr(t, "  control: udp push (") != NULL);
	free(t);
}

/* Several relays: one line, each relay's round trip, the home marked,
 * the relays in use and dead, each one's link; nothing with the control
 * server alone. */
static void test_relays(void)
{
	char *t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
			 "\"udp\":\"ok\",\"relay_link\":\"udp\",\"relays\":[{\"id\":0,\"region\":\"\",\"rtt_ms\":12.5,"
			 "\"home\":true},{\"id\":1,\"region\":\"eu\",\"rtt_ms\":null,\"home\":false}]}}");
	CHECK(strstr(t, "  relays: 0 (12.5 ms, home), 1 eu (no round trip yet)\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"udp\":\"blocked\",\"relays\":[{\"id\":0,\"region\":\"\",\"rtt_ms\":1.5,\"home\":true,"
		   "\"link\":\"udp\",\"in_use\":true,\"dead\":false},{\"id\":1,\"region\":\"eu\",\"rtt_ms\":null,"
		   "\"home\":false,\"link\":\"long-poll\",\"in_use\":true,\"dead\":true},{\"id\":2,\"region\":\"us\","
		   "\"rtt_ms\":3,\"home\":false,\"link\":\"none\",\"in_use\":false,\"dead\":false}]}}");
	CHECK(strstr(t, "  relays: 0 (1.5 ms, home, in use, link udp), 1 eu (no round trip yet, in use, dead, link "
			"long-poll), 2 us (3.0 ms)\n") != NULL);
	free(t);
	t = render("{\"managed\":{\"server\":\"https://s:443\",\"state\":\"connected\",\"name\":\"n\","
		   "\"udp\":\"ok\",\"relays\":[{\"id\":0,\"region\":\"\",\"rtt_ms\":null,\"home\":false}]}}");
	CHECK(strstr(t, "relays:") == NULL);
	free(t);
}

int main(void)
{
	test_paths();
	test_policy();
	test_static_peer();
	test_proxy();
	test_relay_link();
	test_relays();
	return check_report("test_render");
}
