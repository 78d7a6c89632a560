/* Inside the file worker (roamd-files): the transfer table the threads
 * update and the event loop reports, and the two kinds of thread. */
#ifndef ROAM_DAEMON_FILES_WORKER_H
#define ROAM_DAEMON_FILES_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/files/file_service.h"
#include "daemon/proxy.h"
#include "files/push.h"
#include "files/sources.h"
#include "net/addr.h"

#define XFER_SLOTS FILES_SNAPSHOT_MAX
#define XFER_MAX_RECV 8  /* connections being received at once */
#define XFER_MAX_SEND 16 /* pushes at once */
#define WORKER_PEERS_MAX 32768 /* addresses of peers (two each) the file service admits */

enum xfer_state {
	XFER_FREE,
	XFER_HASHING,    /* sender: hashing the file before the offer */
	XFER_CONNECTING, /* sender: (re)connecting to the peer */
	XFER_WAITING,    /* sender: the connection broke; retrying */
	XFER_SENDING,
	XFER_RECEIVING,
	XFER_UPLOADING, /* offline push: encrypting into the server's cache */
	XFER_QUEUED,    /* offline push: on the server, waiting for the recipient */
	XFER_DOWNLOADING, /* from the server's cache */
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
	bool restarted; /* a continued send did not match: sent again from zero once */
	/* offline push (sender): the recipient's node id and file key, the
	 * server's id for the file, the header's file id (the receipt names it) */
	bool offline;
	bool resume;                        /* continue the upload saved under token */
	char token[FILES_TOKEN_LEN + 1];    /* the monitor's for this upload ("" none) */
	uint32_t to;
	uint8_t recipient_pub[FILES_KEY_LEN];
	char server_id[40];
	uint8_t file_id[FILES_ID_LEN];
	/* receiver; the sender's too (the plaintext hash, for the receipt) */
	uint8_t hash[FILES_HASH_LEN];
	char dir[64]; /* the sender's directory in the inbox */
	/* a pull (pull_job.c): by hash and root, or by a path to look up */
	bool pull, pull_wait; /* pull_wait: continued after a restart, waits for holders */
	bool held;            /* received: handed to pull_host_hold */
	bool fetching;        /* claimed its part (pull_job.c claim) */
	bool run_started;     /* the rate's start taken */
	uint8_t root[FILES_HASH_LEN];
	char lookup[FILES_INDEX_PATH_MAX + 1];
	char dest[256]; /* the directory given, for `roam files`; "" the inbox */
	int dest_fd;    /* the monitor's descriptor of it; -1 none */
	bool cached;                       /* the publisher's index names a copy on the server */
	uint32_t publisher_id;
	struct files_index_entry cache_e;  /* its id and key (path and thumbnail NULL); wiped at the end */
	unsigned n_src;
	struct xfer_src {
		char peer[64];
		uint64_t bytes, rate;
		bool active;
	} src[FILES_SRC_MAX];
};

struct worker {
	pthread_mutex_t lock; /* the table, the peers, the counters */
	struct xfer xfers[XFER_SLOTS];
	uint64_t seq; /* bumped at every change: the loop reports when it moved */
	unsigned next_recv_id;
	int inbox_fd;
	int state_fd; /* STATE_DIR/files: the key, and saved download states */
	int wake_fd;  /* eventfd: a transfer ended, the loop reports it at once */
	struct ip_prefix self[2];
	int n_self;
	struct worker_peer {
		struct ip_prefix addr;
		char name[64];
		uint32_t id;
		bool has_file_key;
		uint8_t file_key[FILES_KEY_LEN];
	} *peers;
	size_t n_peers;
	uint64_t rate_limit; /* test builds: bytes per second a sender sends (0: no limit) */
	uint64_t retry_ns;   /* how long a sender keeps retrying a broken transfer */
	struct files_keypair key; /* the node's file key pair (offline push) */
	/* The server for the offline push (the monitor sends it with the view). */
	struct worker_server {
		bool have;
		char url[512];
		char pin[64];
		uint8_t k[32];
		uint8_t node_pub[32];
		struct roamd_proxy proxy; /* the node's `roam up --proxy`; unset: the environment's */
		bool allow_interception;  /* `roam up --allow-tls-interception` */
	} server;
	uint64_t poll_ns; /* how often the cache is asked for files and receipts */
	pthread_cond_t poll_cond; /* signalled (under lock) to ask it now */
	bool poll_now;
};

