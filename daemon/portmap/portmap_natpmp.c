/* NAT-PMP (RFC 6886) through libnatpmp: it builds the requests, keeps the
 * socket (connected to the gateway) and its retry schedule. Its reader
 * does not check a response's length, so each datagram is first peeked at
 * and dropped unless its length is exactly right for its opcode. */
#include "portmap_internal.h"

#include <errno.h>
#include <natpmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NATPMP_OP_ADDRESS_RESP 128
#define NATPMP_OP_UDP_RESP 129
#define NATPMP_OP_TCP_RESP 130
#define NATPMP_HEADER_LEN 8 /* version, opcode, result, epoch */
#define NATPMP_ADDRESS_RESP_LEN 12
#define NATPMP_MAP_RESP_LEN 16

/* Exact length for what the datagram claims to be (RFC 6886 3.2, 3.3);
 * an error answer may stop after its 8-byte header. */
static int natpmp_len_ok(const uint8_t *buf, size_t len)
{
	if (len < NATPMP_HEADER_LEN)
		return 0;
	if ((buf[2] | buf[3]) != 0 && len == NATPMP_HEADER_LEN)
		return 1;
	if (buf[1] == NATPMP_OP_ADDRESS_RESP)
		return len == NATPMP_ADDRESS_RESP_LEN;
	if (buf[1] == NATPMP_OP_UDP_RESP || buf[1] == NATPMP_OP_TCP_RESP)
		return len == NATPMP_MAP_RESP_LEN;
	return 0;
}

/* Waits for the answer (opcode want_op) to the pending request until
 * end_ms. 0 and *resp, or a negative errno / NATPMP_ERR_* (< 0). A late
 * answer to an earlier request (another opcode) is dropped, not taken. */
static int natpmp_wait(natpmp_t *n, natpmpresp_t *resp, uint8_t want_op, uint64_t end_ms)
{
	for (;;) {
		struct timeval tv;
		uint8_t peek[NATPMP_MAP_RESP_LEN + 4];
		uint64_t now = portmap_now_ms();
		if (now >= end_ms)
			return -ETIMEDOUT;
		if (getnatpmprequesttimeout(n, &tv) < 0)
			return -EIO;
		uint64_t wait = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
		if (wait > end_ms - now)
			wait = end_ms - now;
		struct pollfd pfd = { .fd = n->s, .events = POLLIN };
		int r = poll(&pfd, 1, (int)wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0) {
			ssize_t len = recv(n->s, peek, sizeof(peek), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
			if (len < 0 && errno == ECONNREFUSED)
				return -ECONNREFUSED;
			if (len >= 0 && (!natpmp_len_ok(peek, (size_t)len) || peek[1] != want_op)) {
				(void)recv(n->s, peek, sizeof(peek), MSG_DONTWAIT); /* drop it */
				continue;
			}
		}
		/* Reads the datagram, or retransmits when its timer is due. */
		r = readnatpmpresponseorretry(n, resp);
		if (r != NATPMP_TRYAGAIN)
			return r < 0 ? r : 0;
	}
}

static const char *natpmp_why(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "no answer";
	case -ECONNREFUSED:
	case NATPMP_ERR_RECVFROM:
		return "no server (port unreachable)";
	case NATPMP_ERR_NOTAUTHORIZED:
		return "not authorized";
	case NATPMP_ERR_NETWORKFAILURE:
		return "network failure";
	case NATPMP_ERR_OUTOFRESOURCES:
		return "out of resources";
	case NATPMP_ERR_UNSUPPORTEDVERSION:
		return "unsupported version";
	case NATPMP_ERR_UNSUPPORTEDOPCODE:
		return "unsupported opcode";
	default:
		return "request failed";
	}
}

int portmap_natpmp_request(struct portmap *pm, uint32_t lifetime, char *why, size_t why_len)
{
	natpmp_t n;
	natpmpresp_t addr_resp, map_resp;
	uint64_t end = portmap_now_ms() + (uint64_t)pm->config.timeout_ms;
	uint16_t port = pm->config.internal_port;
	int err;

	if (initnatpmp(&n, 1, pm->config.gateway.s_addr) < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return -EIO;
	}
	if (lifetime > 0) {
		/* The mapping answer has no address: ask for it first. */
		err = sendpublicaddressrequest(&n);
		if (err >= 0)
			err = natpmp_wait(&n, &addr_resp, NATPMP_OP_ADDRESS_RESP, end);
		if (err < 0 || addr_resp.type != NATPMP_RESPTYPE_PUBLICADDRESS)
			goto fail;
	}
	/* Deletion: lifetime 0 and suggested external port 0 (RFC 6886 3.4). */
	err = sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, port,
					lifetime ? (pm->result.external_port ? pm->result.external_port : port) : 0,
					lifetime);
	if (err >= 0)
		err = natpmp_wait(&n, &map_resp, NATPMP_OP_UDP_RESP, end);
	if (err < 0 || map_resp.type != NATPMP_RESPTYPE_UDPPORTMAPPING ||
	    map_resp.pnu.newportmapping.privateport != port)
		goto fail;
	if (lifetime > 0) {
		if (map_resp.pnu.newportmapping.mappedpublicport == 0 || map_resp.pnu.newportmapping.lifetime == 0 ||
		    addr_resp.pnu.publicaddress.addr.s_addr == 0) {
			snprintf(why, why_len, "answer without an external address, port or lifetime");
			closenatpmp(&n);
			return -EBADMSG;
		}
		pm->result.external_addr = addr_resp.pnu.publicaddress.addr;
		pm->result.external_port = map_resp.pnu.newportmapping.mappedpublicport;
		pm->result.lifetime = map_resp.pnu.newportmapping.lifetime;
		pm->result.needs_verification = 0;
	}
	closenatpmp(&n);
	return 0;
fail:
	snprintf(why, why_len, "%s", err < 0 ? natpmp_why(err) : "unexpected answer");
	closenatpmp(&n);
	/* libnatpmp's codes overlap errno's: keep only ours. */
	return err == -ETIMEDOUT || err == -ECONNREFUSED ? err : -EPROTO;
}
