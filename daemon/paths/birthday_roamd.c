/* Hard-NAT probing wired into roamd (daemon/paths/birthday_roamd.h). */
#include "daemon/paths/birthday_roamd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

struct roamd_birthday {
	struct aux_sockets *aux;
	struct birthday_glue *glue;
};

/* Every datagram of an extra socket, whatever it is, through the one
 * demultiplexer: WireGuard to the engine, probes to the path manager. */
static void aux_input(void *ctx, uint8_t slot, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now)
{
	struct roamd *d = ctx;
	struct endpoint src;
	endpoint_aux(&src, slot, from);
	if (src.len)
		roamd_datagram_input(d, buf, len, &src, now);
}

/* A batch's end, as after the tunnels' socket's: TCP segments the TUN side
 * coalesced go to the kernel now, not with some later batch. */
static void aux_input_done(void *ctx)
{
	struct roamd *d = ctx;
	if (d->tun_gro)
		tun_gro_flush(d->tun_gro);
}

void roamd_aux_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	struct roamd_birthday *b = d->host.birthday;
	struct sockaddr_any addr;
	int slot = endpoint_aux_slot(to);
	if (!b || slot < 0 || endpoint_to_sockaddr(to, &addr) < 0 ||
	    aux_socket_send(b->aux, (uint8_t)slot, &addr, msg, len) < 0)
		d->stats.udp_send_errors++;
}

int roamd_birthday_start(struct roamd *d, const struct birthday_glue_ops *ops)
{
	struct roamd_birthday *b;
	int ret;
	if (d->host.birthday)
		return -EALREADY;
	if (!(b = calloc(1, sizeof(*b))))
		return -ENOMEM;
	if ((ret = aux_sockets_new(d->loop, ROAMD_AUX_SOCKETS_MAX, aux_input, aux_input_done, d, &b->aux)) < 0 ||
	    (ret = birthday_glue_new(d->loop, b->aux, ops, &b->glue)) < 0) {
		aux_sockets_free(b->aux);
		free(b);
		return ret;
	}
	d->host.birthday = b;
	return 0;
}

void roamd_birthday_stop(struct roamd *d)
{
	struct roamd_birthday *b = d->host.birthday;
	if (!b)
		return;
	birthday_glue_free(b->glue); /* releases its sockets first */
	aux_sockets_free(b->aux);
	free(b);
	d->host.birthday = NULL;
}

struct aux_sockets *roamd_aux_sockets(const struct roamd *d)
{
	return d->host.birthday ? d->host.birthday->aux : NULL;
}

struct birthday_glue *roamd_birthday_glue(const struct roamd *d)
{
	return d->host.birthday ? d->host.birthday->glue : NULL;
}

void roamd_birthday_status_json(const struct roamd *d, cJSON *root)
{
	struct roamd_birthday *b = d->host.birthday;
	struct birthday_glue_stats g;
	struct aux_sockets_stats a;
	cJSON *o;
	if (!b || !(o = cJSON_AddObjectToObject(root, "hard_nat")))
		return;
	birthday_glue_get_stats(b->glue, &g);
	aux_sockets_get_stats(b->aux, &a);
	cJSON_AddNumberToObject(o, "attempts_hard", (double)g.started[BIRTHDAY_HARD]);
	cJSON_AddNumberToObject(o, "attempts_easy", (double)g.started[BIRTHDAY_EASY]);
	cJSON_AddNumberToObject(o, "running", g.running);
	cJSON_AddNumberToObject(o, "won", (double)g.won);
	cJSON_AddNumberToObject(o, "failed", (double)g.failed);
	cJSON_AddNumberToObject(o, "last_won_ms", (double)g.last_ms);
	cJSON_AddNumberToObject(o, "probes_sent", (double)g.probes_sent);
	cJSON_AddNumberToObject(o, "sockets_open", a.open_now);
	cJSON_AddNumberToObject(o, "sockets_max", a.open_max);
	cJSON_AddNumberToObject(o, "sockets_opened", (double)a.opened_total);
	cJSON_AddNumberToObject(o, "sockets_refused", (double)a.open_failures);
	cJSON_AddNumberToObject(o, "winners_held", g.winners_held);
}
