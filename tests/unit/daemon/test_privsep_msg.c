/* The privsep messages (daemon/privsep_msg.c): every message roamd builds
 * passes the other side's check; sizes, directions, unterminated strings,
 * out-of-range enums and malformed addresses are refused. With a directory
 * argument, also writes one file per message as the fuzz corpus. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "ctl/request.h"
#include "daemon/privsep_msg.h"
#include "daemon/roamd.h"
#include "tests/unit/platform/check.h"

static alignas(max_align_t) uint8_t buf[PS_MSG_MAX];
static const char *corpus_dir;

/* dir byte + message: the fuzz target's input format. */
static void save(const char *name, bool from_agent, size_t n)
{
	char path[512];
	if (!corpus_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	fputc(from_agent ? 1 : 0, f);
	fwrite(buf, 1, n, f);
	fclose(f);
}

static size_t build_ok(const char *name, enum ps_type type, const void *payload, size_t len, bool from_agent)
{
	struct ps_msg msg;
	size_t n = privsep_msg_build(buf, type, payload, len);
	CHECK_INT(privsep_msg_check(buf, n, from_agent, &msg), ==, 0);
	CHECK_INT(msg.type, ==, type);
	CHECK_INT(msg.len, ==, len);
	CHECK_INT(privsep_msg_check(buf, n, !from_agent, &msg), ==, -EBADMSG); /* wrong direction */
	CHECK_INT(privsep_msg_check(buf, n - 1, from_agent, &msg), ==, -EBADMSG);
	save(name, from_agent, n);
	return n;
}

static void refused(enum ps_type type, const void *payload, size_t len, bool from_agent)
{
	struct ps_msg msg;
	size_t n = privsep_msg_build(buf, type, payload, len);
	CHECK_INT(privsep_msg_check(buf, n, from_agent, &msg), ==, -EBADMSG);
}

static void good_peer(struct managed_peer_info *p)
{
	memset(p, 0, sizeof(*p));
	memset(p->public_key, 7, sizeof(p->public_key));
	strcpy(p->name, "laptop");
	p->ipv6.family = AF_INET6;
	p->ipv6.cidr = 128;
	p->ipv4.family = AF_INET;
	p->ipv4.cidr = 32;
	p->public_endpoint.in4.sin_family = AF_INET;
	p->public_endpoint.in4.sin_port = htons(8443);
	p->public_endpoint.len = sizeof(struct sockaddr_in);
	p->private_count = 1;
	p->private_endpoints[0].in6.sin6_family = AF_INET6;
	p->private_endpoints[0].len = sizeof(struct sockaddr_in6);
}

int main(int argc, char **argv)
{
	struct managed_peer_info peer;
	struct managed_status st;
	struct ps_udp udp;
	struct ps_init init;
	struct ps_up up;
	struct coord_node node;

	corpus_dir = argc > 1 ? argv[1] : NULL;
	good_peer(&peer);
	build_ok("peer_set", PS_PEER_SET, &peer, sizeof(peer), true);
	build_ok("peer_held", PS_PEER_HELD, &peer, sizeof(peer), false);
	peer.name[sizeof(peer.name) - 1] = 'x';
	memset(peer.name, 'a', sizeof(peer.name));
	refused(PS_PEER_SET, &peer, sizeof(peer), true); /* unterminated name */
	good_peer(&peer);
	peer.private_count = COORD_PRIVATE_MAX + 1;
	refused(PS_PEER_SET, &peer, sizeof(peer), true); /* more candidates than the view holds */
	good_peer(&peer);
	peer.private_count = 2; /* the second one is empty */
	refused(PS_PEER_SET, &peer, sizeof(peer), true);
	good_peer(&peer);
	peer.ipv4.cidr = 24;
	refused(PS_PEER_SET, &peer, sizeof(peer), true); /* a peer is one address */
	good_peer(&peer);
	peer.mapping = COORD_MAPPING_COUNT;
	refused(PS_PEER_SET, &peer, sizeof(peer), true);
	good_peer(&peer);
	peer.has_file_key = 2; /* a flag is 0 or 1 */
	refused(PS_PEER_SET, &peer, sizeof(peer), true);
	good_peer(&peer);
	peer.on_demand = 1;
	build_ok("peer_set_on_demand", PS_PEER_SET, &peer, sizeof(peer), true);
	peer.on_demand = 2;
	refused(PS_PEER_SET, &peer, sizeof(peer), true);
	good_peer(&peer);
	peer.mapped_endpoint.len = 5;
	refused(PS_PEER_SET, &peer, sizeof(peer), true);
	good_peer(&peer);
	peer.public_endpoint.len = 3;
	refused(PS_PEER_SET, &peer, sizeof(peer), true);

	memset(&st, 0, sizeof(st));
	st.state = MANAGED_CONNECTED;
	strcpy(st.server_url, "https://vpn.example.org:443");
	build_ok("status", PS_STATUS, &st, sizeof(st), true);
	st.state = MANAGED_STATE_COUNT;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.state = MANAGED_CONNECTED;
	st.proxy_bypassed = 2;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.proxy_bypassed = 0;
	st.tls_interception = 2;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.tls_interception = 0;
	st.control_polling = 2;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.control_polling = 1;
	build_ok("status_control_polling", PS_STATUS, &st, sizeof(st), true);
	st.control_polling = 0;
	st.have_self = true; /* with a zero node: prefixes of no family */
	refused(PS_STATUS, &st, sizeof(st), true);
	st.have_self = false;
	st.relay_link = MANAGED_RELAY_LINK_LONG_POLL;
	build_ok("status_relay_link", PS_STATUS, &st, sizeof(st), true);
	st.relay_link = MANAGED_RELAY_LINK_COUNT;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.relay_link = MANAGED_RELAY_LINK_UDP;
	st.relays_count = 2;
	strcpy(st.relays[1].region, "eu");
	build_ok("status_relays", PS_STATUS, &st, sizeof(st), true);
	st.relays_count = COORD_RELAYS_MAX + 1;
	refused(PS_STATUS, &st, sizeof(st), true);
	st.relays_count = 2;
	memset(st.relays[1].region, 'x', sizeof(st.relays[1].region));
	refused(PS_STATUS, &st, sizeof(st), true);
	memset(&st.relays, 0, sizeof(st.relays));
	st.relays_count = 0;

	struct ps_relay_link rlink = { .link = MANAGED_RELAY_LINK_TLS };
	build_ok("relay_link", PS_RELAY_LINK, &rlink, sizeof(rlink), true);
	refused(PS_RELAY_LINK, &rlink, sizeof(rlink), false); /* only the agent says it */
	rlink.relay = 255;
	rlink.dead = 1;
	build_ok("relay_link_dead", PS_RELAY_LINK, &rlink, sizeof(rlink), true);
	rlink.relay = 256;
	refused(PS_RELAY_LINK, &rlink, sizeof(rlink), true);
	rlink.relay = 1;
	rlink.dead = 2;
	refused(PS_RELAY_LINK, &rlink, sizeof(rlink), true);
	rlink.dead = 0;
	rlink.link = MANAGED_RELAY_LINK_COUNT;
	refused(PS_RELAY_LINK, &rlink, sizeof(rlink), true);

	/* K_nr: the agent asks with a key, the monitor answers. */
	struct ps_key rkey = { .public_key = { 9 } };
	build_ok("relay_key_req", PS_RELAY_KEY_REQ, &rkey, sizeof(rkey), true);
	refused(PS_RELAY_KEY_REQ, &rkey, sizeof(rkey), false);
	struct ps_relay_key rk = { .ok = 1 };
	build_ok("relay_key", PS_RELAY_KEY, &rk, sizeof(rk), false);
	refused(PS_RELAY_KEY, &rk, sizeof(rk), true);
	/* The file public key: only the monitor hands it over. */
	struct ps_key fkey = { .public_key = { 7 } };
	build_ok("file_key", PS_FILE_KEY, &fkey, sizeof(fkey), false);
	refused(PS_FILE_KEY, &fkey, sizeof(fkey), true);
	/* The stream's files line: only the agent says it, and it is empty. */
	build_ok("files_waiting", PS_FILES_WAITING, NULL, 0, true);
	refused(PS_FILES_WAITING, NULL, 0, false);
	refused(PS_FILES_WAITING, &fkey, sizeof(fkey), true);
	/* Peers on demand: the monitor asks (an address or a key), the agent
	 * answers; malformed questions and results are refused. */
	struct ondemand_query q;
	uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
	CHECK_INT(ondemand_query_address(&q, AF_INET6, v6), ==, 0);
	build_ok("peer_ask", PS_PEER_ASK, &q, sizeof(q), false);
	refused(PS_PEER_ASK, &q, sizeof(q), true);
	struct ps_peer_answer pa = { .q = q, .result = ONDEMAND_NOT_FOUND };
	build_ok("peer_answer", PS_PEER_ANSWER, &pa, sizeof(pa), true);
	refused(PS_PEER_ANSWER, &pa, sizeof(pa), false);
	pa.result = 0;
	refused(PS_PEER_ANSWER, &pa, sizeof(pa), true);
	pa.result = ONDEMAND_FAILED + 1;
	refused(PS_PEER_ANSWER, &pa, sizeof(pa), true);
	pa.result = ONDEMAND_FOUND;
	pa.q.family = AF_UNIX;
	refused(PS_PEER_ANSWER, &pa, sizeof(pa), true);
	q.bytes[20] = 1; /* past the address */
	refused(PS_PEER_ASK, &q, sizeof(q), false);
	ondemand_query_key(&q, fkey.public_key);
	build_ok("peer_ask_key", PS_PEER_ASK, &q, sizeof(q), false);
	build_ok("peer_idle", PS_PEER_IDLE, &fkey, sizeof(fkey), false);
	refused(PS_PEER_IDLE, &fkey, sizeof(fkey), true);
	rk.ok = 2;
	refused(PS_RELAY_KEY, &rk, sizeof(rk), false);

	/* Relay-only servers' UDP addresses: ids 1..255, real addresses. */
	struct ps_relay_addrs ra = { .count = 1, .r = { { .id = 1 } } };
	ra.r[0].udp.len = sizeof(struct sockaddr_in);
	ra.r[0].udp.sa.sa_family = AF_INET;
	build_ok("relay_addrs", PS_RELAY_ADDRS, &ra, sizeof(ra), true);
	refused(PS_RELAY_ADDRS, &ra, sizeof(ra), false);
	ra.r[0].id = 0;
	refused(PS_RELAY_ADDRS, &ra, sizeof(ra), true);
	ra.r[0].id = 256;
	refused(PS_RELAY_ADDRS, &ra, sizeof(ra), true);
	ra.r[0].id = 1;
	ra.r[0].udp.len = 3;
	refused(PS_RELAY_ADDRS, &ra, sizeof(ra), true);
	ra.r[0].udp.len = sizeof(struct sockaddr_in);
	ra.count = COORD_RELAYS_MAX + 1;
	refused(PS_RELAY_ADDRS, &ra, sizeof(ra), true);

	memset(&node, 0, sizeof(node));
	strcpy(node.name, "n1");
	node.ipv6.family = node.network6.family = AF_INET6;
	node.ipv4.family = node.network4.family = AF_INET;
	node.ipv6.cidr = 128;
	node.network6.cidr = 48;
	node.ipv4.cidr = 32;
	node.network4.cidr = 10;
	build_ok("set_addresses", PS_SET_ADDRESSES, &node, sizeof(node), true);
	node.groups_count = COORD_GROUPS_MAX + 1;
	refused(PS_SET_ADDRESSES, &node, sizeof(node), true);

	memset(&udp, 0, sizeof(udp));
	udp.peer.in6.sin6_family = AF_INET6;
	udp.peer.len = sizeof(struct sockaddr_in6);
	udp.len = 40;
	build_ok("udp_out", PS_UDP_OUT, &udp, sizeof(udp), true);
	build_ok("udp_in", PS_UDP_IN, &udp, sizeof(udp), false);
	udp.len = PS_UDP_MAX + 1;
	refused(PS_UDP_OUT, &udp, sizeof(udp), true);

	memset(&init, 0, sizeof(init));
	strcpy(init.user, "nobody");
	strcpy(init.ifname, "roam0");
	build_ok("init", PS_INIT, &init, sizeof(init), false);
	memset(&up, 0, sizeof(up));
	up.has_server = 1;
	strcpy(up.server, "https://vpn.example.org");
	up.has_proxy = 1;
	strcpy(up.proxy, "http://roam:lab-pass@10.0.0.1:3128");
	build_ok("up", PS_UP, &up, sizeof(up), false);
	up.tls_interception = CTL_TLS_INTERCEPTION_ALLOW + 1;
	refused(PS_UP, &up, sizeof(up), false);
	up.tls_interception = CTL_TLS_INTERCEPTION_ALLOW;
	build_ok("up_tls_interception", PS_UP, &up, sizeof(up), false);
	memset(up.proxy, 'a', sizeof(up.proxy));
	refused(PS_UP, &up, sizeof(up), false); /* unterminated proxy */
	init.ms.allow_tls_interception = 2;
	refused(PS_SAVE, &init.ms, sizeof(init.ms), true);
	init.ms.allow_tls_interception = 1;
	memset(init.ms.proxy.no_proxy, 'a', sizeof(init.ms.proxy.no_proxy));
	refused(PS_INIT, &init, sizeof(init), false);
	refused(PS_SAVE, &init.ms, sizeof(init.ms), true);
	build_ok("peers_clear", PS_PEERS_CLEAR, NULL, 0, true);
	build_ok("start", PS_START, NULL, 0, false);

	/* What the monitor accepts as overlay addresses, whatever the agent says. */
	struct { const char *addr, *net; bool ok; } overlays[] = {
		{ "fd12:3456:789a::5/128", "fd12:3456:789a::/48", true },
		{ "100.64.0.5/32", "100.64.0.0/10", true },
		{ "100.64.3.7/32", "100.64.0.0/16", true },
		{ "10.0.0.5/32", "10.0.0.0/8", false },            /* not 100.64/10 */
		{ "100.64.0.5/32", "0.0.0.0/1", false },           /* half the internet */
		{ "100.64.0.5/32", "100.0.0.0/8", false },         /* wider than 100.64/10 */
		{ "100.200.0.5/32", "100.64.0.0/10", false },      /* address outside its network */
		{ "2001:db8::5/128", "2001:db8::/48", false },     /* not a ULA */
		{ "fd00::5/128", "fc00::/7", false },              /* wider than /16 */
		{ "fd12::5/128", "100.64.0.0/10", false },         /* families differ */
	};
	for (size_t i = 0; i < sizeof(overlays) / sizeof(overlays[0]); i++) {
		struct ip_prefix a, n;
		CHECK_INT(ip_prefix_parse(overlays[i].addr, &a), ==, 0);
		CHECK_INT(ip_prefix_parse(overlays[i].net, &n), ==, 0);
		CHECK_INT(roamd_overlay_ok(&a, &n), ==, overlays[i].ok);
	}

	/* Unknown types, a short header, a length that lies. */
	refused((enum ps_type)0, NULL, 0, true);
	refused((enum ps_type)12, NULL, 0, false);
	refused((enum ps_type)999, NULL, 0, true);
	struct ps_msg msg;
	CHECK_INT(privsep_msg_check(buf, 3, true, &msg), ==, -EBADMSG);
	size_t n = privsep_msg_build(buf, PS_PEERS_CLEAR, NULL, 0);
	((struct ps_hdr *)(void *)buf)->len = 4;
	CHECK_INT(privsep_msg_check(buf, n, true, &msg), ==, -EBADMSG);
	return 0;
}
