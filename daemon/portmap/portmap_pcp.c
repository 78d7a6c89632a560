/* PCP client: the socket around the pure codec in pcp.c. One UDP socket
 * connected to the gateway's port 5351 (so the kernel drops datagrams from
 * anyone else), a request retransmitted with doubling waits from 250 ms
 * until config.timeout_ms, every answer decoded with exact lengths. */
#include "pcp.h"
#include "portmap_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define PCP_FIRST_WAIT_MS 250

static int pcp_open(const struct portmap *pm, uint32_t *client_be)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PCP_PORT) };
	struct sockaddr_in me;
	socklen_t me_len = sizeof(me);
	int fd, err;

	sa.sin_addr = pm->config.gateway;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The request carries our address as the router sees it: the source
	 * address the kernel picks for the gateway. */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &me_len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*client_be = me.sin_addr.s_addr;
	return fd;
}

/* Waits up to wait_ms for a datagram answering req. 1 and *resp set, 0 on
 * timeout, or a negative errno (ECONNREFUSED: nothing listens on 5351). */
static int pcp_wait(int fd, const struct pcp_map_request *req, int wait_ms, struct pcp_map_response *resp)
{
	uint64_t end = portmap_now_ms() + (uint64_t)wait_ms;

	for (;;) {
		uint8_t buf[PCP_MAX_LEN + 4];
		uint64_t now = portmap_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (now >= end)
			return 0;
		int n = poll(&pfd, 1, (int)(end - now));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		/* MSG_TRUNC: the real length, so an oversized datagram is refused
		 * by the decoder instead of being read as its first bytes. */
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if ((size_t)len > sizeof(buf))
			continue;
		if (pcp_map_response_decode(buf, (size_t)len, resp) == 0 &&
		    (pcp_map_response_matches(resp, req) || !resp->has_map))
			return 1;
		if (len >= 2 && buf[0] != PCP_VERSION)
			return -EPROTONOSUPPORT; /* a NAT-PMP-only server said so */
	}
}

static int pcp_exchange(int fd, const struct pcp_map_request *req, int timeout_ms,
			struct pcp_map_response *resp)
{
	uint8_t msg[PCP_MAP_LEN];
	size_t len;
	uint64_t end = portmap_now_ms() + (uint64_t)timeout_ms;
	int wait_ms = PCP_FIRST_WAIT_MS;
	int err = pcp_map_request_encode(req, msg, sizeof(msg), &len);

	if (err < 0)
		return err;
	for (;;) {
		uint64_t now = portmap_now_ms();
		if (now >= end)
			return -ETIMEDOUT;
		if (send(fd, msg, len, 0) < 0)
			return -errno;
		if ((uint64_t)wait_ms > end - now)
			wait_ms = (int)(end - now);
		err = pcp_wait(fd, req, wait_ms, resp);
		if (err != 0)
			return err < 0 ? err : 0;
		wait_ms *= 2;
	}
}

int portmap_pcp_request(struct portmap *pm, uint32_t lifetime, char *why, size_t why_len)
{
	struct pcp_map_request req = { .lifetime = lifetime, .protocol = PCP_PROTO_UDP };
	struct pcp_map_response resp;
	uint32_t client_be = 0, ext_be = 0;
	int fd, err;

	fd = pcp_open(pm, &client_be);
	if (fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(-fd));
		return fd;
	}
	/* A new mapping gets a new nonce; renewal and deletion reuse it. */
	if (pm->result.proto != PORTMAP_PCP && getrandom(pm->pcp_nonce, sizeof(pm->pcp_nonce), 0) !=
						       (ssize_t)sizeof(pm->pcp_nonce)) {
		err = -EIO;
		snprintf(why, why_len, "no random nonce");
		goto out;
	}
	memcpy(req.nonce, pm->pcp_nonce, sizeof(req.nonce));
	pcp_addr_from_ipv4(req.client_addr, client_be);
	pcp_addr_from_ipv4(req.suggested_addr, lifetime ? pm->result.external_addr.s_addr : 0);
	req.internal_port = pm->config.internal_port;
	req.suggested_port = lifetime ? (pm->result.external_port ? pm->result.external_port
								  : pm->config.internal_port)
				      : 0;
	err = pcp_exchange(fd, &req, pm->config.timeout_ms, &resp);
	if (err < 0) {
		snprintf(why, why_len, "%s", err == -ETIMEDOUT	      ? "no answer"
					     : err == -ECONNREFUSED    ? "no server (port unreachable)"
					     : err == -EPROTONOSUPPORT ? "server speaks NAT-PMP only"
								       : strerror(-err));
		goto out;
	}
	if (resp.result != PCP_SUCCESS) {
		err = -EPERM;
		snprintf(why, why_len, "result %u (%s)", resp.result, pcp_result_str(resp.result));
		goto out;
	}
	if (lifetime == 0)
		goto out; /* deleted: nothing to read back */
	if (pcp_addr_to_ipv4(resp.external_addr, &ext_be) < 0 || resp.external_port == 0 ||
	    resp.lifetime == 0) {
		err = -EBADMSG;
		snprintf(why, why_len, "answer without an IPv4 external address, port or lifetime");
		goto out;
	}
	pm->client_addr_be = client_be;
	pm->result.external_addr.s_addr = ext_be;
	pm->result.external_port = resp.external_port;
	pm->result.lifetime = resp.lifetime;
	pm->result.needs_verification = 0;
out:
	close(fd);
	return err;
}
