#include "coord/probe.h"

#include <errno.h>
#include <string.h>

#include "coord/wire.h"
#include "crypto/crypto.h"

static const char probe_label[] = "roam-probe-v1";

/* The three messages share their head (probe_head_put/check rely on it)
 * and end with the mac. */
#define PROBE_SAME_OFFSET(f)                                                                                 \
	static_assert(offsetof(struct coord_msg_probe_ping, f) == offsetof(struct coord_msg_probe_pong, f) &&     \
			      offsetof(struct coord_msg_probe_ping, f) ==                                        \
				      offsetof(struct coord_msg_probe_callme_header, f),                         \
		      "probe messages share " #f)
PROBE_SAME_OFFSET(sender_pub);
PROBE_SAME_OFFSET(txid);
PROBE_SAME_OFFSET(timestamp_ns);
static_assert(offsetof(struct coord_msg_probe_ping, mac) == sizeof(struct coord_msg_probe_ping) - COORD_MAC_LEN &&
		      offsetof(struct coord_msg_probe_pong, mac) == sizeof(struct coord_msg_probe_pong) - COORD_MAC_LEN,
	      "the mac is last");

/* HKDF-Expand's first block: HMAC(prk, label " " || sender || receiver || 0x01). */
static void probe_expand(uint8_t out[COORD_KEY_LEN], const uint8_t prk[CRYPTO_HASH_LEN],
			 const uint8_t sender[COORD_KEY_LEN], const uint8_t receiver[COORD_KEY_LEN])
{
	uint8_t info[sizeof(probe_label) + 2 * COORD_KEY_LEN + 1];
	size_t n = sizeof(probe_label) - 1;

	memcpy(info, probe_label, n);
	info[n++] = ' ';
	memcpy(info + n, sender, COORD_KEY_LEN);
	memcpy(info + n + COORD_KEY_LEN, receiver, COORD_KEY_LEN);
	info[n + 2 * COORD_KEY_LEN] = 1;
	hmac_blake2s(out, prk, CRYPTO_HASH_LEN, info, sizeof(info));
}

int coord_probe_keys_derive(struct coord_probe_keys *out, const uint8_t self_priv[COORD_KEY_LEN],
			    const uint8_t peer_pub[COORD_KEY_LEN])
{
	uint8_t ikm[3 * COORD_KEY_LEN], prk[CRYPTO_HASH_LEN];
	struct coord_probe_keys k;
	const uint8_t *lo, *hi;
	int cmp, r;

	if (x25519_public(k.self_pub, self_priv) < 0)
		return -EINVAL;
	cmp = memcmp(k.self_pub, peer_pub, COORD_KEY_LEN);
	if (cmp == 0)
		return -EINVAL;
	if (x25519_shared(ikm, self_priv, peer_pub) < 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	/* Ordered, so both sides extract the same prk. */
	lo = cmp < 0 ? k.self_pub : peer_pub;
	hi = cmp < 0 ? peer_pub : k.self_pub;
	memcpy(ikm + COORD_KEY_LEN, lo, COORD_KEY_LEN);
	memcpy(ikm + 2 * COORD_KEY_LEN, hi, COORD_KEY_LEN);
	hmac_blake2s(prk, (const uint8_t *)probe_label, sizeof(probe_label) - 1, ikm, sizeof(ikm));
	memcpy(k.peer_pub, peer_pub, COORD_KEY_LEN);
	probe_expand(k.tx, prk, k.self_pub, k.peer_pub);
	probe_expand(k.rx, prk, k.peer_pub, k.self_pub);
	*out = k;
	r = 0;
out:
	crypto_wipe(ikm, sizeof(ikm));
	crypto_wipe(prk, sizeof(prk));
	crypto_wipe(&k, sizeof(k));
	return r;
}

void coord_probe_keys_wipe(struct coord_probe_keys *k)
{
	if (k)
		crypto_wipe(k, sizeof(*k));
}

static bool callme_len_ok(const uint8_t *buf, size_t len)
{
	uint8_t count;

	/* The count byte is in the header: read only once the header is there. */
	if (len < sizeof(struct coord_msg_probe_callme_header))
		return false;
	count = buf[offsetof(struct coord_msg_probe_callme_header, count)];
	return count >= 1 && count <= COORD_CALLME_ENDPOINTS_MAX && len == COORD_CALLME_LEN(count);
}

/* The exact length for the type, before any other field is read. */
static bool probe_len_ok(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return false;
	switch (buf[0]) {
	case COORD_MSG_PROBE_PING:
		return len == sizeof(struct coord_msg_probe_ping);
	case COORD_MSG_PROBE_PONG:
		return len == sizeof(struct coord_msg_probe_pong);
	case COORD_MSG_PROBE_CALLME:
		return callme_len_ok(buf, len);
	default:
		return false;
	}
}

int coord_probe_peek(const uint8_t *buf, size_t len, uint8_t *type_out, const uint8_t **sender_pub_out)
{
	if (!probe_len_ok(buf, len))
		return -EBADMSG;
	*type_out = buf[0];
	/* sender_pub is at offset 4 in all three. */
	*sender_pub_out = buf + offsetof(struct coord_msg_probe_ping, sender_pub);
	return 0;
}

/* The fields every probe message starts with: type, zero reserved bytes,
 * our key, txid, timestamp. */
static void probe_head_put(uint8_t *out, uint8_t type, const struct coord_probe_keys *k,
			   const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns)
{
	out[0] = type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + offsetof(struct coord_msg_probe_ping, sender_pub), k->self_pub, COORD_KEY_LEN);
	memcpy(out + offsetof(struct coord_msg_probe_ping, txid), txid, COORD_PROBE_TXID_LEN);
	le64_put(out + offsetof(struct coord_msg_probe_ping, timestamp_ns), timestamp_ns);
}

/* Length and type, then the mac (constant time) before any other field is
 * trusted, then the sender key and reserved bytes. */
static int probe_head_check(const uint8_t *buf, size_t len, uint8_t type, const struct coord_probe_keys *k)
{
	uint8_t mac[COORD_MAC_LEN];

	if (!probe_len_ok(buf, len) || buf[0] != type)
		return -EBADMSG;
	blake2s_mac(mac, k->rx, COORD_KEY_LEN, buf, len - COORD_MAC_LEN);
	if (!crypto_equal(mac, buf + len - COORD_MAC_LEN, COORD_MAC_LEN))
		return -EKEYREJECTED;
	if (!crypto_equal(buf + offsetof(struct coord_msg_probe_ping, sender_pub), k->peer_pub, COORD_KEY_LEN))
		return -EKEYREJECTED;
	if (buf[1] || buf[2] || buf[3])
		return -EBADMSG;
	return 0;
}

static void probe_mac_put(uint8_t *out, size_t len, const struct coord_probe_keys *k)
{
	blake2s_mac(out + len - COORD_MAC_LEN, k->tx, COORD_KEY_LEN, out, len - COORD_MAC_LEN);
}

void coord_probe_ping_build(uint8_t out[sizeof(struct coord_msg_probe_ping)], const struct coord_probe_keys *k,
			    const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns)
{
	memset(out, 0, sizeof(struct coord_msg_probe_ping));
	probe_head_put(out, COORD_MSG_PROBE_PING, k, txid, timestamp_ns);
	probe_mac_put(out, sizeof(struct coord_msg_probe_ping), k);
}

int coord_probe_ping_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			    struct coord_probe_ping *out)
{
	int r = probe_head_check(buf, len, COORD_MSG_PROBE_PING, k);

	if (r < 0)
		return r;
	if (!crypto_is_zero(buf + offsetof(struct coord_msg_probe_ping, pad), 20))
		return -EBADMSG;
	memcpy(out->txid, buf + offsetof(struct coord_msg_probe_ping, txid), COORD_PROBE_TXID_LEN);
	out->timestamp_ns = le64_get(buf + offsetof(struct coord_msg_probe_ping, timestamp_ns));
	return 0;
}

