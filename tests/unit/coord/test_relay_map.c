/* The relay map and ticket lines of a node's stream (lib/coord/json_relays.c):
 * a good map whole; any bad entry (id, URL, UDP address, key, a repeated
 * id, too many) refuses the whole line; a ticket's structure is checked
 * and its bytes handed over. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../check.h"
#include "coord/auth.h"
#include "coord/json.h"
#include "coord/ticket.h"

#define K "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static struct coord_relay_map got;
static size_t got_ticket_len;
static struct ticket got_ticket;
static int calls;

static int on_relays(void *ctx, const struct coord_relay_map *m)
{
	(void)ctx;
	got = *m;
	calls++;
	return 0;
}

static int on_ticket(void *ctx, const uint8_t *t, size_t len, const struct ticket *parsed)
{
	(void)ctx, (void)t;
	got_ticket_len = len;
	got_ticket = *parsed;
	calls++;
	return 0;
}

static const struct coord_stream_handler h = { .relays = on_relays, .ticket = on_ticket };

static int parse(const char *line)
{
	return coord_stream_line_parse(line, strlen(line), &h, NULL);
}

#define ENTRY(id, url, udp) "{\"id\":" id ",\"region\":\"eu\",\"url\":\"" url "\",\"udp\":\"" udp "\",\"key\":\"" K "\",\"tls_pin\":\"" K "\"}"

static void test_map(void)
{
	calls = 0;
	CHECK_EQ(parse("{\"type\":\"relays\",\"relays\":[" ENTRY("0", "https://s.example:443", "s.example:443") ","
		       ENTRY("7", "https://[2001:db8::1]:8443", "[2001:db8::1]:8443") "]}"), 0);
	CHECK_EQ(calls, 1);
	CHECK_EQ(got.count, 2);
	CHECK_EQ(got.relays[1].id, 7);
	CHECK(strcmp(got.relays[1].udp_host, "2001:db8::1") == 0);
	CHECK_EQ(got.relays[1].udp_port, 8443);
	CHECK(strcmp(got.relays[0].region, "eu") == 0);
	CHECK_EQ(parse("{\"type\":\"relays\",\"relays\":[]}"), 0);
	CHECK_EQ(got.count, 0);
	const char *bad[] = {
		"{\"type\":\"relays\"}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("256", "https://a:1", "a:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("-1", "https://a:1", "a:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1.5", "https://a:1", "a:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "http://a:1", "a:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a:0") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a:65536") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", ":1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "[::1:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a b:1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a:+1") "]}",
		"{\"type\":\"relays\",\"relays\":[" ENTRY("1", "https://a:1", "a:1") "," ENTRY("1", "https://b:1", "b:1") "]}",
		"{\"type\":\"relays\",\"relays\":[{\"id\":1,\"region\":\"\",\"url\":\"https://a:1\",\"udp\":\"a:1\",\"key\":\"x\",\"tls_pin\":\"" K "\"}]}",
	};
	calls = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(parse(bad[i]) < 0);
	}
	CHECK_EQ(calls, 0);
	/* More than COORD_RELAYS_MAX. */
	char line[16384];
	size_t at = (size_t)snprintf(line, sizeof(line), "{\"type\":\"relays\",\"relays\":[");
	for (int i = 0; i <= COORD_RELAYS_MAX; i++)
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s{\"id\":%d,\"region\":\"\",\"url\":\"https://a:1\","
					"\"udp\":\"a:1\",\"key\":\"" K "\",\"tls_pin\":\"" K "\"}", i ? "," : "", i);
	snprintf(line + at, sizeof(line) - at, "]}");
	CHECK(parse(line) < 0);
	CHECK_EQ(calls, 0);
}

