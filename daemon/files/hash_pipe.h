/* A push's BLAKE2b on a thread of its own: the thread that moves the bytes
 * (file to socket, or socket to file) hands each buffer to the hash thread
 * and goes on with the next one, so the socket stays busy while the last
 * chunk is hashed. The hash covers exactly the bytes handed over, in order. */
#ifndef ROAM_DAEMON_FILES_HASH_PIPE_H
#define ROAM_DAEMON_FILES_HASH_PIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define HASH_PIPE_SLOTS 4
#define HASH_PIPE_CHUNK (1u << 20) /* bytes per buffer */

struct hash_pipe {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	crypto_generichash_state *hs;
	uint8_t *mem;                   /* HASH_PIPE_SLOTS buffers of HASH_PIPE_CHUNK */
	size_t len[HASH_PIPE_SLOTS];
	uint64_t filled, hashed;        /* buffers handed over, buffers hashed */
	bool closing;
};

/* Starts the hash thread over hs (initialised by the caller): 0 or -errno. */
int hash_pipe_start(struct hash_pipe *p, crypto_generichash_state *hs);
/* The next buffer to fill (HASH_PIPE_CHUNK bytes): waits while all are still
 * being hashed. */
uint8_t *hash_pipe_buffer(struct hash_pipe *p);
/* Hands the buffer hash_pipe_buffer returned to the hash, its first len bytes. */
void hash_pipe_push(struct hash_pipe *p, size_t len);
/* Waits until everything handed over is hashed, stops the thread and frees
 * the buffers; hs then holds the hash of all of it. */
void hash_pipe_stop(struct hash_pipe *p);

#endif