int coord_probe_pong_build(uint8_t out[sizeof(struct coord_msg_probe_pong)], const struct coord_probe_keys *k,
			   const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns,
			   const struct sockaddr_any *observed)
{
	struct coord_wire_endpoint w;

	if (coord_wire_endpoint_put(&w, observed) < 0)
		return -EAFNOSUPPORT;
	memset(out, 0, sizeof(struct coord_msg_probe_pong));
	probe_head_put(out, COORD_MSG_PROBE_PONG, k, txid, timestamp_ns);
	memcpy(out + offsetof(struct coord_msg_probe_pong, observed), &w, sizeof(w));
	probe_mac_put(out, sizeof(struct coord_msg_probe_pong), k);
	return 0;
}

int coord_probe_pong_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			    struct coord_probe_pong *out)
{
	struct coord_probe_pong p;
	int r = probe_head_check(buf, len, COORD_MSG_PROBE_PONG, k);

	if (r < 0)
		return r;
	if (coord_wire_endpoint_get(buf + offsetof(struct coord_msg_probe_pong, observed), &p.observed) < 0)
		return -EBADMSG;
	memcpy(p.txid, buf + offsetof(struct coord_msg_probe_pong, txid), COORD_PROBE_TXID_LEN);
	p.timestamp_ns = le64_get(buf + offsetof(struct coord_msg_probe_pong, timestamp_ns));
	*out = p;
	return 0;
}

