/* A libcurl multi handle on our event loop (curl_ev.h). */
#include "daemon/curl_ev.h"

#include <errno.h>
#include <stdlib.h>

/* One per socket libcurl asks us to watch. */
struct curl_ev_sock {
	struct curl_ev *ce;
	struct ev_io io;
	struct curl_ev_sock *prev, *next;
};

static void on_socket_ready(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct curl_ev_sock *s = io->data;
	struct curl_ev *ce = s->ce;
	int running, mask = 0;
	(void)loop;
	if (revents & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(ce->multi, io->fd, mask, &running); /* may free s */
	ce->progress(ce->ctx);
}

static void sock_drop(struct curl_ev *ce, struct curl_ev_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		ce->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	/* libcurl must never hand the pointer back once it is freed. */
	curl_multi_assign(ce->multi, s->io.fd, NULL);
	ev_io_stop(ce->loop, &s->io);
	free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curl_ev *ce = userp;
	struct curl_ev_sock *s = socketp;
	(void)easy;
	if (ce->detached)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_drop(ce, s);
		return 0;
	}
	uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (s)
		return ev_io_modify(ce->loop, &s->io, events) < 0 ? -1 : 0;
	if (!(s = calloc(1, sizeof(*s))))
		return -1;
	s->ce = ce;
	s->next = ce->socks;
	if (ce->socks)
		ce->socks->prev = s;
	ce->socks = s;
	ev_io_init(&s->io, fd, events, on_socket_ready, s);
	curl_multi_assign(ce->multi, fd, s);
	return ev_io_start(ce->loop, &s->io) < 0 ? -1 : 0;
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct curl_ev *ce = t->data;
	int running;
	(void)loop;
	curl_multi_socket_action(ce->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	ce->progress(ce->ctx);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_ev *ce = userp;
	(void)multi;
	if (ce->detached || timeout_ms < 0)
		ev_timer_stop(ce->loop, &ce->timer);
	else
		ev_timer_start(ce->loop, &ce->timer, ev_now(ce->loop) + (uint64_t)timeout_ms * EV_NSEC_PER_MSEC);
	return 0;
}

int curl_ev_init(struct curl_ev *ce, struct ev_loop *loop, void (*progress)(void *ctx), void *ctx)
{
	ce->loop = loop;
	ce->socks = NULL;
	ce->detached = false;
	ce->progress = progress;
	ce->ctx = ctx;
	ev_timer_init(&ce->timer, on_timer, ce);
	if (!(ce->multi = curl_multi_init()))
		return -ENOMEM;
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce);
	return 0;
}

void curl_ev_detach(struct curl_ev *ce)
{
	while (ce->socks)
		sock_drop(ce, ce->socks);
	ev_timer_stop(ce->loop, &ce->timer);
	ce->detached = true;
}

void curl_ev_cleanup(struct curl_ev *ce)
{
	if (!ce->multi)
		return;
	curl_ev_detach(ce);
	curl_multi_cleanup(ce->multi);
	ce->multi = NULL;
}
