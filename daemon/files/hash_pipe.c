/* See hash_pipe.h. One lock and one condition for both directions: a
 * handoff per MiB, so the lock is never the cost. */
#include <errno.h>
#include <stdlib.h>

#include "daemon/files/hash_pipe.h"

static void *hash_pipe_thread(void *arg)
{
	struct hash_pipe *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->hashed == p->filled && !p->closing)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->hashed == p->filled)
			break; /* closing, and nothing left */
		size_t slot = (size_t)(p->hashed % HASH_PIPE_SLOTS), len = p->len[slot];
		pthread_mutex_unlock(&p->lock);
		crypto_generichash_update(p->hs, p->mem + slot * HASH_PIPE_CHUNK, len);
		pthread_mutex_lock(&p->lock);
		p->hashed++;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int hash_pipe_start(struct hash_pipe *p, crypto_generichash_state *hs)
{
	int ret;
	*p = (struct hash_pipe){ .hs = hs };
	if (!(p->mem = malloc((size_t)HASH_PIPE_SLOTS * HASH_PIPE_CHUNK)))
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* The default stack: the worker's thread-local buffers live there too. */
	ret = pthread_create(&p->thread, NULL, hash_pipe_thread, p);
	if (ret != 0) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p->mem);
		p->mem = NULL;
		return -ret;
	}
	return 0;
}

uint8_t *hash_pipe_buffer(struct hash_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->filled - p->hashed >= HASH_PIPE_SLOTS)
		pthread_cond_wait(&p->cond, &p->lock);
	size_t slot = (size_t)(p->filled % HASH_PIPE_SLOTS);
	pthread_mutex_unlock(&p->lock);
	return p->mem + slot * HASH_PIPE_CHUNK;
}

void hash_pipe_push(struct hash_pipe *p, size_t len)
{
	pthread_mutex_lock(&p->lock);
	p->len[p->filled % HASH_PIPE_SLOTS] = len;
	p->filled++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void hash_pipe_stop(struct hash_pipe *p)
{
	if (!p->mem)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->mem);
	p->mem = NULL;
}