int coord_probe_callme_build(uint8_t out[COORD_CALLME_MAX], size_t *len_out, const struct coord_probe_keys *k,
			     const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns,
			     const struct sockaddr_any *endpoints, size_t count)
{
	const size_t hdr = sizeof(struct coord_msg_probe_callme_header);
	struct coord_wire_endpoint w[COORD_CALLME_ENDPOINTS_MAX];
	size_t len = COORD_CALLME_LEN(count);

	if (count < 1 || count > COORD_CALLME_ENDPOINTS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		if (coord_wire_endpoint_put(&w[i], &endpoints[i]) < 0)
			return -EAFNOSUPPORT;
	memset(out, 0, len);
	probe_head_put(out, COORD_MSG_PROBE_CALLME, k, txid, timestamp_ns);
	out[offsetof(struct coord_msg_probe_callme_header, count)] = (uint8_t)count;
	memcpy(out + hdr, w, count * sizeof(w[0]));
	probe_mac_put(out, len, k);
	*len_out = len;
	return 0;
}

int coord_probe_callme_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			      struct coord_probe_callme *out)
{
	const size_t hdr = sizeof(struct coord_msg_probe_callme_header);
	struct coord_probe_callme c;
	int r = probe_head_check(buf, len, COORD_MSG_PROBE_CALLME, k);

	if (r < 0)
		return r;
	if (!crypto_is_zero(buf + offsetof(struct coord_msg_probe_callme_header, reserved2), 3))
		return -EBADMSG;
	memset(&c, 0, sizeof(c));
	c.count = buf[offsetof(struct coord_msg_probe_callme_header, count)];
	for (size_t i = 0; i < c.count; i++)
		if (coord_wire_endpoint_get(buf + hdr + i * sizeof(struct coord_wire_endpoint), &c.endpoints[i]) < 0)
			return -EBADMSG;
	memcpy(c.txid, buf + offsetof(struct coord_msg_probe_callme_header, txid), COORD_PROBE_TXID_LEN);
	c.timestamp_ns = le64_get(buf + offsetof(struct coord_msg_probe_callme_header, timestamp_ns));
	*out = c;
	return 0;
}

/* Drop entries at or below the floor: the floor alone rejects them now. */
static void window_prune(struct coord_probe_window *w, uint64_t floor)
{
	unsigned j = 0;

	for (unsigned i = 0; i < w->count; i++)
		if (w->e[i].ts_ns > floor)
			w->e[j++] = w->e[i];
	w->count = j;
}

static uint64_t window_floor(const struct coord_probe_window *w)
{
	uint64_t reorder = w->newest_ns > COORD_PROBE_REORDER_NS ? w->newest_ns - COORD_PROBE_REORDER_NS : 0;

	return reorder > w->forgot_ns ? reorder : w->forgot_ns;
}

int coord_probe_window_check_and_add(struct coord_probe_window *w, uint64_t ts_ns,
				     const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t now_wall_ns)
{
	uint64_t diff = ts_ns > now_wall_ns ? ts_ns - now_wall_ns : now_wall_ns - ts_ns;
	unsigned oldest = 0;

	if (diff > COORD_PROBE_MAX_SKEW_NS)
		return -ETIME;
	if (ts_ns <= window_floor(w))
		return -ESTALE;
	for (unsigned i = 0; i < w->count; i++)
		if (memcmp(w->e[i].txid, txid, COORD_PROBE_TXID_LEN) == 0)
			return -EALREADY;
	if (ts_ns > w->newest_ns)
		w->newest_ns = ts_ns;
	window_prune(w, window_floor(w));
	if (w->count == COORD_PROBE_WINDOW) {
		for (unsigned i = 1; i < w->count; i++)
			if (w->e[i].ts_ns < w->e[oldest].ts_ns)
				oldest = i;
		if (w->e[oldest].ts_ns > w->forgot_ns)
			w->forgot_ns = w->e[oldest].ts_ns;
		window_prune(w, w->forgot_ns);
	}
	/* ts itself may now be at the floor (it was the oldest): then it is
	 * accepted once and the floor keeps it from coming back. */
	if (ts_ns > window_floor(w)) {
		w->e[w->count].ts_ns = ts_ns;
		memcpy(w->e[w->count].txid, txid, COORD_PROBE_TXID_LEN);
		w->count++;
	}
	return 0;
}

void coord_probe_pending_add(struct coord_probe_pending *p, const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t tag,
			     uint64_t now_ns)
{
	size_t slot = 0;

	for (size_t i = 0; i < COORD_PROBE_PENDING_MAX; i++) {
		if (!p->e[i].used) {
			slot = i;
			break;
		}
		if (p->e[i].sent_ns < p->e[slot].sent_ns)
			slot = i;
	}
	memcpy(p->e[slot].txid, txid, COORD_PROBE_TXID_LEN);
	p->e[slot].sent_ns = now_ns;
	p->e[slot].tag = tag;
	p->e[slot].used = true;
}

int coord_probe_pending_take(struct coord_probe_pending *p, const uint8_t txid[COORD_PROBE_TXID_LEN],
			     uint64_t now_ns, uint64_t *tag_out, uint64_t *sent_ns_out)
{
	for (size_t i = 0; i < COORD_PROBE_PENDING_MAX; i++) {
		if (!p->e[i].used || memcmp(p->e[i].txid, txid, COORD_PROBE_TXID_LEN) != 0)
			continue;
		p->e[i].used = false;
		if (now_ns < p->e[i].sent_ns || now_ns - p->e[i].sent_ns > COORD_PROBE_PONG_TIMEOUT_NS)
			return -ETIMEDOUT;
		*tag_out = p->e[i].tag;
		*sent_ns_out = p->e[i].sent_ns;
		return 0;
	}
	return -ENOENT;
}
