/* A libcurl multi handle driven by our event loop (the multi socket API):
 * the sockets libcurl names are watched with ev_io, its timeout is an
 * ev_timer, and after every action the owner's progress callback looks at
 * what finished. Used by http_client.c (requests) and the relay links'
 * connections (daemon/relaylink/link_stream.c), which detach once libcurl
 * has connected and watch the socket themselves. */
#ifndef ROAM_DAEMON_CURL_EV_H
#define ROAM_DAEMON_CURL_EV_H

#include <curl/curl.h>
#include <stdbool.h>

#include "ev/loop.h"

struct curl_ev_sock;

struct curl_ev {
	struct ev_loop *loop;
	CURLM *multi;
	struct ev_timer timer;
	struct curl_ev_sock *socks;
	bool detached;
	void (*progress)(void *ctx); /* after each socket action: read what finished */
	void *ctx;
};

/* A new multi handle on loop; 0 or -ENOMEM. */
int curl_ev_init(struct curl_ev *ce, struct ev_loop *loop, void (*progress)(void *ctx), void *ctx);
/* Stops watching every socket and the timer; libcurl's requests to watch
 * are ignored from now on (the multi handle stays). */
void curl_ev_detach(struct curl_ev *ce);
/* Detaches and frees the multi handle (its easy handles removed first). */
void curl_ev_cleanup(struct curl_ev *ce);

#endif
