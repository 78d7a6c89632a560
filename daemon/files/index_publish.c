/* The published index, sealed per group and uploaded (index_publish.h). */
#include "daemon/files/index_publish.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/index_cache.h"
#include "daemon/files/index_fetch.h"
#include "daemon/files/publish_state.h"
#include "daemon/files/worker.h"
#include "files/files.h"
#include "util/log.h"

#define GROUPS_MAX 32        /* a node's groups (COORD_GROUPS_MAX) */
#define PIECE (60 * 1024)    /* one PUT (the server's FINDEX_CHUNK_MAX) */
#define UPLOAD_TRIES 3       /* a piece refused with "continue at": this often */
#define RESEAL_DEBOUNCE_S 2  /* views come in bursts */
/* The members are asked again this often without a view change too: a node
 * already our peer through another group that joins a group we published
 * to changes no peer in our view. */
#define RESEAL_PERIOD_S 60

typedef uint8_t member_key[FILES_KEY_LEN];

/* pub_lock: one upload or delete at a time, in order. state_lock: the rest. */
static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static uint8_t *published;      /* the body; NULL: nothing published */
static size_t published_len;
static char published_group[64]; /* "": every group */
static bool published_cache;     /* --cache: copies of the files for each group */
static uint64_t published_gen;   /* the publish's sequence number: tags its copies */
static unsigned generation;      /* bumped by every set and unpublish */
static uint64_t last_seq;
static bool resealer_running, view_moved;
/* Under pub_lock (the publish_all in progress owns them). */
static struct sealed_for {
	char group[64];
	uint8_t members[crypto_generichash_BYTES]; /* hash of the sorted keys sealed to */
	uint8_t *body; /* --cache: this group's body, naming its copies (holds their keys) */
	size_t body_len;
	bool uploaded; /* an index of this publish is on the server */
	/* --cache: the tag of the copies body names (0: none made yet). Each
	 * attempt tags its copies afresh, so the first index uploaded drops
	 * those of an attempt that broke off (the server stopped answering)
	 * with the earlier publishes' ones. */
	uint64_t tag;
} sealed[GROUPS_MAX];
static size_t n_sealed;

static void sealed_reset(void)
{
	for (size_t i = 0; i < n_sealed; i++) {
		if (sealed[i].body)
			crypto_wipe(sealed[i].body, sealed[i].body_len);
		free(sealed[i].body);
		sealed[i].body = NULL;
	}
	n_sealed = 0;
}

/* A sequence number above every one we used: microseconds of the wall
 * clock, so a restarted roamd still goes higher. */
static uint64_t next_seq(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	pthread_mutex_lock(&state_lock);
	last_seq = now > last_seq ? now : last_seq + 1;
	uint64_t s = last_seq;
	pthread_mutex_unlock(&state_lock);
	return s;
}

void index_publish_seq_floor(uint64_t seq)
{
	pthread_mutex_lock(&state_lock);
	last_seq = seq > last_seq ? seq : last_seq;
	pthread_mutex_unlock(&state_lock);
}

static bool current(unsigned gen)
{
	pthread_mutex_lock(&state_lock);
	bool same = gen == generation && published;
	pthread_mutex_unlock(&state_lock);
	return same;
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, FILES_KEY_LEN); }

/* The members of group to seal to: ours, and each the server lists whose
 * key is the one our view holds for that node (a key the view does not
 * confirm is left out: it comes at the next view change). Sorted,
 * distinct. The count, or -errno. */
static int members_of(struct worker *w, const char *group, member_key *keys)
{
	char target[128];
	cJSON *j;
	int n = 0;
	snprintf(target, sizeof(target), "/v1/files/index/members?group=%s", group);
	long st = offline_call("GET", target, NULL, 0, &j);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "members"), *m;
	if (st != 200 || !cJSON_IsArray(list)) {
		cJSON_Delete(j);
		return st == 404 ? -ENOENT : -EHOSTUNREACH;
	}
	memcpy(keys[n++], w->key.pub, FILES_KEY_LEN);
	cJSON_ArrayForEach(m, list) {
		struct worker_peer p;
		uint8_t k[FILES_KEY_LEN];
		double id = offline_jnum(m, "id");
		if (n == FILES_INDEX_MAX_MEMBERS) {
			n = -E2BIG;
			break;
		}
		if (id >= 1 && id <= UINT32_MAX && crypto_key_from_base64(k, offline_jstr(m, "file_key")) == 0 &&
		    worker_peer_by_id(w, (uint32_t)id, &p) == 0 && p.has_file_key &&
		    memcmp(p.file_key, k, FILES_KEY_LEN) == 0)
			memcpy(keys[n++], k, FILES_KEY_LEN);
	}
	cJSON_Delete(j);
	if (n < 0)
		return n;
	qsort(keys, (size_t)n, FILES_KEY_LEN, key_cmp);
	int d = 0;
	for (int i = 0; i < n; i++)
		if (d == 0 || memcmp(keys[d - 1], keys[i], FILES_KEY_LEN) != 0)
			memmove(keys[d++], keys[i], FILES_KEY_LEN);
	return d;
}

