/* Host names to addresses off the loop (resolve.h). */
#include "daemon/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct resolve_job {
	bool used;
	unsigned key;
	uint16_t port;
	uint64_t started;
	char name[RESOLVE_NAME_MAX];
	struct addrinfo hints;
	struct gaicb cb;
};

struct resolver {
	struct ev_loop *loop;
	resolve_cb cb;
	void *ctx;
	struct ev_timer timer;
	/* Each job's gaicb belongs to glibc's thread until it is done: a job
	 * dropped before (replaced, cancelled, timed out) stays allocated,
	 * orphaned, until then, and keeps its slot. */
	struct resolve_job *jobs[RESOLVE_JOBS_MAX];
};

static int gai_errno(int e)
{
	switch (e) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
	case EAI_FAMILY: return -ENOENT;
	case EAI_AGAIN: return -EAGAIN;
	case EAI_MEMORY: return -ENOMEM;
	case EAI_CANCELED: return -ECANCELED;
	default: return -EIO;
	}
}

/* Done: 0 and the first address, or -errno. */
static int job_result(struct resolve_job *j, struct sockaddr_any *out)
{
	int e = gai_error(&j->cb), r = -ENOENT;
	if (e != 0) {
		if (j->cb.ar_result)
			freeaddrinfo(j->cb.ar_result);
		j->cb.ar_result = NULL;
		return gai_errno(e);
	}
	for (struct addrinfo *ai = j->cb.ar_result; ai && r < 0; ai = ai->ai_next)
		r = sockaddr_any_from(ai->ai_addr, ai->ai_addrlen, out);
	freeaddrinfo(j->cb.ar_result);
	j->cb.ar_result = NULL;
	if (r == 0) {
		if (out->sa.sa_family == AF_INET)
			out->in4.sin_port = htons(j->port);
		else
			out->in6.sin6_port = htons(j->port);
	}
	return r < 0 ? -ENOENT : 0;
}

/* Frees j now if glibc is done with it, else leaves it to the poll (an
 * orphan: no callback). Never gai_cancel: glibc leaks the request's wait
 * list when it cancels one in progress. */
static void job_drop(struct resolver *r, size_t i)
{
	struct resolve_job *j = r->jobs[i];
	if (gai_error(&j->cb) == EAI_INPROGRESS) {
		j->used = false;
		return;
	}
	if (j->cb.ar_result)
		freeaddrinfo(j->cb.ar_result);
	free(j);
	r->jobs[i] = NULL;
}

static void poll_jobs(struct ev_loop *loop, struct ev_timer *t)
{
	struct resolver *r = t->data;
	uint64_t now = ev_now(loop);
	bool running = false;
	for (size_t i = 0; i < RESOLVE_JOBS_MAX; i++) {
		struct resolve_job *j = r->jobs[i];
		struct sockaddr_any a = { .len = 0 };
		if (!j)
			continue;
		if (gai_error(&j->cb) == EAI_INPROGRESS) {
			if (j->used && now - j->started >= RESOLVE_TIMEOUT_NS) {
				unsigned key = j->key;
				job_drop(r, i);
				r->cb(r->ctx, key, -ETIMEDOUT, NULL);
			}
			running = running || r->jobs[i];
			continue;
		}
		bool used = j->used;
		unsigned key = j->key;
		int err = job_result(j, &a);
		free(j);
		r->jobs[i] = NULL;
		if (used)
			r->cb(r->ctx, key, err, err ? NULL : &a); /* may start another: a free slot */
	}
	for (size_t i = 0; i < RESOLVE_JOBS_MAX && !running; i++)
		running = r->jobs[i] != NULL;
	if (running)
		ev_timer_start(loop, &r->timer, now + RESOLVE_POLL_NS);
}

int resolver_new(struct ev_loop *loop, resolve_cb cb, void *ctx, struct resolver **out)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->cb = cb;
	r->ctx = ctx;
	ev_timer_init(&r->timer, poll_jobs, r);
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	ev_timer_stop(r->loop, &r->timer);
	for (size_t i = 0; i < RESOLVE_JOBS_MAX; i++) {
		struct resolve_job *j = r->jobs[i];
		if (!j)
			continue;
		if (gai_error(&j->cb) == EAI_INPROGRESS) {
			/* Give glibc's thread a moment; a lookup stuck past it
			 * is left to the process's exit. */
			const struct gaicb *list[1] = { &j->cb };
			const struct timespec wait = { 1, 0 };
			gai_suspend(list, 1, &wait);
			if (gai_error(&j->cb) == EAI_INPROGRESS)
				continue;
		}
		if (j->cb.ar_result)
			freeaddrinfo(j->cb.ar_result);
		free(j);
	}
	free(r);
}

void resolver_cancel(struct resolver *r, unsigned key)
{
	for (size_t i = 0; r && i < RESOLVE_JOBS_MAX; i++)
		if (r->jobs[i] && r->jobs[i]->used && r->jobs[i]->key == key)
			job_drop(r, i);
}

int resolver_lookup(struct resolver *r, unsigned key, const char *host, uint16_t port)
{
	struct gaicb *list[1];
	struct resolve_job *j;
	size_t slot = RESOLVE_JOBS_MAX;
	if (strlen(host) >= RESOLVE_NAME_MAX)
		return -ENAMETOOLONG;
	resolver_cancel(r, key);
	for (size_t i = 0; i < RESOLVE_JOBS_MAX && slot == RESOLVE_JOBS_MAX; i++)
		if (!r->jobs[i])
			slot = i;
	if (slot == RESOLVE_JOBS_MAX)
		return -ENOSPC;
	if (!(j = calloc(1, sizeof(*j))))
		return -ENOMEM;
	j->used = true;
	j->key = key;
	j->port = port;
	j->started = ev_now(r->loop);
	snprintf(j->name, sizeof(j->name), "%s", host);
	j->hints.ai_socktype = SOCK_DGRAM;
	j->hints.ai_flags = AI_ADDRCONFIG;
	j->cb.ar_name = j->name;
	j->cb.ar_request = &j->hints;
	list[0] = &j->cb;
	int e = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (e != 0) {
		free(j);
		return gai_errno(e);
	}
	r->jobs[slot] = j;
	if (!ev_timer_pending(&r->timer))
		ev_timer_start(r->loop, &r->timer, ev_now(r->loop) + RESOLVE_POLL_NS);
	return 0;
}