/* worker.c */
uint64_t worker_now_ns(void);
/* A free slot (or the oldest finished one), under the lock; NULL if all busy. */
struct xfer *worker_slot_take(struct worker *w);
void worker_changed(struct worker *w, struct xfer *x); /* under the lock */
/* The peer owning an address: its name into name, 1; 0 if none. */
int worker_peer_lookup(struct worker *w, const struct ip_prefix *addr, char *name, size_t size);
struct sockaddr_storage;
/* addr:port as a socket address (0). */
int worker_sockaddr_of(const struct ip_prefix *p, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);
int files_sandbox_enter(const char *user, char *why, size_t why_size);

/* transfer_send.c / transfer_recv.c: thread bodies; arg is the slot. */
void *xfer_send_thread(void *arg);
void *xfer_recv_thread(void *arg);
void xfer_sweep_parts(int inbox_fd, time_t now); /* at start and every hour */
extern struct worker *xfer_worker;

/* offline.c: the offline push through the server's cache. */
void *xfer_upload_thread(void *arg);
void *offline_poll_thread(void *arg); /* downloads, receipts; for the worker's life */
void offline_poll_wake(struct worker *w); /* ask the cache now, not at the next period */
/* One request to the server, Roam-Auth as the agent's: the HTTP status or
 * -errno; *json the parsed reply or NULL (cJSON_Delete it). */
struct cJSON;
long offline_call(const char *method, const char *target, const void *body, size_t len, struct cJSON **json);
/* A GET asking for application/octet-stream: a binary reply's bytes into
 * buf (at most cap, *got their count; more is -EIO), else *json the JSON
 * reply (an old server, an error). The status, or -errno as offline_call. */
long offline_get_bytes(const char *target, uint8_t *buf, size_t cap, size_t *got, struct cJSON **json);
const char *offline_jstr(const struct cJSON *o, const char *name); /* "" when absent */
double offline_jnum(const struct cJSON *o, const char *name);      /* -1 when absent */
/* A peer by node id, copied out under the lock: 0, or -ENOENT. */
int worker_peer_by_id(struct worker *w, uint32_t id, struct worker_peer *out);

/* transfer_history.c: the table saved across restarts (`roam files`). */
const char *xfer_state_name(enum xfer_state s);
void xfer_history_load(struct worker *w); /* at start, before any thread */
void xfer_history_tick(struct worker *w); /* saves it if it changed */

/* offline_resume.c: an upload continued after a restart. */
struct files_enc;
void offline_resume_scan(struct worker *w);            /* at start: the saved uploads */
void offline_resume_ask(void);                         /* each view: ask the monitor to reopen them */
/* The monitor sent the file back: false when it was not pending (each view
 * asks again, so a second answer to an earlier ask: a duplicate). */
bool offline_resume_claimed(const char *token);
void offline_resume_forget(struct worker *w, const char *token); /* it will not */
bool offline_resume_holds(const char *server_id); /* a saved upload's: not an orphan (takes the lock) */
/* The upload's state after record 0: header and record 0 (start, hm_len
 * bytes), the encryptor, the plaintext's size, mtime and hash. */
int offline_resume_save(const struct xfer *x, const uint8_t *hm, size_t hm_len, const struct files_enc *e,
			const struct files_push_offer *o, uint64_t total);
/* 0 with hm (FILES_HEADER_LEN + FILES_META_RECORD_LEN), e restored and
 * x->server_id set, when the saved upload is of exactly this file (o). */
int offline_resume_load(struct xfer *x, uint8_t *hm, struct files_enc *e, const struct files_push_offer *o,
			uint64_t *total);
void offline_resume_done(const struct xfer *x); /* ended: the saved state and the monitor's entry go */

/* Shared by the two directions. */
int xfer_hash_file(struct xfer *x, struct files_push_offer *o);
int xfer_place(int dirfd, const char *part, const char *name, char *final, size_t size);
int xfer_sender_dir(struct xfer *x);

/* Blocking helpers (transfer_send.c). */
int xfer_read_full(int fd, void *buf, size_t len);
int xfer_write_full(int fd, const void *buf, size_t len);
void xfer_set_timeouts(int fd, int seconds);
void xfer_finish(struct xfer *x, enum xfer_state state, const char *error);
void xfer_set_state(struct xfer *x, enum xfer_state s); /* takes the lock */
bool xfer_cancelled(struct xfer *x);                     /* takes the lock */

#endif