static void test_ticket_line(void)
{
	uint8_t pub[TICKET_PUB_LEN], sec[TICKET_SECRET_LEN], bin[TICKET_LEN_MAX];
	struct ticket t = { .serial = 42, .node_id = 3, .expires = 2000000000, .group_count = 2, .groups = { 1, 9 } };
	char b64[2 * TICKET_LEN_MAX], line[3 * TICKET_LEN_MAX];
	CHECK_EQ(ticket_keypair(pub, sec), 0);
	int len = ticket_build(&t, sec, bin, sizeof(bin));
	CHECK(len > 0);
	sodium_bin2base64(b64, sizeof(b64), bin, (size_t)len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "{\"type\":\"ticket\",\"ticket\":\"%s\"}", b64);
	calls = 0;
	CHECK_EQ(parse(line), 0);
	CHECK_EQ(calls, 1);
	CHECK_EQ(got_ticket_len, (size_t)len);
	CHECK_EQ(got_ticket.serial, 42);
	CHECK_EQ(got_ticket.group_count, 2);
	/* One bit off in the version: refused. */
	bin[0] ^= 2;
	sodium_bin2base64(b64, sizeof(b64), bin, (size_t)len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "{\"type\":\"ticket\",\"ticket\":\"%s\"}", b64);
	CHECK(parse(line) < 0);
	CHECK(parse("{\"type\":\"ticket\",\"ticket\":\"!!\"}") < 0);
	CHECK(parse("{\"type\":\"ticket\"}") < 0);
	CHECK_EQ(calls, 1);
}

/* relay_rtt in POST /v1/endpoints (both ways) and peer lines. */
static void test_relay_rtt(void)
{
	struct coord_endpoints_req req = { .port = 51820 }, back;
	req.relay_rtt.count = 2;
	req.relay_rtt.id[0] = 0, req.relay_rtt.us[0] = 12500;
	req.relay_rtt.id[1] = 7, req.relay_rtt.us[1] = 30100;
	char *s = coord_endpoints_req_to_json(&req);
	CHECK(s && strstr(s, "\"relay_rtt\":{\"0\":12.5,\"7\":30.1}") != NULL);
	CHECK_EQ(coord_endpoints_req_parse(s, strlen(s), &back), 0);
	CHECK_EQ(back.relay_rtt.count, 2);
	CHECK_EQ(back.relay_rtt.id[1], 7);
	CHECK_EQ(back.relay_rtt.us[1], 30100);
	free(s);
	/* Absent or null: none. */
	const char *none = "{\"private\":[],\"port\":1}";
	CHECK_EQ(coord_endpoints_req_parse(none, strlen(none), &back), 0);
	CHECK_EQ(back.relay_rtt.count, 0);
	const char *bad[] = {
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"256\":1}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"-1\":1}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\" 1\":1}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"01\":1}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"x\":1}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"1\":0}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"1\":-3}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"1\":60001}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"1\":\"5\"}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":{\"1\":1,\"1\":2}}",
		"{\"private\":[],\"port\":1,\"relay_rtt\":[1]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (coord_endpoints_req_parse(bad[i], strlen(bad[i]), &back) == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(coord_endpoints_req_parse(bad[i], strlen(bad[i]), &back) < 0);
	}
	/* A peer line carries it. */
	struct coord_peer p = { .node_id = 4, .name = "p", .ipv6 = { .family = AF_INET6, .cidr = 128 },
				.ipv4 = { .family = AF_INET, .cidr = 32 } }, q;
	p.relay_rtt.count = 1;
	p.relay_rtt.id[0] = 3, p.relay_rtt.us[0] = 4000;
	s = coord_peer_to_json(&p);
	CHECK(s != NULL);
	CHECK_EQ(s ? coord_peer_parse(s, strlen(s), &q) : -1, 0);
	CHECK_EQ(q.relay_rtt.count, 1);
	CHECK_EQ(q.relay_rtt.id[0], 3);
	CHECK_EQ(q.relay_rtt.us[0], 4000);
	free(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_map();
	test_ticket_line();
	test_relay_rtt();
	printf("test_relay_map: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
