/* Port mapping in the agent (daemon/agent_portmap.h). One worker thread
 * owns struct portmap; the loop thread and the worker share only `job`,
 * `done` and `result`, under the mutex. */
#include "daemon/agent_portmap.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/managed/managed.h"
#include "daemon/portmap/portmap.h"
#include "util/log.h"

#define PORTMAP_LIFETIME_S 7200
#define PORTMAP_RETRY_S 300 /* nothing mapped: ask again this much later */

enum pm_job { PM_IDLE, PM_MAP, PM_RENEW, PM_DELETE, PM_EXIT };

struct agent_portmap {
	struct managed *m;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum pm_job job;          /* for the worker; PM_IDLE once taken */
	bool done;                /* a result waits for the loop */
	struct portmap_result result;
	uint64_t renew_at_ms;     /* CLOCK_MONOTONIC ms; 0: nothing to renew */
	bool wanted;              /* loop thread: mapped until roam down */
	int efd;
	struct ev_io io;
	struct ev_timer renew;
	struct portmap pm;        /* the worker's */
};

static void *worker(void *arg)
{
	struct agent_portmap *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->job == PM_IDLE)
			pthread_cond_wait(&p->cond, &p->lock);
		enum pm_job job = p->job;
		p->job = PM_IDLE;
		pthread_mutex_unlock(&p->lock);
		int r = 0;
		if (job == PM_RENEW)
			r = portmap_renew(&p->pm);
		if (job == PM_MAP || (job == PM_RENEW && r < 0))
			r = portmap_start(&p->pm);
		if (job == PM_DELETE || job == PM_EXIT)
			portmap_stop(&p->pm);
		pthread_mutex_lock(&p->lock);
		if (job == PM_EXIT)
			break;
		p->result = p->pm.result;
		p->renew_at_ms = portmap_renew_at_ms(&p->pm);
		if (job == PM_DELETE)
			memset(&p->result, 0, sizeof(p->result));
		p->done = true;
		uint64_t one = 1;
		if (write(p->efd, &one, sizeof(one)) < 0) {
			/* A full counter still wakes the loop. */
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void post(struct agent_portmap *p, enum pm_job job)
{
	pthread_mutex_lock(&p->lock);
	/* A delete or an exit overrides a pending map; a map does not undo them. */
	if (p->job == PM_IDLE || job >= PM_DELETE || (p->job == PM_RENEW && job == PM_MAP))
		p->job = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* The mapping is good when the router's external address is the one the
 * server sees us at: an IGD behind a carrier NAT reports an address the
 * internet cannot reach (UPNP_GetValidIGD() says so: needs_verification). */
static int8_t verify(const struct managed *m, const struct portmap_result *r)
{
	const struct sockaddr_any *seen = &m->st.netcheck.observed[0];
	if (!r->needs_verification)
		return 1;
	if (!seen->len)
		seen = &m->st.public_endpoint; /* no netcheck answer yet: the BINDING_ACK's */
	if (!seen->len || seen->sa.sa_family != AF_INET)
		return -1;
	return seen->in4.sin_addr.s_addr == r->external_addr.s_addr;
}

static void apply(struct agent_portmap *p, const struct portmap_result *r, uint64_t renew_at_ms)
{
	struct managed *m = p->m;
	struct managed_netcheck_result *n = &m->st.netcheck;
	struct sockaddr_any ext = { .len = 0 };
	if (r->proto != PORTMAP_NONE) {
		ext.in4.sin_family = AF_INET;
		ext.in4.sin_addr = r->external_addr;
		ext.in4.sin_port = htons(r->external_port);
		ext.len = sizeof(ext.in4);
	}
	bool changed = !sockaddr_any_equal(&ext, &n->portmap_external) || n->portmap_proto != r->proto;
	n->portmap_proto = (uint8_t)r->proto;
	n->portmap_external = ext;
	n->portmap_verified = r->proto != PORTMAP_NONE ? verify(m, r) : -1;
	static_assert(sizeof(n->portmap_error) == sizeof(r->error), "the reason fits");
	memcpy(n->portmap_error, r->error, sizeof(n->portmap_error));
	n->portmap_error[sizeof(n->portmap_error) - 1] = '\0';
	if (changed) {
		char text[SOCKADDR_ANY_STRLEN] = "";
		if (ext.len)
			sockaddr_any_format(&ext, text, sizeof(text));
		if (ext.len)
			log_info("port mapping: %s mapped %s%s", portmap_proto_name(r->proto), text,
				 n->portmap_verified == 0 ? " (but the server sees another address: not used)" : "");
		else
			log_info("port mapping: none (%s)", r->error[0] ? r->error : "deleted");
		managed_portmap_changed(m, n->portmap_verified != 0 ? &ext : NULL);
	}
	if (!p->wanted)
		return; /* deleted: roam down */
	/* Renew when the module says; nothing mapped: ask again later (a
	 * router may get UPnP switched on). */
	uint64_t now_ms = portmap_now_ms();
	uint64_t wait_ms = renew_at_ms ? (renew_at_ms > now_ms ? renew_at_ms - now_ms : 0)
		: (uint64_t)PORTMAP_RETRY_S * 1000;
	ev_timer_start(m->loop, &p->renew, ev_now(m->loop) + wait_ms * EV_NSEC_PER_MSEC);
}

static void on_result(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct agent_portmap *p = io->data;
	struct portmap_result r;
	uint64_t count, renew_at_ms;
	bool done;
	(void)loop, (void)revents;
	if (read(p->efd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&p->lock);
	done = p->done;
	p->done = false;
	r = p->result;
	renew_at_ms = p->renew_at_ms;
	pthread_mutex_unlock(&p->lock);
	if (done)
		apply(p, &r, renew_at_ms);
}

static void on_renew(struct ev_loop *loop, struct ev_timer *t)
{
	struct agent_portmap *p = t->data;
	(void)loop;
	post(p, p->m->st.netcheck.portmap_proto ? PM_RENEW : PM_MAP);
}

int agent_portmap_new(struct managed *m, uint16_t port, struct agent_portmap **out)
{
	struct portmap_config cfg = { .internal_port = port, .lifetime = PORTMAP_LIFETIME_S };
	struct agent_portmap *p = calloc(1, sizeof(*p));
	int ret;
	if (!p)
		return -ENOMEM;
	p->m = m;
	portmap_init(&p->pm, &cfg);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ev_timer_init(&p->renew, on_renew, p);
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		ret = -errno;
		goto fail;
	}
	ev_io_init(&p->io, p->efd, EPOLLIN, on_result, p);
	if ((ret = ev_io_start(m->loop, &p->io)) < 0)
		goto fail;
	if ((ret = -pthread_create(&p->thread, NULL, worker, p)) < 0) {
		ev_io_stop(m->loop, &p->io);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}

void agent_portmap_start(struct agent_portmap *p)
{
	if (!p)
		return;
	p->wanted = true;
	post(p, PM_MAP);
}

void agent_portmap_delete(struct agent_portmap *p)
{
	if (!p)
		return;
	p->wanted = false;
	ev_timer_stop(p->m->loop, &p->renew);
	post(p, PM_DELETE);
}

void agent_portmap_free(struct agent_portmap *p)
{
	struct timespec limit;
	if (!p)
		return;
	ev_timer_stop(p->m->loop, &p->renew);
	ev_io_stop(p->m->loop, &p->io);
	post(p, PM_EXIT);
	/* The delete is one exchange (a SOAP call for UPnP): do not let a
	 * router that does not answer hold the stop up for long. */
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 3;
	if (pthread_timedjoin_np(p->thread, NULL, &limit) != 0) {
		log_warn("port mapping: the router did not answer the delete in time");
		return; /* the process ends; the thread still uses p */
	}
	close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