/* PUT in pieces; after a "continue at" answer, from where the server is. */
static int upload(const char *group, uint64_t seq, const uint8_t *buf, size_t len)
{
	char target[200];
	uint64_t off = 0;
	int tries = 0;
	while (off < len) {
		size_t n = len - off < PIECE ? (size_t)(len - off) : PIECE;
		cJSON *j;
		snprintf(target, sizeof(target), "/v1/files/index?group=%s&seq=%llu&size=%zu&offset=%llu", group,
			 (unsigned long long)seq, len, (unsigned long long)off);
		long st = offline_call("PUT", target, buf + off, n, &j);
		double got = offline_jnum(j, "received");
		if (st != 200)
			log_warn("files: index upload to %s at %llu: HTTP %ld %s", group, (unsigned long long)off, st,
				 offline_jstr(j, "error"));
		cJSON_Delete(j);
		if (st == 200 && got == (double)(off + n))
			off += n;
		else if (st == 409 && got >= 0 && got <= (double)len && ++tries < UPLOAD_TRIES)
			off = (uint64_t)got;
		else
			return st == 507 ? -EDQUOT : st < 0 ? -EHOSTUNREACH : -EIO;
	}
	return 0;
}

static struct sealed_for *sealed_slot(const char *group)
{
	for (size_t i = 0; i < n_sealed; i++)
		if (strcmp(sealed[i].group, group) == 0)
			return &sealed[i];
	if (n_sealed == GROUPS_MAX)
		return NULL;
	struct sealed_for *s = &sealed[n_sealed++];
	snprintf(s->group, sizeof(s->group), "%s", group);
	memset(s->members, 0, sizeof(s->members));
	s->body = NULL;
	s->body_len = 0;
	s->uploaded = false;
	s->tag = 0;
	return s;
}

/* The node's copies for group from publishes before seq (0: all) deleted. */
static void copies_drop(const char *group, uint64_t below)
{
	char target[160];
	cJSON *j;
	snprintf(target, sizeof(target), "/v1/files/index/blob?group=%s&seq=%llu", group, (unsigned long long)below);
	offline_call("DELETE", target, NULL, 0, &j);
	cJSON_Delete(j);
}

/* --cache: the group's body naming its copies, made (and the copies
 * uploaded) once per publish and group; a reseal names the same ones. When
 * the copies cannot be made for good (the quota), the group gets the index
 * without them, its copies so far deleted: a reseal must not upload every
 * file again. When the upload breaks off otherwise, the next reseal makes
 * them again under a new tag (above gen: a later publish's is above both),
 * and the index it uploads drops the ones made before. */
static int cached_body(struct sealed_for *slot, const char *group, const uint8_t *body, size_t len)
{
	if (slot->body)
		return 0;
	uint64_t tag = next_seq();
	int r = index_cache_group(group, tag, body, len, &slot->body, &slot->body_len);
	if (r != -EDQUOT) {
		slot->tag = r < 0 ? 0 : tag;
		return r < 0 ? r : 0;
	}
	log_warn("files: the server's quota holds no copies of the files for %s: the index goes without them", group);
	copies_drop(group, tag + 1);
	if (!(slot->body = malloc(len ? len : 1)))
		return -ENOMEM;
	memcpy(slot->body, body, len);
	slot->body_len = len;
	return 0;
}

/* One group: sealed to its members and uploaded, unless (only_changed)
 * those are the members it was last sealed to. 1 uploaded, 0 unchanged,
 * or -errno. */
static int publish_group(struct worker *w, const char *group, const uint8_t *body, size_t len, bool only_changed,
			 bool cache, uint64_t gen)
{
	static member_key keys[FILES_INDEX_MAX_MEMBERS];
	uint8_t hash[crypto_generichash_BYTES];
	size_t total;
	int n = members_of(w, group, keys);
	if (n < 0)
		return n;
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)keys, (size_t)n * FILES_KEY_LEN, NULL, 0);
	struct sealed_for *slot = sealed_slot(group);
	bool same = slot && memcmp(slot->members, hash, sizeof(hash)) == 0;
	if (only_changed && same)
		return 0;
	if (cache && slot) {
		int r = cached_body(slot, group, body, len);
		if (r < 0)
			return r;
		body = slot->body;
		len = slot->body_len;
	}
	uint64_t seq = next_seq();
	int ret = files_index_sealed_len((size_t)n, len, &total);
	uint8_t *out = ret == 0 && total <= INDEX_SEALED_MAX ? malloc(total) : NULL;
	if (ret == 0 && !out)
		ret = total > INDEX_SEALED_MAX ? -E2BIG : -ENOMEM;
	if (ret == 0)
		ret = files_index_seal(out, total, &w->key, seq, (const member_key *)keys, (size_t)n, body, len);
	if (ret == 0)
		ret = upload(group, seq, out, total);
	free(out);
	if (ret < 0)
		return ret;
	/* The first index of this publish on the server: the copies of earlier
	 * publishes to this group are named by none any more. */
	if (slot ? !slot->uploaded : !only_changed)
		copies_drop(group, slot && slot->tag ? slot->tag : gen);
	if (slot) {
		memcpy(slot->members, hash, sizeof(hash));
		slot->uploaded = true;
	}
	if (publish_state_seq(group, seq) < 0)
		log_warn("files: cannot save the index's sequence for %s (a restart may go lower)", group);
	log_info("files: index sealed to %d member%s of %s and uploaded (%zu bytes)", n, n == 1 ? "" : "s", group, total);
	return 1;
}

