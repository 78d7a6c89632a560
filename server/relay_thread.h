/* The UDP relay's forwarding thread (issue 10: relaying never delays the
 * control API). It owns the receive side of the server's UDP socket: it
 * reads batches (recvmmsg, UDP GRO), forwards RELAY datagrams between bound
 * nodes itself (sendmmsg/GSO through its own send queue) using a read-only
 * snapshot of the directory that the main loop publishes, and hands
 * everything else back to the main loop through a bounded queue and an
 * eventfd. The design is at the top of relay_thread.c. */
#ifndef ROAM_SERVER_RELAY_THREAD_H
#define ROAM_SERVER_RELAY_THREAD_H

struct server;

/* Starts the thread on s->udp (relay_open has opened it, the main loop does
 * not read it). 0 or -errno. ROAM_TEST_RELAY_INLINE=1 (test_hooks builds):
 * -ENOTSUP, the caller reads the socket on the main loop as before (the
 * "before" of the latency test). */
int relay_thread_start(struct server *s);
/* Stops and joins the thread, folds its counters into s->stats, frees its
 * snapshots and queued datagrams. Safe when it never started. */
void relay_thread_stop(struct server *s);

#endif
