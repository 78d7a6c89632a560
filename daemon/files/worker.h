/* Inside the file worker (roamd-files): the transfer table the threads
 * update and the event loop reports, and the two kinds of thread. */
#ifndef ROAM_DAEMON_FILES_WORKER_H
#define ROAM_DAEMON_FILES_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon/files/file_service.h"
#include "files/push.h"
#include "net/addr.h"

#define XFER_SLOTS FILES_SNAPSHOT_MAX
#define XFER_MAX_RECV 8  /* connections being received at once */
#define XFER_MAX_SEND 16 /* pushes at once */
#define WORKER_PEERS_MAX 4096

enum xfer_state {
	XFER_FREE,
	XFER_HASHING,    /* sender: hashing the file before the offer */
	XFER_CONNECTING, /* sender: (re)connecting to the peer */
	XFER_WAITING,    /* sender: the connection broke; retrying */
	XFER_SENDING,
	XFER_RECEIVING,
	XFER_DELIVERED, /* sent: the receiver checked the hash and stored it */
	XFER_RECEIVED,  /* received: checked and in the inbox */
	XFER_FAILED,
	XFER_CANCELLED,
};

struct xfer {
	enum xfer_state state;
	bool outgoing;
	bool cancel; /* asked to stop */
	char id[16];
	char name[FILES_NAME_MAX + 1];
	char peer[64];  /* the peer's name, or its address */
	char where[FILES_NAME_MAX * 2 + 80]; /* received: the path in the inbox */
	char error[160];
	uint64_t size, done;
	uint64_t run_start_bytes, run_start_ns; /* this attempt: for the rate */
	uint64_t run_end_ns;                    /* when it finished (the rate stops there) */
	uint64_t seq;                           /* when it last changed (the table's counter) */
	int sock;                               /* -1 when none; shut down to cancel */
	/* sender */
	int file_fd;
	struct ip_prefix addrs[2];
	int n_addrs;
	/* receiver */
	uint8_t hash[FILES_HASH_LEN];
	char dir[64]; /* the sender's directory in the inbox */
};

struct worker {
	pthread_mutex_t lock; /* the table, the peers, the counters */
	struct xfer xfers[XFER_SLOTS];
	uint64_t seq; /* bumped at every change: the loop reports when it moved */
	unsigned next_recv_id;
	int inbox_fd;
	struct ip_prefix self[2];
	int n_self;
	struct worker_peer {
		struct ip_prefix addr;
		char name[64];
	} *peers;
	size_t n_peers;
	uint64_t rate_limit; /* test builds: bytes per second a sender sends (0: no limit) */
	uint64_t retry_ns;   /* how long a sender keeps retrying a broken transfer */
	struct files_keypair key; /* the node's file key pair (offline push: not used yet) */
};

/* worker.c */
uint64_t worker_now_ns(void);
/* A free slot (or the oldest finished one), under the lock; NULL if all busy. */
struct xfer *worker_slot_take(struct worker *w);
void worker_changed(struct worker *w, struct xfer *x); /* under the lock */
/* The peer owning an address: its name into name, 1; 0 if none. */
int worker_peer_lookup(struct worker *w, const struct ip_prefix *addr, char *name, size_t size);
int files_sandbox_enter(const char *user, char *why, size_t why_size);

/* transfer_send.c / transfer_recv.c: thread bodies; arg is the slot. */
void *xfer_send_thread(void *arg);
void *xfer_recv_thread(void *arg);
void xfer_sweep_parts(int inbox_fd, time_t now); /* at start and every hour */
extern struct worker *xfer_worker;

/* Blocking helpers (transfer_send.c). */
int xfer_read_full(int fd, void *buf, size_t len);
int xfer_write_full(int fd, const void *buf, size_t len);
void xfer_set_timeouts(int fd, int seconds);
void xfer_finish(struct xfer *x, enum xfer_state state, const char *error);

#endif