/* The groups it goes to: the one asked, or every group of ours. */
static int groups_of(const char *group, char names[GROUPS_MAX][64])
{
	if (group[0]) {
		snprintf(names[0], 64, "%s", group);
		return 1;
	}
	cJSON *j;
	long st = offline_call("GET", "/v1/files/index/members", NULL, 0, &j);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "groups"), *g;
	int n = 0;
	cJSON_ArrayForEach(g, list)
		if (n < GROUPS_MAX && cJSON_IsString(g) && strlen(g->valuestring) < 64)
			snprintf(names[n++], 64, "%s", g->valuestring);
	cJSON_Delete(j);
	return st == 200 ? n : st < 0 ? -EHOSTUNREACH : -EIO;
}

/* Under pub_lock: what is published now, to its groups. */
static int publish_all(bool only_changed)
{
	char names[GROUPS_MAX][64], group[64];
	pthread_mutex_lock(&state_lock);
	unsigned gen = generation;
	bool cache = published_cache;
	uint64_t pgen = published_gen;
	size_t len = published_len;
	bool have = published != NULL;
	uint8_t *body = have ? malloc(len ? len : 1) : NULL;
	if (body)
		memcpy(body, published, len);
	snprintf(group, sizeof(group), "%s", published_group);
	pthread_mutex_unlock(&state_lock);
	if (!body)
		return have ? -ENOMEM : 0;
	if (!xfer_worker) { /* no worker: a unit test of the published set */
		free(body);
		return -ENOTCONN;
	}
	int n = groups_of(group, names), done = 0, ret = n < 0 ? n : 0;
	for (int i = 0; i < n && current(gen); i++) {
		int r = publish_group(xfer_worker, names[i], body, len, only_changed, cache, pgen);
		if (r < 0) {
			log_warn("files: cannot publish the index to %s: %s", names[i], index_fetch_strerror(r));
			ret = r;
		}
		done += r > 0;
	}
	free(body);
	return ret < 0 && done == 0 ? ret : done;
}

static long reseal_period_s(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *s = getenv("ROAM_TEST_FILES_RESEAL");
	if (s && atol(s) > 0)
		return atol(s);
#endif
	return RESEAL_PERIOD_S;
}

static void *resealer(void *arg)
{
	(void)arg;
	long period = reseal_period_s();
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += period;
		pthread_mutex_lock(&state_lock);
		while (!view_moved && pthread_cond_timedwait(&wake, &state_lock, &until) == 0)
			;
		pthread_mutex_unlock(&state_lock);
		sleep(RESEAL_DEBOUNCE_S);
		pthread_mutex_lock(&state_lock);
		view_moved = false;
		pthread_mutex_unlock(&state_lock);
		pthread_mutex_lock(&pub_lock);
		publish_all(true);
		pthread_mutex_unlock(&pub_lock);
	}
	return NULL;
}

static void start_detached(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, fn, arg) != 0)
		log_warn("files: cannot start a thread for the index");
	pthread_attr_destroy(&attr);
}

int index_publish_set(const uint8_t *body, size_t len, const char *group, bool cache)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	uint64_t gen = next_seq();
	pthread_mutex_lock(&pub_lock);
	pthread_mutex_lock(&state_lock);
	free(published);
	published = copy;
	published_len = len;
	snprintf(published_group, sizeof(published_group), "%s", group ? group : "");
	published_cache = cache;
	published_gen = gen;
	generation++;
	bool start = !resealer_running;
	resealer_running = true;
	pthread_mutex_unlock(&state_lock);
	sealed_reset(); /* sealed again, whoever the members */
	if (start)
		start_detached(resealer, NULL);
	int ret = publish_all(false);
	pthread_mutex_unlock(&pub_lock);
	return ret;
}

static void *unpublish_thread(void *arg)
{
	(void)arg;
	cJSON *j;
	pthread_mutex_lock(&pub_lock);
	sealed_reset();
	long st = offline_call("DELETE", "/v1/files/index", NULL, 0, &j);
	pthread_mutex_unlock(&pub_lock);
	if (st != 200)
		log_warn("files: cannot delete the published index from the server: HTTP %ld", st);
	cJSON_Delete(j);
	return NULL;
}

void index_unpublish_start(void)
{
	pthread_mutex_lock(&state_lock);
	free(published);
	published = NULL;
	published_len = 0;
	generation++;
	pthread_mutex_unlock(&state_lock);
	start_detached(unpublish_thread, NULL);
}

void index_publish_view_changed(void)
{
	pthread_mutex_lock(&state_lock);
	if (published && resealer_running) {
		view_moved = true;
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&state_lock);
}
